//! Names from DNS messages the kernel copies on port 53 (c-ares for `dns.resolve*`, libc's
//! resolver, a resolver that never connects), against a DNS server the test runs on
//! 127.53.x.y:53.

mod common;
mod dns_support;

use std::{net::Ipv4Addr, path::Path};

use common::{node_binary, require_kernel};
use dns_support::{Udp, connect, dns_server, hostnames, names_of, port_from, trace};

fn resolve_then_connect(node: &Path) {
    let ns = dns_server("other.test", Ipv4Addr::new(127, 0, 0, 64), Udp::Answer);
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
fn a_resolver_that_sends_without_connecting_is_seen_too() {
    require_kernel();
    // musl's resolver (Alpine) sends to port 53 on an unconnected socket: python does the
    // same here, so the answer must be recognised by the socket's earlier send.
    let ns = dns_server("plain.test", Ipv4Addr::new(127, 0, 0, 66), Udp::Answer);
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
    let ns = dns_server("gai.test", Ipv4Addr::new(127, 0, 0, 67), Udp::Answer);
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

#[test]
fn a_truncated_udp_answer_retried_over_tcp_is_read_from_the_tcp_stream() {
    require_kernel();
    // c-ares retries over TCP (connect to :53, length-prefixed messages) when the UDP answer
    // has the TC bit: only the TCP answer carries the address.
    let ns = dns_server("big.test", Ipv4Addr::new(127, 0, 0, 68), Udp::Truncate);
    let dir = tempfile::tempdir().unwrap();
    let js = dir.path().join("tcp.js");
    std::fs::write(
        &js,
        format!(
            "const dns = require('dns'); dns.setServers(['{ns}']);\n\
             dns.resolve4('big.test', (e, a) => {{ if (e) throw e; console.log(a[0]); }});\n"
        ),
    )
    .unwrap();
    let node = node_binary("26.10.0");
    let (cap, stdout) = trace(
        &dir.path().join("out"),
        &[node.to_str().unwrap(), js.to_str().unwrap()],
    );
    assert_eq!(stdout.trim(), "127.0.0.68");
    let big = names_of(&cap, "big.test", "dns");
    assert_eq!(big["addresses"], serde_json::json!(["127.0.0.68"]));
    assert_eq!(
        big["stats"]["count"], 2,
        "the UDP query and its TCP retry: {big:#}"
    );
    let tcp = cap["network"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["protocol"] == "tcp" && n["port"] == 53)
        .unwrap_or_else(|| panic!("no TCP connect to :53 in {:#}", cap["network"]));
    assert_eq!(tcp["address"], ns.to_string());
}
