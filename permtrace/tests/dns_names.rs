//! Host names joined to connections, on the real kernel with real Node and no internet:
//! names come from an /etc/hosts bind-mounted over the real one in a private mount namespace,
//! for the traced command only.

mod common;
mod dns_support;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use common::{node_binary, permtrace, require_kernel};
use dns_support::{connect, hostnames, http_app, names_of, port_from, trace_with_hosts};
use serde_json::Value;

fn named_http(node: &Path) {
    let hosts = "127.0.0.1 localhost\n127.0.0.61 svc.test\n";
    let app = http_app("127.0.0.61", &["http://svc.test:{port}/"]);
    let (cap, stdout) = trace_with_hosts(node, &app, hosts);
    let port = port_from(&stdout);
    let rec = connect(&cap, "127.0.0.61", port);
    assert_eq!(hostnames(rec), ["svc.test"], "{rec:#}");
    assert!(rec.get("name_unknown").is_none(), "{rec:#}");
    let name = names_of(&cap, "svc.test", "getaddrinfo");
    assert_eq!(name["addresses"][0], "127.0.0.61");
}

#[test]
fn http_get_by_name_is_joined_to_its_connect_node20() {
    require_kernel();
    named_http(Path::new("/usr/bin/node"));
}

#[test]
fn http_get_by_name_is_joined_to_its_connect_node26() {
    require_kernel();
    named_http(&node_binary("26.10.0"));
}

#[test]
fn two_names_for_one_address_are_both_kept_and_a_literal_ip_stays_an_ip() {
    require_kernel();
    let hosts = "127.0.0.1 localhost\n127.0.0.62 one.test two.test\n";
    let app = http_app(
        "127.0.0.62",
        &[
            "http://one.test:{port}/",
            "http://two.test:{port}/",
            "http://127.0.0.62:{port}/",
        ],
    );
    let (cap, stdout) = trace_with_hosts(&node_binary("22.23.3"), &app, hosts);
    let port = port_from(&stdout);
    let rec = connect(&cap, "127.0.0.62", port);
    assert_eq!(hostnames(rec), ["one.test", "two.test"], "{rec:#}");
    assert_eq!(rec["stats"]["count"], 3, "three connects: {rec:#}");

    // The literal address of a server nobody looked up is shown as the IP, and is not a
    // name-unknown (the capture saw the process start).
    let literal = http_app("127.0.0.63", &["http://127.0.0.63:{port}/"]);
    let (cap, stdout) = trace_with_hosts(Path::new("/usr/bin/node"), &literal, hosts);
    let rec = connect(&cap, "127.0.0.63", port_from(&stdout));
    assert!(hostnames(rec).is_empty(), "{rec:#}");
    assert!(rec.get("name_unknown").is_none(), "{rec:#}");
}

#[test]
fn the_hosts_command_lists_names_udp_and_unix_sockets_apart() {
    require_kernel();
    let hosts = "127.0.0.1 localhost\n127.0.0.65 api.test\n";
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("app.sock");
    // An HTTP GET by name, a UDP datagram to a literal address, a unix socket round trip.
    let app = format!(
        r#"const http = require('http'), net = require('net'), dgram = require('dgram');
const unix = net.createServer(c => c.end()).listen({sock:?}, () => {{
  const srv = http.createServer((q, r) => r.end('ok')).listen(0, '127.0.0.65', () => {{
    const port = srv.address().port;
    http.get(`http://api.test:${{port}}/`, res => {{
      res.resume();
      res.on('end', () => {{
        const u = dgram.createSocket('udp4');
        u.send('x', port, '127.0.0.66', () => {{
          u.close();
          net.connect({sock:?}).on('close', () => {{
            console.log('PORT', port); srv.close(); unix.close();
          }}).resume();
        }});
      }});
    }});
  }});
}});
"#
    );
    let (cap, stdout) = trace_with_hosts(Path::new("/usr/bin/node"), &app, hosts);
    let port = port_from(&stdout);
    let file: PathBuf = dir.path().join("capture.json");
    std::fs::write(&file, serde_json::to_vec(&cap).unwrap()).unwrap();
    let out = Command::new(permtrace())
        .arg("hosts")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let egress = list["egress"].as_array().unwrap();
    let by_endpoint = |e: &str| {
        egress
            .iter()
            .find(|x| x["endpoint"] == e)
            .unwrap_or_else(|| panic!("no {e} in {list:#}"))
    };
    let api = by_endpoint(&format!("api.test:{port}"));
    assert_eq!(
        (api["protocol"].as_str(), api["loopback"].as_bool()),
        (Some("tcp"), Some(true))
    );
    assert_eq!(
        (api["named"].as_bool(), &api["addresses"]),
        (Some(true), &serde_json::json!(["127.0.0.65"]))
    );
    let udp = by_endpoint(&format!("127.0.0.66:{port}"));
    assert_eq!(
        (udp["protocol"].as_str(), udp["named"].as_bool()),
        (Some("udp"), Some(false))
    );
    let listen = list["listen"].as_array().unwrap();
    assert!(
        listen
            .iter()
            .any(|l| l["op"] == "listen" && l["address"] == "127.0.0.65"),
        "{list:#}"
    );
    let unix = list["unix"].as_array().unwrap();
    let path = sock.to_str().unwrap();
    for op in ["listen", "connect"] {
        assert!(
            unix.iter().any(|u| u["path"] == path && u["op"] == op),
            "no unix {op} of {path}: {list:#}"
        );
    }
    assert!(
        !egress.iter().any(|e| e["host"] == path) && !listen.iter().any(|l| l["address"] == path),
        "unix sockets are listed apart: {list:#}"
    );
}
