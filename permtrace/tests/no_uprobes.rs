//! `--no-uprobes` (also what permtrace falls back to when the kernel refuses uprobes): names
//! still come from the DNS messages c-ares sends, and the capture and the report say that
//! runtime features (here a Worker the app starts) were not observed, and why.

mod common;
mod dns_support;

use std::net::Ipv4Addr;

use common::{node_binary, require_kernel, trace::Trace};
use dns_support::{Udp, connect, dns_server, hostnames, names_of, port_from};

#[test]
fn without_uprobes_names_come_from_dns_messages_and_runtime_features_are_unobserved() {
    require_kernel();
    let ns = dns_server("other.test", Ipv4Addr::new(127, 0, 0, 69), Udp::Answer);
    let t = Trace::new().no_event_log().opt("--no-uprobes");
    let js = t.dir().join("app.js");
    std::fs::write(
        &js,
        format!(
            r#"const dns = require('dns'), net = require('net');
const {{ Worker }} = require('worker_threads');
new Worker('1', {{ eval: true }});
dns.setServers(['{ns}']);
const srv = net.createServer(s => s.end()).listen(0, '127.0.0.69', () => {{
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
    let node = node_binary("26.10.0");
    let out = t.run(&[node.to_str().unwrap(), js.to_str().unwrap()]);
    out.expect_code(0);
    let stdout = std::fs::read_to_string(out.dir.path().join("permtrace.stdout")).unwrap();
    let cap = &out.capture;

    // The name, from the query and answer c-ares sent and received on port 53.
    let other = names_of(cap, "other.test", "dns");
    assert_eq!(other["addresses"], serde_json::json!(["127.0.0.69"]));
    let rec = connect(cap, "127.0.0.69", port_from(&stdout));
    assert_eq!(hostnames(rec), ["other.test"], "{rec:#}");
    // Nothing came from getaddrinfo: it was not probed.
    let names = cap["names"].as_array().unwrap();
    assert!(names.iter().all(|n| n["via"] == "dns"), "{names:#?}");

    // The Worker went unseen, and the capture says so instead of claiming a zero.
    let rt = &cap["runtime"];
    assert_eq!(
        (rt["workers"].as_u64(), rt["observed"].as_bool()),
        (Some(0), Some(false))
    );
    let gaps = rt["unobserved"].as_array().expect("unobserved gaps");
    let node_gap = gaps
        .iter()
        .find(|g| g["binary"] == node.to_str().unwrap())
        .unwrap_or_else(|| panic!("no gap for {}: {rt:#}", node.display()));
    assert!(
        node_gap["features"]
            .as_array()
            .unwrap()
            .contains(&"worker".into()),
        "{node_gap:#}"
    );
    for g in gaps {
        assert_eq!(
            g["reason"], "uprobes were turned off (--no-uprobes)",
            "{g:#}"
        );
    }
    assert!(
        gaps.iter()
            .any(|g| g["features"] == serde_json::json!(["getaddrinfo"])),
        "libc's getaddrinfo is listed as unwatched too: {rt:#}"
    );

    // The report warns that --allow-worker & co. may be missing, and why.
    let report = std::fs::read_to_string(out.dir.path().join("out/report.txt")).unwrap();
    let line = report
        .lines()
        .find(|l| l.contains("runtime-features-unobserved"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        line.contains("[WARNING]")
            && line.contains("--allow-worker")
            && line.contains("--no-uprobes"),
        "{line}"
    );
    // Node 26 checks the network: the lookup and the connect need --allow-net.
    let flags = std::fs::read_to_string(out.dir.path().join("out/node-flags.txt")).unwrap();
    assert!(flags.lines().any(|l| l == "--allow-net"), "{flags}");
}
