//! Names from a test-owned /etc/hosts: the traced command (and anything a test runs the same
//! way, e.g. Deno) sees a private copy bind-mounted over /etc/hosts in a mount namespace of
//! its own, so nothing outside the test is affected and no DNS server is needed.

use std::{
    io::{Read as _, Write as _},
    net::{Ipv4Addr, TcpListener},
    path::{Path, PathBuf},
};

use serde_json::Value;

use super::trace;

pub use crate::common::hosts::with_private_hosts;

/// A `permtrace run` of a node script with a private /etc/hosts, and what it left.
pub struct HostsTrace {
    pub dir: tempfile::TempDir,
    pub capture: Value,
    pub stdout: String,
}

impl HostsTrace {
    /// Where `permtrace run -o` wrote capture.json and the drafts.
    pub fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// The file `/etc/hosts` was replaced with.
    pub fn hosts_file(&self) -> PathBuf {
        self.dir.path().join("hosts")
    }
}

/// Traces `node script args...` with `hosts` as its /etc/hosts.
pub fn trace_node_with_hosts(node: &Path, script: &str, args: &[&str], hosts: &str) -> HostsTrace {
    let dir = tempfile::tempdir().unwrap();
    let hosts_file = dir.path().join("hosts");
    std::fs::write(&hosts_file, hosts).unwrap();
    let js = dir.path().join("app.js");
    std::fs::write(&js, script).unwrap();
    let mut argv = vec![node.to_str().unwrap(), js.to_str().unwrap()];
    argv.extend_from_slice(args);
    let cmd = with_private_hosts(&hosts_file, &argv);
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let (capture, stdout) = trace(&dir.path().join("out"), &cmd);
    HostsTrace {
        dir,
        capture,
        stdout,
    }
}

/// Runs node `script` with `hosts` as its /etc/hosts; returns the capture and its stdout.
pub fn trace_with_hosts(node: &Path, script: &str, hosts: &str) -> (Value, String) {
    let t = trace_node_with_hosts(node, script, &[], hosts);
    (t.capture, t.stdout)
}

/// An HTTP server on `listen`, then a GET of each URL pattern (`{port}` replaced), in order.
pub fn http_app(listen: &str, urls: &[&str]) -> String {
    let urls: Vec<String> = urls
        .iter()
        .map(|u| format!("`{}`", u.replace("{port}", "${port}")))
        .collect();
    format!(
        r#"const http = require('http');
const srv = http.createServer((q, r) => r.end('ok')).listen(0, '{listen}', async () => {{
  const port = srv.address().port;
  for (const url of [{urls}]) {{
    await new Promise((ok, fail) => http.get(url, res => {{ res.resume(); res.on('end', ok); }}).on('error', fail));
  }}
  console.log('PORT', port);
  srv.close();
}});
"#,
        urls = urls.join(", ")
    )
}

/// An HTTP server in this test process on `ip`, port chosen by the kernel, answering every
/// request with `ok` for as long as the test runs; returns the port.
pub fn http_server(ip: Ipv4Addr) -> u16 {
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            // One request per connection: read the head, answer, close.
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    port
}
