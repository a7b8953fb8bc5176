'use strict';
// A service in a pnpm workspace: its dependencies are symlinks, a workspace package
// (node_modules/@acme/shared -> ../../../../packages/shared) and pnpm's virtual store
// (node_modules/kleur-lite -> .pnpm/kleur-lite@1.0.0/node_modules/kleur-lite, whose own
// dependency is another symlink in the store). Node loads modules at their real paths, but
// checks fs calls on the path as given.
const NAME = 'monorepo-symlinks';
process.on('uncaughtException', (e) => {
  console.log(`${NAME}: FAIL ${e.code || ''} ${e.permission || ''} ${e.resource || ''}\n${e.stack}`);
  process.exit(1);
});

const fs = require('node:fs');
const path = require('node:path');
const shared = require('@acme/shared');
const kleur = require('kleur-lite');

const problems = [];
if (shared.defaults().region !== 'eu-west') problems.push('shared defaults');
if (kleur.bold('x') !== '\u001b[1mx\u001b[22m') problems.push('kleur-lite');
// Read through the symlink: Node checks this path, not its target.
const meta = JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules', '@acme', 'shared', 'package.json'), 'utf8'));
if (meta.name !== '@acme/shared') problems.push('shared package.json via the symlink');
if (problems.length) {
  console.log(`${NAME}: FAIL ${problems.join('; ')}`);
  process.exit(1);
}
console.log(`${NAME}: OK`);
