//! Running other programs: every command is echoed before it runs, and a failure names the
//! command and its exit status.

use std::{
    ffi::{OsStr, OsString},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context as _, Result, bail};

/// The environment children run in: this process's, with the directories bootstrap installed
/// tools into put first on PATH (so a bpf-linker installed off PATH is still found by the
/// nested eBPF build).
#[derive(Clone, Debug)]
pub struct Env {
    path: OsString,
    /// LD_LIBRARY_PATH without what `cargo run` added to it; `None`: unset.
    library_path: Option<OsString>,
}

impl Env {
    pub fn current() -> Self {
        Self {
            path: std::env::var_os("PATH").unwrap_or_default(),
            library_path: user_library_path(),
        }
    }

    /// This environment with `dir` first on PATH.
    pub fn with_path_first(&self, dir: &Path) -> Result<Self> {
        let dirs = std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&self.path));
        let path = std::env::join_paths(dirs).context("joining PATH")?;
        Ok(Self {
            path,
            library_path: self.library_path.clone(),
        })
    }

    /// A command for `program`, looked up on this environment's PATH.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let program = program.as_ref();
        let resolved = self
            .which(program)
            .unwrap_or_else(|| PathBuf::from(program));
        let mut cmd = Command::new(resolved);
        cmd.env("PATH", &self.path);
        match &self.library_path {
            Some(p) => cmd.env("LD_LIBRARY_PATH", p),
            None => cmd.env_remove("LD_LIBRARY_PATH"),
        };
        cmd
    }

    /// The cargo that runs xtask (so builds use the same toolchain), or `cargo` from PATH.
    pub fn cargo(&self) -> Command {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        self.command(cargo)
    }

    /// The first executable file called `program` on PATH (or `program` itself when it is a
    /// path).
    pub fn which(&self, program: impl AsRef<OsStr>) -> Option<PathBuf> {
        let program = Path::new(program.as_ref());
        if program.components().count() > 1 {
            return is_executable(program).then(|| program.to_path_buf());
        }
        std::env::split_paths(&self.path)
            .map(|dir| dir.join(program))
            .find(|p| is_executable(p))
    }
}

/// `cargo run` puts the Rust toolchain's and the target directory's library directories on
/// LD_LIBRARY_PATH for xtask. The programs xtask starts must not inherit them: the dynamic
/// loader of a traced app would search them, and they would show up in its capture.
fn user_library_path() -> Option<OsString> {
    let current = std::env::var_os("LD_LIBRARY_PATH")?;
    // $CARGO is <toolchain>/bin/cargo.
    let toolchain = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .and_then(|c| Some(c.parent()?.parent()?.to_path_buf()));
    let target = crate::workspace::target_dir();
    let kept: Vec<PathBuf> = std::env::split_paths(&current)
        .filter(|dir| {
            !dir.as_os_str().is_empty()
                && !dir.starts_with(&target)
                && !toolchain.as_deref().is_some_and(|t| dir.starts_with(t))
        })
        .collect();
    if kept.is_empty() {
        return None;
    }
    std::env::join_paths(kept).ok()
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// How a command looks on a shell line.
pub fn display(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| {
            let a = a.to_string_lossy();
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
                format!("'{}'", a.replace('\'', r"'\''"))
            } else {
                a.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` with inherited stdio; fails unless it exits 0.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = display(cmd);
    println!("$ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` quietly and returns its trimmed stdout; fails (with its stderr) unless it exits 0.
pub fn output(cmd: &mut Command) -> Result<String> {
    let shown = display(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !out.status.success() {
        bail!(
            "`{shown}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `m:ss` for a task's duration.
pub fn minutes(d: std::time::Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}", s / 60, s % 60)
}
