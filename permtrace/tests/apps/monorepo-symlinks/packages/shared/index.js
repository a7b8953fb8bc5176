'use strict';
const fs = require('node:fs');
const path = require('node:path');

// __dirname is the real path (packages/shared), not the symlink the app required.
exports.defaults = () => JSON.parse(fs.readFileSync(path.join(__dirname, 'defaults.json'), 'utf8'));
