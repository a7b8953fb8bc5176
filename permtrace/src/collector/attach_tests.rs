//! The collector in long captures: processes found running, resumed captures, streaming.

use super::*;
use crate::{
    access::Access,
    capture::{NameRecord, NetOp, Program},
    event::{PathCall, RawPath},
    resolve::{FdTarget, SocketInfo},
};
use permtrace_common::syscalls::AT_FDCWD;

fn ev(tgid: u32, body: Body) -> Event {
    Event {
        ts_ns: 5_000_000,
        tgid,
        tid: tgid,
        body,
    }
}

fn open_at(tgid: u32, dirfd: i32, path: &str) -> Event {
    ev(
        tgid,
        Body::Path(PathCall {
            nr: nr::OPENAT,
            ret: 9,
            dirfd,
            path: RawPath::new(path),
            dirfd2: AT_FDCWD,
            path2: None,
            flags: 0,
            mode: 0,
        }),
    )
}

fn inet(port: u16) -> Vec<u8> {
    let mut a = (libc::AF_INET as u16).to_ne_bytes().to_vec();
    a.extend_from_slice(&port.to_be_bytes());
    a.extend_from_slice(&[0; 12]);
    a
}

/// A Node server found running: cwd /srv/app, fd 3 a directory, fd 5 listening on :8080.
fn attached_server() -> Collector {
    let mut c = Collector::new(Target::default(), Window::default(), Clock::default());
    let mut state = ProcState::with_cwd("/srv/app".into());
    state.fds.insert(
        3,
        FdTarget::Path {
            path: Some("/srv/app/data".into()),
            cloexec: true,
        },
    );
    state.fds.insert(
        5,
        FdTarget::Socket(SocketInfo {
            domain: libc::AF_INET as u32,
            sock_type: libc::SOCK_STREAM as u32,
            bound: Some(inet(8080)),
        }),
    );
    c.seed(
        200,
        ProcessSeed {
            state,
            program: Some((
                "/usr/bin/node".into(),
                vec!["node".into(), "server.js".into()],
            )),
            parent: None,
            listening: vec![5],
            ..Default::default()
        },
        1_000_000,
    );
    c
}

#[test]
fn a_process_found_running_resolves_paths_and_reports_its_listening_socket() {
    let mut c = attached_server();
    c.ingest(&open_at(200, AT_FDCWD, "config.json"));
    c.ingest(&open_at(200, 3, "users.db"));
    for _ in 0..3 {
        c.ingest(&ev(
            200,
            Body::Sock(SockCall {
                nr: nr::ACCEPT4,
                ret: 12,
                fd: 5,
                domain: 0,
                sock_type: 0,
                addr: vec![],
                addr_fault: false,
            }),
        ));
    }
    let cap = c.snapshot(Default::default(), 0);
    let paths: Vec<String> = cap.files.iter().map(|f| f.path.to_string()).collect();
    assert_eq!(paths, ["/srv/app/config.json", "/srv/app/data/users.db"]);
    let read = &cap.files[0].access[&Access::Read];
    assert_eq!(
        read.before_main, 0,
        "a running server is past its start-up: its reads are its own"
    );
    assert_eq!(cap.target.entry, Some("/srv/app/server.js".into()));

    let listen = cap
        .network
        .iter()
        .find(|n| n.op == Some(NetOp::Listen))
        .unwrap();
    assert_eq!(
        (listen.address.as_str(), listen.port),
        ("0.0.0.0", Some(8080))
    );
    assert!(listen.before_attach);
    let accept = cap
        .network
        .iter()
        .find(|n| n.op == Some(NetOp::Accept))
        .unwrap();
    assert_eq!(
        (accept.address.as_str(), accept.port),
        ("0.0.0.0", Some(8080))
    );
    assert_eq!(accept.stats.ok, 3);
    assert!(!accept.before_attach);
}

#[test]
fn a_child_found_in_procfs_and_seen_forking_is_one_process() {
    let mut c = attached_server();
    c.seed(
        201,
        ProcessSeed {
            state: ProcState::with_cwd("/srv/app".into()),
            program: Some(("/bin/sh".into(), vec!["sh".into()])),
            parent: Some(200),
            ..Default::default()
        },
        1_000_000,
    );
    c.ingest(&ev(200, Body::Fork { child: 201 }));
    let cap = c.snapshot(Default::default(), 0);
    assert_eq!(cap.stats.processes, 2);
    let sh: &Program = cap
        .programs
        .iter()
        .find(|p| p.exe == "/bin/sh".into())
        .unwrap();
    assert_eq!(sh.parent, Some(0), "its parent program is the server's");
}

#[test]
fn processes_that_are_gone_leave_no_state() {
    let mut c = attached_server();
    c.ingest(&ev(200, Body::Fork { child: 300 }));
    c.ingest(&ev(200, Body::Fork { child: 301 }));
    assert_eq!(c.sizes().3, 3);
    assert_eq!(c.forget_gone(|t| t != 300), 1);
    assert_eq!(c.sizes().3, 2);
    assert!(!c.knows(300) && c.knows(301));
}

#[test]
fn a_resumed_capture_keeps_what_the_first_part_lost_and_saw() {
    let mut c = attached_server();
    c.ingest(&open_at(200, AT_FDCWD, "a"));
    let mut first = c.snapshot(
        KernelStats {
            emitted: 10,
            ring_full: 4,
            ..Default::default()
        },
        2,
    );
    first.runtime.workers = 1;
    first.names.push(NameRecord {
        name: "db.internal".into(),
        ..Default::default()
    });
    let mut c2 = Collector::resume(&first, Clock::default());
    c2.ingest(&open_at(200, AT_FDCWD, "/b"));
    let cap = c2.snapshot(
        KernelStats {
            emitted: 5,
            ring_full: 1,
            ..Default::default()
        },
        1,
    );
    assert_eq!(cap.stats.kernel.ring_full, 5, "drops of both parts");
    assert_eq!(cap.stats.kernel.emitted, 15);
    assert_eq!(cap.stats.decode_errors, 3);
    assert_eq!(cap.stats.processes, first.stats.processes);
    assert_eq!(cap.stats.events, 2);
    assert_eq!(cap.runtime.workers, 1);
    assert_eq!(cap.names.len(), 1);
    assert_eq!(
        cap.network.len(),
        1,
        "the listening socket seen before is kept"
    );
    assert_eq!(cap.files.len(), 2);
}

#[test]
fn the_streamed_json_is_the_capture_json() {
    let mut c = attached_server();
    c.ingest(&open_at(200, AT_FDCWD, "z.json"));
    c.ingest(&open_at(200, AT_FDCWD, "a.json"));
    c.ingest(&open_at(200, 3, "../../../etc/x"));
    c.window_mut().ended_by = "checkpoint".into();
    let kernel = KernelStats {
        emitted: 3,
        read_faults: 1,
        ..Default::default()
    };
    let mut streamed = Vec::new();
    c.write_json(kernel, 1, &mut streamed).unwrap();
    let streamed: serde_json::Value = serde_json::from_slice(&streamed).unwrap();
    let built = serde_json::to_value(c.snapshot(kernel, 1)).unwrap();
    assert_eq!(streamed, built);
    assert_eq!(built["files"].as_array().unwrap().len(), 3);
}

#[test]
fn a_long_write_lets_the_caller_keep_up_with_the_kernel() {
    let mut c = attached_server();
    for i in 0..5000 {
        c.ingest(&open_at(200, AT_FDCWD, &format!("f{i}")));
    }
    let mut calls = 0;
    let mut out = Vec::new();
    c.write_json_with(Default::default(), 0, &mut out, &mut || calls += 1)
        .unwrap();
    assert_eq!(calls, 2, "every 2048 records");
    let streamed: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(streamed["files"].as_array().unwrap().len(), 5000);
}
