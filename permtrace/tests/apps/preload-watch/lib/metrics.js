'use strict';

exports.createCounter = () => {
  const counts = new Map();
  return {
    inc: (k) => counts.set(k, (counts.get(k) || 0) + 1),
    get: (k) => counts.get(k) || 0,
  };
};
