'use strict';
// The service's business logic: a local module, loaded with a relative require.
const slugify = require('tiny-slug');

function greet(greeting, name) {
  return { message: `${greeting}, ${name}!`, id: slugify(name) };
}

module.exports = { greet };
