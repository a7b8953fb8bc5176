//! Per-process state the resolver keeps.

use std::collections::HashMap;

use permtrace_common::syscalls::{
    F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD, FD_CLOEXEC, FIOCLEX, FIONCLEX, O_CLOEXEC, nr,
};

use crate::{event::FdCall, pathbytes::PathBytes};

/// What a file descriptor refers to, as far as permtrace saw it being created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FdTarget {
    /// Opened by path (`None` when the path itself could not be resolved).
    Path {
        path: Option<PathBytes>,
        cloexec: bool,
    },
    /// A socket: not a directory to resolve against.
    Socket(SocketInfo),
}

/// What permtrace knows about a socket fd: how it was created and what it was bound to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SocketInfo {
    pub domain: u32,
    pub sock_type: u32,
    /// Raw address of a successful bind.
    pub bound: Option<Vec<u8>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcState {
    /// Current directory; `None` while unknown.
    pub cwd: Option<PathBytes>,
    pub fds: HashMap<i32, FdTarget>,
}

impl ProcState {
    pub fn with_cwd(cwd: PathBytes) -> Self {
        Self {
            cwd: Some(cwd),
            fds: HashMap::new(),
        }
    }

    pub fn fd_path(&self, fd: i32) -> Option<&PathBytes> {
        match self.fds.get(&fd)? {
            FdTarget::Path { path, .. } => path.as_ref(),
            FdTarget::Socket(_) => None,
        }
    }

    pub fn socket(&self, fd: i32) -> Option<&SocketInfo> {
        match self.fds.get(&fd)? {
            FdTarget::Socket(info) => Some(info),
            FdTarget::Path { .. } => None,
        }
    }

    /// close-on-exec descriptors are gone after a successful exec.
    pub fn on_exec(&mut self) {
        self.fds
            .retain(|_, t| !matches!(t, FdTarget::Path { cloexec: true, .. }));
    }

    pub fn on_fd_call(&mut self, call: &FdCall) {
        if call.ret < 0 && call.nr != nr::FCHDIR {
            return;
        }
        // (source fd, new fd, whether the new fd is close-on-exec)
        let (from, to, cloexec) = match (call.nr, call.b as u64) {
            (nr::FCHDIR, _) => {
                if call.ret == 0 {
                    self.cwd = self.fd_path(call.a as i32).cloned();
                }
                return;
            }
            (nr::FCNTL, F_SETFD) => {
                return self.set_cloexec(call.a, call.c as u64 & FD_CLOEXEC != 0);
            }
            (nr::IOCTL, FIOCLEX) => return self.set_cloexec(call.a, true),
            (nr::IOCTL, FIONCLEX) => return self.set_cloexec(call.a, false),
            (nr::IOCTL, _) => return,
            (nr::DUP, _) => (call.a, call.ret, false),
            (nr::FCNTL, F_DUPFD) => (call.a, call.ret, false),
            (nr::FCNTL, F_DUPFD_CLOEXEC) => (call.a, call.ret, true),
            (nr::FCNTL, _) => return,
            (nr::DUP2, _) => (call.a, call.b, false),
            (nr::DUP3, _) => (call.a, call.b, call.c as u64 & O_CLOEXEC != 0),
            _ => return,
        };
        let (from, to) = (from as i32, to as i32);
        match self.fds.get(&from).cloned() {
            Some(FdTarget::Path { path, .. }) => {
                self.fds.insert(to, FdTarget::Path { path, cloexec });
            }
            Some(t) => {
                self.fds.insert(to, t);
            }
            None => {
                self.fds.remove(&to);
            }
        }
    }

    fn set_cloexec(&mut self, fd: i64, on: bool) {
        if let Some(FdTarget::Path { cloexec, .. }) = self.fds.get_mut(&(fd as i32)) {
            *cloexec = on;
        }
    }
}
