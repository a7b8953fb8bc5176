//! Node runtime features no syscall reveals (a Worker is just a clone), seen through uprobes
//! on the real node binaries, and file accesses made inside libc's resolver.

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use common::{node_binary, permtrace, require_kernel};
use serde_json::Value;

/// Traces `node script` and returns the capture.
fn trace_node(node: &Path, script: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let js = dir.path().join("app.js");
    std::fs::write(&js, script).unwrap();
    let out_dir = dir.path().join("out");
    let out = Command::new(permtrace())
        .arg("run")
        .arg("-o")
        .arg(&out_dir)
        .arg("--")
        .arg(node)
        .arg(&js)
        .output()
        .expect("running permtrace");
    assert!(
        out.status.success(),
        "permtrace run failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(out_dir.join("capture.json")).unwrap()).unwrap()
}

fn nodes() -> Vec<PathBuf> {
    vec![
        PathBuf::from("/usr/bin/node"),
        node_binary("22.23.3"),
        node_binary("26.10.0"),
    ]
}

const WORKER: &str = r#"const { Worker } = require('worker_threads');
new Worker('require("worker_threads").parentPort.postMessage(1)', { eval: true })
  .on('message', () => {});
"#;

#[test]
fn a_worker_is_counted_and_its_absence_is_an_observed_zero() {
    require_kernel();
    for node in nodes() {
        let rt = &trace_node(&node, WORKER)["runtime"];
        assert!(
            rt["workers"].as_u64().unwrap() >= 1,
            "{}: {rt:#}",
            node.display()
        );
        assert_eq!(rt["observed"], true, "{}: {rt:#}", node.display());

        let rt = &trace_node(&node, "require('fs').readFileSync(__filename)")["runtime"];
        assert_eq!(rt["workers"], 0, "{}: {rt:#}", node.display());
        assert_eq!(rt["observed"], true, "{}: {rt:#}", node.display());
        assert!(rt.get("unobserved").is_none(), "{rt:#}");
    }
}

#[test]
fn wasi_and_the_inspector_are_counted() {
    require_kernel();
    let script = r#"const { WASI } = require('node:wasi');
new WASI({ version: 'preview1' });
const inspector = require('node:inspector');
const s = new inspector.Session();
s.connect();
s.disconnect();
"#;
    for node in [PathBuf::from("/usr/bin/node"), node_binary("26.10.0")] {
        let rt = &trace_node(&node, script)["runtime"];
        assert!(
            rt["wasi"].as_u64().unwrap() >= 1,
            "{}: {rt:#}",
            node.display()
        );
        assert!(
            rt["inspector"].as_u64().unwrap() >= 1,
            "{}: {rt:#}",
            node.display()
        );
        assert_eq!(rt["workers"], 0, "{rt:#}");
    }
}

#[test]
fn a_native_addon_is_listed_by_its_path() {
    require_kernel();
    // A minimal Node-API addon, built with gcc against the headers of the npm node package
    // (Node-API is ABI-stable, so one build loads in every version).
    let node26 = node_binary("26.10.0");
    let include = node26
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("include/node");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("addon.c");
    std::fs::write(
        &src,
        "#include <node_api.h>\n\
         static napi_value Init(napi_env env, napi_value exports) { return exports; }\n\
         NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)\n",
    )
    .unwrap();
    let addon = dir.path().join("hello.node");
    let status = Command::new("gcc")
        .args(["-shared", "-fPIC", "-DNODE_GYP_MODULE_NAME=hello", "-I"])
        .arg(&include)
        .arg(&src)
        .arg("-o")
        .arg(&addon)
        .status()
        .expect("running gcc");
    assert!(status.success(), "building the test addon failed");
    let script = format!("require({:?});", addon.to_str().unwrap());
    for node in [PathBuf::from("/usr/bin/node"), node26] {
        let rt = &trace_node(&node, &script)["runtime"];
        assert_eq!(
            rt["addons"],
            serde_json::json!([addon.to_str().unwrap()]),
            "{}: {rt:#}",
            node.display()
        );
    }
}

fn reads_of(cap: &Value, path: &str) -> (u64, u64) {
    let rec = cap["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("{path} was not read: {:#}", cap["files"]));
    let read = &rec["access"]["read"];
    (
        read["count"].as_u64().unwrap(),
        read["in_resolver"].as_u64().unwrap_or(0),
    )
}

#[test]
fn etc_hosts_read_by_libc_is_in_resolver_and_read_by_fs_is_not() {
    require_kernel();
    let lookup = "require('dns').lookup('localhost', (e) => { if (e) throw e; });";
    let both = "require('dns').lookup('localhost', (e) => { if (e) throw e; \
                require('fs').readFileSync('/etc/hosts'); });";
    for node in nodes() {
        let cap = trace_node(&node, lookup);
        let (count, in_resolver) = reads_of(&cap, "/etc/hosts");
        assert!(count >= 1, "{}", node.display());
        assert_eq!(in_resolver, count, "{}: only libc read it", node.display());
        // resolv.conf is read by c-ares when the dns module sets it up, and by libc.
        let (count, in_resolver) = reads_of(&cap, "/etc/resolv.conf");
        assert!(count >= 1, "{}", node.display());
        assert_eq!(
            in_resolver,
            count,
            "{}: only resolvers read it",
            node.display()
        );

        let (count, in_resolver) = reads_of(&trace_node(&node, both), "/etc/hosts");
        assert!(in_resolver >= 1, "{}", node.display());
        assert_eq!(
            count,
            in_resolver + 1,
            "{}: one read through fs",
            node.display()
        );
    }
}
