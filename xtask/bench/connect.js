'use strict';
// 20k sequential TCP connects to a listener in the same process: one connect per
// iteration plus the event loop around it. Prints the time inside the loop as JSON.
const net = require('net');
const n = Number(process.argv[2] || 20000);
const server = net.createServer((s) => s.destroy());
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const t0 = process.hrtime.bigint();
  let done = 0;
  const next = () => {
    if (done === n) {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      console.log(JSON.stringify({ workload: 'connect', ops: n, loop_ms: ms }));
      server.close();
      return;
    }
    const c = net.connect(port, '127.0.0.1', () => {
      done++;
      c.destroy();
      next();
    });
    c.on('error', (e) => {
      console.error(e);
      process.exit(1);
    });
  };
  next();
});
