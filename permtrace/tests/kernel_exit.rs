//! Acceptance 6: permtrace exits like the command it traced, and errors that stop it from
//! starting the command say so.

mod common;

use std::os::unix::fs::PermissionsExt as _;

use common::{
    require_kernel,
    trace::{Trace, argv, str_of},
};

#[test]
fn exit_status_is_the_commands() {
    require_kernel();
    let t = Trace::new().run(&["sh", "-c", "exit 3"]);
    t.expect_code(3);
    t.assert_complete();
    assert_eq!(t.capture["window"]["ended_by"], "exit");
    // The root's exit event carries the wait status (3 << 8).
    let root = t.root_pid();
    let exit = t
        .of_pid(root)
        .find(|e| str_of(e, "event") == Some("exit"))
        .expect("the root's exit event");
    assert_eq!(exit["status"], 3 << 8);
}

#[test]
fn killed_by_a_signal_is_128_plus_the_signal() {
    require_kernel();
    // SIGUSR1 (10): a signal permtrace has nothing to do with.
    let t = Trace::new().run(&[
        "/usr/bin/python3",
        "-c",
        "import os, signal; os.kill(os.getpid(), signal.SIGUSR1)",
    ]);
    t.expect_code(128 + 10);
    assert_eq!(t.capture["window"]["ended_by"], "exit");
}

#[test]
fn command_not_found_is_127_with_a_message_and_the_attempts_recorded() {
    require_kernel();
    // A long argument: a failed exec's arguments are copied up to 255 bytes each, and the
    // cut is flagged.
    let long = "x".repeat(300);
    let t = Trace::new().run(&["permtrace-no-such-command", "short", &long]);
    t.expect_code(127);
    assert!(
        t.stderr
            .contains("permtrace: permtrace-no-such-command: command not found"),
        "{}",
        t.stderr
    );
    // The PATH search is in the log: every attempt failed, and is marked as a search step.
    let attempts: Vec<_> = t.with("event", "exec_failed").collect();
    assert!(!attempts.is_empty());
    for a in &attempts {
        assert!(
            str_of(a, "path")
                .unwrap()
                .ends_with("/permtrace-no-such-command"),
            "{a}"
        );
        assert_eq!(str_of(a, "error"), Some("ENOENT"));
        assert_eq!(a["path_search"], true);
        assert_eq!(
            argv(a),
            ["permtrace-no-such-command", "short", &long[..255]]
        );
        assert_eq!(a["truncated"], true);
    }
    assert!(t.with("event", "exec").next().is_none());
    // A capture is still written: it says the command never ran.
    assert_eq!(t.capture["stats"]["processes"], 0);
}

#[test]
fn command_that_cannot_be_executed_is_126() {
    require_kernel();
    let trace = Trace::new();
    let script = trace.dir().join("not-executable");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let script = script.to_str().unwrap().to_owned();
    let t = trace.run(&[&script]);
    t.expect_code(126);
    assert!(
        t.stderr.contains("cannot execute") && t.stderr.contains("Permission denied"),
        "{}",
        t.stderr
    );
    let failed = t
        .with("event", "exec_failed")
        .next()
        .expect("the failed exec");
    assert_eq!(str_of(failed, "path"), Some(script.as_str()));
    assert_eq!(str_of(failed, "error"), Some("EACCES"));
    assert_eq!(failed["path_search"], false);
    // The capture's spawn record keeps the failure.
    let spawns = t.capture["spawns"].as_array().unwrap();
    assert!(spawns.is_empty(), "no parent program ran: {spawns:?}");
}

/// `permtrace run` as an ordinary user: a clear message, exit 1, and the command never
/// starts (it would have created a file nobody can create in that directory).
#[test]
fn not_root_fails_with_a_clear_message_before_starting_the_command() {
    require_kernel();
    let trace = Trace::new();
    let marker = trace.dir().join("marker");
    let touch = format!("touch {}", marker.display());
    // Control: nobody can create the marker there, so its absence below means something.
    let control = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["sh", "-c", &touch])
        .status()
        .unwrap();
    assert!(control.success() && marker.exists(), "control run failed");
    std::fs::remove_file(&marker).unwrap();

    let out_dir = trace.out_dir();
    let events = trace.events_path();
    let mut cmd = std::process::Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(common::permtrace())
        .arg("run")
        .arg("-o")
        .arg(&out_dir)
        .arg("--events")
        .arg(&events)
        .args(["--", "sh", "-c", &touch])
        .current_dir(trace.dir())
        .env_remove("SUDO_UID")
        .stdin(std::process::Stdio::null());
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("permtrace needs root (or the CAP_BPF and CAP_PERFMON capabilities)"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !marker.exists(),
        "the command ran although permtrace failed"
    );
    assert!(!out_dir.exists(), "an output directory was created");
    assert!(!events.exists(), "an event log was created");
}

#[test]
fn unknown_user_fails_before_starting_the_command() {
    require_kernel();
    let trace = Trace::new().opt("--user").opt("permtrace-no-such-user");
    let marker = trace.dir().join("marker");
    let touch = format!("touch {}", marker.display());
    let t = trace.run(&["sh", "-c", &touch]);
    t.expect_code(1);
    assert!(
        t.stderr.contains("no such user: permtrace-no-such-user"),
        "{}",
        t.stderr
    );
    assert!(!marker.exists());
}
