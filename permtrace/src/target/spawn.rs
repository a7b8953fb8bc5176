//! Fork, set up, pause, track, release, exec: the child's first syscall after the release
//! is already traced, so the dynamic loader's opens are in the capture, and nothing of the
//! set-up (switching user, --cwd) is, because the child is only tracked once it is done.
//!
//! `std::process::Command` cannot do this: `spawn()` only returns after the exec, and a
//! `pre_exec` hook that waited for the parent would deadlock on Command's own exec-error pipe.

use std::{
    ffi::{CString, OsString},
    io,
    os::{
        fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
        unix::ffi::OsStrExt as _,
    },
    path::PathBuf,
};

use anyhow::{Context as _, Result, anyhow};

use super::user::TargetUser;

/// What to start.
#[derive(Clone, Debug)]
pub struct SpawnSpec {
    pub argv: Vec<OsString>,
    pub cwd: Option<PathBuf>,
    pub user: Option<TargetUser>,
}

/// A forked child blocked before its exec, waiting for [`PausedChild::release`].
pub struct PausedChild {
    pub pid: u32,
    /// The child finished its set-up and waits for the release. When false it failed and
    /// exited (the reason comes out of `release`): it must not be tracked, its pid is free.
    pub ready: bool,
    release: OwnedFd,
    exec_error: OwnedFd,
}

/// How the exec went.
#[derive(Debug, PartialEq, Eq)]
pub enum ExecOutcome {
    Started,
    /// The command was not found (exit 127, as shells do).
    NotFound,
    /// Found but not executable (exit 126).
    NotExecutable(i32),
    /// Switching user or directory failed before the exec.
    SetupFailed {
        step: &'static str,
        errno: i32,
    },
}

// Steps the child reports through the error pipe.
const STEP_EXEC: u32 = 0;
const STEP_GROUPS: u32 = 1;
const STEP_GID: u32 = 2;
const STEP_UID: u32 = 3;
const STEP_CHDIR: u32 = 4;

impl SpawnSpec {
    /// Forks a child that waits before exec. Must be called while the process is still
    /// single-threaded (before any runtime starts): the child only runs async-signal-safe
    /// code, and everything it needs is allocated here, before the fork.
    pub fn fork_paused(&self) -> Result<PausedChild> {
        let prog = self
            .argv
            .first()
            .ok_or_else(|| anyhow!("no command given"))?;
        let argv = self
            .argv
            .iter()
            .map(|a| CString::new(a.as_bytes()))
            .collect::<Result<Vec<_>, _>>()
            .context("an argument contains a NUL byte")?;
        let prog = CString::new(prog.as_bytes()).context("the command contains a NUL byte")?;
        let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());
        let env = child_env(self.user.as_ref());
        let mut env_ptrs: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
        env_ptrs.push(std::ptr::null());
        let cwd = match &self.cwd {
            Some(d) => Some(CString::new(d.as_os_str().as_bytes()).context("bad --cwd")?),
            None => None,
        };

        let groups: Vec<libc::gid_t> = self
            .user
            .as_ref()
            .map(|u| u.groups.clone())
            .unwrap_or_default();
        let (release_r, release_w) = pipe()?;
        let (ready_r, ready_w) = pipe()?;
        let (error_r, error_w) = pipe()?;
        // SAFETY: the process is single-threaded here (documented precondition), so the child
        // may run the code below; it only calls async-signal-safe functions.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(io::Error::last_os_error()).context("fork");
        }
        if pid == 0 {
            // Child. Never returns.
            let err = error_w.as_raw_fd();
            child_main(
                release_r.as_raw_fd(),
                ready_w.as_raw_fd(),
                err,
                self.user.as_ref(),
                &groups,
                cwd.as_ref(),
                &prog,
                &argv_ptrs,
                &env_ptrs,
            );
        }
        drop(release_r);
        drop(ready_w);
        drop(error_w);
        // One byte when the set-up is done; end of file when it failed and the child exited.
        let mut byte = [0u8; 1];
        let ready = read_full(&ready_r, &mut byte).context("waiting for the child")? == 1;
        Ok(PausedChild {
            pid: pid as u32,
            ready,
            release: release_w,
            exec_error: error_r,
        })
    }
}

impl PausedChild {
    /// Lets the child exec, and reports whether the exec worked.
    pub fn release(self) -> Result<ExecOutcome> {
        if self.ready {
            write_all(&self.release, &[1]).context("releasing the child")?;
        }
        drop(self.release);
        let mut report = [0u8; 8];
        let n = read_full(&self.exec_error, &mut report).context("reading the exec result")?;
        if n == 0 {
            return Ok(ExecOutcome::Started);
        }
        let step = u32::from_ne_bytes(report[..4].try_into().unwrap_or_default());
        let errno = i32::from_ne_bytes(report[4..].try_into().unwrap_or_default());
        Ok(match step {
            STEP_EXEC if errno == libc::ENOENT || errno == libc::ENOTDIR => ExecOutcome::NotFound,
            STEP_EXEC => ExecOutcome::NotExecutable(errno),
            STEP_GROUPS => ExecOutcome::SetupFailed {
                step: "setgroups",
                errno,
            },
            STEP_GID => ExecOutcome::SetupFailed {
                step: "setgid",
                errno,
            },
            STEP_UID => ExecOutcome::SetupFailed {
                step: "setuid",
                errno,
            },
            _ => ExecOutcome::SetupFailed {
                step: "chdir",
                errno,
            },
        })
    }
}

/// The environment of the child: ours, with HOME/USER/LOGNAME of the target user when we
/// switch to one (sudo leaves root's HOME behind on many systems).
fn child_env(user: Option<&TargetUser>) -> Vec<CString> {
    let mut vars: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    if let Some(u) = user {
        let name = OsString::from(std::ffi::OsStr::from_bytes(u.name.as_bytes()));
        let mut set = |k: &str, v: OsString| {
            vars.retain(|(key, _)| key != k);
            vars.push((k.into(), v));
        };
        if let Some(home) = &u.home {
            set("HOME", std::ffi::OsStr::from_bytes(home.as_bytes()).into());
        }
        set("USER", name.clone());
        set("LOGNAME", name);
    }
    vars.into_iter()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn child_main(
    release: i32,
    ready: i32,
    err: i32,
    user: Option<&TargetUser>,
    groups: &[libc::gid_t],
    cwd: Option<&CString>,
    prog: &CString,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
) -> ! {
    let fail = |step: u32| -> ! {
        // SAFETY: async-signal-safe calls on fds this process owns; the process exits here.
        unsafe {
            let errno = *libc::__errno_location();
            let mut msg = [0u8; 8];
            msg[..4].copy_from_slice(&step.to_ne_bytes());
            msg[4..].copy_from_slice(&errno.to_ne_bytes());
            libc::write(err, msg.as_ptr().cast(), msg.len());
            libc::_exit(if step == STEP_EXEC && errno == libc::ENOENT {
                127
            } else {
                126
            });
        }
    };
    // SAFETY: only async-signal-safe libc calls follow, on memory allocated before the fork.
    unsafe {
        // Undo what the Rust runtime and the tracer changed: the program expects a default
        // signal disposition and mask.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());

        // Identity and directory are set before the parent starts tracking this process
        // (it waits for `ready`), so they are not mistaken for the program's own accesses.
        // Only plain syscalls here: the groups were looked up before the fork.
        if let Some(u) = user {
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0 {
                fail(STEP_GROUPS);
            }
            if libc::setgid(u.gid) != 0 {
                fail(STEP_GID);
            }
            if libc::setuid(u.uid) != 0 {
                fail(STEP_UID);
            }
        }
        if let Some(dir) = cwd {
            if libc::chdir(dir.as_ptr()) != 0 {
                fail(STEP_CHDIR);
            }
        }
        let mut byte = 1u8;
        libc::write(ready, (&raw const byte).cast(), 1);
        libc::close(ready);
        if libc::read(release, (&raw mut byte).cast(), 1) != 1 {
            // The tracer went away before releasing us: do not run untraced.
            libc::_exit(125);
        }
        libc::execvpe(prog.as_ptr(), argv.as_ptr(), envp.as_ptr());
        fail(STEP_EXEC)
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid 2-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error()).context("pipe2");
    }
    // SAFETY: pipe2 returned two fresh fds that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn write_all(fd: &OwnedFd, buf: &[u8]) -> io::Result<()> {
    // SAFETY: buf is valid for buf.len() bytes.
    let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
    if n == buf.len() as isize {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: the destination range is inside buf.
        let n = unsafe {
            libc::read(
                fd.as_raw_fd(),
                buf[got..].as_mut_ptr().cast(),
                buf.len() - got,
            )
        };
        match n {
            0 => break,
            n if n > 0 => got += n as usize,
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    Ok(got)
}

/// The child's wait status if it has ended (`waitpid(WNOHANG)`).
pub fn wait_nohang(pid: u32) -> Result<Option<i32>> {
    let mut status = 0;
    // SAFETY: status is a valid out pointer.
    let rc = unsafe { libc::waitpid(pid as i32, &mut status, libc::WNOHANG) };
    match rc {
        0 => Ok(None),
        r if r > 0 => Ok(Some(status)),
        _ => Err(io::Error::last_os_error()).context("waitpid"),
    }
}

/// A wait status as a shell would report it: the exit code, or 128 + the signal.
pub fn exit_code_of(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        1
    }
}
