//! Against this very test process and a child of it: real procfs, nothing mocked.

use std::{
    collections::HashSet,
    net::TcpListener,
    os::fd::AsRawFd as _,
    process::{Command, Stdio},
};

use super::*;

#[test]
fn the_parent_is_read_after_the_last_parenthesis_of_comm() {
    assert_eq!(parse_ppid(b"42 (a) b) c) S 17 42 42 0"), Some(17));
    assert_eq!(parse_ppid(b"garbage"), None);
}

#[test]
fn zombies_and_exiting_processes_are_not_live() {
    let running = b"42 (node) S 1 42 42 0 -1 4194560 0 0";
    let zombie = b"42 (node) Z 1 42 42 0 -1 4194316 0 0";
    let exiting = b"42 (a) b) R 1 42 42 0 -1 4194564 0 0";
    assert_eq!(parse_liveness(running), Some(true));
    assert_eq!(parse_liveness(zombie), Some(false));
    assert_eq!(parse_liveness(exiting), Some(false));
    assert!(is_live(std::process::id()));
}

#[test]
fn unix_listeners_are_told_from_accepted_connections_by_their_flags() {
    let listen = "0000000000000000: 00000002 00000000 00010000 0001 01 31337 /run/app.sock";
    let accepted = "0000000000000000: 00000003 00000000 00000000 0001 03 31338 /run/app.sock";
    let abstract_dgram = "0000000000000000: 00000002 00000000 00000000 0002 01 31339 @notify";
    let (inode, info, listens) = parse_unix_line(listen).unwrap();
    assert_eq!((inode, listens), (31337, true));
    assert_eq!(&info.bound.unwrap()[2..], b"/run/app.sock");
    assert!(!parse_unix_line(accepted).unwrap().2);
    let (_, info, listens) = parse_unix_line(abstract_dgram).unwrap();
    assert!(listens);
    assert_eq!(&info.bound.unwrap()[2..], b"\0notify");
}

#[test]
fn seeds_this_process_cwd_fds_program_and_listening_socket() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = std::fs::File::open("/etc").unwrap();
    let me = std::process::id();

    let seed = process_seed(me, true).expect("this process exists");
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(seed.state.cwd, Some(PathBytes::from(cwd.as_path())));
    assert_eq!(
        seed.state.fds.get(&dir.as_raw_fd()),
        Some(&FdTarget::Path {
            path: Some("/etc".into()),
            cloexec: true
        }),
        "std opens with O_CLOEXEC, and fdinfo says so"
    );
    let fd = listener.as_raw_fd();
    assert!(seed.listening.contains(&fd), "{:?}", seed.listening);
    let sock = seed.state.socket(fd).expect("described");
    assert_eq!(sock.domain, libc::AF_INET as u32);
    let addr = crate::sockaddr::SockAddr::parse(sock.bound.as_ref().unwrap()).unwrap();
    assert_eq!(
        (addr.host(), addr.port()),
        ("127.0.0.1".to_string(), Some(port))
    );

    let (exe, argv) = seed.program.expect("a program");
    assert_eq!(exe.as_path(), std::env::current_exe().unwrap());
    assert_eq!(argv.len(), std::env::args().count());
    assert_eq!(seed.parent, Some(std::os::unix::process::parent_id()));
    // SAFETY: getuid has no preconditions.
    assert_eq!(uid_of(me), Some(unsafe { libc::getuid() }));
}

#[test]
fn finds_children_and_forgets_nothing_about_gone_processes() {
    let mut child = Command::new("sleep")
        .arg("30")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let me = std::process::id();
    let found = children_of(&HashSet::from([me]));
    assert!(found.contains(&(child.id(), me)), "{found:?}");
    assert!(is_alive(child.id()));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!is_alive(child.id()));
    assert!(process_seed(child.id(), true).is_none());
}
