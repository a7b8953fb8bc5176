//! `permtrace policy` as a user runs it: the real binary on fixture captures, no root.

mod common;

use std::path::{Path, PathBuf};

use common::run_permtrace;

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/policy")
        .join(name)
        .join("capture.json")
        .display()
        .to_string()
}

fn golden(fixture: &str, version: &str, file: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/policy")
        .join(fixture)
        .join(version)
        .join(file);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn prints_each_format_for_the_captured_or_the_given_version() {
    let cjs = fixture("cjs-service");
    let out = run_permtrace(&["policy", &cjs, "--node-version", "22"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        golden("cjs-service", "22", "node-flags.txt")
    );
    // The capture says 22.23.3, so the default is the same draft.
    let out = run_permtrace(&["policy", &cjs]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        golden("cjs-service", "22", "node-flags.txt")
    );
    for (format, file) in [("config", "node.config.json"), ("json", "policy.json")] {
        let out = run_permtrace(&["policy", &cjs, "--node-version", "25", "--format", format]);
        assert!(out.status.success(), "{format}: {}", stderr(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            golden("cjs-service", "25", file)
        );
    }
    let out = run_permtrace(&["policy", &cjs, "--format", "report"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Dropped as Node-internal"));
    let out = run_permtrace(&["policy", &cjs, "--format", "deno"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("--allow-read="));
}

#[test]
fn writes_every_rendering_with_dash_o_and_removes_a_stale_config() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("drafts");
    let dir_s = dir.display().to_string();
    let cjs = fixture("cjs-service");
    let out = run_permtrace(&["policy", &cjs, "--node-version", "24", "-o", &dir_s]);
    assert!(out.status.success(), "{}", stderr(&out));
    for f in permtrace::policy::DRAFT_FILES {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("node.config.json")).unwrap(),
        golden("cjs-service", "24", "node.config.json")
    );
    assert!(stderr(&out).contains("node-flags.txt"), "{}", stderr(&out));
    // Re-drafted for 20, which has no config file: the 24 one must not linger.
    let out = run_permtrace(&["policy", &cjs, "--node-version", "20", "-o", &dir_s]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!dir.join("node.config.json").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("node-flags.txt")).unwrap(),
        golden("cjs-service", "20", "node-flags.txt")
    );
}

#[test]
fn bad_input_is_a_clear_error_and_a_non_zero_exit() {
    let tmp = tempfile::tempdir().unwrap();
    let corrupt = tmp.path().join("corrupt.json");
    std::fs::write(
        &corrupt,
        "{\"schema\": \"permtrace.capture/1\", \"files\": [",
    )
    .unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![corrupt.display().to_string()], "truncated"),
        (
            vec![tmp.path().join("missing.json").display().to_string()],
            "cannot read",
        ),
        // No version recorded (attach) and none given.
        (vec![fixture("attach-incomplete")], "--node-version"),
        (
            vec![fixture("cjs-service"), "--node-version".into(), "18".into()],
            "no usable permission model",
        ),
        (
            vec![
                fixture("cjs-service"),
                "--node-version".into(),
                "banana".into(),
            ],
            "not a Node.js version",
        ),
        (
            vec![
                fixture("cjs-service"),
                "--node-version".into(),
                "20".into(),
                "--format".into(),
                "config".into(),
            ],
            "no config file support",
        ),
    ];
    for (args, want) in cases {
        let mut all = vec!["policy".to_string()];
        all.extend(args.clone());
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = run_permtrace(&refs);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?} printed a draft anyway");
    }
}

#[test]
fn a_capture_without_node_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("capture.json");
    let cap = serde_json::json!({
        "schema": "permtrace.capture/1",
        "tool": {"name": "permtrace", "version": "0.1.0"},
        "target": {"mode": "run", "command": ["ls"], "cwd": "/", "user": null, "node": null, "entry": null},
        "window": {"started_at_ms": 0, "ended_at_ms": 1, "saw_start": true, "ended_by": "exit"},
        "stats": {"events": 1, "kernel": {"emitted": 1, "ring_full": 0, "inflight_full": 0,
                  "tracked_full": 0, "read_faults": 0}, "decode_errors": 0, "unresolved_paths": 0,
                  "processes": 1},
        "programs": [{"id": 0, "exe": "/bin/ls", "argv": ["ls"], "is_node": false, "parent": null,
                      "processes": 1, "pids": [1], "first_seen_ms": 0}],
        "files": [], "network": [], "spawns": []
    });
    std::fs::write(&file, cap.to_string()).unwrap();
    let out = run_permtrace(&[
        "policy",
        &file.display().to_string(),
        "--node-version",
        "22",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no Node.js process"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_incomplete_capture_is_announced() {
    let out = run_permtrace(&[
        "policy",
        &fixture("attach-incomplete"),
        "--node-version",
        "26",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("incomplete"), "{}", stderr(&out));
    let report = golden("attach-incomplete", "26", "report.txt");
    assert!(report.contains("!!! INCOMPLETE CAPTURE"));
}
