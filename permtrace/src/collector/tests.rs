use super::*;
use crate::{
    access::Access,
    capture::{NetOp, Protocol},
    event::{Body, Event, ExecCall, PathCall, RawPath, SockCall},
};
use permtrace_common::syscalls::{AT_FDCWD, nr};

fn ev(tgid: u32, ts_ms: u64, body: Body) -> Event {
    Event {
        ts_ns: ts_ms * 1_000_000,
        tgid,
        tid: tgid,
        body,
    }
}

fn exec(tgid: u32, file: &str, argv: &[&str], ret: i64) -> Event {
    ev(
        tgid,
        1,
        Body::Exec(ExecCall {
            ret,
            nr: nr::EXECVE,
            filename: RawPath::new(file),
            argv: argv.iter().map(|a| PathBytes::from(*a)).collect(),
            argv_truncated: false,
            dirfd: AT_FDCWD,
            at_flags: 0,
        }),
    )
}

fn open(tgid: u32, path: &str, flags: i32, ret: i64) -> Event {
    ev(
        tgid,
        2,
        Body::Path(PathCall {
            nr: nr::OPENAT,
            ret,
            dirfd: AT_FDCWD,
            path: RawPath::new(path),
            dirfd2: AT_FDCWD,
            path2: None,
            flags: flags as u64,
            mode: 0,
        }),
    )
}

fn collector_with_root(cwd: &str) -> Collector {
    let mut c = Collector::new(Target::default(), Window::default(), Clock::default());
    c.seed(
        100,
        ProcessSeed {
            state: ProcState::with_cwd(cwd.into()),
            ..Default::default()
        },
        0,
    );
    c
}

fn file<'a>(cap: &'a Capture, path: &str) -> &'a crate::capture::FileRecord {
    cap.files
        .iter()
        .find(|f| f.path.to_string() == path)
        .unwrap_or_else(|| panic!("{path} missing"))
}

#[test]
fn root_exec_defines_node_target_entry_and_programs() {
    let mut c = collector_with_root("/srv/app");
    c.ingest(&exec(100, "/usr/local/bin/node", &["node", "app.js"], -2));
    c.ingest(&exec(
        100,
        "/usr/bin/node",
        &["node", "--require", "./pre.js", "app.js"],
        0,
    ));
    let cap = c.snapshot(Default::default(), 0);
    let node = cap.target.node.as_ref().unwrap();
    assert_eq!(node.exe.to_string(), "/usr/bin/node");
    assert_eq!(
        cap.target.entry.as_ref().unwrap().to_string(),
        "/srv/app/app.js"
    );
    assert_eq!(cap.target.preloads[0].to_string(), "/srv/app/pre.js");
    assert_eq!(cap.programs.len(), 1);
    assert!(cap.programs[0].is_node);
    // The tracer's own PATH search before the command existed is not a spawn.
    assert!(cap.spawns.is_empty());
}

#[test]
fn opens_are_aggregated_per_path_with_results_and_phase() {
    let mut c = collector_with_root("/srv/app");
    c.ingest(&exec(100, "/usr/bin/node", &["node", "app.js"], 0));
    c.ingest(&open(100, "/etc/ssl/openssl.cnf", libc::O_RDONLY, 3));
    c.ingest(&open(100, "app.js", libc::O_RDONLY, 3));
    c.ingest(&open(100, "/etc/hostname", libc::O_RDONLY, 3));
    c.ingest(&open(100, "/etc/hostname", libc::O_RDONLY, 3));
    c.ingest(&open(100, "missing.txt", libc::O_RDONLY, -2));
    c.ingest(&open(100, "out.log", libc::O_WRONLY | libc::O_CREAT, 4));
    let cap = c.snapshot(Default::default(), 0);

    let ssl = &file(&cap, "/etc/ssl/openssl.cnf").access[&Access::Read];
    assert_eq!(ssl.before_main, 1, "read before any JS file is start-up");
    let host = &file(&cap, "/etc/hostname").access[&Access::Read];
    assert_eq!((host.count, host.ok, host.before_main), (2, 2, 0));
    let missing = &file(&cap, "/srv/app/missing.txt").access[&Access::Read];
    assert_eq!((missing.ok, missing.errors["ENOENT"]), (0, 1));
    assert!(
        file(&cap, "/srv/app/out.log")
            .access
            .contains_key(&Access::Write)
    );
    assert_eq!(host.by, vec![0]);
}

/// `before_main` of every read of `path` in a capture.
fn start_up_reads(cap: &Capture, path: &str) -> u64 {
    file(cap, path).access[&Access::Read].before_main
}

#[test]
fn start_up_ends_with_the_read_of_the_entry_script_or_of_a_module() {
    let ro = libc::O_RDONLY;
    let mut c = collector_with_root("/srv/app");
    c.ingest(&exec(100, "/usr/bin/node", &["node", "app.js"], 0));
    c.ingest(&open(100, "/proc/self/smaps", ro, 3));
    // The loader's package.json "type" lookup comes first: it is no longer start-up.
    c.ingest(&open(100, "/srv/app/package.json", ro, 3));
    c.ingest(&open(100, "app.js", ro, 3));
    c.ingest(&open(100, "/proc/self/status", ro, 3));
    let cap = c.snapshot(Default::default(), 0);
    assert_eq!(start_up_reads(&cap, "/proc/self/smaps"), 1);
    for path in [
        "/srv/app/package.json",
        "/srv/app/app.js",
        "/proc/self/status",
    ] {
        assert_eq!(start_up_reads(&cap, path), 0, "{path}");
    }

    // An entry without an extension (`bin/www`) ends start-up too; the config file Node
    // reads at start-up does not.
    let mut c = collector_with_root("/srv/app");
    let argv = [
        "node",
        "--experimental-config-file=cfg/node.config.json",
        "bin/www",
    ];
    c.ingest(&exec(100, "/usr/bin/node", &argv, 0));
    c.ingest(&open(100, "cfg/node.config.json", ro, 3));
    c.ingest(&open(100, "/sys/fs/cgroup/cpu.weight", ro, 3));
    c.ingest(&open(100, "bin/www", ro, 3));
    c.ingest(&open(
        100,
        "/sys/kernel/mm/transparent_hugepage/enabled",
        ro,
        3,
    ));
    let cap = c.snapshot(Default::default(), 0);
    assert_eq!(start_up_reads(&cap, "/srv/app/cfg/node.config.json"), 1);
    assert_eq!(start_up_reads(&cap, "/sys/fs/cgroup/cpu.weight"), 1);
    assert_eq!(start_up_reads(&cap, "/srv/app/bin/www"), 0);
    let thp = "/sys/kernel/mm/transparent_hugepage/enabled";
    assert_eq!(start_up_reads(&cap, thp), 0);
}

#[test]
fn a_node_process_without_a_script_or_found_running_has_no_start_up() {
    // `node -e` reads no file that marks its code running: its own /proc reads must not pass
    // for start-up, or the draft would drop them and Node would deny them.
    let ro = libc::O_RDONLY;
    let mut c = collector_with_root("/");
    let code = "require('fs').readFileSync('/proc/self/status')";
    c.ingest(&exec(100, "/usr/bin/node", &["node", "-e", code], 0));
    c.ingest(&open(100, "/proc/self/status", ro, 3));
    let cap = c.snapshot(Default::default(), 0);
    assert_eq!(start_up_reads(&cap, "/proc/self/status"), 0);

    let mut c = Collector::new(Target::default(), Window::default(), Clock::default());
    let program = Some(("/usr/bin/node".into(), vec!["node".into(), "a.js".into()]));
    let state = ProcState::with_cwd("/srv".into());
    c.seed(
        100,
        ProcessSeed {
            state,
            program,
            ..Default::default()
        },
        0,
    );
    c.ingest(&open(100, "/proc/self/status", ro, 3));
    let cap = c.snapshot(Default::default(), 0);
    assert_eq!(start_up_reads(&cap, "/proc/self/status"), 0);
}

#[test]
fn children_are_spawns_of_their_parent_program() {
    let mut c = collector_with_root("/srv/app");
    c.ingest(&exec(100, "/usr/bin/node", &["node", "app.js"], 0));
    c.ingest(&ev(100, 3, Body::Fork { child: 101 }));
    c.ingest(&exec(101, "/usr/local/bin/sh", &["sh", "-c", "x"], -2));
    c.ingest(&exec(101, "/bin/sh", &["sh", "-c", "x"], 0));
    c.ingest(&open(101, "/etc/hostname", libc::O_RDONLY, 3));
    let cap = c.snapshot(Default::default(), 0);
    let sh = cap
        .programs
        .iter()
        .find(|p| p.exe.to_string() == "/bin/sh")
        .unwrap();
    assert_eq!(sh.parent, Some(0));
    assert!(!sh.is_node);
    let ok = cap
        .spawns
        .iter()
        .find(|s| s.program == Some(sh.id))
        .unwrap();
    assert_eq!((ok.parent, ok.stats.ok), (0, 1));
    let miss = cap.spawns.iter().find(|s| s.program.is_none()).unwrap();
    assert!(miss.path_search);
    assert_eq!(
        file(&cap, "/etc/hostname").access[&Access::Read].by,
        vec![sh.id]
    );
    assert_eq!(cap.stats.processes, 2);
}

#[test]
fn connects_use_the_socket_type_and_listens_use_the_bound_address() {
    let mut c = collector_with_root("/");
    c.ingest(&exec(100, "/usr/bin/node", &["node", "s.js"], 0));
    let sock = |n: u32, fd: i32, domain: u32, ty: u32, addr: Vec<u8>, ret: i64| {
        ev(
            100,
            5,
            Body::Sock(SockCall {
                nr: n,
                ret,
                fd,
                domain,
                sock_type: ty,
                addr,
                addr_fault: false,
            }),
        )
    };
    let mut a = (libc::AF_INET as u16).to_ne_bytes().to_vec();
    a.extend_from_slice(&8080u16.to_be_bytes());
    a.extend_from_slice(&[127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    c.ingest(&sock(
        nr::SOCKET,
        0,
        libc::AF_INET as u32,
        libc::SOCK_STREAM as u32,
        vec![],
        7,
    ));
    c.ingest(&sock(
        nr::CONNECT,
        7,
        0,
        0,
        a.clone(),
        -(libc::EINPROGRESS as i64),
    ));
    c.ingest(&sock(
        nr::SOCKET,
        0,
        libc::AF_INET as u32,
        libc::SOCK_STREAM as u32,
        vec![],
        8,
    ));
    c.ingest(&sock(nr::BIND, 8, 0, 0, a, 0));
    c.ingest(&sock(nr::LISTEN, 8, 0, 511, vec![], 0));
    let cap = c.snapshot(Default::default(), 0);
    let conn = cap
        .network
        .iter()
        .find(|n| n.op == Some(NetOp::Connect))
        .unwrap();
    assert_eq!(
        (conn.address.as_str(), conn.port, conn.protocol),
        ("127.0.0.1", Some(8080), Some(Protocol::Tcp))
    );
    assert_eq!(conn.stats.ok, 1, "EINPROGRESS is an attempt, counted as ok");
    assert!(conn.loopback);
    let listen = cap
        .network
        .iter()
        .find(|n| n.op == Some(NetOp::Listen))
        .unwrap();
    assert_eq!(
        (listen.address.as_str(), listen.port),
        ("127.0.0.1", Some(8080))
    );
}

#[test]
fn resume_continues_counting_from_a_capture() {
    let mut c = collector_with_root("/");
    c.ingest(&exec(100, "/usr/bin/node", &["node", "s.js"], 0));
    c.ingest(&open(100, "/data/a", libc::O_RDONLY, 3));
    let first = c.snapshot(Default::default(), 0);
    let mut c2 = Collector::resume(&first, Clock::default());
    c2.seed(
        100,
        ProcessSeed {
            state: ProcState::with_cwd("/".into()),
            program: Some(("/usr/bin/node".into(), vec!["node".into(), "s.js".into()])),
            ..Default::default()
        },
        0,
    );
    c2.ingest(&open(100, "/data/a", libc::O_RDONLY, 3));
    c2.ingest(&open(100, "/data/b", libc::O_RDONLY, 3));
    let cap = c2.snapshot(Default::default(), 0);
    assert_eq!(file(&cap, "/data/a").access[&Access::Read].count, 2);
    assert_eq!(file(&cap, "/data/b").access[&Access::Read].count, 1);
    assert_eq!(
        cap.programs.len(),
        1,
        "the same program is not registered twice"
    );
    assert_eq!(
        cap.stats.events, 4,
        "2 events before the checkpoint, 2 after"
    );
}
