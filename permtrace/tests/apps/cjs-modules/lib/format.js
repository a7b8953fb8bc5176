'use strict';
const leftPad = require('left-pad-lite');

exports.formatRow = (items) => items.map((i) => `${i.name}:${leftPad(String(i.count), 3, '0')}`).join('|');
