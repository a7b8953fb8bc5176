'use strict';
const fs = require('node:fs');
const path = require('node:path');

const lines = fs.readFileSync(path.join(__dirname, '..', 'data', 'child-input.txt'), 'utf8').trim().split('\n');
console.log(`child read ${lines.length} lines`);
