//! Running a program to completion with a deadline, keeping everything it printed: the
//! matrix must stay within CI's budget even if a draft makes an app hang, and a failure
//! must show what the app said.

use std::{
    ffi::{OsStr, OsString},
    io::Read as _,
    os::unix::process::CommandExt as _,
    path::Path,
    process::{Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

/// No app takes more than a few seconds; this only bounds a hang.
const DEADLINE: Duration = Duration::from_secs(120);

pub struct Outcome {
    /// The command line, shell-quoted, with its directory.
    pub command: String,
    /// `None` when it was killed at the deadline.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn exited_zero(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Whether Node denied anything, anywhere in the output (the app's own or its children's).
    pub fn saw_access_denied(&self) -> bool {
        let denied = |s: &str| s.contains("ERR_ACCESS_DENIED");
        denied(&self.stdout) || denied(&self.stderr)
    }

    pub fn printed_line(&self, line: &str) -> bool {
        self.stdout.lines().any(|l| l.starts_with(line))
    }

    /// Everything, for a failure message.
    pub fn describe(&self) -> String {
        let status = match self.status {
            Some(s) => s.to_string(),
            None => format!("killed after {}s", DEADLINE.as_secs()),
        };
        format!(
            "$ {}\n{status}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            clip(&self.stdout),
            clip(&self.stderr)
        )
    }
}

/// Not part of any app's environment: cargo points LD_LIBRARY_PATH at the Rust toolchain
/// (the dynamic loader of node and /bin/sh would search it), and a NODE_OPTIONS of the
/// developer's would change what Node does. Under `sudo -E cargo xtask test`, SUDO_UID would
/// make `permtrace run` start the app as the invoking user while every re-run here runs as
/// root: grants do not depend on the user, but file access and the private temp dir do, so
/// the whole matrix runs as the test's own user (root) instead.
const UNSET: &[&str] = &[
    "NODE_OPTIONS",
    "LD_LIBRARY_PATH",
    "SUDO_UID",
    "SUDO_GID",
    "SUDO_USER",
];

/// Runs `program args` in `cwd`, without [`UNSET`], with the given environment changes
/// (`None` removes).
pub fn run(
    program: &Path,
    args: &[OsString],
    cwd: &Path,
    env: &[(&str, Option<&OsStr>)],
) -> Outcome {
    let mut cmd = Command::new(program);
    // Its own process group, so a hang is ended with everything it started (a grandchild
    // holding the output pipes open would otherwise block the readers below).
    cmd.process_group(0)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for k in UNSET {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let command = format!(
        "(cd {} && {}{})",
        quote(cwd.as_os_str()),
        env.iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}={} ", quote(v))))
            .collect::<String>(),
        std::iter::once(program.as_os_str())
            .chain(args.iter().map(|a| a.as_os_str()))
            .map(quote)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting {command}: {e}"));
    let drain = |mut r: Box<dyn std::io::Read + Send>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting for a child") {
            break Some(s);
        }
        if started.elapsed() > DEADLINE {
            // SAFETY: kill has no memory-safety preconditions; the group is the one created
            // for this child above.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        command,
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@,+%".contains(&b))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Keeps failure messages readable when a program prints a lot.
pub fn clip(s: &str) -> String {
    const MAX: usize = 12_000;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut cut = MAX;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}\n… ({} more bytes)", &s[..cut], s.len() - cut)
}
