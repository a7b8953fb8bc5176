use std::collections::BTreeMap;

use super::*;
use crate::{
    access::Access,
    capture::{AccessStats, FileRecord, NetOp, NetRecord, NodeInfo, Protocol, SpawnRecord, Window},
    sockaddr::Family,
};

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

fn spawn(parent: u32, filename: &str, program: Option<u32>) -> SpawnRecord {
    SpawnRecord {
        parent,
        filename: filename.into(),
        program,
        stats: stats(parent, 2),
        ..Default::default()
    }
}

/// A run of `node index.js` in /srv/app (Node 22) that read its config and listened.
fn baseline() -> Capture {
    let mut c = Capture {
        schema: crate::capture::SCHEMA.into(),
        window: Window {
            saw_start: true,
            ended_by: "exit".into(),
            ..Default::default()
        },
        programs: vec![prog(0, "/usr/bin/node", &["node", "index.js"])],
        files: vec![
            file("/srv/app/index.js", &[Access::Read], 0),
            file("/srv/app/config.json", &[Access::Read], 0),
        ],
        network: vec![endpoint(NetOp::Listen, "0.0.0.0", 8080, 0)],
        ..Default::default()
    };
    c.target.cwd = Some("/srv/app".into());
    c.target.entry = Some("/srv/app/index.js".into());
    c.target.node = Some(NodeInfo {
        exe: "/usr/bin/node".into(),
        version: Some("22.23.3".into()),
    });
    c
}

fn compare(old: &Capture, new: &Capture) -> Diff {
    diff(old, new, &Settings::default())
}

#[test]
fn identical_captures_differ_in_nothing() {
    let d = compare(&baseline(), &baseline());
    assert_eq!(
        d.basis,
        Basis::PermissionModel {
            node_version: "22.23.3".into()
        }
    );
    assert!(d.is_empty(), "{d:?}");
    assert!(d.notes.is_empty(), "{:?}", d.notes);
    assert!(render_text(&d, "old", "new").contains("needs nothing"));
}

#[test]
fn a_new_file_under_a_directory_the_old_draft_grants_is_not_a_difference() {
    let old = baseline();
    let mut new = baseline();
    new.files
        .push(file("/srv/app/lib/new-module.js", &[Access::Read], 0));
    let d = compare(&old, &new);
    assert!(d.is_empty(), "{d:#?}");
    // Compared record by record, it would be one.
    assert_eq!(records::diff(&old, &new).fs.len(), 1);
}

#[test]
fn new_grants_capabilities_endpoints_and_spawns_are_listed() {
    let old = baseline();
    let mut new = baseline();
    // Ids differ from the old capture's: the node is 1 here.
    new.programs = vec![
        prog(0, "/usr/bin/git", &["git", "pull"]),
        prog(1, "/usr/bin/node", &["node", "index.js"]),
    ];
    new.files = vec![
        file("/srv/app/index.js", &[Access::Read], 1),
        file("/srv/app/config.json", &[Access::Read], 1),
        file("/etc/app/secrets.json", &[Access::Read], 1),
        file("/var/log/app.log", &[Access::Write], 1),
    ];
    new.network = vec![
        endpoint(NetOp::Listen, "0.0.0.0", 8080, 1),
        endpoint(NetOp::Connect, "10.0.0.5", 5432, 1),
    ];
    new.spawns = vec![spawn(1, "/usr/bin/git", Some(0))];
    new.stats.kernel.ring_full = 3;
    let d = compare(&old, &new);
    let fs: Vec<(&str, String)> =
        d.fs.iter()
            .map(|f| (f.scope.as_str(), f.path.to_string()))
            .collect();
    assert_eq!(
        fs,
        [
            ("read", "/etc/app/secrets.json".to_string()),
            ("write", "/var/log/app.log".to_string())
        ]
    );
    assert_eq!(d.fs[0].by, ["node index.js"]);
    assert_eq!(d.network.len(), 1);
    assert_eq!(
        (d.network[0].address.as_str(), d.network[0].port),
        ("10.0.0.5", Some(5432))
    );
    assert_eq!(d.spawns.len(), 1);
    assert_eq!(d.spawns[0].parent, "node index.js");
    let flags: Vec<&str> = d.flags.iter().map(|f| f.flag.as_str()).collect();
    assert_eq!(flags, ["--allow-child-process"]);
    assert!(d.notes.iter().any(|n| n.contains("NEW lost 3 events")));

    let text = render_text(&d, "old.json", "new.json");
    assert!(
        text.starts_with(
            "new.json needs 5 things that old.json did not (drafts for Node.js 22.23.3"
        ),
        "{text}"
    );
    assert!(
        text.contains("read         /etc/app/secrets.json"),
        "{text}"
    );
    assert!(text.contains("connect      tcp 10.0.0.5:5432"), "{text}");
    assert!(text.contains("node index.js -> /usr/bin/git"), "{text}");
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["basis"]["kind"], "permission_model");
    assert_eq!(json["fs"][0]["path"], "/etc/app/secrets.json");
    assert_eq!(json["flags"][0]["flag"], "--allow-child-process");
}

#[test]
fn what_the_new_capture_no_longer_needs_is_not_a_difference() {
    let old = baseline();
    let mut new = baseline();
    new.files.truncate(1);
    new.network.clear();
    assert!(compare(&old, &new).is_empty());
}

#[test]
fn captures_without_node_are_compared_record_by_record() {
    let mut old = baseline();
    let mut new = baseline();
    for c in [&mut old, &mut new] {
        c.target.node = None;
        c.programs = vec![prog(0, "/usr/bin/python3", &["python3", "app.py"])];
    }
    new.files
        .push(file("/srv/app/new.py", &[Access::Read, Access::Stat], 0));
    new.spawns.push(SpawnRecord {
        path_search: true,
        ..spawn(0, "/usr/local/bin/git", None)
    });
    let d = compare(&old, &new);
    let Basis::Records { why } = &d.basis else {
        panic!("{:?}", d.basis)
    };
    assert!(why.contains("Node"), "{why}");
    let fs: Vec<&str> = d.fs.iter().map(|f| f.scope.as_str()).collect();
    assert_eq!(fs, ["read", "stat"]);
    assert!(d.spawns.is_empty(), "PATH-search misses are not spawns");
    assert!(render_text(&d, "a", "b").contains("record by record"));
}
