//! Running `permtrace run` for real and reading what it wrote: the event log, capture.json,
//! the exit code and stderr, plus the questions the tests ask of them (which pids form the
//! traced tree, which events a pid made).

use std::{
    collections::{HashMap, HashSet},
    ffi::OsString,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

use super::{permtrace, read_events};

/// No test command should take this long; past it the run is killed and the test fails
/// instead of hanging CI.
const TIMEOUT: Duration = Duration::from_secs(180);

/// A `permtrace run` to make, in a fresh temporary directory that holds its outputs.
pub struct Trace {
    dir: tempfile::TempDir,
    opts: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    events: bool,
}

/// What a finished run left behind.
pub struct Traced {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The `--events` log, one value per line (empty when the run was made without it).
    pub events: Vec<Value>,
    /// `out/capture.json`.
    pub capture: Value,
    pub dir: tempfile::TempDir,
}

impl Trace {
    pub fn new() -> Trace {
        let dir = tempfile::tempdir().expect("tempdir");
        // World-accessible, so tests that run the command as another user can use it.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        Trace {
            dir,
            opts: Vec::new(),
            env: Vec::new(),
            events: true,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// An option for `permtrace run` (before the `--`).
    pub fn opt(mut self, opt: impl Into<OsString>) -> Trace {
        self.opts.push(opt.into());
        self
    }

    pub fn env(mut self, key: &str, value: impl Into<OsString>) -> Trace {
        self.env.push((key.into(), Some(value.into())));
        self
    }

    /// Without `--events` (a run that only needs capture.json is cheaper to consume).
    pub fn no_event_log(mut self) -> Trace {
        self.events = false;
        self
    }

    pub fn events_path(&self) -> PathBuf {
        self.dir().join("events.jsonl")
    }

    pub fn out_dir(&self) -> PathBuf {
        self.dir().join("out")
    }

    /// The `permtrace run ... -- cmd` command line, not started.
    pub fn command(&self, cmd: &[&str]) -> Command {
        let mut c = Command::new(permtrace());
        c.arg("run").arg("-o").arg(self.out_dir());
        if self.events {
            c.arg("--events").arg(self.events_path());
        }
        c.args(&self.opts).arg("--").args(cmd);
        c.current_dir(self.dir());
        // Tests run as root, maybe under sudo; the traced command runs as root unless a
        // test asks for a user explicitly.
        c.env_remove("SUDO_UID").env_remove("SUDO_GID");
        // cargo points LD_LIBRARY_PATH at its target directories for test binaries; a traced
        // program's loader would then probe them all before the system's libraries.
        c.env_remove("LD_LIBRARY_PATH");
        for (k, v) in &self.env {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        // Files, not pipes: a traced command that outlives permtrace (a test of exactly
        // that) would otherwise hold the pipes open and keep the test waiting for EOF.
        let file = |name: &str| std::fs::File::create(self.dir().join(name)).unwrap();
        c.stdin(Stdio::null())
            .stdout(file("permtrace.stdout"))
            .stderr(file("permtrace.stderr"));
        c
    }

    /// Starts `permtrace run ... -- cmd` and returns the running permtrace.
    pub fn spawn(&self, cmd: &[&str]) -> Child {
        self.command(cmd).spawn().expect("starting permtrace")
    }

    /// Runs `permtrace run ... -- cmd` to the end.
    pub fn run(self, cmd: &[&str]) -> Traced {
        let child = self.spawn(cmd);
        self.finish(child)
    }

    /// Waits for a permtrace started with [`Trace::spawn`] and reads its outputs.
    pub fn finish(self, child: Child) -> Traced {
        let read = |name: &str| {
            String::from_utf8_lossy(&std::fs::read(self.dir().join(name)).unwrap_or_default())
                .into_owned()
        };
        let status = wait_with_timeout(child, || read("permtrace.stderr"));
        let stderr = read("permtrace.stderr");
        let code = status
            .code()
            .unwrap_or_else(|| panic!("permtrace was killed: {status:?}\nstderr:\n{stderr}"));
        let capture_path = self.out_dir().join("capture.json");
        let capture = match std::fs::read(&capture_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).expect("capture.json is JSON"),
            Err(_) => Value::Null,
        };
        let events = if self.events && self.events_path().exists() {
            read_events(&self.events_path())
        } else {
            Vec::new()
        };
        Traced {
            code,
            stdout: read("permtrace.stdout"),
            stderr,
            events,
            capture,
            dir: self.dir,
        }
    }
}

fn wait_with_timeout(mut child: Child, stderr: impl Fn() -> String) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("waiting for permtrace") {
            return status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "permtrace did not finish within {TIMEOUT:?}\nstderr:\n{}",
                stderr()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Traced {
    /// Fails with permtrace's stderr unless it exited with `code`.
    pub fn expect_code(&self, code: i32) -> &Traced {
        assert_eq!(
            self.code, code,
            "permtrace exit code; stderr:\n{}",
            self.stderr
        );
        self
    }

    /// The pid of the command permtrace started: its first syscall (its execve) is the
    /// first event of the log, since nothing else is traced before it is released.
    pub fn root_pid(&self) -> u64 {
        let first = self.events.first().expect("the event log is empty");
        assert!(
            matches!(str_of(first, "event"), Some("exec" | "exec_failed")),
            "the first event is not the command's exec: {first}"
        );
        first["pid"].as_u64().unwrap()
    }

    /// child pid -> parent pid, from the fork events.
    pub fn parents(&self) -> HashMap<u64, u64> {
        self.with("event", "fork")
            .map(|e| (e["child"].as_u64().unwrap(), e["pid"].as_u64().unwrap()))
            .collect()
    }

    /// The traced tree: the root and every process forked, transitively, from it.
    pub fn tree(&self) -> HashSet<u64> {
        let mut tree = HashSet::from([self.root_pid()]);
        let parents = self.parents();
        loop {
            let before = tree.len();
            for (child, parent) in &parents {
                if tree.contains(parent) {
                    tree.insert(*child);
                }
            }
            if tree.len() == before {
                return tree;
            }
        }
    }

    /// `pid`, its parent, its grandparent... as far as fork events go.
    pub fn ancestry(&self, pid: u64) -> Vec<u64> {
        let parents = self.parents();
        let mut chain = vec![pid];
        while let Some(p) = parents.get(chain.last().unwrap()) {
            assert!(!chain.contains(p), "fork events form a cycle: {chain:?}");
            chain.push(*p);
        }
        chain
    }

    /// Events whose `key` is the string `value`.
    pub fn with<'a>(&'a self, key: &'a str, value: &'a str) -> impl Iterator<Item = &'a Value> {
        self.events
            .iter()
            .filter(move |e| str_of(e, key) == Some(value))
    }

    /// Events of process `pid`, in log order.
    pub fn of_pid(&self, pid: u64) -> impl Iterator<Item = &Value> {
        self.events
            .iter()
            .filter(move |e| e["pid"].as_u64() == Some(pid))
    }

    /// The capture's record of `path` (an absolute path, as the capture keys it).
    pub fn file(&self, path: &str) -> Option<&Value> {
        self.capture["files"]
            .as_array()
            .expect("capture.files")
            .iter()
            .find(|f| f["path"].as_str() == Some(path) && f.get("unresolved").is_none())
    }

    pub fn kernel_stat(&self, name: &str) -> u64 {
        self.capture["stats"]["kernel"][name]
            .as_u64()
            .unwrap_or_else(|| panic!("capture has no stats.kernel.{name}"))
    }

    /// Events the kernel could not deliver, by its own counters.
    pub fn dropped(&self) -> u64 {
        self.kernel_stat("ring_full")
            + self.kernel_stat("inflight_full")
            + self.kernel_stat("tracked_full")
    }

    /// Every event the kernel sent reached the collector and the log, and none was lost in
    /// the kernel: the invariant of any run whose whole tree exited before permtrace did.
    pub fn assert_complete(&self) {
        let received = self.capture["stats"]["events"].as_u64().unwrap();
        assert_eq!(self.dropped(), 0, "kernel drops: {}", self.capture["stats"]);
        assert_eq!(self.capture["stats"]["decode_errors"], 0);
        assert_eq!(
            self.kernel_stat("emitted"),
            received,
            "events sent by the kernel vs received"
        );
        if !self.events.is_empty() {
            assert_eq!(self.events.len() as u64, received, "event log lines");
        }
    }
}

pub fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The strings of an event's argv.
pub fn argv(v: &Value) -> Vec<&str> {
    v["argv"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Compiles a small C program with the system's gcc (for syscalls no scripting language
/// here makes: openat2, vfork, pthread_exit from main).
pub fn compile_c(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    let bin = dir.join(name);
    std::fs::write(&src, source).unwrap();
    let out = Command::new("gcc")
        .args(["-O0", "-pthread", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("running gcc");
    assert!(
        out.status.success(),
        "gcc {name}.c failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

/// Waits until `path` exists (a traced program's "I am ready" marker).
pub fn wait_for_file(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a process with this pid exists (and is not a zombie we could reap).
pub fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    unsafe { libc::kill(pid, 0) == 0 }
}
