//! Issue 5, acceptance 5, end to end: a real Node app fetches `http://svc.test:PORT/`
//! (svc.test from a private /etc/hosts) and `http://127.0.0.72:PORT2/` under `permtrace run`;
//! the Deno renderings (deno-flags.txt, deno.json, `permtrace policy --format deno`) must
//! list `svc.test:PORT` by name and the literal address as `IP:port`. Then real Deno (from
//! npm, `@deno/linux-x64-glibc`) runs a script making the same accesses under those flags and
//! under the deno.json permission set, in the same private /etc/hosts: they succeed, and a
//! read and a connect outside the set fail with NotCapable.

mod common;
mod dns_support;

use std::{collections::BTreeSet, net::Ipv4Addr, path::Path, process::Command};

use common::{deno_binary, node_binary, permtrace, require_kernel};
use dns_support::{
    HostsTrace, connect, hostnames, http_server, trace_node_with_hosts, with_private_hosts,
};
use serde_json::{Value, json};

const DENO_VERSION: &str = "2.9.6";
const NAMED: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 71);
const LITERAL: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 72);

const NODE_APP: &str = r#"const http = require('http'), fs = require('fs');
const [named, literal, file] = process.argv.slice(2);
const get = (url) => new Promise((ok, fail) =>
  http.get(url, r => { r.resume(); r.on('end', ok); }).on('error', fail));
(async () => {
  JSON.parse(fs.readFileSync(file, 'utf8'));
  await get(`http://svc.test:${named}/`);
  await get(`http://127.0.0.72:${literal}/`);
  console.log('done');
})();
"#;

/// The same accesses in Deno, plus a read and a connect (to svc.test's address, by IP) that
/// the permission set must not allow.
const DENO_APP: &str = r#"const [named, literal, file] = Deno.args;
const attempt = async (f) => { try { return await f(); } catch (e) { return e.name; } };
const body = async (url) => (await fetch(url)).text();
console.log(JSON.stringify({
  data: await attempt(() => JSON.parse(Deno.readTextFileSync(file)).v),
  named: await attempt(() => body(`http://svc.test:${named}/`)),
  literal: await attempt(() => body(`http://127.0.0.72:${literal}/`)),
  outside_read: await attempt(() => Deno.readTextFileSync('/etc/hostname')),
  by_address: await attempt(() => body(`http://127.0.0.71:${named}/`)),
}));
"#;

fn net_list(values: &[&str]) -> BTreeSet<String> {
    values.iter().map(|s| s.to_string()).collect()
}

/// The `--allow-net=` values of Deno flags text.
fn allowed_net(flags: &str) -> BTreeSet<String> {
    flags
        .lines()
        .filter_map(|l| l.strip_prefix("--allow-net="))
        .flat_map(|v| v.split(','))
        .map(String::from)
        .collect()
}

fn run_deno(t: &HostsTrace, args: &[&str], app_args: &[&str], what: &str) -> Value {
    let deno = deno_binary(DENO_VERSION);
    let main = t.dir.path().join("main.js");
    std::fs::write(&main, DENO_APP).unwrap();
    let mut argv = vec![deno.to_str().unwrap(), "run", "--no-prompt"];
    argv.extend_from_slice(args);
    argv.push(main.to_str().unwrap());
    argv.extend_from_slice(app_args);
    let cmd = with_private_hosts(&t.hosts_file(), &argv);
    let out = Command::new(&cmd[0])
        .args(&cmd[1..])
        .env("DENO_DIR", t.dir.path().join("deno-dir"))
        .env("DENO_NO_UPDATE_CHECK", "1")
        .env("NO_COLOR", "1")
        .current_dir(t.dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "deno ({what}) exited {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{what}: {e}: {stdout}"))
}

#[test]
fn deno_output_names_hosts_and_real_deno_runs_under_it() {
    require_kernel();
    let (named, literal) = (http_server(NAMED), http_server(LITERAL));
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("config.json");
    std::fs::write(&file, r#"{"v":42}"#).unwrap();
    let file = file.to_str().unwrap().to_string();
    let (p1, p2) = (named.to_string(), literal.to_string());
    let hosts = format!("127.0.0.1 localhost\n{NAMED} svc.test\n");
    let t = trace_node_with_hosts(
        &node_binary("26.10.0"),
        NODE_APP,
        &[&p1, &p2, &file],
        &hosts,
    );
    assert_eq!(t.stdout.trim(), "done");
    let rec = connect(&t.capture, &NAMED.to_string(), named);
    assert_eq!(hostnames(rec), ["svc.test"], "{rec:#}");

    // What the renderers say: the name for the named connect, the address for the other.
    let want = net_list(&[
        &format!("svc.test:{named}"),
        &format!("{LITERAL}:{literal}"),
    ]);
    let out = t.out();
    let flags = std::fs::read_to_string(out.join("deno-flags.txt")).unwrap();
    assert_eq!(allowed_net(&flags), want, "deno-flags.txt:\n{flags}");
    let deno_json: Value =
        serde_json::from_slice(&std::fs::read(out.join("deno.json")).unwrap()).unwrap();
    let set = &deno_json["permissions"]["default"];
    let net: BTreeSet<String> = set["net"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(net, want, "deno.json: {deno_json:#}");
    assert!(
        set["read"].as_array().unwrap().contains(&json!(file)),
        "{deno_json:#}"
    );
    let rendered = Command::new(permtrace())
        .args(["policy", "--format", "deno"])
        .arg(out.join("capture.json"))
        .output()
        .unwrap();
    assert!(rendered.status.success(), "{rendered:?}");
    let text = String::from_utf8(rendered.stdout).unwrap();
    let (cli_flags, cli_json) = text
        .split_once("# deno.json (deno run -P uses its \"default\" set):\n")
        .unwrap_or_else(|| panic!("no deno.json part in:\n{text}"));
    assert_eq!(cli_flags.trim_end(), flags.trim_end());
    assert_eq!(serde_json::from_str::<Value>(cli_json).unwrap(), deno_json);

    // Real Deno accepts both forms and allows exactly that.
    let want_run = json!({
        "data": 42, "named": "ok", "literal": "ok",
        "outside_read": "NotCapable", "by_address": "NotCapable",
    });
    let flag_args: Vec<&str> = flags.lines().collect();
    let app = [p1.as_str(), p2.as_str(), file.as_str()];
    let got = run_deno(&t, &flag_args, &app, "deno-flags.txt");
    assert_eq!(got, want_run, "under {flag_args:?}");
    let config = out.join("deno.json");
    let config_args = ["-P", "--config", config.to_str().unwrap()];
    let got = run_deno(&t, &config_args, &app, "deno.json -P");
    assert_eq!(got, want_run, "under {}", config.display());
    assert!(Path::new(&file).exists());
}
