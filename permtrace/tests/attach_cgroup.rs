//! `permtrace attach --cgroup` against the real kernel: a process already in the cgroup and
//! one that enters it after permtrace started (a restarted service) are both followed; a
//! process outside is not.

mod common;

use std::{
    io::{BufRead as _, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use permtrace::{access::Access, attach::cgroup::cgroup2_mounts, capture::load_capture};

/// A fresh cgroup under the v2 hierarchy, removed (after its processes) on drop.
struct TestCgroup {
    dir: PathBuf,
    members: Vec<Child>,
}

impl TestCgroup {
    fn create() -> TestCgroup {
        let mount = cgroup2_mounts()
            .into_iter()
            .next()
            .expect("this machine mounts cgroup v2 (hybrid or pure)");
        let dir = mount.join(format!("permtrace-test-{}", std::process::id()));
        std::fs::create_dir(&dir).expect("creating a test cgroup");
        TestCgroup {
            dir,
            members: Vec::new(),
        }
    }

    /// Starts `sh -c script` in `cwd` inside the cgroup: the shell moves itself in first.
    fn spawn(&mut self, cwd: &Path, script: &str) -> u32 {
        let procs = self.dir.join("cgroup.procs");
        let script = format!("echo $$ > {}; {script}", procs.display());
        let child = Command::new("/bin/sh")
            .args(["-c", &script])
            .current_dir(cwd)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !std::fs::read_to_string(&procs)
            .unwrap()
            .lines()
            .any(|l| l.trim() == child.id().to_string())
        {
            assert!(
                Instant::now() < deadline,
                "the shell never entered the cgroup"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = child.id();
        self.members.push(child);
        pid
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // Everything in it, including children of the shells.
        for _ in 0..100 {
            let procs = std::fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
            for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            for c in &mut self.members {
                let _ = c.try_wait();
            }
            if std::fs::remove_dir(&self.dir).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        for c in &mut self.members {
            let _ = c.wait();
        }
    }
}

#[test]
fn follows_a_cgroup_including_processes_started_in_it_later() {
    common::require_kernel();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    for name in ["running.txt", "later.txt", "outside.txt"] {
        std::fs::write(dir.join(name), name).unwrap();
    }
    let mut cg = TestCgroup::create();
    cg.spawn(
        &dir,
        "while :; do cat running.txt > /dev/null; sleep 0.1; done",
    );

    let out = dir.join("out");
    let events = dir.join("events.jsonl");
    let mut attach = Command::new(common::permtrace())
        .args(["attach", "--cgroup"])
        .arg(&cg.dir)
        .arg("-o")
        .arg(&out)
        .arg("--events")
        .arg(&events)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(attach.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("following") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "permtrace ended early"
        );
    }

    // A service restarted into the cgroup: its exec, a relative read and its exit are
    // followed, though no followed process forked it.
    let later = cg.spawn(&dir, "sleep 0.3; exec cat later.txt > /dev/null");
    // Not in the cgroup: must not appear.
    let status = Command::new("cat")
        .arg("outside.txt")
        .current_dir(&dir)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while cg.members[1].try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the restarted process never finished"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(attach.id() as i32, libc::SIGTERM) };
    let status = attach.wait().unwrap();
    let mut said = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut said).unwrap();
    assert_eq!(status.code(), Some(0), "{said}");

    let cap = load_capture(&out.join("capture.json")).unwrap();
    let reads = |name: &str| {
        let path = dir.join(name).display().to_string();
        (cap.files.iter())
            .find(|f| f.path.to_string() == path)
            .and_then(|f| f.access.get(&Access::Read))
            .map_or(0, |s| s.ok)
    };
    assert!(reads("running.txt") >= 1, "{:#?}", cap.files);
    assert_eq!(reads("later.txt"), 1, "{:#?}", cap.files);
    assert_eq!(reads("outside.txt"), 0);
    assert_eq!(cap.target.cgroup.as_deref(), Some(cg.dir.to_str().unwrap()));
    assert_eq!(cap.window.ended_by, "signal");
    let events = common::read_events(&events);
    let of_later = |kind: &str| (events.iter()).any(|e| e["pid"] == later && e["event"] == kind);
    assert!(
        of_later("exec") && of_later("exit"),
        "exec and exit of pid {later}"
    );
    let running = &mut cg.members[0];
    assert!(
        running.try_wait().unwrap().is_none(),
        "the cgroup's processes run on"
    );
}
