// Deliberately no import/export syntax: syntax detection cannot decide the format of this file,
// only package.json "type" does. As ESM `this` is undefined; as CommonJS it is module.exports.
globalThis.__esmAppMode = this === undefined ? 'module' : 'commonjs';
