//! Names and `attach` on the real kernel (issue 5, acceptance 4): a Node process resolves
//! `svc.test` (a private /etc/hosts) and connects before permtrace attaches, keeps the
//! address and connects to it again after; after the attach it also resolves and connects
//! to `late.test`, and connects to literal addresses. The capture, the hosts list and the
//! report mark the first endpoint "name unknown", name the second, and show the literals as
//! IPs: unmarked when the address is written in the process's argv or environment, marked
//! when it is only in its code (permtrace cannot tell that from a kept lookup result).

mod common;
mod dns_support;

use std::{
    io::{BufRead as _, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use common::{attach::Attach, hosts::with_private_hosts, permtrace, require_kernel};
use dns_support::{connect, hostnames, names_of};
use serde_json::Value;

const APP: &str = r#"const dns = require('dns').promises, net = require('net'), fs = require('fs');
const hit = (host, port) => new Promise((ok, fail) =>
  net.connect(port, host).on('error', fail).on('close', ok).resume());
const srv = net.createServer(s => s.end()).listen(0, '0.0.0.0', async () => {
  const port = srv.address().port;
  const { address: kept } = await dns.lookup('svc.test', { family: 4 });
  await hit(kept, port);
  console.log(port);
  while (!fs.existsSync('go')) await new Promise(r => setTimeout(r, 20));
  await hit(kept, port);                              // resolved before the attach
  const { address: late } = await dns.lookup('late.test', { family: 4 });
  await hit(late, port);                              // resolved after it
  await hit(process.argv[2], port);                   // a literal from the command line
  await hit(process.env.DB_HOST, port);               // a literal from the environment
  await hit('127.0.0.76', port);                      // a literal in the code
  srv.close();
});
"#;

/// The app, started by the test (not by permtrace) with its private /etc/hosts; returns it
/// once its first connect is done, and the port it serves on.
fn start_app(dir: &std::path::Path) -> (Child, u16) {
    let hosts = dir.join("hosts");
    std::fs::write(
        &hosts,
        "127.0.0.1 localhost\n127.0.0.71 svc.test\n127.0.0.72 late.test\n",
    )
    .unwrap();
    std::fs::write(dir.join("app.js"), APP).unwrap();
    let argv = with_private_hosts(&hosts, &["/usr/bin/node", "app.js", "127.0.0.73"]);
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .env("DB_HOST", "127.0.0.75")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the app");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("the app printed {line:?}"));
    (child, port)
}

fn egress<'a>(list: &'a Value, endpoint: &str) -> &'a Value {
    list["egress"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["endpoint"] == endpoint)
        .unwrap_or_else(|| panic!("no {endpoint} in {list:#}"))
}

#[test]
fn addresses_resolved_before_attach_are_name_unknown_and_later_lookups_name_theirs() {
    require_kernel();
    let tmp = tempfile::tempdir().unwrap();
    let (mut app, port) = start_app(tmp.path());
    let out = tmp.path().join("out");
    let pid = app.id().to_string();
    let attach = Attach::start(&["--pid", &pid, "-o", out.to_str().unwrap()]);
    std::fs::write(tmp.path().join("go"), "").unwrap();
    // The app exits after its last connect, which ends the capture.
    let (code, said) = attach.finish(Duration::from_secs(60));
    assert_eq!(code, 0, "{said}");
    assert!(app.wait().unwrap().success());
    let cap: Value =
        serde_json::from_slice(&std::fs::read(out.join("capture.json")).unwrap()).unwrap();

    let kept = connect(&cap, "127.0.0.71", port);
    assert!(hostnames(kept).is_empty(), "{kept:#}");
    assert_eq!(kept["name_unknown"], true, "{kept:#}");
    assert_eq!(
        kept["stats"]["count"], 1,
        "only the connect after the attach"
    );
    let late = connect(&cap, "127.0.0.72", port);
    assert_eq!(hostnames(late), ["late.test"], "{late:#}");
    assert!(late.get("name_unknown").is_none(), "{late:#}");
    assert_eq!(
        names_of(&cap, "late.test", "getaddrinfo")["addresses"],
        serde_json::json!(["127.0.0.72"])
    );
    // svc.test was looked up before: permtrace never saw the name, and never makes one up.
    let names = cap["names"].as_array().unwrap();
    assert!(!names.iter().any(|n| n["name"] == "svc.test"), "{names:#?}");
    for literal in ["127.0.0.73", "127.0.0.75"] {
        let rec = connect(&cap, literal, port);
        assert!(hostnames(rec).is_empty(), "{rec:#}");
        assert!(rec.get("name_unknown").is_none(), "{literal}: {rec:#}");
    }
    let in_code = connect(&cap, "127.0.0.76", port);
    assert_eq!(in_code["name_unknown"], true, "{in_code:#}");

    // The hosts list: the unknown one by IP and marked, the late one by name.
    let file = out.join("capture.json");
    let listed = Command::new(permtrace())
        .arg("hosts")
        .arg(&file)
        .output()
        .unwrap();
    assert!(listed.status.success());
    let list: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let unknown = egress(&list, &format!("127.0.0.71:{port}"));
    assert_eq!(
        (&unknown["named"], &unknown["name_unknown"]),
        (&false.into(), &true.into())
    );
    let named = egress(&list, &format!("late.test:{port}"));
    assert_eq!(
        (&named["named"], &named["name_unknown"]),
        (&true.into(), &false.into())
    );
    let argv = egress(&list, &format!("127.0.0.73:{port}"));
    assert_eq!(argv["name_unknown"], false, "{argv:#}");

    // The report says it next to the endpoint, in its network section.
    let report = std::fs::read_to_string(out.join("report.txt")).unwrap();
    let line = |addr: &str| {
        report
            .lines()
            .skip_while(|l| !l.starts_with("Network"))
            .find(|l| l.contains("connect") && l.contains(&format!("{addr}:{port}")))
            .unwrap_or_else(|| panic!("no connect to {addr} in\n{report}"))
            .to_string()
    };
    assert!(line("127.0.0.71").contains("name unknown"), "{report}");
    assert!(line("127.0.0.72").contains("(late.test)"), "{report}");
    assert!(!line("127.0.0.73").contains("name unknown"), "{report}");
}
