'use strict';
// Loaded with `node -r ./preload/instrument.js main.js`. Node 22+ grants a --require file
// implicitly, but not the modules it requires in turn.
const { createCounter } = require('../lib/metrics');

globalThis.__metrics = createCounter();
globalThis.__metrics.inc('preload');
