'use strict';

exports.slug = (s) => s.trim().toLowerCase().replace(/[^a-z0-9]+/g, '-');
