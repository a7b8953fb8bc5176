//! What a file syscall did to its path(s), in the terms Node's permission model uses.

use permtrace_common::syscalls::nr;
use serde::{Deserialize, Serialize};

use crate::event::PathCall;

/// One kind of access to a path. The capture counts accesses per kind; the policy maps kinds
/// to Node's fs.read / fs.write scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// open for reading.
    Read,
    /// open for writing (O_WRONLY, with or without O_CREAT/O_TRUNC/O_APPEND).
    Write,
    /// open O_RDWR.
    ReadWrite,
    /// open with O_DIRECTORY (opendir, readdir, scandir).
    List,
    /// stat, lstat, newfstatat, statx, statfs.
    Stat,
    /// access, faccessat, faccessat2.
    Access,
    Readlink,
    Chdir,
    /// inotify_add_watch (fs.watch).
    Watch,
    Mkdir,
    Rmdir,
    Unlink,
    RenameFrom,
    RenameTo,
    LinkFrom,
    LinkTo,
    /// The path of a new symlink (its content is not a path lookup).
    Symlink,
    Chmod,
    Chown,
    Utimes,
    Truncate,
    /// exec of this file (successful or not).
    Exec,
}

impl Access {
    /// Whether Node checks fs.read for this access.
    pub fn needs_read(self) -> bool {
        matches!(
            self,
            Self::Read
                | Self::ReadWrite
                | Self::List
                | Self::Stat
                | Self::Access
                | Self::Readlink
                | Self::Chdir
                | Self::Watch
                | Self::RenameFrom
                | Self::LinkFrom
        )
    }

    /// Whether Node checks fs.write for this access.
    pub fn needs_write(self) -> bool {
        matches!(
            self,
            Self::Write
                | Self::ReadWrite
                | Self::Mkdir
                | Self::Rmdir
                | Self::Unlink
                | Self::RenameFrom
                | Self::RenameTo
                | Self::LinkFrom
                | Self::LinkTo
                | Self::Chmod
                | Self::Chown
                | Self::Utimes
                | Self::Truncate
        )
    }

    /// Metadata only: stat-like calls the module loader also makes without any check.
    pub fn is_metadata(self) -> bool {
        matches!(self, Access::Stat | Access::Access | Access::Readlink)
    }
}

/// The access kinds of a path syscall: for its first path, and for its second, if any.
pub fn classify(call: &PathCall) -> (Access, Option<Access>) {
    let open = |flags: u64| {
        if flags & libc::O_DIRECTORY as u64 != 0 {
            return Access::List;
        }
        match flags & libc::O_ACCMODE as u64 {
            f if f == libc::O_WRONLY as u64 => Access::Write,
            f if f == libc::O_RDWR as u64 => Access::ReadWrite,
            _ => Access::Read,
        }
    };
    match call.nr {
        nr::OPEN | nr::OPENAT | nr::OPENAT2 => (open(call.flags), None),
        nr::CREAT => (Access::Write, None),
        nr::STAT | nr::LSTAT | nr::NEWFSTATAT | nr::STATX | nr::STATFS => (Access::Stat, None),
        nr::ACCESS | nr::FACCESSAT | nr::FACCESSAT2 => (Access::Access, None),
        nr::READLINK | nr::READLINKAT => (Access::Readlink, None),
        nr::CHDIR => (Access::Chdir, None),
        nr::INOTIFY_ADD_WATCH => (Access::Watch, None),
        nr::MKDIR | nr::MKDIRAT => (Access::Mkdir, None),
        nr::RMDIR => (Access::Rmdir, None),
        nr::UNLINK => (Access::Unlink, None),
        nr::UNLINKAT if call.flags & libc::AT_REMOVEDIR as u64 != 0 => (Access::Rmdir, None),
        nr::UNLINKAT => (Access::Unlink, None),
        nr::RENAME | nr::RENAMEAT | nr::RENAMEAT2 => (Access::RenameFrom, Some(Access::RenameTo)),
        nr::LINK | nr::LINKAT => (Access::LinkFrom, Some(Access::LinkTo)),
        nr::SYMLINK | nr::SYMLINKAT => (Access::Symlink, Some(Access::Symlink)),
        nr::CHMOD | nr::FCHMODAT | nr::FCHMODAT2 => (Access::Chmod, None),
        nr::CHOWN | nr::LCHOWN | nr::FCHOWNAT => (Access::Chown, None),
        nr::UTIME | nr::UTIMES | nr::FUTIMESAT | nr::UTIMENSAT => (Access::Utimes, None),
        nr::TRUNCATE => (Access::Truncate, None),
        _ => (Access::Stat, None),
    }
}

/// `O_*` flags as text, for the event log.
pub fn open_flags_text(flags: u64) -> String {
    let mut parts = vec![match flags & libc::O_ACCMODE as u64 {
        f if f == libc::O_WRONLY as u64 => "O_WRONLY",
        f if f == libc::O_RDWR as u64 => "O_RDWR",
        _ => "O_RDONLY",
    }];
    for (bit, name) in [
        (libc::O_CREAT, "O_CREAT"),
        (libc::O_EXCL, "O_EXCL"),
        (libc::O_TRUNC, "O_TRUNC"),
        (libc::O_APPEND, "O_APPEND"),
        (libc::O_NONBLOCK, "O_NONBLOCK"),
        (libc::O_DIRECTORY, "O_DIRECTORY"),
        (libc::O_NOFOLLOW, "O_NOFOLLOW"),
        (libc::O_CLOEXEC, "O_CLOEXEC"),
        (libc::O_PATH, "O_PATH"),
        (libc::O_TMPFILE & !libc::O_DIRECTORY, "O_TMPFILE"),
    ] {
        if flags & bit as u64 == bit as u64 {
            parts.push(name);
        }
    }
    parts.join("|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::RawPath;

    fn call(n: u32, flags: u64) -> PathCall {
        PathCall {
            nr: n,
            ret: 0,
            dirfd: -100,
            path: RawPath::new("/x"),
            dirfd2: -100,
            path2: None,
            flags,
            mode: 0,
        }
    }

    #[test]
    fn open_flags_map_to_node_scopes() {
        let rd = classify(&call(nr::OPENAT, libc::O_RDONLY as u64)).0;
        let wr = classify(&call(nr::OPENAT, (libc::O_WRONLY | libc::O_CREAT) as u64)).0;
        let rw = classify(&call(nr::OPENAT, libc::O_RDWR as u64)).0;
        assert_eq!(
            (rd, wr, rw),
            (Access::Read, Access::Write, Access::ReadWrite)
        );
        assert!(rd.needs_read() && !rd.needs_write());
        assert!(!wr.needs_read() && wr.needs_write());
        assert!(rw.needs_read() && rw.needs_write());
        let dir = classify(&call(nr::OPENAT, libc::O_DIRECTORY as u64)).0;
        assert_eq!(dir, Access::List);
    }

    #[test]
    fn rename_needs_read_on_source_and_write_on_both() {
        let (from, to) = classify(&call(nr::RENAMEAT2, 0));
        assert!(from.needs_read() && from.needs_write());
        let to = to.unwrap();
        assert!(to.needs_write() && !to.needs_read());
    }

    #[test]
    fn link_needs_read_and_write_on_the_source_and_write_on_the_new_name() {
        // Measured on Node 20/22/24/26: fs.linkSync(src, dst) with read on src and write on
        // dst is denied on src; read+write on src and write on dst is allowed.
        let (from, to) = classify(&call(nr::LINKAT, 0));
        assert!(from.needs_read() && from.needs_write());
        let to = to.unwrap();
        assert!(to.needs_write() && !to.needs_read());
    }

    #[test]
    fn unlinkat_removedir_is_rmdir() {
        let a = classify(&call(nr::UNLINKAT, libc::AT_REMOVEDIR as u64)).0;
        assert_eq!(a, Access::Rmdir);
    }

    #[test]
    fn flags_render_readably() {
        let f = (libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC) as u64;
        assert_eq!(open_flags_text(f), "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC");
    }
}
