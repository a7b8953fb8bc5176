//! The bundled example app (examples/demo, what `cargo xtask demo` traces) under the real
//! tracer, on the system Node 20 and on Node 26: it runs to completion by itself; the
//! capture holds what it is known to do (its config read, its local module and vendored
//! dependency, its log write, its HTTP listener and client connect, its helper program); and
//! the app runs again under the drafted flags (and on 26 the config file) with nothing denied.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo")
}

/// A private copy of the app (it writes logs/ under its own directory), without old logs.
fn copy_app(to: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if name == "logs" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &to.join(&name));
            } else {
                std::fs::copy(entry.path(), to.join(&name)).unwrap();
            }
        }
    }
    copy(&example_dir(), to);
}

/// Runs the app with `node <node_args> server.js`; asserts it succeeds with nothing denied.
fn run_app(node: &Path, node_args: &[String], app: &Path) -> String {
    let output = std::process::Command::new(node)
        .args(node_args)
        .arg("server.js")
        .current_dir(app)
        .output()
        .expect("starting node");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && !stderr.contains("ERR_ACCESS_DENIED"),
        "the example app failed under {node_args:?} ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert_eq!(stdout.matches("-> Hello, ").count(), 3, "{stdout}");
    // Not vacuous: the same options do enforce, and deny a read the app never made.
    let probe = std::process::Command::new(node)
        .args(node_args)
        .arg("-e")
        .arg("process.exit(process.permission && !process.permission.has('fs.read', '/etc/hostname') ? 0 : 3)")
        .current_dir(app)
        .status()
        .expect("starting node");
    assert!(
        probe.success(),
        "{node_args:?} does not deny reading /etc/hostname"
    );
    stdout
}

fn draft_flags(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("node-flags.txt"))
        .expect("permtrace run wrote no node-flags.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(String::from)
        .collect()
}

/// Traces the app from a private copy; returns the capture, the app's stdout, the copy's
/// directory and permtrace's output directory (kept alive by the returned TempDir).
fn trace_example(node: &Path) -> (Value, String, PathBuf, PathBuf, tempfile::TempDir) {
    common::require_kernel();
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    copy_app(&app);
    let out = tmp.path().join("out");
    let output = std::process::Command::new(common::permtrace())
        .arg("run")
        .arg("-o")
        .arg(&out)
        .arg("--")
        .arg(node)
        .arg("server.js")
        .current_dir(&app)
        .output()
        .expect("starting permtrace");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the example app failed under permtrace ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let capture: Value =
        serde_json::from_slice(&std::fs::read(out.join("capture.json")).unwrap()).unwrap();
    check_capture(&capture, &app);
    (capture, stdout, app, out, tmp)
}

fn file<'a>(capture: &'a Value, path: &Path) -> &'a Value {
    let path = path.to_str().unwrap();
    capture["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("{path} is not in the capture"))
}

fn assert_did(capture: &Value, path: &Path, access: &str) {
    let record = &file(capture, path)["access"][access];
    assert!(
        record["ok"].as_u64().unwrap_or(0) >= 1,
        "no successful {access} of {} in the capture: {record}",
        path.display()
    );
}

fn check_capture(capture: &Value, app: &Path) {
    let stats = &capture["stats"];
    for counter in ["ring_full", "inflight_full", "tracked_full"] {
        assert_eq!(
            stats["kernel"][counter], 0,
            "kernel counter {counter}: {stats}"
        );
    }
    assert_eq!(stats["decode_errors"], 0);
    assert_eq!(
        capture["target"]["entry"],
        app.join("server.js").to_str().unwrap()
    );

    assert_did(capture, &app.join("config.json"), "read");
    assert_did(capture, &app.join("lib/greeter.js"), "read");
    assert_did(
        capture,
        &app.join("node_modules/tiny-slug/index.js"),
        "read",
    );
    assert_did(
        capture,
        &app.join("node_modules/tiny-slug/package.json"),
        "read",
    );
    assert_did(capture, &app.join("logs"), "mkdir");
    assert_did(capture, &app.join("logs/demo.log"), "write");

    let network = capture["network"].as_array().unwrap();
    for op in ["listen", "connect"] {
        assert!(
            network.iter().any(|n| n["op"] == op
                && n["address"] == "127.0.0.1"
                && n["protocol"] == "tcp"
                && n["stats"]["ok"].as_u64().unwrap_or(0) >= 1),
            "no successful {op} on 127.0.0.1 in {network:?}"
        );
    }

    let programs = capture["programs"].as_array().unwrap();
    let uname = programs
        .iter()
        .find(|p| p["exe"].as_str().is_some_and(|e| e.ends_with("/uname")))
        .unwrap_or_else(|| panic!("uname is not among the programs: {programs:?}"));
    assert_eq!(uname["argv"], serde_json::json!(["uname", "-sr"]));
    let node_program = &programs[uname["parent"].as_u64().unwrap() as usize];
    assert_eq!(
        node_program["is_node"], true,
        "uname's parent: {node_program}"
    );
}

#[test]
fn example_app_on_node_20_is_captured_whole_and_runs_under_its_draft() {
    let node = Path::new("/usr/bin/node");
    let (capture, stdout, app, out, _tmp) = trace_example(node);
    assert!(
        capture["target"]["node"]["version"]
            .as_str()
            .unwrap()
            .starts_with("20.")
    );
    assert!(stdout.contains("helper program says Linux"), "{stdout}");
    assert_eq!(stdout.matches("-> Hello, ").count(), 3, "{stdout}");

    let flags = draft_flags(&out);
    assert_eq!(flags[0], "--experimental-permission", "{flags:?}");
    run_app(node, &flags, &app);
}

#[test]
fn example_app_on_node_26_is_captured_whole_and_runs_under_its_draft() {
    let node = common::node_binary("26.10.0");
    let (capture, stdout, app, out, _tmp) = trace_example(&node);
    assert_eq!(capture["target"]["node"]["version"], "26.10.0");
    assert!(stdout.contains("helper program says Linux"), "{stdout}");
    assert_eq!(stdout.matches("-> Hello, ").count(), 3, "{stdout}");

    let flags = draft_flags(&out);
    assert_eq!(flags[0], "--permission", "{flags:?}");
    run_app(&node, &flags, &app);
    let config = out.join("node.config.json");
    assert!(config.exists(), "no node.config.json for Node 26");
    run_app(
        &node,
        &[format!("--experimental-config-file={}", config.display())],
        &app,
    );
}
