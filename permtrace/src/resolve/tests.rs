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
            c: 0,
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
            c: 0,
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

fn fd_call(tgid: u32, nr: u32, ret: i64, a: i64, b: i64, c: i64) -> Event {
    ev(tgid, Body::Fd(FdCall { nr, ret, a, b, c }))
}

fn exec_true(tgid: u32) -> Event {
    ev(
        tgid,
        Body::Exec(ExecCall {
            ret: 0,
            nr: nr::EXECVE,
            filename: RawPath::new("/bin/true"),
            argv: vec![],
            argv_truncated: false,
            dirfd: AT_FDCWD,
            at_flags: 0,
        }),
    )
}

/// What survives an exec is decided by the close-on-exec bit as it is at the exec, not as it
/// was at the open: CPython and libuv clear it with ioctl(FIONCLEX) to hand a descriptor to
/// a child, fcntl(F_SETFD) sets or clears it, dup3 and F_DUPFD_CLOEXEC create fds with it.
#[test]
fn close_on_exec_changes_after_open_decide_what_survives_exec() {
    use permtrace_common::syscalls::{
        F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD, FD_CLOEXEC, FIOCLEX, FIONCLEX, O_CLOEXEC,
    };
    let cloexec_dir = (libc::O_DIRECTORY | libc::O_CLOEXEC) as u64;
    let mut r = Resolver::new();
    r.seed(1, ProcState::with_cwd("/".into()));
    r.apply(&open(1, AT_FDCWD, "/a", cloexec_dir, 3));
    r.apply(&open(1, AT_FDCWD, "/b", cloexec_dir, 4));
    r.apply(&open(1, AT_FDCWD, "/c", libc::O_DIRECTORY as u64, 5));
    r.apply(&open(1, AT_FDCWD, "/d", libc::O_DIRECTORY as u64, 6));
    // 3: ioctl(FIONCLEX) -> survives; 4: fcntl(F_SETFD, 0) -> survives.
    r.apply(&fd_call(1, nr::IOCTL, 0, 3, FIONCLEX as i64, 0));
    r.apply(&fd_call(1, nr::FCNTL, 0, 4, F_SETFD as i64, 0));
    // 5: ioctl(FIOCLEX) -> gone; 6: fcntl(F_SETFD, FD_CLOEXEC) -> gone.
    r.apply(&fd_call(1, nr::IOCTL, 0, 5, FIOCLEX as i64, 0));
    r.apply(&fd_call(
        1,
        nr::FCNTL,
        0,
        6,
        F_SETFD as i64,
        FD_CLOEXEC as i64,
    ));
    // Copies of the surviving /a: dup3 with O_CLOEXEC -> gone, plain dup3 -> survives,
    // F_DUPFD_CLOEXEC -> gone, F_DUPFD -> survives.
    r.apply(&fd_call(1, nr::DUP3, 10, 3, 10, O_CLOEXEC as i64));
    r.apply(&fd_call(1, nr::DUP3, 11, 3, 11, 0));
    r.apply(&fd_call(1, nr::FCNTL, 12, 3, F_DUPFD_CLOEXEC as i64, 0));
    r.apply(&fd_call(1, nr::FCNTL, 13, 3, F_DUPFD as i64, 0));
    // A failed F_SETFD changes nothing.
    r.apply(&fd_call(
        1,
        nr::FCNTL,
        -9,
        11,
        F_SETFD as i64,
        FD_CLOEXEC as i64,
    ));
    r.apply(&exec_true(1));
    let at = |r: &mut Resolver, fd| resolved(&r.apply(&open(1, fd, "x", 0, 20)));
    assert_eq!(at(&mut r, 3), "/a/x");
    assert_eq!(at(&mut r, 4), "/b/x");
    assert_eq!(at(&mut r, 5), "UnknownDirfd");
    assert_eq!(at(&mut r, 6), "UnknownDirfd");
    assert_eq!(at(&mut r, 10), "UnknownDirfd");
    assert_eq!(at(&mut r, 11), "/a/x");
    assert_eq!(at(&mut r, 12), "UnknownDirfd");
    assert_eq!(at(&mut r, 13), "/a/x");
}

#[test]
fn fds_and_cwd_are_inherited_by_a_forked_child_and_survive_its_exec() {
    let mut r = Resolver::new();
    r.seed(1, ProcState::with_cwd("/srv".into()));
    r.apply(&open(1, AT_FDCWD, "data", libc::O_DIRECTORY as u64, 7));
    r.apply(&ev(1, Body::Fork { child: 2 }));
    r.apply(&exec_true(2));
    assert_eq!(resolved(&r.apply(&open(2, 7, "f", 0, 8))), "/srv/data/f");
    assert_eq!(resolved(&r.apply(&open(2, AT_FDCWD, "g", 0, 9))), "/srv/g");
}

#[test]
fn exit_forgets_the_process() {
    let mut r = Resolver::new();
    r.seed(1, ProcState::with_cwd("/".into()));
    r.apply(&ev(1, Body::Exit { status: 0 }));
    assert!(r.is_empty());
}

/// The kernel names a successful execveat(fd, "name") "/dev/fd/<fd>/name" and fexecve(fd)
/// "/dev/fd/<fd>"; both are the file the fd table knows.
#[test]
fn execveat_and_fexecve_resolve_through_the_fd_table() {
    let exec = |file: &str| {
        ev(
            1,
            Body::Exec(ExecCall {
                ret: 0,
                nr: nr::EXECVEAT,
                filename: RawPath::new(file),
                argv: vec![],
                argv_truncated: false,
                dirfd: AT_FDCWD,
                at_flags: 0,
            }),
        )
    };
    let mut r = Resolver::new();
    r.seed(1, ProcState::with_cwd("/".into()));
    r.apply(&open(1, AT_FDCWD, "/usr/bin", libc::O_DIRECTORY as u64, 3));
    r.apply(&open(1, AT_FDCWD, "/usr/bin/cat", libc::O_PATH as u64, 4));
    assert_eq!(resolved(&r.apply(&exec("/dev/fd/3/cat"))), "/usr/bin/cat");
    r.seed(1, ProcState::with_cwd("/".into()));
    r.apply(&open(1, AT_FDCWD, "/usr/bin/cat", libc::O_PATH as u64, 4));
    assert_eq!(resolved(&r.apply(&exec("/dev/fd/4"))), "/usr/bin/cat");
    // An fd permtrace did not see opened: the alias is kept as it is.
    assert_eq!(resolved(&r.apply(&exec("/dev/fd/9/x"))), "/dev/fd/9/x");
}
