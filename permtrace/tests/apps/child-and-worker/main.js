'use strict';
// Spawns a shell and a second Node process, and offloads work to a worker thread whose script
// is a separate file that reads a data file.
const NAME = 'child-and-worker';
process.on('uncaughtException', (e) => {
  console.log(`${NAME}: FAIL ${e.code || ''} ${e.permission || ''} ${e.resource || ''}\n${e.stack}`);
  process.exit(1);
});

const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { Worker } = require('node:worker_threads');

const problems = [];
const sh = execFileSync('/bin/sh', ['-c', 'echo "sh says $((6 * 7))"'], { encoding: 'utf8' }).trim();
if (sh !== 'sh says 42') problems.push(`/bin/sh printed ${JSON.stringify(sh)}`);

// The child Node reads its own input file; on 22+ it inherits the parent's permissions.
const child = spawnSync(process.execPath, [path.join(__dirname, 'scripts', 'child.js')], {
  encoding: 'utf8',
});
if (child.status !== 0 || child.stdout.trim() !== 'child read 3 lines') {
  problems.push(`node child exited ${child.status}: ${child.stdout}${child.stderr}`);
}

const worker = new Worker(path.join(__dirname, 'workers', 'count-words.js'), {
  workerData: { file: path.join(__dirname, 'data', 'words.txt') },
});
worker.once('message', (count) => {
  if (count !== 9) problems.push(`worker counted ${count} words`);
});
worker.once('error', (e) => problems.push(`worker failed: ${e.code || ''} ${e.resource || ''} ${e.message}`));
worker.once('exit', (code) => {
  if (code !== 0) problems.push(`worker exited ${code}`);
  if (problems.length) {
    console.log(`${NAME}: FAIL ${problems.join('; ')}`);
    process.exit(1);
  }
  console.log(`${NAME}: OK`);
});
