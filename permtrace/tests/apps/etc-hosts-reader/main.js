'use strict';
// Reads /etc/hosts itself through fs (checked by Node), and resolves localhost with
// dns.lookup, whose getaddrinfo reads /etc/hosts again natively (never checked by Node).
const NAME = 'etc-hosts-reader';
process.on('uncaughtException', (e) => {
  console.log(`${NAME}: FAIL ${e.code || ''} ${e.permission || ''} ${e.resource || ''}\n${e.stack}`);
  process.exit(1);
});

const fs = require('node:fs');
const dns = require('node:dns');

const problems = [];
const hosts = fs
  .readFileSync('/etc/hosts', 'utf8')
  .split('\n')
  .map((l) => l.replace(/#.*/, '').trim().split(/\s+/))
  .filter((f) => f.length > 1);
if (!hosts.some((f) => f.slice(1).includes('localhost'))) problems.push('/etc/hosts has no localhost entry');

dns.lookup('localhost', { all: true }, (err, addrs) => {
  if (err) problems.push(`dns.lookup: ${err.code} ${err.message}`);
  else if (!addrs.some((a) => a.address === '127.0.0.1' || a.address === '::1')) {
    problems.push(`localhost resolved to ${JSON.stringify(addrs)}`);
  }
  if (problems.length) {
    console.log(`${NAME}: FAIL ${problems.join('; ')}`);
    process.exit(1);
  }
  console.log(`${NAME}: OK (${hosts.length} host entries)`);
});
