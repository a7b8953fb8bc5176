//! Host names joined to connections, on the real kernel with real Node and no internet:
//! names come from an /etc/hosts bind-mounted over the real one in a private mount namespace
//! (for the traced command only), or from a DNS server this test runs on 127.x.y.z:53.

mod common;

use std::{
    net::{Ipv4Addr, UdpSocket},
    path::{Path, PathBuf},
    process::Command,
    sync::atomic::{AtomicU8, Ordering},
};

use common::{node_binary, permtrace, require_kernel};
use serde_json::Value;

/// Runs `permtrace run -o <dir> -- <cmd>`; returns the capture and the command's stdout.
fn trace(dir: &Path, cmd: &[&str]) -> (Value, String) {
    let out = Command::new(permtrace())
        .arg("run")
        .arg("-o")
        .arg(dir)
        .arg("--")
        .args(cmd)
        .output()
        .expect("running permtrace");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "permtrace run failed: {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read(dir.join("capture.json")).expect("capture.json");
    (serde_json::from_slice(&text).expect("capture JSON"), stdout)
}

/// Runs node `script` with `hosts` as its /etc/hosts, in a mount namespace of its own.
fn trace_with_hosts(node: &Path, script: &str, hosts: &str) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let hosts_file = dir.path().join("hosts");
    std::fs::write(&hosts_file, hosts).unwrap();
    let js = dir.path().join("app.js");
    std::fs::write(&js, script).unwrap();
    let shell = format!(
        "mount --bind '{}' /etc/hosts && exec '{}' '{}'",
        hosts_file.display(),
        node.display(),
        js.display()
    );
    trace(
        &dir.path().join("out"),
        &["unshare", "-m", "sh", "-c", &shell],
    )
}

fn connect<'a>(cap: &'a Value, address: &str, port: u16) -> &'a Value {
    cap["network"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["op"] == "connect" && n["address"] == address && n["port"] == port)
        .unwrap_or_else(|| panic!("no connect to {address}:{port} in {:#}", cap["network"]))
}

fn hostnames(rec: &Value) -> Vec<&str> {
    rec["hostnames"]
        .as_array()
        .map(|a| a.iter().map(|h| h.as_str().unwrap()).collect())
        .unwrap_or_default()
}

fn port_from(stdout: &str) -> u16 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("PORT "))
        .unwrap_or_else(|| panic!("the app printed no port: {stdout:?}"))
        .trim()
        .parse()
        .unwrap()
}

/// An HTTP server on `listen`, then a GET of each URL pattern (`{port}` replaced), in order.
fn http_app(listen: &str, urls: &[&str]) -> String {
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

fn named_http(node: &Path) {
    let hosts = "127.0.0.1 localhost\n127.0.0.61 svc.test\n";
    let app = http_app("127.0.0.61", &["http://svc.test:{port}/"]);
    let (cap, stdout) = trace_with_hosts(node, &app, hosts);
    let port = port_from(&stdout);
    let rec = connect(&cap, "127.0.0.61", port);
    assert_eq!(hostnames(rec), ["svc.test"], "{rec:#}");
    assert!(rec.get("name_unknown").is_none(), "{rec:#}");
    let name = cap["names"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "svc.test" && n["via"] == "getaddrinfo")
        .unwrap_or_else(|| panic!("svc.test not among {:#}", cap["names"]));
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

/// A DNS server on 127.53.x.y:53 answering A queries for `name` with `ip`, NXDOMAIN
/// otherwise. The address is unique per call, so tests can run side by side.
fn dns_server(name: &'static str, ip: Ipv4Addr) -> Ipv4Addr {
    static NEXT: AtomicU8 = AtomicU8::new(1);
    let socket = loop {
        let host = Ipv4Addr::new(
            127,
            53,
            (std::process::id() % 250) as u8,
            NEXT.fetch_add(1, Ordering::Relaxed),
        );
        match UdpSocket::bind((host, 53)) {
            Ok(s) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(e) => panic!("binding a DNS server on {host}:53: {e}"),
        }
    };
    let addr = match socket.local_addr().unwrap().ip() {
        std::net::IpAddr::V4(v4) => v4,
        other => panic!("{other}"),
    };
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            let q = &buf[..n];
            let Some(end) = question_end(q) else { continue };
            let asked = qname(&q[12..end - 4]);
            let qtype = u16::from_be_bytes([q[end - 4], q[end - 3]]);
            let hit = asked.eq_ignore_ascii_case(name);
            let mut r = q[..end].to_vec();
            r[2] = 0x81;
            r[3] = if hit { 0x80 } else { 0x83 };
            r[6..12].copy_from_slice(&[0, 0, 0, 0, 0, 0]);
            if hit && qtype == 1 {
                r[7] = 1;
                r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
                r.extend_from_slice(&ip.octets());
            }
            let _ = socket.send_to(&r, from);
        }
    });
    addr
}

fn question_end(q: &[u8]) -> Option<usize> {
    let mut at = 12;
    while *q.get(at)? != 0 {
        at += 1 + q[at] as usize;
    }
    (at + 5 <= q.len()).then_some(at + 5)
}

fn qname(labels: &[u8]) -> String {
    let mut out = Vec::new();
    let mut at = 0;
    while at < labels.len() && labels[at] != 0 {
        let len = labels[at] as usize;
        if !out.is_empty() {
            out.push(b'.');
        }
        out.extend_from_slice(&labels[at + 1..(at + 1 + len).min(labels.len())]);
        at += 1 + len;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn resolve_then_connect(node: &Path) {
    let ns = dns_server("other.test", Ipv4Addr::new(127, 0, 0, 64));
    let dir = tempfile::tempdir().unwrap();
    let js = dir.path().join("resolve.js");
    std::fs::write(
        &js,
        format!(
            r#"const dns = require('dns'), net = require('net');
dns.setServers(['{ns}']);
const srv = net.createServer(s => s.end()).listen(0, '127.0.0.64', () => {{
  dns.resolve4('other.test', (err, addrs) => {{
    if (err) throw err;
    const port = srv.address().port;
    net.connect(port, addrs[0]).on('close', () => {{ console.log('PORT', port); srv.close(); }}).resume();
  }});
}});
"#
        ),
    )
    .unwrap();
    let node = node.to_str().unwrap().to_string();
    let (cap, stdout) = trace(&dir.path().join("out"), &[&node, js.to_str().unwrap()]);
    let names = cap["names"].as_array().unwrap();
    let other = names
        .iter()
        .find(|n| n["name"] == "other.test" && n["via"] == "dns")
        .unwrap_or_else(|| panic!("other.test not among {names:#?}"));
    assert_eq!(other["addresses"], serde_json::json!(["127.0.0.64"]));
    assert!(other["stats"]["count"].as_u64().unwrap() >= 1, "{other:#}");
    assert!(other["stats"]["ok"].as_u64().unwrap() >= 1, "{other:#}");
    let rec = connect(&cap, "127.0.0.64", port_from(&stdout));
    assert_eq!(hostnames(rec), ["other.test"], "{rec:#}");
    // The name server itself is an endpoint (UDP :53), never given a name.
    let ns_rec = connect(&cap, &ns.to_string(), 53);
    assert!(hostnames(ns_rec).is_empty());
}

#[test]
fn dns_resolve4_against_a_local_server_is_captured_from_query_and_answer_node20() {
    require_kernel();
    resolve_then_connect(Path::new("/usr/bin/node"));
}

#[test]
fn dns_resolve4_against_a_local_server_is_captured_from_query_and_answer_node26() {
    require_kernel();
    resolve_then_connect(&node_binary("26.10.0"));
}

#[test]
fn the_hosts_command_lists_names_with_ports_for_a_firewall() {
    require_kernel();
    let hosts = "127.0.0.1 localhost\n127.0.0.65 api.test\n";
    let app = http_app("127.0.0.65", &["http://api.test:{port}/"]);
    let dir = tempfile::tempdir().unwrap();
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
    let api = list["egress"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["host"] == "api.test")
        .unwrap_or_else(|| panic!("{list:#}"));
    assert_eq!(api["endpoint"], format!("api.test:{port}"));
    assert_eq!(
        (api["protocol"].as_str(), api["loopback"].as_bool()),
        (Some("tcp"), Some(true))
    );
    assert_eq!(api["addresses"], serde_json::json!(["127.0.0.65"]));
    let listen = list["listen"].as_array().unwrap();
    assert!(
        listen
            .iter()
            .any(|l| l["op"] == "listen" && l["address"] == "127.0.0.65"),
        "{list:#}"
    );
}

fn names_of<'a>(cap: &'a Value, name: &str, via: &str) -> &'a Value {
    cap["names"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == name && n["via"] == via)
        .unwrap_or_else(|| panic!("no {name} via {via} among {:#}", cap["names"]))
}

#[test]
fn a_resolver_that_sends_without_connecting_is_seen_too() {
    require_kernel();
    // musl's resolver (Alpine) sends to port 53 on an unconnected socket: python does the
    // same here, so the answer must be recognised by the socket's earlier send.
    let ns = dns_server("plain.test", Ipv4Addr::new(127, 0, 0, 66));
    let script = format!(
        "import socket\n\
         q = bytes.fromhex('abcd01000001000000000000') + b'\\x05plain\\x04test\\x00' + b'\\x00\\x01\\x00\\x01'\n\
         s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         s.sendto(q, ('{ns}', 53))\n\
         print(len(s.recvfrom(512)[0]))\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let (cap, _) = trace(&dir.path().join("out"), &["python3", "-c", &script]);
    let plain = names_of(&cap, "plain.test", "dns");
    assert_eq!(plain["addresses"], serde_json::json!(["127.0.0.66"]));
    assert_eq!(
        (
            plain["stats"]["count"].as_u64(),
            plain["stats"]["ok"].as_u64()
        ),
        (Some(1), Some(1))
    );
}

#[test]
fn libc_queries_inside_getaddrinfo_are_marked_and_the_asked_name_kept() {
    require_kernel();
    let ns = dns_server("gai.test", Ipv4Addr::new(127, 0, 0, 67));
    let dir = tempfile::tempdir().unwrap();
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(&resolv, format!("nameserver {ns}\n")).unwrap();
    // getent resolves with getaddrinfo: libc sends the DNS queries itself (sendmmsg on a
    // connected socket) inside the call.
    let shell = format!(
        "mount --bind '{}' /etc/resolv.conf && exec getent ahostsv4 gai.test",
        resolv.display()
    );
    let (cap, stdout) = trace(
        &dir.path().join("out"),
        &["unshare", "-m", "sh", "-c", &shell],
    );
    assert!(stdout.contains("127.0.0.67"), "getent printed {stdout:?}");
    let gai = names_of(&cap, "gai.test", "getaddrinfo");
    assert_eq!(gai["addresses"], serde_json::json!(["127.0.0.67"]));
    let dns = names_of(&cap, "gai.test", "dns");
    let stats = &dns["stats"];
    assert!(stats["count"].as_u64().unwrap() >= 1, "{dns:#}");
    assert_eq!(
        stats["in_resolver"], stats["count"],
        "libc sent them all: {dns:#}"
    );
}
