'use strict';
// Start-up of an app with many dependencies: require() of every package in a generated
// node_modules tree (each package has a package.json, an index.js and a lib file), through
// Node's real module resolution. Prints the time inside the loop as JSON.
const path = require('path');
const { createRequire } = require('module');
const tree = process.argv[2];
const n = Number(process.argv[3] || 2000);
const req = createRequire(path.join(tree, 'main.js'));
const t0 = process.hrtime.bigint();
let sum = 0;
for (let i = 0; i < n; i++) sum += req(`pkg${i}`).value;
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
if (sum !== (n * (n - 1)) / 2) throw new Error(`bad sum ${sum}`);
console.log(JSON.stringify({ workload: 'require', ops: n, loop_ms: ms }));
