// An ES-module service: "type": "module", local imports, a subpath import (#util), a package
// with an "exports" map (main and subpath entries), a dynamic import() and data read via
// import.meta.url.
import { readFileSync } from 'node:fs';
import { greet } from './src/greet.js';
import { sum } from '#util';
import { version } from 'exported-pkg';
import { feature } from 'exported-pkg/feature';
import './src/mode.js';

const NAME = 'esm';
const fail = (msg) => {
  console.log(`${NAME}: FAIL ${msg}`);
  process.exit(1);
};

try {
  const problems = [];
  // src/mode.js has no import/export syntax: it is ESM only because package.json says so, and
  // Node reads that only when it may read the package's directories (the "type" lookup).
  const mode = globalThis.__esmAppMode;
  if (mode !== 'module') problems.push(`src/mode.js ran as ${mode}: package.json "type" was not honoured`);
  if (greet('node') !== 'hello, node') problems.push('greet');
  if (sum([1, 2, 3]) !== 6) problems.push('#util sum');
  if (version !== '3.1.0' || feature() !== 'feature-on') problems.push('exported-pkg');
  const pluginName = JSON.parse(readFileSync(new URL('./data/settings.json', import.meta.url), 'utf8')).plugin;
  const plugin = await import(`./src/plugins/${pluginName}.js`);
  if (plugin.run() !== 'csv-export done') problems.push('dynamic plugin');
  if (problems.length) fail(problems.join('; '));
  console.log(`${NAME}: OK`);
} catch (e) {
  fail(`${e.code || ''} ${e.permission || ''} ${e.resource || ''}\n${e.stack}`);
}
