'use strict';
// A small HTTP service on 127.0.0.1 (port chosen by the kernel) serving files from its own
// public/ directory, exercised by a client in the same process, then shut down.
const NAME = 'http-server';
process.on('uncaughtException', (e) => {
  console.log(`${NAME}: FAIL ${e.code || ''} ${e.permission || ''} ${e.resource || ''}\n${e.stack}`);
  process.exit(1);
});

const http = require('node:http');
const { createServer } = require('./src/server');

const get = (port, p) =>
  new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body }));
      })
      .on('error', reject);
  });

const server = createServer();
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const problems = [];
  try {
    const index = await get(port, '/');
    if (index.status !== 200 || !index.body.includes('<h1>It works</h1>')) problems.push(`GET / -> ${index.status}`);
    const css = await get(port, '/css/site.css');
    if (css.status !== 200 || css.type !== 'text/css' || !css.body.includes('color')) problems.push(`GET /css/site.css -> ${css.status}`);
    const missing = await get(port, '/nope.html');
    if (missing.status !== 404) problems.push(`GET /nope.html -> ${missing.status}`);
    const escape = await get(port, '/../package.json');
    if (escape.status !== 404) problems.push(`GET /../package.json -> ${escape.status}`);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.json());
    if (health.ok !== true) problems.push('healthz');
  } catch (e) {
    problems.push(`${e.code || ''} ${e.message} ${e.cause ? e.cause.code : ''}`);
  }
  server.close(() => {
    if (problems.length) {
      console.log(`${NAME}: FAIL ${problems.join('; ')}`);
      process.exit(1);
    }
    console.log(`${NAME}: OK`);
  });
  server.closeAllConnections();
});
