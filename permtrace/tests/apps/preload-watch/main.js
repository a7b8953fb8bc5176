'use strict';
// Probes its own files the way config loaders do (existsSync, statSync, accessSync, for files
// that exist and files that do not), watches its state/ directory with fs.watch and waits for
// the change it makes itself. Needs the --require preload to have run.
const NAME = 'preload-watch';
process.on('uncaughtException', (e) => {
  console.log(`${NAME}: FAIL ${e.code || ''} ${e.permission || ''} ${e.resource || ''}\n${e.stack}`);
  process.exit(1);
});

const fs = require('node:fs');
const path = require('node:path');

const problems = [];
if (!globalThis.__metrics || globalThis.__metrics.get('preload') !== 1) problems.push('the -r preload did not run');
const state = path.join(__dirname, 'state');
if (!fs.existsSync(path.join(__dirname, 'package.json'))) problems.push('existsSync(package.json) was false');
if (fs.existsSync(path.join(__dirname, 'config.local.json'))) problems.push('config.local.json should not exist');
if (fs.existsSync(path.join(state, 'lock'))) problems.push('state/lock should not exist');
if (!fs.statSync(state).isDirectory()) problems.push('state/ is not a directory');
fs.accessSync(path.join(__dirname, 'main.js'), fs.constants.R_OK);

const watcher = fs.watch(state);
const timer = setTimeout(() => finish('no fs.watch event within 5s'), 5000);
watcher.on('change', (type, file) => {
  if (file === 'heartbeat') finish();
});
fs.writeFileSync(path.join(state, 'heartbeat'), String(Date.now()));

let finished = false;
function finish(problem) {
  if (finished) return;
  finished = true;
  clearTimeout(timer);
  watcher.close();
  if (problem) problems.push(problem);
  if (problems.length) {
    console.log(`${NAME}: FAIL ${problems.join('; ')}`);
    process.exit(1);
  }
  console.log(`${NAME}: OK`);
}
