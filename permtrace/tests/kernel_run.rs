//! `permtrace run` on the real kernel with real Node: what a traced tree does is recorded,
//! from its first syscall, and nothing else is (issue 2, acceptance 1-4).

mod common;

use std::{
    net::TcpListener,
    path::Path,
    process::{Command, Stdio},
};

use common::{
    node_binary, require_kernel,
    trace::{Trace, Traced, argv, str_of},
};
use serde_json::Value;

/// Reads /etc/hostname, connects to 127.0.0.1:<argv[1]>, and once connected runs
/// `sh -c "cat /etc/hostname"` through execSync (node -> sh -> sh -> cat).
const NODE_WORKLOAD: &str = r#"
const fs = require('fs'), net = require('net'), cp = require('child_process');
const port = Number(process.argv[1]);
fs.readFileSync('/etc/hostname');
const sock = net.connect(port, '127.0.0.1', () => {
  sock.destroy();
  cp.execSync('sh -c "cat /etc/hostname"', { stdio: 'ignore' });
});
sock.on('error', (e) => { console.error(e); process.exit(2); });
"#;

fn is_loader_file(path: &str) -> bool {
    path == "/etc/ld.so.cache"
        || path == "/etc/ld.so.preload"
        || path.starts_with("/lib/")
        || path.starts_with("/lib64/")
        || path.starts_with("/usr/lib/")
}

fn check_node_workload(node: &str) {
    require_kernel();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let port_arg = port.to_string();
    let t = Trace::new().run(&[node, "-e", NODE_WORKLOAD, &port_arg]);
    t.expect_code(0);
    t.assert_complete();
    let root = t.root_pid();

    // The execve of node, by the root.
    let execs: Vec<&Value> = t.with("event", "exec").collect();
    let node_exec = t
        .of_pid(root)
        .position(|e| str_of(e, "event") == Some("exec"))
        .expect("no successful exec by the root");
    let root_events: Vec<&Value> = t.of_pid(root).collect();
    let exec = root_events[node_exec];
    assert!(
        str_of(exec, "path").unwrap().ends_with("/node"),
        "root exec: {exec}"
    );
    assert_eq!(argv(exec)[1..], ["-e", NODE_WORKLOAD, port_arg.as_str()]);

    // The dynamic loader's first opens, right after the exec, before anything else: the
    // program was followed from its first instruction.
    let after_exec: Vec<&Value> = root_events[node_exec + 1..]
        .iter()
        .copied()
        .filter(|e| str_of(e, "event") == Some("file"))
        .collect();
    let first = str_of(after_exec[0], "path").unwrap();
    assert!(
        first == "/etc/ld.so.preload" || first == "/etc/ld.so.cache",
        "first file access after exec is {first}"
    );
    let opens: Vec<&str> = after_exec
        .iter()
        .filter(|e| str_of(e, "syscall") == Some("openat"))
        .map(|e| str_of(e, "path").unwrap())
        .collect();
    assert_eq!(opens[0], "/etc/ld.so.cache", "opens: {opens:?}");
    let libc = opens
        .iter()
        .position(|p| p.ends_with("/libc.so.6"))
        .unwrap_or_else(|| panic!("libc.so.6 was never opened: {opens:?}"));
    assert!(
        opens[..libc].iter().all(|p| is_loader_file(p)),
        "something but the loader opened files before libc: {opens:?}"
    );

    // The read of /etc/hostname, with its result.
    let read = root_events
        .iter()
        .find(|e| str_of(e, "path") == Some("/etc/hostname") && str_of(e, "access") == Some("read"))
        .expect("node's read of /etc/hostname");
    assert_eq!(str_of(read, "syscall"), Some("openat"));
    assert!(read["result"].as_i64().unwrap() >= 0, "{read}");

    // The connect to 127.0.0.1:<port> (non-blocking: EINPROGRESS, or 0 if it was instant).
    let connect = t
        .with("event", "connect")
        .find(|e| e["port"].as_u64() == Some(port.into()))
        .expect("the connect to the test's listener");
    assert_eq!(connect["pid"].as_u64(), Some(root));
    assert_eq!(str_of(connect, "address"), Some("127.0.0.1"));
    assert_eq!(str_of(connect, "family"), Some("inet"));
    assert!(
        str_of(connect, "error") == Some("EINPROGRESS") || connect["result"] == 0,
        "{connect}"
    );
    // ...and it really reached the listener.
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_ok(), "node never connected");

    // cat, a grandchild at least: its fork chain leads back to node through the shells.
    let cat = execs
        .iter()
        .find(|e| argv(e) == ["cat", "/etc/hostname"])
        .expect("cat's exec");
    assert!(str_of(cat, "path").unwrap().ends_with("/cat"), "{cat}");
    let cat_pid = cat["pid"].as_u64().unwrap();
    let chain = t.ancestry(cat_pid);
    assert_eq!(*chain.last().unwrap(), root, "cat's ancestry {chain:?}");
    assert!(chain.len() >= 3, "cat is not a grandchild: {chain:?}");
    for shell in &chain[1..chain.len() - 1] {
        let sh = execs
            .iter()
            .find(|e| e["pid"].as_u64() == Some(*shell))
            .unwrap_or_else(|| panic!("no exec by {shell}, between node and cat"));
        assert!(str_of(sh, "path").unwrap().ends_with("/sh"), "{sh}");
    }
    let sh_c = execs
        .iter()
        .filter(|e| str_of(e, "path").is_some_and(|p| p.ends_with("/sh")))
        .count();
    assert!(sh_c >= 2, "execSync's /bin/sh and the inner sh: {sh_c}");

    // cat's own open of /etc/hostname.
    let cat_open = t
        .of_pid(cat_pid)
        .find(|e| str_of(e, "path") == Some("/etc/hostname") && str_of(e, "event") == Some("file"))
        .expect("cat's open of /etc/hostname");
    assert!(cat_open["result"].as_i64().unwrap() >= 0);

    // The capture agrees with the log.
    let hostname = t.file("/etc/hostname").expect("capture has /etc/hostname");
    assert!(hostname["access"]["read"]["ok"].as_u64().unwrap() >= 2);
    let endpoint = t.capture["network"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["port"].as_u64() == Some(port.into()))
        .expect("capture has the endpoint");
    assert_eq!(endpoint["address"], "127.0.0.1");
    assert_eq!(endpoint["op"], "connect");
    assert_eq!(endpoint["protocol"], "tcp");
    // node and the shells and cat of cat's ancestry: nothing else ran.
    assert_eq!(
        t.capture["stats"]["processes"].as_u64(),
        Some(chain.len() as u64)
    );
    assert_eq!(t.capture["window"]["ended_by"], "exit");
}

#[test]
fn node_run_records_exec_loader_read_connect_and_grandchildren() {
    check_node_workload("node");
}

#[test]
fn node_22_run_records_the_same() {
    let node = node_binary("22.23.3");
    check_node_workload(node.to_str().unwrap());
}

/// Acceptance 2: an unrelated process as busy as the traced one, running the same programs,
/// produces no event; every event comes from the tree rooted at the command.
#[test]
fn unrelated_process_running_meanwhile_produces_no_events() {
    require_kernel();
    let tmp = tempfile::tempdir().unwrap();
    let counter = tmp.path().join("iterations");
    let script = format!(
        "while :; do cat /etc/hostname >/dev/null; echo >> {}; done",
        counter.display()
    );
    let mut unrelated = Command::new("sh")
        .args(["-c", &script])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    common::trace::wait_for_file(&counter);
    let lines = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let before = lines(&counter);

    let trace = Trace::new();
    let child = trace.spawn(&[
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8 9 10; do cat /etc/hostname >/dev/null; sleep 0.02; done",
    ]);
    let permtrace_pid = u64::from(child.id());
    let t = trace.finish(child);
    let during = lines(&counter) - before;
    unrelated.kill().unwrap();
    unrelated.wait().unwrap();

    t.expect_code(0);
    t.assert_complete();
    // The negative is only meaningful if the other loop really ran meanwhile.
    assert!(
        during >= 10,
        "the unrelated loop ran only {during} times during the trace"
    );
    let tree = t.tree();
    assert_eq!(
        t.with("event", "exec")
            .filter(|e| argv(e) == ["cat", "/etc/hostname"])
            .count(),
        10,
        "the traced loop's ten cats"
    );
    for e in &t.events {
        let pid = e["pid"].as_u64().unwrap();
        assert!(
            tree.contains(&pid),
            "event of pid {pid}, outside the traced tree: {e}"
        );
    }
    assert!(!tree.contains(&u64::from(unrelated.id())));
    assert!(!tree.contains(&permtrace_pid), "permtrace traced itself");
}

/// Acceptance 3: a relative open after process.chdir() is resolved against the new
/// directory (and the chdir itself is recorded).
#[test]
fn relative_open_after_chdir_is_resolved() {
    require_kernel();
    let trace = Trace::new();
    let dir = trace.dir().join("data dir");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("rel.txt"), "x").unwrap();
    std::fs::create_dir(trace.dir().join("sibling")).unwrap();
    std::fs::write(trace.dir().join("sibling/up.txt"), "y").unwrap();
    let dir = dir.to_str().unwrap().to_owned();
    let t = trace.run(&[
        "node",
        "-e",
        "const fs = require('fs'); process.chdir(process.argv[1]); \
         fs.readFileSync('rel.txt'); fs.readFileSync('./../sibling/up.txt');",
        &dir,
    ]);
    t.expect_code(0);
    t.assert_complete();
    let root = t.root_pid();
    let chdir = t
        .of_pid(root)
        .find(|e| str_of(e, "syscall") == Some("chdir"))
        .expect("the chdir");
    assert_eq!(str_of(chdir, "path"), Some(dir.as_str()));
    assert_eq!(chdir["result"], 0);

    let rel = t
        .with("raw_path", "rel.txt")
        .next()
        .expect("the relative open");
    assert_eq!(str_of(rel, "path"), Some(format!("{dir}/rel.txt").as_str()));
    assert_eq!(rel["dirfd"], -100);
    assert!(rel["result"].as_i64().unwrap() >= 0);
    let up = t
        .with("raw_path", "./../sibling/up.txt")
        .next()
        .expect("the ../ open");
    let sibling = format!("{}/sibling/up.txt", t.dir.path().display());
    assert_eq!(str_of(up, "path"), Some(sibling.as_str()));
    assert!(t.file(&format!("{dir}/rel.txt")).is_some());
    assert!(t.file(&sibling).is_some());
    assert_eq!(t.capture["stats"]["unresolved_paths"], 0);
}

/// Acceptance 3: an open relative to a directory fd, and fchdir to that fd, are resolved
/// through the fd table.
#[test]
fn open_relative_to_a_directory_fd_is_resolved() {
    require_kernel();
    let trace = Trace::new();
    let dir = trace.dir().join("d");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("inner.txt"), "x").unwrap();
    std::fs::write(dir.join("after-fchdir.txt"), "x").unwrap();
    let dir = dir.to_str().unwrap().to_owned();
    let t = trace.run(&[
        "/usr/bin/python3",
        "-c",
        "import os, sys\n\
         fd = os.open(sys.argv[1], os.O_RDONLY)\n\
         os.close(os.open('inner.txt', os.O_RDONLY, dir_fd=fd))\n\
         os.fchdir(fd)\n\
         os.close(os.open('after-fchdir.txt', os.O_RDONLY))\n",
        &dir,
    ]);
    t.expect_code(0);
    t.assert_complete();
    let dir_open = t
        .with("path", &dir)
        .find(|e| str_of(e, "syscall") == Some("openat"))
        .expect("the directory open");
    let dirfd = dir_open["result"].as_i64().unwrap();
    let inner = t.with("raw_path", "inner.txt").next().expect("inner open");
    assert_eq!(inner["dirfd"].as_i64(), Some(dirfd));
    assert_eq!(
        str_of(inner, "path"),
        Some(format!("{dir}/inner.txt").as_str())
    );
    assert!(inner["result"].as_i64().unwrap() >= 0);

    let fchdir = t
        .with("syscall", "fchdir")
        .next()
        .expect("the fchdir event");
    assert_eq!(fchdir["fd"].as_i64(), Some(dirfd));
    let after = t
        .with("raw_path", "after-fchdir.txt")
        .next()
        .expect("open after fchdir");
    assert_eq!(
        str_of(after, "path"),
        Some(format!("{dir}/after-fchdir.txt").as_str())
    );
    assert_eq!(t.capture["stats"]["unresolved_paths"], 0);
}

/// Acceptance 4: a failed open is recorded as failed, with its errno, in the log and in
/// the capture.
#[test]
fn failed_open_is_recorded_with_its_errno() {
    require_kernel();
    let trace = Trace::new();
    let missing = trace.dir().join("missing.txt");
    let missing = missing.to_str().unwrap().to_owned();
    let t = trace.run(&[
        "node",
        "-e",
        "try { require('fs').readFileSync(process.argv[1]) } catch (e) { \
         if (e.code !== 'ENOENT') process.exit(3) }",
        &missing,
    ]);
    t.expect_code(0);
    t.assert_complete();
    let failed: Vec<&Value> = t.with("path", &missing).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(str_of(failed[0], "error"), Some("ENOENT"));
    assert_eq!(str_of(failed[0], "access"), Some("read"));
    assert!(failed[0].get("result").is_none());
    let rec = t.file(&missing).expect("the failed path is in the capture");
    let read = &rec["access"]["read"];
    assert_eq!(read["count"], 1);
    assert_eq!(read["ok"], 0);
    assert_eq!(read["errors"]["ENOENT"], 1);
}

/// Helper used by several assertions above, kept here to be sure the log's ordering is what
/// the tests assume: a process's fork event precedes the child's first event.
#[test]
fn fork_events_precede_the_childs_events() {
    require_kernel();
    let t: Traced = Trace::new().run(&["sh", "-c", "cat /etc/hostname; true"]);
    t.expect_code(0);
    let forks = t.parents();
    assert!(!forks.is_empty());
    for child in forks.keys() {
        let fork_at = t
            .events
            .iter()
            .position(|e| str_of(e, "event") == Some("fork") && e["child"].as_u64() == Some(*child))
            .unwrap();
        let first_own = t
            .events
            .iter()
            .position(|e| e["pid"].as_u64() == Some(*child))
            .unwrap();
        assert!(
            fork_at < first_own,
            "child {child} acted before its fork was logged"
        );
    }
}
