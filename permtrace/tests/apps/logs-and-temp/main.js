'use strict';
// A worker-style job: appends to logs under its own logs/ directory, rotates them by rename,
// works in temp files with generated names (mkdtemp, UUIDs, pids, random hex) under its own
// tmp/ directory, and cleans up after itself (unlink, rmdir, rm -r). logs/ and tmp/ are created
// here, so they do not exist when Node starts (which changes what a grant of them covers).
const NAME = 'logs-and-temp';
process.on('uncaughtException', (e) => {
  console.log(`${NAME}: FAIL ${e.code || ''} ${e.permission || ''} ${e.resource || ''}\n${e.stack}`);
  process.exit(1);
});

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');

const logs = path.join(__dirname, 'logs');
const tmp = path.join(__dirname, 'tmp');
fs.mkdirSync(logs, { recursive: true });
fs.mkdirSync(tmp, { recursive: true });

const appLog = path.join(logs, 'app.log');
fs.writeFileSync(appLog, '');
for (let i = 0; i < 5; i++) fs.appendFileSync(appLog, `job step ${i}\n`);
const fd = fs.openSync(path.join(logs, `run-${process.pid}.log`), 'a');
fs.writeSync(fd, 'started\n');
fs.closeSync(fd);
// Rotation: app.log -> app.log.1, then a fresh app.log.
fs.renameSync(appLog, `${appLog}.1`);
fs.writeFileSync(appLog, 'rotated\n');

// A private scratch directory with a generated name, and files with generated names in it.
const work = fs.mkdtempSync(path.join(tmp, 'job-'));
const names = [
  `${crypto.randomUUID()}.json`,
  `${process.pid}-${Date.now()}.tmp`,
  crypto.randomBytes(8).toString('hex'),
];
for (const n of names) fs.writeFileSync(path.join(work, n), JSON.stringify({ n }));
const partial = path.join(work, `upload-${crypto.randomBytes(4).toString('hex')}.part`);
fs.writeFileSync(partial, 'payload');
fs.renameSync(partial, path.join(work, 'upload.done'));
const seen = fs.readdirSync(work).sort();
const back = names.map((n) => JSON.parse(fs.readFileSync(path.join(work, n), 'utf8')).n);
for (const n of fs.readdirSync(work)) fs.unlinkSync(path.join(work, n));
fs.rmdirSync(work);

// A nested cache tree created and removed.
const cache = path.join(tmp, `cache-${process.pid}`, 'a', 'b');
fs.mkdirSync(cache, { recursive: true });
fs.writeFileSync(path.join(cache, 'entry.bin'), crypto.randomBytes(16));
fs.rmSync(path.join(tmp, `cache-${process.pid}`), { recursive: true });

const problems = [];
if (seen.length !== 4 || !seen.includes('upload.done')) problems.push(`scratch dir held ${seen}`);
if (back.join() !== names.join()) problems.push('temp files read back wrong');
if (fs.readdirSync(tmp).length !== 0) problems.push(`tmp/ not empty: ${fs.readdirSync(tmp)}`);
const rotated = fs.readFileSync(`${appLog}.1`, 'utf8').trim().split('\n');
if (rotated.length !== 5) problems.push(`rotated log has ${rotated.length} lines`);
if (!fs.existsSync(appLog) || fs.statSync(appLog).size !== 8) problems.push('fresh app.log missing');
if (problems.length) {
  console.log(`${NAME}: FAIL ${problems.join('; ')}`);
  process.exit(1);
}
console.log(`${NAME}: OK`);
