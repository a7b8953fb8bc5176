//! permtrace runs as root; the command it traces must not. Under sudo it runs as the user
//! who ran sudo (SUDO_UID/SUDO_GID), or as `--user NAME`, and the capture says who.

mod common;

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

use common::{
    require_kernel,
    trace::{Trace, Traced, str_of},
};

const NOBODY: u32 = 65534;

/// Records who the command ran as, from inside it.
const WHOAMI: &str = "id -u > uid; id -g > gid; id -G > groups; echo \"$HOME\" > home; touch made";

fn nobody_home() -> String {
    let out = std::process::Command::new("getent")
        .args(["passwd", "nobody"])
        .output()
        .unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    line.trim().split(':').nth(5).unwrap().to_owned()
}

fn assert_ran_as_nobody(t: &Traced) {
    t.expect_code(0);
    t.assert_complete();
    let read = |name: &str| {
        std::fs::read_to_string(t.dir.path().join(name))
            .unwrap()
            .trim()
            .to_owned()
    };
    assert_eq!(read("uid"), NOBODY.to_string());
    assert_eq!(read("gid"), NOBODY.to_string());
    // No supplementary group of root's survives the switch.
    assert!(
        read("groups").split(' ').all(|g| g != "0"),
        "groups: {}",
        read("groups")
    );
    assert_eq!(read("home"), nobody_home());
    let made = std::fs::metadata(t.dir.path().join("made")).unwrap();
    assert_eq!((made.uid(), made.gid()), (NOBODY, NOBODY));

    let user = &t.capture["target"]["user"];
    assert_eq!(user["uid"], NOBODY);
    assert_eq!(user["gid"], NOBODY);
    assert_eq!(user["name"], "nobody");
    // The outputs belong to that user too, so they can read and delete them without root.
    let capture = std::fs::metadata(t.dir.path().join("out/capture.json")).unwrap();
    assert_eq!(capture.uid(), NOBODY);
    let log = std::fs::metadata(t.dir.path().join("events.jsonl")).unwrap();
    assert_eq!(log.uid(), NOBODY);
    // And the command's own accesses were traced as usual.
    let made_path = t.dir.path().join("made");
    assert!(t.file(made_path.to_str().unwrap()).is_some());
}

#[test]
fn under_sudo_the_command_runs_as_the_invoking_user() {
    require_kernel();
    let t = Trace::new()
        .env("SUDO_UID", NOBODY.to_string())
        .env("SUDO_GID", NOBODY.to_string())
        .env("SUDO_USER", "nobody")
        .run(&["sh", "-c", WHOAMI]);
    assert_ran_as_nobody(&t);
}

#[test]
fn user_option_runs_the_command_as_that_user() {
    require_kernel();
    let t = Trace::new()
        .opt("--user")
        .opt("nobody")
        .run(&["sh", "-c", WHOAMI]);
    assert_ran_as_nobody(&t);
}

#[test]
fn without_sudo_or_user_the_command_runs_as_root_and_the_capture_says_nothing() {
    require_kernel();
    let t = Trace::new().run(&["sh", "-c", "id -u > uid"]);
    t.expect_code(0);
    assert_eq!(
        std::fs::read_to_string(t.dir.path().join("uid"))
            .unwrap()
            .trim(),
        "0"
    );
    assert!(t.capture["target"]["user"].is_null());
}

/// The command must not inherit anything of permtrace's: its eBPF maps and programs (with
/// them it could untrack itself or read the event stream), its signalfd and epoll, the
/// output directory or the event log. Only the standard streams it was given.
#[test]
fn the_command_inherits_no_descriptor_of_permtraces() {
    require_kernel();
    let t = Trace::new().opt("--user").opt("nobody").run(&[
        "/usr/bin/python3",
        "-c",
        "import os\n\
         for fd in sorted(os.listdir('/proc/self/fd'), key=int):\n\
         \x20   try: print(fd, os.readlink(f'/proc/self/fd/{fd}'))\n\
         \x20   except OSError: pass\n",
    ]);
    t.expect_code(0);
    let dir = t.dir.path().to_str().unwrap().to_owned();
    let fds: Vec<(&str, &str)> = t
        .stdout
        .lines()
        .map(|l| l.split_once(' ').unwrap())
        .collect();
    assert!(fds.len() >= 3, "{fds:?}");
    for (fd, target) in &fds {
        assert!(!target.starts_with("anon_inode:"), "fd {fd} -> {target}");
        if target.starts_with(&dir) {
            assert!(
                target.ends_with("/permtrace.stdout") || target.ends_with("/permtrace.stderr"),
                "fd {fd} -> {target}"
            );
        }
    }
    let stdout = fds.iter().find(|(fd, _)| *fd == "1").unwrap().1;
    assert!(stdout.ends_with("/permtrace.stdout"), "{stdout}");
}

/// Switching user (NSS lookups of the user's groups: /etc/group, nscd or systemd sockets)
/// and changing to --cwd happen before permtrace follows the child: none of it may appear
/// as the program's accesses. The child's first traced syscall is its exec.
#[test]
fn switching_user_and_directory_is_not_traced_as_the_programs_doing() {
    require_kernel();
    for _ in 0..3 {
        let trace = Trace::new();
        let cwd = trace.dir().join("work");
        std::fs::create_dir(&cwd).unwrap();
        std::fs::set_permissions(&cwd, std::fs::Permissions::from_mode(0o777)).unwrap();
        let cwd = cwd.to_str().unwrap().to_owned();
        let t = trace
            .opt("--user")
            .opt("nobody")
            .opt("--cwd")
            .opt(&cwd)
            .run(&["/bin/sh", "-c", "pwd > pwd"]);
        t.expect_code(0);
        t.assert_complete();
        let first = &t.events[0];
        assert_eq!(str_of(first, "event"), Some("exec"), "first event: {first}");
        assert!(t.file("/etc/group").is_none(), "initgroups was traced");
        assert!(t.file("/etc/nsswitch.conf").is_none(), "NSS was traced");
        assert!(
            t.with("syscall", "chdir").next().is_none(),
            "--cwd was traced"
        );
        assert_eq!(
            std::fs::read_to_string(t.dir.path().join("work/pwd"))
                .unwrap()
                .trim(),
            cwd
        );
        assert_eq!(t.capture["target"]["cwd"], cwd.as_str());
    }
}

/// A set-up step that fails in the child (here: the user cannot enter --cwd) ends the run
/// with 126 and says which step; the command never ran, nothing was traced.
#[test]
fn failed_set_up_is_126_with_the_step_and_nothing_traced() {
    require_kernel();
    let trace = Trace::new();
    let closed = trace.dir().join("closed");
    std::fs::create_dir(&closed).unwrap();
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
    let marker = trace.dir().join("marker");
    let touch = format!("touch {}", marker.display());
    let t = trace
        .opt("--user")
        .opt("nobody")
        .opt("--cwd")
        .opt(&closed)
        .run(&["sh", "-c", &touch]);
    t.expect_code(126);
    assert!(
        t.stderr.contains("could not prepare the command (chdir)")
            && t.stderr.contains("Permission denied"),
        "{}",
        t.stderr
    );
    assert!(!marker.exists());
    assert!(t.events.is_empty(), "{:?}", t.events);
    assert_eq!(t.capture["stats"]["events"], 0);
}
