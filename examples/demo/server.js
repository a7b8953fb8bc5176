'use strict';
// A small HTTP service, traced by `cargo xtask demo`. It does what real services do at
// start-up and under a request: reads its config, loads a local module and a dependency from
// node_modules, appends to a log file under its own directory, serves HTTP on 127.0.0.1,
// and runs a helper program. It answers requests from its own client, then exits by itself.
const fs = require('fs');
const http = require('http');
const path = require('path');
const { execFile } = require('child_process');
const { greet } = require('./lib/greeter');

const config = JSON.parse(fs.readFileSync(path.join(__dirname, 'config.json'), 'utf8'));
const logFile = path.join(__dirname, config.logFile);
fs.mkdirSync(path.dirname(logFile), { recursive: true });

function log(line) {
  fs.appendFileSync(logFile, `${new Date().toISOString()} ${config.service}: ${line}\n`);
}

const server = http.createServer((req, res) => {
  const name = new URL(req.url, 'http://localhost').searchParams.get('name') || 'world';
  const body = JSON.stringify(greet(config.greeting, name));
  log(`${req.method} ${req.url} -> 200`);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
});

function get(port, name) {
  return new Promise((resolve, reject) => {
    const url = `http://127.0.0.1:${port}/greet?name=${encodeURIComponent(name)}`;
    http
      .get(url, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (data += chunk));
        res.on('end', () => resolve(JSON.parse(data)));
      })
      .on('error', reject);
  });
}

function kernelName() {
  // Found through PATH, like most helper programs services run.
  return new Promise((resolve, reject) => {
    execFile('uname', ['-sr'], (err, stdout) => (err ? reject(err) : resolve(stdout.trim())));
  });
}

server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  log(`listening on 127.0.0.1:${port}`);
  try {
    for (const name of config.requests) {
      const reply = await get(port, name);
      console.log(`demo: GET /greet?name=${name} -> ${reply.message} (id ${reply.id})`);
    }
    const kernel = await kernelName();
    log(`running on ${kernel}`);
    console.log(`demo: helper program says ${kernel}`);
  } catch (err) {
    console.error(`demo: ${err.stack || err}`);
    process.exitCode = 1;
  } finally {
    server.close(() => log('stopped'));
  }
});
