//! Runtime features seen through uprobes, and c-ares's configuration window.

use super::test_events::*;

#[test]
fn runtime_features_are_counted_and_addons_named_by_their_dlopen() {
    let mut c = node_collector(false);
    c.note_probes(100, None, ProbeReport::default());
    c.ingest(&wire(100, encode::runtime(100, feature::WORKER, true)));
    c.ingest(&wire(100, encode::runtime(100, feature::WORKER, true)));
    c.ingest(&wire(100, encode::runtime(100, feature::WASI, true)));
    c.ingest(&wire(
        100,
        encode::runtime(100, feature::INSPECTOR_OPEN, true),
    ));
    c.ingest(&wire(100, encode::runtime(100, feature::ADDON, true)));
    c.ingest(&wire(
        100,
        encode::path(
            100,
            nr::OPENAT,
            AT_FDCWD,
            "/srv/build/addon.node",
            None,
            0o2000000,
            21,
        ),
    ));
    c.ingest(&wire(
        100,
        encode::path(
            100,
            nr::OPENAT,
            AT_FDCWD,
            "/usr/lib/libfoo.so",
            None,
            0o2000000,
            22,
        ),
    ));
    c.ingest(&wire(100, encode::runtime(100, feature::ADDON, false)));
    c.ingest(&wire(
        100,
        encode::path(100, nr::OPENAT, AT_FDCWD, "/srv/data.node", None, 0, 23),
    ));
    let rt = c.snapshot(Default::default(), 0).runtime;
    assert_eq!((rt.workers, rt.wasi, rt.inspector), (2, 1, 1));
    assert_eq!(rt.addons, vec![PathBytes::from("/srv/build/addon.node")]);
    assert!(rt.observed && rt.unobserved.is_empty());
}

#[test]
fn a_binary_without_the_symbols_makes_the_counts_unobserved() {
    let mut c = node_collector(false);
    let report = ProbeReport::all_missing(["inspector_open", "inspector_connect"], "stripped");
    c.note_probes(100, None, report);
    let rt = c.snapshot(Default::default(), 0).runtime;
    assert!(!rt.observed);
    assert_eq!(rt.unobserved.len(), 1);
    assert_eq!(rt.unobserved[0].binary, PathBytes::from("/usr/bin/node"));
    assert_eq!(
        rt.unobserved[0].features,
        ["inspector_connect", "inspector_open"]
    );

    // A node binary that was never probed at all is a gap too, not a silent zero.
    let c = node_collector(false);
    let rt = c.snapshot(Default::default(), 0).runtime;
    assert!(!rt.observed);
    assert_eq!(rt.unobserved[0].features.len(), 5);
}

#[test]
fn c_ares_reading_its_configuration_is_a_resolver_window() {
    let mut c = node_collector(false);
    let open = |path: &str| {
        wire(
            100,
            encode::path(100, nr::OPENAT, AT_FDCWD, path, None, 0, 20),
        )
    };
    c.ingest(&wire(
        100,
        encode::runtime(100, feature::RESOLVER_INIT, true),
    ));
    c.ingest(&open("/etc/resolv.conf"));
    c.ingest(&wire(
        100,
        encode::runtime(100, feature::RESOLVER_INIT, false),
    ));
    c.ingest(&open("/etc/resolv.conf"));
    let cap = c.snapshot(Default::default(), 0);
    let f = cap
        .files
        .iter()
        .find(|f| f.path.to_string() == "/etc/resolv.conf")
        .unwrap();
    assert_eq!(
        (
            f.access[&Access::Read].count,
            f.access[&Access::Read].in_resolver
        ),
        (2, 1)
    );
    // Not a permission: it neither counts as a runtime feature nor needs to be watched.
    assert_eq!(
        cap.runtime.workers + cap.runtime.wasi + cap.runtime.inspector,
        0
    );
}

/// Probes in place at boot time 9 ms, for a node process that exec'd at 5 ms.
fn probed_late() -> ProbeReport {
    ProbeReport {
        attached_ns: Some(9_000_000),
        ..Default::default()
    }
}

#[test]
fn a_process_probed_after_its_exec_is_a_gap_until_its_javascript_is_seen_starting() {
    let mut c = node_collector(false);
    c.note_node_exec(100, 5_000_000, &probed_late());
    c.note_probes(100, None, probed_late());
    let rt = c.snapshot(Default::default(), 0).runtime;
    assert!(!rt.observed, "{rt:?}");
    assert_eq!(rt.unobserved.len(), 1);
    let gap = &rt.unobserved[0];
    assert!(
        gap.reason
            .contains("probed 4 ms after its first exec (pid 100)"),
        "{gap:?}"
    );
    assert_eq!(gap.features.len(), 5);

    // A Worker's own start proves nothing about the main thread's.
    c.ingest(&wire(101, encode::runtime(100, feature::JS_START, true)));
    assert!(!c.snapshot(Default::default(), 0).runtime.observed);
    // The main thread's JavaScript started under the probes: nothing was missed.
    c.ingest(&wire(100, encode::runtime(100, feature::JS_START, true)));
    let rt = c.snapshot(Default::default(), 0).runtime;
    assert!(rt.observed && rt.unobserved.is_empty(), "{rt:?}");
}

#[test]
fn a_late_process_that_exits_without_showing_its_start_stays_a_gap() {
    let mut c = node_collector(false);
    c.note_node_exec(100, 5_000_000, &probed_late());
    c.note_probes(100, None, probed_late());
    c.ingest(&ev(100, 100, Body::Exit { status: 0 }));
    let rt = c.snapshot(Default::default(), 0).runtime;
    assert!(!rt.observed);
    assert!(rt.unobserved[0].reason.contains("4 ms"), "{rt:?}");

    // Probes in place before the exec (what `run` does for the node it starts): no gap.
    let mut c = node_collector(false);
    c.note_node_exec(100, 10_000_000, &probed_late());
    c.note_probes(100, None, probed_late());
    assert!(c.snapshot(Default::default(), 0).runtime.observed);
}
