//! The renderers, pinned: every fixture capture (hand-written, under tests/fixtures/policy)
//! rendered for Node 20, 22, 24, 25 and 26 must equal the golden files under
//! tests/golden/policy/<fixture>/<version>/. The golden files are what the code produced when
//! they were last reviewed; after an intended change regenerate them with
//! `PERMTRACE_BLESS=1 cargo test --test policy_golden` and review the diff.

use std::path::{Path, PathBuf};

use permtrace::{
    capture::load_capture,
    policy::{Policy, Settings, draft, render},
};

const VERSIONS: &[&str] = &["20", "22", "24", "25", "26"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn fixtures() -> Vec<(String, PathBuf)> {
    let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(root().join("fixtures/policy"))
        .expect("tests/fixtures/policy")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("capture.json").exists())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                p.join("capture.json"),
            )
        })
        .collect();
    v.sort();
    assert!(v.len() >= 4, "fixtures missing: {v:?}");
    v
}

/// Every rendering of a policy, by file name (`None`: the file must not exist).
fn renderings(p: &Policy) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("node-flags.txt", Some(render::node_flags(p))),
        ("node.config.json", render::node_config(p)),
        ("report.txt", Some(render::report(p, "DIR"))),
        ("deno-flags.txt", Some(render::deno_flags(p))),
        ("deno.json", Some(render::deno_json(p))),
        ("policy.json", Some(render::json(p))),
    ]
}

fn check(dir: &Path, p: &Policy, bless: bool, failures: &mut Vec<String>) {
    for (name, text) in renderings(p) {
        let file = dir.join(name);
        if bless {
            std::fs::create_dir_all(dir).unwrap();
            match &text {
                Some(t) => std::fs::write(&file, t).unwrap(),
                None => {
                    let _ = std::fs::remove_file(&file);
                }
            }
            continue;
        }
        let golden = std::fs::read_to_string(&file).ok();
        if golden != text {
            let what = match (&golden, &text) {
                (None, Some(_)) => "missing golden file".to_string(),
                (Some(_), None) => "golden file exists but nothing is rendered".to_string(),
                (Some(g), Some(t)) => first_difference(g, t),
                (None, None) => unreachable!(),
            };
            failures.push(format!("{}: {what}", file.display()));
        }
    }
}

fn first_difference(golden: &str, got: &str) -> String {
    for (i, (g, t)) in golden.lines().zip(got.lines()).enumerate() {
        if g != t {
            return format!("line {}:\n    golden: {g}\n    now:    {t}", i + 1);
        }
    }
    format!(
        "length differs ({} vs {} lines)",
        golden.lines().count(),
        got.lines().count()
    )
}

fn settings(version: &str) -> Settings {
    Settings {
        node_version: Some(version.into()),
        ..Default::default()
    }
}

#[test]
fn renderers_match_the_golden_files() {
    let bless = std::env::var("PERMTRACE_BLESS").is_ok_and(|v| v == "1");
    let golden = root().join("golden/policy");
    let mut failures = Vec::new();
    for (name, capture) in fixtures() {
        let cap = load_capture(&capture).unwrap();
        for v in VERSIONS {
            let p = draft(&cap, &settings(v)).unwrap_or_else(|e| panic!("{name} {v}: {e:#}"));
            check(&golden.join(&name).join(v), &p, bless, &mut failures);
        }
    }
    // One variant with --keep-internal and a lower collapse threshold.
    let cap = load_capture(&root().join("fixtures/policy/cjs-service/capture.json")).unwrap();
    let mut s = settings("22");
    s.keep_internal = true;
    s.collapse_threshold = 3;
    let p = draft(&cap, &s).unwrap();
    check(
        &golden.join("cjs-service/22-keep-internal"),
        &p,
        bless,
        &mut failures,
    );
    assert!(
        failures.is_empty(),
        "renderings differ from the golden files (if the change is intended, regenerate with \
         PERMTRACE_BLESS=1 cargo test --test policy_golden and review the diff):\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_captured_version_is_used_and_a_missing_one_is_a_clear_error() {
    let cap = load_capture(&root().join("fixtures/policy/cjs-service/capture.json")).unwrap();
    let p = draft(&cap, &Settings::default()).unwrap();
    assert_eq!(p.node.version, "22.23.3");
    let attach =
        load_capture(&root().join("fixtures/policy/attach-incomplete/capture.json")).unwrap();
    let err = format!("{:#}", draft(&attach, &Settings::default()).unwrap_err());
    assert!(err.contains("--node-version"), "{err}");
}
