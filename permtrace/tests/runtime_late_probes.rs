//! A node binary permtrace has not probed before a traced process execs it is probed when
//! that exec reaches userspace: tens of milliseconds later, after the process's JavaScript
//! started (Node 22 starts it ~20 ms after exec, and a first-statement Worker ~25 ms). The
//! capture must then say the binary was probed late, never claim an observed zero; and a
//! binary named in the command is probed before anything runs.

mod common;

use std::{path::Path, time::Duration};

use common::{
    node_binary, require_kernel, signal,
    trace::{Trace, Traced, wait_for_file},
};
use serde_json::Value;

/// The child: a Worker is its very first statement; `online` marks it started.
const CHILD: &str = r#"new (require('worker_threads').Worker)('1', { eval: true })
  .on('online', () => require('fs').writeFileSync(process.argv[2], ''));
"#;

/// The parent (system node 20) runs the child with the node binary named by `$CHILD_NODE`
/// or its own first argument, once `go` exists in the directory given.
const PARENT: &str = r#"const fs = require('fs'), path = require('path');
const dir = process.argv[2], node = process.argv[3] || process.env.CHILD_NODE;
fs.writeFileSync(path.join(dir, 'ready'), '');
const nap = new Int32Array(new SharedArrayBuffer(4));
while (!fs.existsSync(path.join(dir, 'go'))) Atomics.wait(nap, 0, 0, 10);
const r = require('child_process').spawnSync(node, [path.join(dir, 'child.js'), path.join(dir, 'started')], { stdio: 'inherit' });
process.exit(r.status);
"#;

fn setup(t: &Trace) -> (String, String) {
    std::fs::write(t.dir().join("child.js"), CHILD).unwrap();
    std::fs::write(t.dir().join("parent.js"), PARENT).unwrap();
    let parent = t.dir().join("parent.js").display().to_string();
    (parent, t.dir().display().to_string())
}

/// The gaps `capture.runtime.unobserved` lists for `binary`.
fn gaps<'a>(cap: &'a Value, binary: &Path) -> Vec<&'a Value> {
    cap["runtime"]["unobserved"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|g| g["binary"] == binary.to_str().unwrap())
                .collect()
        })
        .unwrap_or_default()
}

/// "probed N ms after its first exec": N.
fn late_ms(gap: &Value) -> Option<u64> {
    let reason = gap["reason"].as_str()?;
    let rest = reason.strip_prefix("probed ")?;
    rest.split_once(" ms after its first exec")?.0.parse().ok()
}

fn finished(t: Traced) -> Traced {
    t.expect_code(0);
    t
}

#[test]
fn a_node_binary_probed_after_its_javascript_started_is_reported_late_not_as_a_zero() {
    require_kernel();
    let node22 = node_binary("22.23.3");
    let t = Trace::new().no_event_log().env("CHILD_NODE", &node22);
    let (parent, dir) = setup(&t);
    let child = t.spawn(&["/usr/bin/node", &parent, &dir]);
    wait_for_file(&t.dir().join("ready"));
    // permtrace cannot react while stopped: the child's exec waits in the ring buffer while
    // its Worker starts, which makes "too late" certain instead of likely.
    signal(child.id(), libc::SIGSTOP);
    std::fs::write(t.dir().join("go"), "").unwrap();
    wait_for_file(&t.dir().join("started"));
    std::thread::sleep(Duration::from_millis(50));
    signal(child.id(), libc::SIGCONT);
    let out = finished(t.finish(child));

    let rt = &out.capture["runtime"];
    assert_eq!(rt["workers"], 0, "the Worker started unwatched: {rt:#}");
    assert_eq!(rt["observed"], false, "{rt:#}");
    let gaps = gaps(&out.capture, &node22);
    let late = gaps
        .iter()
        .find_map(|g| late_ms(g).map(|ms| (ms, *g)))
        .unwrap_or_else(|| panic!("no late-probe gap for {}: {rt:#}", node22.display()));
    assert!(late.0 >= 50, "it was stopped for 50 ms at least: {rt:#}");
    assert_eq!(
        late.1["features"],
        serde_json::json!([
            "addon",
            "inspector_connect",
            "inspector_open",
            "wasi",
            "worker"
        ])
    );
    // The report says it where a reviewer looks, as a warning.
    let report = std::fs::read_to_string(out.dir.path().join("out/report.txt")).unwrap();
    let line = report
        .lines()
        .find(|l| l.contains("runtime-features-unobserved"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(line.contains("[WARNING]"), "{line}");
    assert!(
        line.contains(&format!("probed {} ms after its first exec", late.0)),
        "{line}"
    );
}

#[test]
fn a_first_statement_worker_in_a_child_node_is_counted_or_its_binary_reported_late() {
    require_kernel();
    // Nothing stops permtrace here: whichever way the race goes, the capture never shows a
    // zero it did not observe.
    let node22 = node_binary("22.23.3");
    let t = Trace::new().no_event_log().env("CHILD_NODE", &node22);
    let (parent, dir) = setup(&t);
    std::fs::write(t.dir().join("go"), "").unwrap();
    let out = finished(t.run(&["/usr/bin/node", &parent, &dir]));
    let rt = &out.capture["runtime"];
    let late = gaps(&out.capture, &node22).iter().find_map(|g| late_ms(g));
    let workers = rt["workers"].as_u64().unwrap();
    assert!(
        workers >= 1 || late.is_some(),
        "the Worker was missed and nothing says so: {rt:#}"
    );
    assert_eq!(rt["observed"], late.is_none(), "{rt:#}");
    eprintln!("child node 22 probed late: {late:?} ms; workers counted: {workers}");
}

#[test]
fn a_node_binary_named_in_the_command_is_probed_before_it_runs() {
    require_kernel();
    let node22 = node_binary("22.23.3");
    let t = Trace::new().no_event_log();
    let (parent, dir) = setup(&t);
    std::fs::write(t.dir().join("go"), "").unwrap();
    let out = finished(t.run(&["/usr/bin/node", &parent, &dir, node22.to_str().unwrap()]));
    let rt = &out.capture["runtime"];
    assert_eq!(rt["workers"], 1, "{rt:#}");
    assert_eq!(rt["observed"], true, "{rt:#}");
    assert!(gaps(&out.capture, &node22).is_empty(), "{rt:#}");
}
