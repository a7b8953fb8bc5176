use super::*;
use crate::{
    capture::{NodeInfo, Program, Protocol, parse_capture},
    tracer::KernelStats,
};

fn program(id: u32, exe: &str, argv: &[&str], parent: Option<u32>) -> Program {
    Program {
        id,
        exe: exe.into(),
        argv: argv.iter().map(|a| PathBytes::from(*a)).collect(),
        is_node: exe.ends_with("node"),
        parent,
        processes: 1,
        pids: vec![100 + id],
        first_seen_ms: 1000,
    }
}

fn stats(count: u64, by: &[u32]) -> AccessStats {
    AccessStats {
        count,
        ok: count,
        by: by.to_vec(),
        first_seen_ms: 1000,
        last_seen_ms: 2000,
        ..Default::default()
    }
}

fn file(path: &str, access: Access, count: u64, by: &[u32]) -> FileRecord {
    FileRecord {
        path: path.into(),
        access: BTreeMap::from([(access, stats(count, by))]),
        ..Default::default()
    }
}

fn connect(by: u32) -> NetRecord {
    NetRecord {
        op: Some(NetOp::Connect),
        family: Some(Family::Inet),
        protocol: Some(Protocol::Tcp),
        address: "10.0.0.1".into(),
        port: Some(5432),
        stats: stats(2, &[by]),
        ..Default::default()
    }
}

fn capture(version: &str, programs: Vec<Program>) -> Capture {
    Capture {
        schema: SCHEMA.into(),
        target: Target {
            mode: Mode::Attach,
            node: Some(NodeInfo {
                exe: "/usr/bin/node".into(),
                version: Some(version.into()),
            }),
            entry: Some("/app/server.js".into()),
            ..Default::default()
        },
        window: Window {
            started_at_ms: 1000,
            ended_at_ms: 5000,
            ..Default::default()
        },
        programs,
        ..Default::default()
    }
}

/// Replica A: node (0) spawns sh (1). Lost 2 events.
fn replica_a() -> Capture {
    let mut a = capture(
        "22.1.0",
        vec![
            program(0, "/usr/bin/node", &["node", "server.js"], None),
            program(1, "/bin/sh", &["sh", "-c", "ls"], Some(0)),
        ],
    );
    a.files = vec![
        file("/app/a", Access::Read, 3, &[0]),
        file("/tmp/x", Access::Write, 1, &[1]),
    ];
    a.network = vec![connect(0)];
    a.spawns = vec![SpawnRecord {
        parent: 0,
        filename: "/bin/sh".into(),
        program: Some(1),
        stats: stats(1, &[0]),
        ..Default::default()
    }];
    a.stats.events = 10;
    a.stats.kernel = KernelStats {
        ring_full: 2,
        ..Default::default()
    };
    a
}

/// Replica B: the same programs with the ids the other way round, another Node version.
fn replica_b() -> Capture {
    let mut b = capture(
        "24.0.0",
        vec![
            program(0, "/bin/sh", &["sh", "-c", "ls"], Some(1)),
            program(1, "/usr/bin/node", &["node", "server.js"], None),
        ],
    );
    b.files = vec![
        file("/app/a", Access::Read, 4, &[1]),
        file("/app/b", Access::Read, 1, &[1]),
    ];
    b.network = vec![connect(1)];
    b.spawns = vec![SpawnRecord {
        parent: 1,
        filename: "/bin/sh".into(),
        program: Some(0),
        stats: stats(2, &[1]),
        ..Default::default()
    }];
    b.stats.events = 20;
    b.window.started_at_ms = 500;
    b
}

fn input(label: &str, capture: Capture) -> Input {
    Input {
        label: label.into(),
        capture,
    }
}

fn find<'a>(cap: &'a Capture, path: &str) -> &'a FileRecord {
    cap.files
        .iter()
        .find(|f| f.path.to_string() == path)
        .unwrap()
}

#[test]
fn records_say_which_captures_saw_them_and_program_ids_are_renumbered() {
    let m = merge(vec![
        input("a.json", replica_a()),
        input("b.json", replica_b()),
    ]);
    let cap = &m.capture;
    assert_eq!(cap.target.mode, Mode::Merged);
    let labels: Vec<&str> = cap.sources.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["a.json", "b.json"]);
    assert_eq!(cap.programs.len(), 2, "same exe+argv is one program");
    let node = cap.programs.iter().find(|p| p.is_node).unwrap();
    let sh = cap.programs.iter().find(|p| !p.is_node).unwrap();
    assert_eq!(sh.parent, Some(node.id));
    assert_eq!((node.processes, sh.processes), (2, 2));

    let a = find(cap, "/app/a");
    assert_eq!(a.seen_in, [0, 1]);
    assert_eq!(a.access[&Access::Read].count, 7);
    assert_eq!(a.access[&Access::Read].by, [node.id]);
    let b = find(cap, "/app/b");
    assert_eq!(b.seen_in, [1]);
    assert_eq!(
        b.access[&Access::Read].by,
        [node.id],
        "B's id 1 is the node"
    );
    assert_eq!(find(cap, "/tmp/x").access[&Access::Write].by, [sh.id]);

    assert_eq!(cap.network.len(), 1);
    assert_eq!(cap.network[0].seen_in, [0, 1]);
    assert_eq!(cap.network[0].stats.count, 4);
    assert_eq!(cap.spawns.len(), 1);
    let spawn = &cap.spawns[0];
    assert_eq!((spawn.parent, spawn.program), (node.id, Some(sh.id)));
    assert_eq!((spawn.stats.count, spawn.seen_in.clone()), (3, vec![0, 1]));

    assert_eq!(cap.stats.events, 30);
    assert_eq!(cap.stats.kernel.ring_full, 2);
    assert_eq!(
        (cap.window.started_at_ms, cap.window.ended_at_ms),
        (500, 5000)
    );
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("22.1.0 (a.json)") && w.contains("24.0.0 (b.json)"))
    );
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("a.json lost 2 events"))
    );
}

#[test]
fn a_merged_capture_merges_again_with_its_sources_kept() {
    let ab = merge(vec![
        input("a.json", replica_a()),
        input("b.json", replica_b()),
    ])
    .capture;
    let text = serde_json::to_vec(&ab).unwrap();
    let ab = parse_capture(&text).expect("a merged capture is a capture");
    let mut c = replica_a();
    c.files.push(file("/app/c", Access::Read, 1, &[0]));
    let abc = merge(vec![input("ab.json", ab), input("c.json", c)]).capture;
    assert_eq!(abc.sources.len(), 3);
    assert_eq!(abc.sources[1].label, "b.json (ab.json)");
    assert_eq!(find(&abc, "/app/b").seen_in, [1]);
    assert_eq!(find(&abc, "/app/c").seen_in, [2]);
    assert_eq!(find(&abc, "/app/a").seen_in, [0, 1, 2]);
}

#[test]
fn the_same_version_everywhere_gives_no_warning() {
    let mut b = replica_b();
    b.target.node.as_mut().unwrap().version = Some("22.1.0".into());
    let mut a = replica_a();
    a.stats.kernel = KernelStats::default();
    let m = merge(vec![input("a", a), input("b", b)]);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
}
