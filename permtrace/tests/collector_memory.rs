//! A 48-hour capture must not grow with the number of events: the collector keeps aggregates.
//! This feeds 10 million synthetic events over 200,000 distinct paths (plus 100,000
//! short-lived processes, relative paths and connects) straight into the collector, takes a
//! checkpoint the way `attach` does (streamed to capture.json), and reads this process's own
//! peak resident memory (the checks after that, which load the whole capture, are not
//! measured). It is its own test binary so no other test's memory is counted.

use permtrace::{
    capture::{Capture, Target, Window, load_capture},
    collector::{Clock, Collector, ProcessSeed},
    event::{Body, Event, ExecCall, PathCall, RawPath, SockCall},
    output::OutputDir,
    pathbytes::PathBytes,
    resolve::ProcState,
};
use permtrace_common::syscalls::{AT_FDCWD, nr};

const EVENTS: u64 = 10_000_000;
const PATHS: u64 = 200_000;
const PROCESSES: u64 = 100_000;
const LIMIT_MIB: u64 = 200;

/// `VmHWM` (peak resident set) or `VmRSS` of this process, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("reading /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

fn ev(tgid: u32, i: u64, body: Body) -> Event {
    Event {
        ts_ns: 1_000_000_000 + i * 1_000,
        tgid,
        tid: tgid,
        body,
    }
}

fn path_call(nr: u32, path: String, flags: u64, ret: i64) -> Body {
    Body::Path(PathCall {
        nr,
        ret,
        dirfd: AT_FDCWD,
        path: RawPath {
            bytes: PathBytes::from(path.as_str()),
            truncated: false,
            fault: false,
        },
        dirfd2: AT_FDCWD,
        path2: None,
        flags,
        mode: 0,
    })
}

fn exec(file: &str, argv: &[&str]) -> Body {
    Body::Exec(ExecCall {
        ret: 0,
        nr: nr::EXECVE,
        filename: RawPath::new(file),
        argv: argv.iter().map(|a| PathBytes::from(*a)).collect(),
        argv_truncated: false,
        dirfd: AT_FDCWD,
        at_flags: 0,
    })
}

fn connect(fd: i32, port: u16, host: u8) -> Body {
    let mut addr = vec![0u8; 16];
    addr[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
    addr[2..4].copy_from_slice(&port.to_be_bytes());
    addr[4..8].copy_from_slice(&[10, 0, 0, host]);
    Body::Sock(SockCall {
        nr: nr::CONNECT,
        ret: -(libc::EINPROGRESS as i64),
        fd,
        domain: 0,
        sock_type: 0,
        addr,
        addr_fault: false,
    })
}

#[test]
fn ten_million_events_over_200k_paths_stay_under_200_mib() {
    let start_kib = status_kib("VmRSS:");
    let window = Window {
        started_at_ms: 1,
        ..Default::default()
    };
    let mut c = Collector::new(Target::default(), window, Clock::default());
    let server = 1000;
    c.seed(
        server,
        ProcessSeed {
            state: ProcState::with_cwd(PathBytes::from("/srv/app")),
            program: Some((
                PathBytes::from("/usr/bin/node"),
                vec![PathBytes::from("node"), PathBytes::from("server.js")],
            )),
            ..Default::default()
        },
        0,
    );

    let mut i = 0u64;
    let mut next_child = 100_000u32;
    // Every 100 events, one short-lived child: fork, exec, a read, exit.
    let child_every = EVENTS / PROCESSES;
    let mut data = 0u64;
    while i < EVENTS {
        let n = i / 10;
        let body = match i % 10 {
            0..=6 if i % 10 == 6 => path_call(
                nr::NEWFSTATAT,
                format!(
                    "/srv/data/d{}/file-{}.json",
                    (data % PATHS) / 1000,
                    data % PATHS
                ),
                0,
                0,
            ),
            0..=5 => path_call(
                nr::OPENAT,
                format!(
                    "/srv/data/d{}/file-{}.json",
                    (data % PATHS) / 1000,
                    data % PATHS
                ),
                libc::O_RDONLY as u64,
                3,
            ),
            7 => path_call(
                nr::OPENAT,
                format!("cache/entry-{}", n % 5000),
                (libc::O_WRONLY | libc::O_CREAT) as u64,
                4,
            ),
            8 => path_call(nr::OPENAT, format!("/nonexistent/{}", n % 100), 0, -2),
            _ => connect(5, 443, (n % 200) as u8),
        };
        if i % 10 <= 6 {
            data += 1;
        }
        c.ingest(&ev(server, i, body));
        i += 1;
        if i.is_multiple_of(child_every) {
            let child = next_child;
            next_child = next_child.wrapping_add(1).max(100_000);
            c.ingest(&ev(server, i, Body::Fork { child }));
            c.ingest(&ev(child, i, exec("/bin/sh", &["sh", "-c", "git status"])));
            c.ingest(&ev(
                child,
                i,
                path_call(nr::OPENAT, "/etc/ld.so.cache".into(), 0, 3),
            ));
            c.ingest(&ev(child, i, Body::Exit { status: 0 }));
            i += 4;
        }
    }
    let after_ingest_kib = status_kib("VmHWM:");

    // A checkpoint, written the way `attach` writes it: streamed to capture.json.
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = OutputDir::create(tmp.path(), None).expect("output dir");
    let writing = std::time::Instant::now();
    let written = out
        .write_atomic_with("capture.json", |w| {
            c.write_json(Default::default(), 0, w).map_err(Into::into)
        })
        .expect("writing the checkpoint");
    let write_time = writing.elapsed();
    let peak_kib = status_kib("VmHWM:");
    let json_bytes = std::fs::metadata(&written).unwrap().len();
    let cap: Capture = load_capture(&written).expect("the checkpoint is a valid capture");

    assert_eq!(cap.stats.events, i, "every event was counted");
    // 200k data paths, 5000 relative cache files, 100 missing ones, ld.so.cache.
    assert_eq!(cap.files.len(), 200_000 + 5000 + 100 + 1);
    assert_eq!(
        c.sizes().3,
        1,
        "exited processes leave no per-process state behind"
    );
    assert_eq!(cap.programs.len(), 2);
    eprintln!(
        "RSS at start {} MiB, peak after ingest {} MiB, peak with checkpoint {} MiB \
         (capture.json {} MiB, written in {:.2}s)",
        start_kib / 1024,
        after_ingest_kib / 1024,
        peak_kib / 1024,
        json_bytes >> 20,
        write_time.as_secs_f64()
    );
    assert!(
        peak_kib < LIMIT_MIB * 1024,
        "peak resident memory {} MiB exceeds {LIMIT_MIB} MiB",
        peak_kib / 1024
    );
}
