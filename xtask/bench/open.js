'use strict';
// 200k fs.openSync + fs.closeSync of one file: the worst case for a file tracer (two
// syscalls per iteration, nothing else). Prints the time inside the loop as JSON.
const fs = require('fs');
const n = Number(process.argv[2] || 200000);
const file = __filename;
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) fs.closeSync(fs.openSync(file, 'r'));
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(JSON.stringify({ workload: 'open', ops: n, loop_ms: ms }));
