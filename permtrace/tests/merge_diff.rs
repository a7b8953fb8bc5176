//! `permtrace merge` and `permtrace diff` as users run them, on crafted capture files:
//! results, exit codes, and what happens with corrupt or truncated input.

mod common;

use std::{collections::BTreeMap, path::Path};

use permtrace::{
    access::Access,
    capture::{AccessStats, Capture, FileRecord, NodeInfo, Program, SCHEMA, Target, load_capture},
};

fn capture(version: &str, paths: &[&str]) -> Capture {
    let stats = AccessStats {
        count: 1,
        ok: 1,
        by: vec![0],
        ..Default::default()
    };
    Capture {
        schema: SCHEMA.into(),
        target: Target {
            node: Some(NodeInfo {
                exe: "/usr/bin/node".into(),
                version: Some(version.into()),
            }),
            ..Default::default()
        },
        programs: vec![Program {
            id: 0,
            exe: "/usr/bin/node".into(),
            argv: vec!["node".into(), "app.js".into()],
            is_node: true,
            ..Default::default()
        }],
        files: paths
            .iter()
            .map(|p| FileRecord {
                path: (*p).into(),
                access: BTreeMap::from([(Access::Read, stats.clone())]),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn write(dir: &Path, name: &str, cap: &Capture) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(cap).unwrap()).unwrap();
    path.display().to_string()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn merge_says_which_captures_saw_each_path_and_warns_about_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write(
        tmp.path(),
        "a.json",
        &capture("22.1.0", &["/app/a", "/app/common"]),
    );
    let b = write(
        tmp.path(),
        "b.json",
        &capture("22.1.0", &["/app/b", "/app/common"]),
    );
    let c = write(tmp.path(), "c.json", &capture("24.0.0", &["/app/common"]));
    let out = tmp.path().join("merged");
    let o = common::run_permtrace(&["merge", &a, &b, &c, "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("different Node.js versions"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("3 paths (1 seen in all 3)"),
        "{}",
        stderr(&o)
    );
    let m = load_capture(&out.join("capture.json")).unwrap();
    assert_eq!(m.sources.len(), 3);
    let seen: Vec<(String, Vec<u32>)> = m
        .files
        .iter()
        .map(|f| (f.path.to_string(), f.seen_in.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            ("/app/a".to_string(), vec![0]),
            ("/app/b".to_string(), vec![1]),
            ("/app/common".to_string(), vec![0, 1, 2]),
        ]
    );
    assert_eq!(m.programs.len(), 1);
}

#[test]
fn corrupt_or_truncated_input_is_a_clear_error_and_overwrites_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let good = write(tmp.path(), "good.json", &capture("22.1.0", &["/app/a"]));
    let text = std::fs::read(&good).unwrap();
    let truncated = tmp.path().join("truncated.json");
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let garbage = tmp.path().join("garbage.json");
    std::fs::write(&garbage, "not json at all").unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("capture.json"), "the previous merge").unwrap();

    for (bad, says) in [(&truncated, "truncated"), (&garbage, "not valid JSON")] {
        let o = common::run_permtrace(&[
            "merge",
            &good,
            bad.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1));
        let err = stderr(&o);
        assert!(
            err.contains(bad.to_str().unwrap()) && err.contains(says),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("capture.json")).unwrap(),
            "the previous merge"
        );
        assert_eq!(
            std::fs::read_dir(&out).unwrap().count(),
            1,
            "no stray files"
        );
    }
    let missing = tmp.path().join("missing.json");
    let o = common::run_permtrace(&["merge", &good, missing.to_str().unwrap(), "-o", "x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot read"), "{}", stderr(&o));

    // The merge must not replace one of its own inputs.
    let inside = write(&out, "capture.json", &capture("22.1.0", &["/app/z"]));
    let o = common::run_permtrace(&["merge", &good, &inside, "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is one of the inputs"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn diff_exits_0_when_nothing_is_new_1_when_something_is_and_2_when_it_cannot_compare() {
    let tmp = tempfile::tempdir().unwrap();
    let old = write(tmp.path(), "old.json", &capture("22.1.0", &["/app/a"]));
    let same = write(tmp.path(), "same.json", &capture("22.1.0", &["/app/a"]));
    let new = write(
        tmp.path(),
        "new.json",
        &capture("22.1.0", &["/app/a", "/app/new"]),
    );

    let o = common::run_permtrace(&["diff", &old, &same]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let o = common::run_permtrace(&["diff", &old, &new]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("needs 1 thing"), "{text}");
    assert!(text.contains("read         /app/new"), "{text}");

    let o = common::run_permtrace(&["diff", "--json", &old, &new]);
    assert_eq!(o.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(json["basis"]["kind"], "permission_model");
    assert_eq!(json["fs"][0]["path"], "/app/new");
    assert_eq!(json["fs"][0]["scope"], "read");

    // New capture smaller than the old: nothing new is needed.
    let o = common::run_permtrace(&["diff", &new, &old]);
    assert_eq!(o.status.code(), Some(0));

    let truncated = tmp.path().join("t.json");
    std::fs::write(
        &truncated,
        "{\"schema\": \"permtrace.capture/1\", \"files\": [",
    )
    .unwrap();
    let o = common::run_permtrace(&["diff", &old, truncated.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("truncated"), "{}", stderr(&o));
    let o = common::run_permtrace(&["diff", &old]);
    assert_eq!(o.status.code(), Some(2), "usage errors are 2 as well");
}
