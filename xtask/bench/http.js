'use strict';
// A realistic service: an HTTP server whose handler reads a template file and answers JSON,
// driven by a local client (keep-alive, as Node's default agent does) for N sequential
// requests. Prints the time inside the loop as JSON.
const fs = require('fs');
const http = require('http');
const n = Number(process.argv[2] || 5000);
const template = __filename;
const server = http.createServer((req, res) => {
  fs.readFile(template, 'utf8', (err, text) => {
    if (err) {
      res.writeHead(500).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url, bytes: text.length }));
  });
});
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const get = (i) =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: `/item/${i}`, agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await get(i);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(JSON.stringify({ workload: 'http', ops: n, loop_ms: ms }));
  agent.destroy();
  server.close();
});
