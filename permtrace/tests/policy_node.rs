//! The drafts against real Node binaries: for every fixture and every version, the rendered
//! node-flags.txt and node.config.json (with its `$schema`) must be accepted (`node … -e`,
//! exit 0) and `process.permission.has()` must answer as the model says: every grant and
//! every path it covers is granted, a path nobody used is not, capabilities are on exactly
//! when granted, and the directories the model reports as caught by Node's prefix bug are
//! indeed ungranted.

mod common;

use std::{path::Path, process::Command};

use permtrace::{
    capture::load_capture,
    policy::{
        Policy, Settings, draft,
        model::{Capability, Severity},
        render,
    },
};
use serde_json::json;

/// Checks `process.permission.has` against the expectations in argv[1]; prints "OK".
const CHECKER: &str = r#"
const want = JSON.parse(process.argv[1]);
const bad = [];
for (const [scope, path, expected] of want.fs) {
  const got = process.permission.has(scope, path);
  if (got !== expected) bad.push(`${scope} ${path}: ${got}, want ${expected}`);
}
for (const [scope, expected] of want.caps) {
  const got = process.permission.has(scope);
  if (got !== expected) bad.push(`${scope}: ${got}, want ${expected}`);
}
if (bad.length) { console.log(JSON.stringify(bad, null, 1)); process.exit(1); }
console.log('OK');
"#;

fn expectations(p: &Policy) -> serde_json::Value {
    let mut fs = Vec::new();
    let trapped: Vec<String> = p
        .review
        .iter()
        .filter(|r| r.topic == "sibling-prefix")
        .map(|r| r.paths[0].to_string())
        .collect();
    for (scope, grants) in [("fs.read", &p.fs.read), ("fs.write", &p.fs.write)] {
        for g in grants {
            let path = g.path.to_string();
            if !trapped.contains(&path) {
                fs.push(json!([scope, path, true]));
            }
            if g.directory {
                fs.push(json!([scope, format!("{path}/created-later/x"), true]));
            }
            for c in &g.covers {
                if !trapped.contains(&c.path.to_string()) {
                    fs.push(json!([scope, c.path.to_string(), true]));
                }
            }
        }
        let everything = p.fs.all.is_some();
        fs.push(json!([scope, "/nobody-used-this/secret", everything]));
        for t in trapped.iter().filter(|t| is_scope_of(p, scope, t)) {
            // Node's radix tree leaves these directories ungranted (node-permission.md 4.2).
            fs.push(json!([scope, t, everything]));
        }
    }
    let granted = |c: Capability| {
        p.capabilities
            .iter()
            .any(|u| u.capability == c && u.grantable)
    };
    let mut caps = vec![
        json!(["child", granted(Capability::ChildProcess)]),
        json!(["worker", granted(Capability::Worker)]),
        json!(["wasi", granted(Capability::Wasi)]),
    ];
    if p.node.major >= 22 {
        // has('addon') answers false on 20 even when granted.
        caps.push(json!(["addon", granted(Capability::Addons)]));
    }
    if p.node.checks_net() {
        caps.push(json!(["net", granted(Capability::Net)]));
    }
    if p.node.has_allow_inspector() {
        caps.push(json!(["inspector", granted(Capability::Inspector)]));
    }
    json!({ "fs": fs, "caps": caps })
}

/// Whether a trapped directory is a grant of this scope (else it is simply not granted).
fn is_scope_of(p: &Policy, scope: &str, path: &str) -> bool {
    let grants = if scope == "fs.read" {
        &p.fs.read
    } else {
        &p.fs.write
    };
    grants.iter().any(|g| g.path.to_string() == path)
}

fn run_checker(node: &Path, args: &[String], want: &serde_json::Value, what: &str) {
    let out = Command::new(node)
        .args(args)
        .arg("-e")
        .arg(CHECKER)
        .arg(want.to_string())
        .current_dir("/")
        .output()
        .expect("running node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim() == "OK",
        "{what}: node {args:?} exited {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rendered_flags_and_config_files_are_accepted_and_grant_what_the_model_says() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/policy");
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let cap = load_capture(&dir.join("capture.json")).unwrap();
        for (version, node) in common::all_nodes() {
            let settings = Settings {
                node_version: Some(version.into()),
                ..Default::default()
            };
            let p = draft(&cap, &settings).unwrap();
            let want = expectations(&p);
            let flags: Vec<String> = render::node_flags(&p).lines().map(String::from).collect();
            run_checker(&node, &flags, &want, &format!("{name} flags on {version}"));
            match render::node_config(&p) {
                Some(cfg) => {
                    assert!(cfg.contains("\"$schema\""), "{name} {version}: no $schema");
                    let file = tmp.path().join(format!("{name}-{version}.json"));
                    std::fs::write(&file, cfg).unwrap();
                    let arg = format!("--experimental-config-file={}", file.display());
                    run_checker(&node, &[arg], &want, &format!("{name} config on {version}"));
                }
                None => assert_eq!(p.node.major, 20, "{name}: only Node 20 lacks a config file"),
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "only {checked} fixture/version pairs checked"
    );
}

/// The esm fixture reads /home/alice/svc (its project) and /home/alice/svc-data/state.json,
/// whose parent is protected.
fn esm_fixture() -> permtrace::capture::Capture {
    load_capture(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/policy/esm-workers-temp/capture.json"),
    )
    .unwrap()
}

#[test]
fn a_string_prefix_grant_keeps_the_directory_itself_granted_on_every_version() {
    let p = draft(&esm_fixture(), &Settings::default()).unwrap();
    let g =
        p.fs.read
            .iter()
            .find(|g| g.string_prefix)
            .expect("a string-prefix grant");
    assert_eq!(render::node_value(g), "/home/alice/svc*");
    let want = json!({
        "fs": [
            ["fs.read", "/home/alice/svc", true],
            ["fs.read", "/home/alice/svc/package.json", true],
            ["fs.read", "/home/alice/svc/lib", true],
            ["fs.read", "/home/alice/svc-data/state.json", true],
            ["fs.read", "/home/alice/shared/other.mjs", false],
        ],
        "caps": [],
    });
    for (version, node) in common::all_nodes() {
        let arg = format!("--allow-fs-read={}", render::node_value(g));
        let enable = if version == "20" {
            "--experimental-permission"
        } else {
            "--permission"
        };
        run_checker(
            &node,
            &[enable.into(), arg],
            &want,
            &format!("on {version}"),
        );
    }
}

#[test]
fn a_sibling_prefix_warning_matches_what_node_does() {
    // With svc-data protected, `/home/alice/svc*` would reach it: the exact grants stay and
    // the checker in the first test asserts Node really leaves /home/alice/svc ungranted.
    let settings = Settings {
        protect: permtrace::policy::protect::Protected::new(&["/home/alice/svc-data".into()], &[]),
        ..Default::default()
    };
    let p = draft(&esm_fixture(), &settings).unwrap();
    let w = p
        .review
        .iter()
        .find(|r| r.topic == "sibling-prefix")
        .unwrap();
    assert_eq!(w.severity, Severity::Warning);
    assert_eq!(w.paths[0].to_string(), "/home/alice/svc");
    assert!(p.fs.read.iter().all(|g| !g.string_prefix));
    for (version, node) in common::all_nodes() {
        let settings = Settings {
            node_version: Some(version.into()),
            ..settings.clone()
        };
        let p = draft(&esm_fixture(), &settings).unwrap();
        let flags: Vec<String> = render::node_flags(&p).lines().map(String::from).collect();
        run_checker(&node, &flags, &expectations(&p), &format!("on {version}"));
    }
}
