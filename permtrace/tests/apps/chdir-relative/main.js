'use strict';
// Changes into its work directory and from then on uses relative paths only: reads input,
// lists a directory, reads config through "..", writes results. Node checks the resolved paths.
const NAME = 'chdir-relative';
process.on('uncaughtException', (e) => {
  console.log(`${NAME}: FAIL ${e.code || ''} ${e.permission || ''} ${e.resource || ''}\n${e.stack}`);
  process.exit(1);
});

const fs = require('node:fs');
const path = require('node:path');

process.chdir(path.join(__dirname, 'work'));
const problems = [];
const inputs = fs.readdirSync('input').sort();
const total = inputs
  .map((f) => fs.readFileSync(path.join('input', f), 'utf8').trim().split('\n').map(Number))
  .flat()
  .reduce((a, b) => a + b, 0);
const settings = JSON.parse(fs.readFileSync('../config/settings.json', 'utf8'));
fs.mkdirSync('out', { recursive: true });
fs.writeFileSync('out/result.txt', `${settings.label}=${total}\n`);
process.chdir('..');
const result = fs.readFileSync('work/out/result.txt', 'utf8').trim();

if (inputs.join() !== 'a.txt,b.txt') problems.push(`input/ listed ${inputs}`);
if (result !== 'total=21') problems.push(`result was ${result}`);
if (process.cwd() !== __dirname) problems.push(`cwd ended at ${process.cwd()}`);
if (problems.length) {
  console.log(`${NAME}: FAIL ${problems.join('; ')}`);
  process.exit(1);
}
console.log(`${NAME}: OK`);
