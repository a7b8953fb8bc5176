//! Acceptance 6: signals sent to permtrace reach the command; a second Ctrl-C stops tracing
//! but keeps what was captured and leaves the command running.

mod common;

use std::{path::Path, time::Duration};

use common::{
    require_kernel,
    trace::{Trace, alive, wait_for_file},
};

/// `node -e HANDLER <dir> <signal> <exit code>`: on <signal>, writes <dir>/got-<n> (n-th
/// time) and exits with <exit code> unless it is "stay". Writes its pid to <dir>/ready once
/// the handler is installed.
const HANDLER: &str = r#"
const fs = require('fs');
const [dir, sig, code] = process.argv.slice(1);
let n = 0;
process.on(sig, () => {
  n += 1;
  fs.writeFileSync(`${dir}/got-${n}`, sig);
  if (code !== 'stay') process.exit(Number(code));
});
fs.writeFileSync(`${dir}/ready`, String(process.pid));
setInterval(() => {}, 1000);
"#;

fn send(pid: u32, sig: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0);
}

fn pid_in(file: &Path) -> i32 {
    std::fs::read_to_string(file)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn forwarded(signal: &str, signo: i32, code: i32) {
    require_kernel();
    let trace = Trace::new();
    let dir = trace.dir().to_str().unwrap().to_owned();
    let child = trace.spawn(&["node", "-e", HANDLER, &dir, signal, &code.to_string()]);
    let ready = trace.dir().join("ready");
    wait_for_file(&ready);
    send(child.id(), signo);
    let t = trace.finish(child);
    t.expect_code(code);
    assert_eq!(
        std::fs::read_to_string(t.dir.path().join("got-1")).unwrap(),
        signal
    );
    assert!(!t.dir.path().join("got-2").exists(), "delivered twice");
    assert_eq!(t.capture["window"]["ended_by"], "exit");
    t.assert_complete();
    // The handler's write is in the capture: tracing lasted until the command exited.
    let marker = format!("{dir}/got-1");
    assert!(t.file(&marker).is_some(), "the handler's write is missing");
}

#[test]
fn sigterm_to_permtrace_reaches_the_command() {
    forwarded("SIGTERM", libc::SIGTERM, 7);
}

#[test]
fn sigint_sent_by_a_process_reaches_the_command() {
    forwarded("SIGINT", libc::SIGINT, 5);
}

#[test]
fn sighup_to_permtrace_reaches_the_command() {
    forwarded("SIGHUP", libc::SIGHUP, 9);
}

/// The first SIGINT is forwarded (the command ignores it and runs on); the second stops
/// tracing: permtrace exits 130 with the capture written, the command keeps running.
#[test]
fn second_sigint_stops_tracing_and_keeps_the_capture() {
    require_kernel();
    let trace = Trace::new();
    let dir = trace.dir().to_str().unwrap().to_owned();
    let child = trace.spawn(&["node", "-e", HANDLER, &dir, "SIGINT", "stay"]);
    let ready = trace.dir().join("ready");
    wait_for_file(&ready);
    let node_pid = pid_in(&ready);
    send(child.id(), libc::SIGINT);
    wait_for_file(&trace.dir().join("got-1"));
    send(child.id(), libc::SIGINT);
    let t = trace.finish(child);

    t.expect_code(130);
    assert!(
        t.stderr.contains("stopped tracing") && t.stderr.contains("keeps running untraced"),
        "{}",
        t.stderr
    );
    assert_eq!(t.capture["window"]["ended_by"], "signal");
    assert_eq!(t.capture["stats"]["still_running"], 1);
    // What happened before the stop is there: the command's exec and its first write.
    assert!(t.file(&format!("{dir}/ready")).is_some());
    assert!(t.file(&format!("{dir}/got-1")).is_some());
    assert!(
        t.with("event", "exec")
            .any(|e| e["pid"].as_i64() == Some(node_pid.into()))
    );
    // The command runs on, and did not get the second SIGINT.
    std::thread::sleep(Duration::from_millis(200));
    let still_alive = alive(node_pid);
    let got_second = t.dir.path().join("got-2").exists();
    // SAFETY: kill has no memory-safety preconditions; the test started this process.
    unsafe { libc::kill(node_pid, libc::SIGKILL) };
    assert!(still_alive, "the command died with tracing");
    assert!(!got_second, "the second SIGINT was forwarded too");
}

/// Drives permtrace from a real terminal (a pty): types Ctrl-C once, checks the command got
/// it once (the terminal signals the whole foreground group; permtrace must not forward it a
/// second time), then types Ctrl-C again and checks permtrace stopped tracing with 130.
const PTY_DRIVER: &str = r#"
import os, pty, sys, time
permtrace, out, d, handler = sys.argv[1:5]
pid, fd = pty.fork()
if pid == 0:
    os.execv(permtrace, [permtrace, 'run', '-o', out, '--', 'node', '-e', handler, d, 'SIGINT', 'stay'])
os.set_blocking(fd, False)
def pump():
    try:
        while os.read(fd, 4096): pass
    except (BlockingIOError, OSError):
        pass
def wait(path):
    for _ in range(6000):
        if os.path.exists(path): return
        pump(); time.sleep(0.01)
    sys.exit('timeout waiting for ' + path)
wait(d + '/ready')
os.write(fd, b'\x03')
wait(d + '/got-1')
for _ in range(30):
    pump(); time.sleep(0.01)
twice = os.path.exists(d + '/got-2')
os.write(fd, b'\x03')
for _ in range(6000):
    done, status = os.waitpid(pid, os.WNOHANG)
    if done: break
    pump(); time.sleep(0.01)
else:
    sys.exit('permtrace did not stop')
print(os.waitstatus_to_exitcode(status), 'twice' if twice else 'once')
"#;

#[test]
fn ctrl_c_at_a_terminal_reaches_the_command_once_and_twice_stops_tracing() {
    require_kernel();
    let trace = Trace::new();
    let dir = trace.dir().to_str().unwrap().to_owned();
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", PTY_DRIVER])
        .arg(common::permtrace())
        .arg(trace.out_dir())
        .args([&dir, HANDLER])
        .env_remove("SUDO_UID")
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    let node_pid = pid_in(&trace.dir().join("ready"));
    // SAFETY: kill has no memory-safety preconditions; the test started this process.
    unsafe { libc::kill(node_pid, libc::SIGKILL) };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "130 once");
    let capture: serde_json::Value =
        serde_json::from_slice(&std::fs::read(trace.out_dir().join("capture.json")).unwrap())
            .unwrap();
    assert_eq!(capture["window"]["ended_by"], "signal");
}
