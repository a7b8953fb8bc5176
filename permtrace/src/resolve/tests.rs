use super::*;
use crate::event::{Body, Event, ExecCall, FdCall, PathCall, RawPath};

fn ev(tgid: u32, body: Body) -> Event {
    Event {
        ts_ns: 0,
        tgid,
        tid: tgid,
        body,
    }
}

fn open(tgid: u32, dirfd: i32, path: &str, flags: u64, ret: i64) -> Event {
    ev(
        tgid,
        Body::Path(PathCall {
            nr: nr::OPENAT,
            ret,
            dirfd,
            path: RawPath::new(path),
            dirfd2: AT_FDCWD,
            path2: None,
            flags,
            mode: 0,
        }),
    )
}

fn chdir(tgid: u32, path: &str) -> Event {
    ev(
        tgid,
        Body::Path(PathCall {
            nr: nr::CHDIR,
            ret: 0,
            dirfd: AT_FDCWD,
            path: RawPath::new(path),
            dirfd2: AT_FDCWD,
            path2: None,
            flags: 0,
            mode: 0,
        }),
    )
}

fn resolved(r: &Resolved) -> String {
    match r.path.as_ref().unwrap() {
        Resolution::Absolute(p) => p.to_string(),
        Resolution::Unresolved(u) => format!("{u:?}"),
    }
}

#[test]
fn relative_paths_follow_chdir_and_are_inherited_on_fork() {
    let mut r = Resolver::new();
    r.seed(10, ProcState::with_cwd("/srv/app".into()));
    assert_eq!(
        resolved(&r.apply(&open(10, AT_FDCWD, "cfg/a.json", 0, 3))),
        "/srv/app/cfg/a.json"
    );
    r.apply(&chdir(10, "../data"));
    assert_eq!(
        resolved(&r.apply(&open(10, AT_FDCWD, "./x", 0, 4))),
        "/srv/data/x"
    );
    r.apply(&ev(10, Body::Fork { child: 11 }));
    assert_eq!(
        resolved(&r.apply(&open(11, AT_FDCWD, "y", 0, 4))),
        "/srv/data/y"
    );
}

#[test]
fn dirfd_relative_paths_use_the_fd_table_and_fchdir_moves_cwd() {
    let mut r = Resolver::new();
    r.seed(10, ProcState::with_cwd("/".into()));
    r.apply(&open(
        10,
        AT_FDCWD,
        "/var/lib/x",
        libc::O_DIRECTORY as u64,
        7,
    ));
    assert_eq!(
        resolved(&r.apply(&open(10, 7, "state.db", 0, 8))),
        "/var/lib/x/state.db"
    );
    assert_eq!(
        resolved(&r.apply(&open(10, 9, "other", 0, 8))),
        "UnknownDirfd"
    );
    r.apply(&ev(
        10,
        Body::Fd(FdCall {
            nr: nr::FCHDIR,
            ret: 0,
            a: 7,
            b: 0,
        }),
    ));
    assert_eq!(
        resolved(&r.apply(&open(10, AT_FDCWD, "z", 0, 9))),
        "/var/lib/x/z"
    );
    // dup2 copies the target.
    r.apply(&ev(
        10,
        Body::Fd(FdCall {
            nr: nr::DUP2,
            ret: 20,
            a: 7,
            b: 20,
        }),
    ));
    assert_eq!(resolved(&r.apply(&open(10, 20, "w", 0, 9))), "/var/lib/x/w");
}

#[test]
fn unknown_processes_and_bad_reads_are_marked_not_guessed() {
    let mut r = Resolver::new();
    assert_eq!(
        resolved(&r.apply(&open(5, AT_FDCWD, "rel", 0, 3))),
        "UnknownCwd"
    );
    assert_eq!(
        resolved(&r.apply(&open(5, AT_FDCWD, "/abs/../x", 0, 3))),
        "/x"
    );
    let mut bad = open(5, AT_FDCWD, "", 0, 3);
    if let Body::Path(p) = &mut bad.body {
        p.path.fault = true;
    }
    assert_eq!(resolved(&r.apply(&bad)), "Fault");
}

#[test]
fn cloexec_fds_vanish_on_exec() {
    let mut r = Resolver::new();
    r.seed(1, ProcState::with_cwd("/".into()));
    r.apply(&open(1, AT_FDCWD, "/keep", libc::O_DIRECTORY as u64, 5));
    r.apply(&open(
        1,
        AT_FDCWD,
        "/drop",
        (libc::O_DIRECTORY | libc::O_CLOEXEC) as u64,
        6,
    ));
    r.apply(&ev(
        1,
        Body::Exec(ExecCall {
            ret: 0,
            nr: nr::EXECVE,
            filename: RawPath::new("/bin/true"),
            argv: vec![],
            argv_truncated: false,
            dirfd: AT_FDCWD,
            at_flags: 0,
        }),
    ));
    assert_eq!(resolved(&r.apply(&open(1, 5, "a", 0, 7))), "/keep/a");
    assert_eq!(resolved(&r.apply(&open(1, 6, "a", 0, 7))), "UnknownDirfd");
}

#[test]
fn exit_forgets_the_process() {
    let mut r = Resolver::new();
    r.seed(1, ProcState::with_cwd("/".into()));
    r.apply(&ev(1, Body::Exit { status: 0 }));
    assert!(r.is_empty());
}
