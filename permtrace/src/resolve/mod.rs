//! Turns the paths the kernel saw into what Node would check: absolute, lexically resolved
//! against the process's current directory or the directory fd, without following symlinks.
//!
//! Pure: it only sees events. It keeps, per process, the current directory (seeded for the
//! root, changed by chdir/fchdir, inherited on fork) and a table of what each fd was opened
//! as (for `openat(dirfd, ...)` and `fchdir`).

mod procs;

pub use procs::{FdTarget, ProcState, SocketInfo};

use std::collections::HashMap;

use permtrace_common::syscalls::{AT_EMPTY_PATH, AT_FDCWD, nr};
use serde::{Deserialize, Serialize};

use crate::{
    event::{Body, Event, PathCall, RawPath},
    pathbytes::{PathBytes, resolve_lexically},
};

/// Why a path could not be made absolute. Such paths are kept, marked, never guessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unresolved {
    /// The kernel could not read the path from the process's memory.
    Fault,
    /// The path was longer than the copy buffer.
    Truncated,
    /// Relative to a current directory permtrace does not know (process seen mid-life).
    UnknownCwd,
    /// Relative to a directory fd permtrace did not see being opened.
    UnknownDirfd,
}

/// The resolution of one path argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    Absolute(PathBytes),
    Unresolved(Unresolved),
}

impl Resolution {
    pub fn path(&self) -> Option<&PathBytes> {
        match self {
            Resolution::Absolute(p) => Some(p),
            Resolution::Unresolved(_) => None,
        }
    }
}

/// What [`Resolver::apply`] made of an event's paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    pub path: Option<Resolution>,
    pub path2: Option<Resolution>,
}

#[derive(Default)]
pub struct Resolver {
    procs: HashMap<u32, ProcState>,
}

impl Resolver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a process permtrace knows from outside the event stream: the command it
    /// started (cwd known) or a process found in procfs when attaching.
    pub fn seed(&mut self, tgid: u32, state: ProcState) {
        self.procs.insert(tgid, state);
    }

    pub fn process(&self, tgid: u32) -> Option<&ProcState> {
        self.procs.get(&tgid)
    }

    /// Number of processes with state (for memory accounting in long captures).
    pub fn len(&self) -> usize {
        self.procs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    /// Resolves the event's paths, then updates the process state the event changes.
    pub fn apply(&mut self, ev: &Event) -> Resolved {
        match &ev.body {
            Body::Path(call) => {
                let resolved = self.resolve_call(ev.tgid, call);
                self.after_path_call(ev.tgid, call, &resolved);
                resolved
            }
            Body::Exec(exec) => {
                let state = self.procs.get(&ev.tgid);
                let path = Some(
                    through_fd_alias(state, &exec.filename)
                        .unwrap_or_else(|| resolve(state, exec.dirfd, &exec.filename, 0)),
                );
                if exec.ret == 0 {
                    if let Some(s) = self.procs.get_mut(&ev.tgid) {
                        s.on_exec();
                    }
                }
                Resolved { path, path2: None }
            }
            Body::Fd(call) => {
                if let Some(s) = self.procs.get_mut(&ev.tgid) {
                    s.on_fd_call(call);
                }
                Resolved::default()
            }
            Body::Sock(call) => {
                if let Some(s) = self.procs.get_mut(&ev.tgid) {
                    match call.nr {
                        nr::SOCKET if call.ret >= 0 => {
                            let info = SocketInfo {
                                domain: call.domain,
                                sock_type: call.sock_type,
                                bound: None,
                            };
                            s.fds.insert(call.ret as i32, FdTarget::Socket(info));
                        }
                        nr::BIND if call.ret == 0 => {
                            if let Some(FdTarget::Socket(info)) = s.fds.get_mut(&call.fd) {
                                info.bound = Some(call.addr.clone());
                            }
                        }
                        _ => {}
                    }
                }
                Resolved::default()
            }
            Body::Fork { child } => {
                let inherited = self.procs.get(&ev.tgid).cloned().unwrap_or_default();
                self.procs.insert(*child, inherited);
                Resolved::default()
            }
            Body::Exit { .. } => {
                self.procs.remove(&ev.tgid);
                Resolved::default()
            }
            Body::Dns(_) | Body::Lookup(_) | Body::Runtime(_) => Resolved::default(),
        }
    }

    fn resolve_call(&self, tgid: u32, call: &PathCall) -> Resolved {
        let state = self.procs.get(&tgid);
        let is_symlink = matches!(call.nr, nr::SYMLINK | nr::SYMLINKAT);
        // A symlink's first argument is the link's content, not a lookup: left as given.
        let path = if is_symlink {
            None
        } else {
            Some(resolve(
                state,
                call.dirfd,
                &call.path,
                call.flags & AT_EMPTY_PATH,
            ))
        };
        let path2 = call
            .path2
            .as_ref()
            .map(|p2| resolve(state, call.dirfd2, p2, 0));
        Resolved { path, path2 }
    }

    fn after_path_call(&mut self, tgid: u32, call: &PathCall, resolved: &Resolved) {
        let Some(state) = self.procs.get_mut(&tgid) else {
            return;
        };
        if call.ret < 0 {
            return;
        }
        let target = resolved.path.as_ref().and_then(Resolution::path).cloned();
        match call.nr {
            nr::CHDIR => state.cwd = target,
            nr::OPEN | nr::OPENAT | nr::OPENAT2 | nr::CREAT => {
                let cloexec = call.flags & libc::O_CLOEXEC as u64 != 0;
                let fd = FdTarget::Path {
                    path: target,
                    cloexec,
                };
                state.fds.insert(call.ret as i32, fd);
            }
            _ => {}
        }
    }
}

/// A successful `execveat(fd, "name")` or `fexecve(fd)` is reported by the kernel as an exec
/// of `/dev/fd/<fd>/name` or `/dev/fd/<fd>`: resolved through the fd table like any dirfd.
fn through_fd_alias(state: Option<&ProcState>, raw: &RawPath) -> Option<Resolution> {
    if !raw.is_complete() {
        return None;
    }
    let rest = raw.bytes.as_bytes().strip_prefix(b"/dev/fd/")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let fd: i32 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    let base = state?.fd_path(fd)?;
    match &rest[digits..] {
        [] => Some(Resolution::Absolute(base.clone())),
        [b'/', name @ ..] => Some(Resolution::Absolute(resolve_lexically(base, name))),
        _ => None,
    }
}

fn resolve(state: Option<&ProcState>, dirfd: i32, raw: &RawPath, empty_path: u64) -> Resolution {
    if raw.fault {
        return Resolution::Unresolved(Unresolved::Fault);
    }
    if raw.truncated {
        return Resolution::Unresolved(Unresolved::Truncated);
    }
    let bytes = raw.bytes.as_bytes();
    if bytes.first() == Some(&b'/') {
        return Resolution::Absolute(resolve_lexically(&PathBytes::from("/"), bytes));
    }
    let base = if dirfd == AT_FDCWD {
        match state.and_then(|s| s.cwd.as_ref()) {
            Some(cwd) => cwd,
            None => return Resolution::Unresolved(Unresolved::UnknownCwd),
        }
    } else {
        match state.and_then(|s| s.fd_path(dirfd)) {
            Some(dir) => dir,
            None => return Resolution::Unresolved(Unresolved::UnknownDirfd),
        }
    };
    if bytes.is_empty() && empty_path == 0 && dirfd == AT_FDCWD {
        // open("") is ENOENT; keep it as the cwd it would have named.
        return Resolution::Absolute(base.clone());
    }
    Resolution::Absolute(resolve_lexically(base, bytes))
}

#[cfg(test)]
mod tests;
