//! The traced tree through the ways processes are really made and ended: vfork and
//! CLONE_VM spawns, exec by a non-leader thread, a leader that exits before its threads,
//! execveat/fexecve, descriptors handed to a child, failed spawns, and descendants that
//! outlive the command.

mod common;

use std::{
    path::Path,
    time::{Duration, Instant},
};

use common::{
    require_kernel,
    trace::{Trace, Traced, alive, argv, compile_c, str_of},
};
use serde_json::Value;

fn make_files(dir: &Path, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| {
            let p = dir.join(n);
            std::fs::write(&p, n).unwrap();
            p.to_str().unwrap().to_owned()
        })
        .collect()
}

/// Process `pid` exec'd cat on `file` and cat opened it: the child was traced from its
/// first syscall after the spawn.
fn assert_cat_ran(t: &Traced, pid: u64, file: &str) {
    let events: Vec<&Value> = t.of_pid(pid).collect();
    let exec = events
        .iter()
        .rposition(|e| str_of(e, "event") == Some("exec"))
        .unwrap_or_else(|| panic!("no exec by {pid}"));
    assert_eq!(argv(events[exec]), ["cat", file], "{}", events[exec]);
    let open = events[exec..]
        .iter()
        .find(|e| str_of(e, "path") == Some(file))
        .unwrap_or_else(|| panic!("{pid} never opened {file} after its exec"));
    assert!(open["result"].as_i64().unwrap() >= 0, "{open}");
    assert!(
        t.of_pid(pid).any(|e| str_of(e, "event") == Some("exit")),
        "no exit event for {pid}"
    );
}

/// The child of `parent` that exec'd cat on `file`.
fn child_running(t: &Traced, parent: u64, file: &str) -> u64 {
    let parents = t.parents();
    let exec = t
        .with("event", "exec")
        .find(|e| argv(e) == ["cat", file])
        .unwrap_or_else(|| panic!("nobody exec'd cat {file}"));
    let pid = exec["pid"].as_u64().unwrap();
    assert_eq!(parents.get(&pid), Some(&parent), "parent of {pid}");
    pid
}

const SPAWNS: &str = r#"
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
static char stack[1 << 16];
static int child(void *file) {
    execl("/bin/cat", "cat", (char *)file, (char *)0);
    _exit(127);
}
int main(int argc, char **argv) {
    pid_t p = vfork();
    if (p == 0) { execl("/bin/cat", "cat", argv[1], (char *)0); _exit(127); }
    waitpid(p, 0, 0);
    p = clone(child, stack + sizeof stack, CLONE_VM | SIGCHLD, argv[2]);
    waitpid(p, 0, 0);
    char *args[] = {"cat", argv[3], 0};
    if (posix_spawn(&p, "/bin/cat", 0, 0, args, environ) != 0) return 1;
    waitpid(p, 0, 0);
    return 0;
}
"#;

/// vfork, clone(CLONE_VM) and posix_spawn (clone(CLONE_VM|CLONE_VFORK) in glibc) share
/// the parent's memory until exec: the children are still followed, from the fork on.
#[test]
fn vfork_clone_vm_and_posix_spawn_children_are_traced() {
    require_kernel();
    let trace = Trace::new();
    let bin = compile_c(trace.dir(), "spawns", SPAWNS);
    let files = make_files(trace.dir(), &["by-vfork", "by-clone-vm", "by-posix-spawn"]);
    let mut cmd = vec![bin.to_str().unwrap()];
    cmd.extend(files.iter().map(String::as_str));
    let t = trace.run(&cmd);
    t.expect_code(0);
    t.assert_complete();
    let root = t.root_pid();
    for file in &files {
        let pid = child_running(&t, root, file);
        assert_cat_ran(&t, pid, file);
    }
    assert_eq!(t.capture["stats"]["processes"], 4);
}

/// A thread other than the leader calls execve: the kernel kills the other threads, gives
/// the thread the leader's pid, and the process goes on as cat.
#[test]
fn exec_by_a_non_leader_thread_is_followed() {
    require_kernel();
    let trace = Trace::new();
    let file = make_files(trace.dir(), &["read-after-thread-exec"]).remove(0);
    let t = trace.run(&[
        "/usr/bin/python3",
        "-c",
        "import os, sys, threading\n\
         threading.Thread(target=lambda: os.execv('/bin/cat', ['cat', sys.argv[1]])).start()\n\
         threading.Event().wait(30)\n",
        &file,
    ]);
    t.expect_code(0);
    t.assert_complete();
    let root = t.root_pid();
    let execs: Vec<&Value> = t
        .of_pid(root)
        .filter(|e| str_of(e, "event") == Some("exec"))
        .collect();
    assert_eq!(
        execs.len(),
        2,
        "python's exec, then the thread's: {execs:?}"
    );
    assert_eq!(
        execs[1]["tid"].as_u64(),
        Some(root),
        "the exec'ing thread took the leader's pid"
    );
    assert_cat_ran(&t, root, &file);
    let exits: Vec<&Value> = t
        .of_pid(root)
        .filter(|e| str_of(e, "event") == Some("exit"))
        .collect();
    assert_eq!(exits.len(), 1, "{exits:?}");
    assert_eq!(exits[0]["status"], 0);
}

const LEADER_EXITS_FIRST: &str = r#"
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
static const char *path;
static void *worker(void *arg) {
    usleep(200000);
    close(open(path, O_RDONLY));
    exit(4);
}
int main(int argc, char **argv) {
    path = argv[1];
    pthread_t t;
    pthread_create(&t, 0, worker, 0);
    pthread_exit(0);
}
"#;

/// The main thread exits first; the process lives on in another thread. It stays traced
/// until its last thread is gone (sched_process_exit's group_dead), and its exit status is
/// the one that thread gave.
#[test]
fn a_process_whose_leader_exits_first_stays_traced_until_its_last_thread() {
    require_kernel();
    let trace = Trace::new();
    let bin = compile_c(trace.dir(), "leader", LEADER_EXITS_FIRST);
    let file = make_files(trace.dir(), &["opened-by-the-last-thread"]).remove(0);
    let t = trace.run(&[bin.to_str().unwrap(), &file]);
    t.expect_code(4);
    t.assert_complete();
    let root = t.root_pid();
    let events: Vec<&Value> = t.of_pid(root).collect();
    let open = events
        .iter()
        .position(|e| str_of(e, "path") == Some(file.as_str()))
        .expect("the worker's open, after the leader had exited");
    assert_ne!(events[open]["tid"].as_u64(), Some(root));
    let exits: Vec<usize> = (0..events.len())
        .filter(|&i| str_of(events[i], "event") == Some("exit"))
        .collect();
    assert_eq!(exits.len(), 1, "one exit event, for the whole process");
    assert!(open < exits[0]);
    assert_eq!(events[exits[0]]["status"], 4 << 8);
}

const EXECVEAT: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
int main(int argc, char **argv) {
    int dir = open("/usr/bin", O_RDONLY | O_DIRECTORY);
    int exe = open("/usr/bin/cat", O_PATH);
    char *args[] = {"cat", argv[1], 0};
    pid_t p = fork();
    if (p == 0) { syscall(SYS_execveat, dir, "cat", args, environ, 0); _exit(127); }
    waitpid(p, 0, 0);
    p = fork();
    if (p == 0) { fexecve(exe, args, environ); _exit(127); }
    waitpid(p, 0, 0);
    p = fork();
    if (p == 0) { syscall(SYS_execveat, dir, "no-such-program", args, environ, 0); _exit(127); }
    waitpid(p, 0, 0);
    return 0;
}
"#;

/// The kernel reports execveat(fd, "cat") as an exec of "/dev/fd/N/cat" and fexecve as one
/// of "/dev/fd/N"; both resolve to the real file through the fd table.
#[test]
fn execveat_and_fexecve_resolve_to_the_program() {
    require_kernel();
    let trace = Trace::new();
    let bin = compile_c(trace.dir(), "execveat", EXECVEAT);
    let file = make_files(trace.dir(), &["read-by-cat"]).remove(0);
    let t = trace.run(&[bin.to_str().unwrap(), &file]);
    t.expect_code(0);
    t.assert_complete();
    let cats: Vec<&Value> = t
        .with("event", "exec")
        .filter(|e| argv(e) == ["cat", file.as_str()])
        .collect();
    assert_eq!(cats.len(), 2, "{cats:?}");
    for cat in &cats {
        assert_eq!(str_of(cat, "path"), Some("/usr/bin/cat"), "{cat}");
        assert!(
            str_of(cat, "raw_path").unwrap().starts_with("/dev/fd/"),
            "{cat}"
        );
        assert_cat_ran(&t, cat["pid"].as_u64().unwrap(), &file);
    }
    let failed = t
        .with("event", "exec_failed")
        .find(|e| str_of(e, "syscall") == Some("execveat"))
        .expect("the failed execveat");
    assert_eq!(str_of(failed, "raw_path"), Some("no-such-program"));
    assert_eq!(str_of(failed, "path"), Some("/usr/bin/no-such-program"));
    assert_eq!(str_of(failed, "error"), Some("ENOENT"));
    let programs = t.capture["programs"].as_array().unwrap();
    assert!(
        programs.iter().any(|p| p["exe"] == "/usr/bin/cat"),
        "{programs:?}"
    );
}

/// A directory fd handed to a child (pass_fds: CPython clears close-on-exec with
/// ioctl(FIONCLEX)) is still known after the child's exec.
#[test]
fn directory_fd_handed_to_a_child_resolves_in_the_child() {
    require_kernel();
    let trace = Trace::new();
    let dir = trace.dir().join("shared");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("inner.txt"), "x").unwrap();
    let dir = dir.to_str().unwrap().to_owned();
    let t = trace.run(&[
        "/usr/bin/python3",
        "-c",
        "import os, subprocess, sys\n\
         fd = os.open(sys.argv[1], os.O_RDONLY)\n\
         child = f'import os; os.close(os.open(\"inner.txt\", os.O_RDONLY, dir_fd={fd}))'\n\
         subprocess.run([sys.executable, '-c', child], pass_fds=[fd], check=True)\n",
        &dir,
    ]);
    t.expect_code(0);
    t.assert_complete();
    let root = t.root_pid();
    let inner = t
        .with("raw_path", "inner.txt")
        .next()
        .expect("the child's open");
    assert_ne!(inner["pid"].as_u64(), Some(root), "opened by the child");
    assert_eq!(
        str_of(inner, "path"),
        Some(format!("{dir}/inner.txt").as_str())
    );
    assert!(inner["result"].as_i64().unwrap() >= 0);
    assert_eq!(t.capture["stats"]["unresolved_paths"], 0);
}

/// Node spawns that fail in the child (exec of a missing file, a PATH search that finds
/// nothing) are in the capture as spawns of node that never became a program.
#[test]
fn failed_spawns_of_node_are_recorded_with_their_errors() {
    require_kernel();
    let t = Trace::new().run(&[
        "node",
        "-e",
        "const cp = require('child_process');\n\
         for (const f of ['/nonexistent/dir/prog', 'permtrace-no-such-cmd']) {\n\
           try { cp.execFileSync(f) } catch (e) { if (e.code !== 'ENOENT') process.exit(3) }\n\
         }",
    ]);
    t.expect_code(0);
    t.assert_complete();
    let programs = t.capture["programs"].as_array().unwrap();
    let node = programs
        .iter()
        .find(|p| p["is_node"] == true)
        .expect("node's program")["id"]
        .clone();
    let spawns = t.capture["spawns"].as_array().unwrap();
    let missing = spawns
        .iter()
        .find(|s| s["filename"] == "/nonexistent/dir/prog")
        .unwrap_or_else(|| panic!("{spawns:?}"));
    assert_eq!(missing["parent"], node);
    assert!(missing["program"].is_null());
    assert_eq!(missing["stats"]["errors"]["ENOENT"], 1);
    assert!(missing.get("path_search").is_none());
    let searched: Vec<&Value> = spawns
        .iter()
        .filter(|s| {
            s["filename"]
                .as_str()
                .is_some_and(|f| f.ends_with("/permtrace-no-such-cmd"))
        })
        .collect();
    assert!(!searched.is_empty());
    assert!(
        searched
            .iter()
            .all(|s| s["path_search"] == true && s["program"].is_null())
    );
}

/// Tracing ends with the command. A descendant that keeps running (here one that keeps
/// making traced syscalls) is let go and counted, and permtrace does not wait for it.
#[test]
fn descendants_outliving_the_command_are_let_go_and_reported() {
    require_kernel();
    let trace = Trace::new();
    let bgpid = trace.dir().join("bgpid");
    let script = format!(
        "(while :; do cat /etc/hostname >/dev/null; done) & echo $! > {}",
        bgpid.display()
    );
    let start = Instant::now();
    let t = trace.run(&["sh", "-c", &script]);
    let took = start.elapsed();
    let loop_pid: i32 = std::fs::read_to_string(&bgpid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let still_alive = alive(loop_pid);
    // SAFETY: kill has no memory-safety preconditions; the test started this process.
    unsafe { libc::kill(loop_pid, libc::SIGKILL) };

    t.expect_code(0);
    assert!(
        still_alive,
        "the background loop should outlive the command"
    );
    assert!(took < Duration::from_secs(30), "permtrace took {took:?}");
    assert!(
        t.capture["stats"]["still_running"].as_u64().unwrap() >= 1,
        "{}",
        t.capture["stats"]
    );
    assert!(
        t.stderr.contains("still running when tracing stopped"),
        "{}",
        t.stderr
    );
    // The loop was traced while the command ran (it is in the tree).
    assert!(t.tree().contains(&(loop_pid as u64)));
    assert_eq!(t.dropped(), 0);
}
