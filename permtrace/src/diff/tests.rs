use std::collections::BTreeMap;

use super::*;
use crate::capture::{AccessStats, FileRecord, NetRecord, SpawnRecord, Window};

fn stats(by: u32, ok: u64) -> AccessStats {
    AccessStats {
        count: 2,
        ok,
        by: vec![by],
        ..Default::default()
    }
}

fn prog(id: u32, exe: &str, argv: &[&str]) -> Program {
    Program {
        id,
        exe: exe.into(),
        argv: argv.iter().map(|a| PathBytes::from(*a)).collect(),
        is_node: exe.ends_with("/node"),
        ..Default::default()
    }
}

fn file(path: &str, accesses: &[Access], by: u32) -> FileRecord {
    FileRecord {
        path: path.into(),
        access: accesses
            .iter()
            .map(|a| (*a, stats(by, 2)))
            .collect::<BTreeMap<_, _>>(),
        ..Default::default()
    }
}

fn endpoint(op: NetOp, address: &str, port: u16, by: u32) -> NetRecord {
    NetRecord {
        op: Some(op),
        family: Some(Family::Inet),
        protocol: Some(Protocol::Tcp),
        address: address.into(),
        port: Some(port),
        stats: stats(by, 2),
        ..Default::default()
    }
}

fn baseline() -> Capture {
    Capture {
        window: Window {
            saw_start: true,
            ..Default::default()
        },
        programs: vec![prog(0, "/usr/bin/node", &["node", "app.js"])],
        files: vec![file("/app/config.json", &[Access::Read], 0)],
        network: vec![endpoint(NetOp::Listen, "0.0.0.0", 8080, 0)],
        ..Default::default()
    }
}

#[test]
fn identical_captures_differ_in_nothing() {
    let d = diff(&baseline(), &baseline());
    assert!(d.is_empty(), "{d:?}");
    assert!(d.notes.is_empty());
    assert!(render_text(&d, "old", "new").contains("needs nothing"));
}

#[test]
fn new_paths_access_kinds_endpoints_spawns_and_flags_are_listed() {
    let old = baseline();
    let mut new = baseline();
    // Ids differ from the old capture's: the node is 1 here.
    new.programs = vec![
        prog(0, "/usr/bin/git", &["git", "pull"]),
        prog(1, "/usr/bin/node", &["node", "app.js"]),
    ];
    new.files = vec![
        file("/app/config.json", &[Access::Read, Access::Write], 1),
        file("/app/new.json", &[Access::Read], 1),
    ];
    new.network = vec![
        endpoint(NetOp::Listen, "0.0.0.0", 8080, 1),
        endpoint(NetOp::Connect, "10.0.0.5", 5432, 1),
    ];
    new.spawns = vec![
        SpawnRecord {
            parent: 1,
            filename: "/usr/bin/git".into(),
            program: Some(0),
            stats: stats(1, 2),
            ..Default::default()
        },
        SpawnRecord {
            parent: 1,
            filename: "/usr/local/bin/git".into(),
            path_search: true,
            stats: stats(1, 0),
            ..Default::default()
        },
    ];
    new.stats.kernel.ring_full = 3;
    let d = diff(&old, &new);
    let files: Vec<(String, Access)> = d
        .files
        .iter()
        .map(|f| (f.path.to_string(), f.access))
        .collect();
    assert_eq!(
        files,
        [
            ("/app/config.json".to_string(), Access::Write),
            ("/app/new.json".to_string(), Access::Read)
        ]
    );
    assert_eq!(d.files[0].by, ["node app.js"]);
    assert_eq!(d.network.len(), 1);
    assert_eq!(
        (d.network[0].address.as_str(), d.network[0].port),
        ("10.0.0.5", Some(5432))
    );
    assert_eq!(d.spawns.len(), 1, "PATH-search misses are not spawns");
    assert_eq!(d.spawns[0].parent, "node app.js");
    let flags: Vec<&str> = d.flags.iter().map(|f| f.flag).collect();
    assert_eq!(
        flags,
        ["--allow-child-process"],
        "the old one listened: --allow-net is not new"
    );
    assert_eq!(d.len(), 5);
    assert!(d.notes.iter().any(|n| n.contains("NEW lost 3 events")));

    let text = render_text(&d, "old.json", "new.json");
    assert!(
        text.starts_with("new.json needs 5 things that old.json did not:"),
        "{text}"
    );
    assert!(
        text.contains("write        /app/config.json  (2 times, by node app.js)"),
        "{text}"
    );
    assert!(text.contains("connect      tcp 10.0.0.5:5432"), "{text}");
    assert!(text.contains("node app.js -> /usr/bin/git"), "{text}");
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["files"][1]["path"], "/app/new.json");
    assert_eq!(json["flags"][0]["flag"], "--allow-child-process");
}

#[test]
fn what_the_new_capture_no_longer_needs_is_not_a_difference() {
    let old = baseline();
    let mut new = baseline();
    new.files.clear();
    new.network.clear();
    assert!(diff(&old, &new).is_empty());
}
