'use strict';
const fs = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');

const text = fs.readFileSync(workerData.file, 'utf8');
parentPort.postMessage(text.split(/\s+/).filter(Boolean).length);
