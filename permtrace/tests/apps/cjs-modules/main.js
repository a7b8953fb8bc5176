'use strict';
// A CommonJS service: local modules in subdirectories, a bare-specifier dependency (package.json
// "main"), a scoped one with its own nested dependency, and a JSON config read two ways.
const NAME = 'cjs-modules';
process.on('uncaughtException', (e) => {
  console.log(`${NAME}: FAIL ${e.code || ''} ${e.permission || ''} ${e.resource || ''}\n${e.stack}`);
  process.exit(1);
});

const fs = require('node:fs');
const path = require('node:path');
const { formatRow } = require('./lib/format');
const { slug } = require('./lib/util/strings');
const leftPad = require('left-pad-lite');
const { createLogger } = require('@acme/logger');
const viaRequire = require('./config/app.json');
const viaFs = JSON.parse(fs.readFileSync(path.join(__dirname, 'config', 'app.json'), 'utf8'));

const problems = [];
if (viaRequire.service !== 'billing' || viaFs.service !== 'billing') problems.push('config not loaded');
if (leftPad('7', 3, '0') !== '007') problems.push('left-pad-lite gave the wrong result');
if (slug('Hello World') !== 'hello-world') problems.push('slug gave the wrong result');
const log = createLogger(viaFs.service);
const line = log(formatRow(viaFs.items));
if (line !== '[billing] \u001b[32mapples:003|pears:012\u001b[39m') problems.push(`logger gave ${JSON.stringify(line)}`);

if (problems.length) {
  console.log(`${NAME}: FAIL ${problems.join('; ')}`);
  process.exit(1);
}
console.log(`${NAME}: OK`);
