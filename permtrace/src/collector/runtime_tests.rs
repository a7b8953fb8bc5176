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
