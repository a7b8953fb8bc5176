'use strict';
// Loaded with NODE_OPTIONS="-r <this file>" under --permission-audit, so it also runs in every
// worker thread and in child Node processes. Records each permission-model event (a check
// that the draft's grants would have failed) as one JSON line in $PERMTRACE_AUDIT_LOG.
const fs = require('node:fs');
const dc = require('node:diagnostics_channel');
const { threadId } = require('node:worker_threads');

// Opened before subscribing, so this open is not itself recorded; then written through the
// descriptor, which Node never checks.
const fd = fs.openSync(process.env.PERMTRACE_AUDIT_LOG, 'a');
const record = (entry) =>
  fs.writeSync(fd, `${JSON.stringify({ pid: process.pid, thread: threadId, ...entry })}\n`);
for (const scope of ['fs', 'child', 'worker', 'net', 'inspector', 'wasi', 'addon', 'ffi', 'openssl-store']) {
  dc.subscribe(`node:permission-model:${scope}`, (message) => record({ scope, message }));
}
record({ loaded: true });
