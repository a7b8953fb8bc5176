//! The syscalls permtrace follows (x86_64 numbers) and where their arguments are.
//!
//! The kernel side uses [`class_of`] to decide what to stash at syscall entry and what to
//! read at exit; userspace uses the same numbers to name the operation. Both sides share this
//! one table so they cannot disagree.

/// x86_64 syscall numbers.
pub mod nr {
    pub const OPEN: u32 = 2;
    pub const STAT: u32 = 4;
    pub const IOCTL: u32 = 16;
    pub const LSTAT: u32 = 6;
    pub const ACCESS: u32 = 21;
    pub const DUP: u32 = 32;
    pub const DUP2: u32 = 33;
    pub const SOCKET: u32 = 41;
    pub const CONNECT: u32 = 42;
    pub const SENDTO: u32 = 44;
    pub const RECVFROM: u32 = 45;
    pub const SENDMSG: u32 = 46;
    pub const RECVMSG: u32 = 47;
    pub const BIND: u32 = 49;
    pub const LISTEN: u32 = 50;
    pub const EXECVE: u32 = 59;
    pub const FCNTL: u32 = 72;
    pub const TRUNCATE: u32 = 76;
    pub const CHDIR: u32 = 80;
    pub const FCHDIR: u32 = 81;
    pub const RENAME: u32 = 82;
    pub const MKDIR: u32 = 83;
    pub const RMDIR: u32 = 84;
    pub const CREAT: u32 = 85;
    pub const LINK: u32 = 86;
    pub const UNLINK: u32 = 87;
    pub const SYMLINK: u32 = 88;
    pub const READLINK: u32 = 89;
    pub const CHMOD: u32 = 90;
    pub const CHOWN: u32 = 92;
    pub const LCHOWN: u32 = 94;
    pub const UTIME: u32 = 132;
    pub const STATFS: u32 = 137;
    pub const UTIMES: u32 = 235;
    pub const INOTIFY_ADD_WATCH: u32 = 254;
    pub const OPENAT: u32 = 257;
    pub const MKDIRAT: u32 = 258;
    pub const FCHOWNAT: u32 = 260;
    pub const FUTIMESAT: u32 = 261;
    pub const NEWFSTATAT: u32 = 262;
    pub const UNLINKAT: u32 = 263;
    pub const RENAMEAT: u32 = 264;
    pub const LINKAT: u32 = 265;
    pub const SYMLINKAT: u32 = 266;
    pub const READLINKAT: u32 = 267;
    pub const FCHMODAT: u32 = 268;
    pub const FACCESSAT: u32 = 269;
    pub const UTIMENSAT: u32 = 280;
    pub const DUP3: u32 = 292;
    pub const RECVMMSG: u32 = 299;
    pub const SENDMMSG: u32 = 307;
    pub const RENAMEAT2: u32 = 316;
    pub const EXECVEAT: u32 = 322;
    pub const STATX: u32 = 332;
    pub const OPENAT2: u32 = 437;
    pub const FACCESSAT2: u32 = 439;
    pub const FCHMODAT2: u32 = 452;
}

/// Marks an argument slot as absent in [`PathArgs`].
pub const NO_ARG: u8 = 0xff;

/// Where a path syscall keeps its arguments (indices into the six syscall arguments, or
/// [`NO_ARG`]). A missing dirfd means `AT_FDCWD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathArgs {
    pub dirfd: u8,
    pub path: u8,
    pub dirfd2: u8,
    pub path2: u8,
    pub flags: u8,
    pub mode: u8,
}

const fn p(dirfd: u8, path: u8, flags: u8, mode: u8) -> PathArgs {
    PathArgs {
        dirfd,
        path,
        dirfd2: NO_ARG,
        path2: NO_ARG,
        flags,
        mode,
    }
}

const fn p2(dirfd: u8, path: u8, dirfd2: u8, path2: u8, flags: u8) -> PathArgs {
    PathArgs {
        dirfd,
        path,
        dirfd2,
        path2,
        flags,
        mode: NO_ARG,
    }
}

/// How the kernel side handles a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Names one or two paths.
    Path(PathArgs),
    /// `openat2(dfd, path, struct open_how *how, size)`: flags and mode live in `how`.
    OpenAt2,
    /// fd-only: fchdir, dup, dup2, dup3, fcntl(F_DUPFD*, F_SETFD), ioctl(FIOCLEX, FIONCLEX).
    Fd,
    /// `socket(domain, type, protocol)`.
    Socket,
    /// `connect`/`bind(fd, addr, len)`.
    SockAddr,
    /// `listen(fd, backlog)`.
    Listen,
    /// `sendto(fd, buf, len, flags, addr, addrlen)`.
    SendTo,
    /// `sendmsg(fd, msghdr, flags)`.
    SendMsg,
    /// `sendmmsg(fd, mmsghdr *vec, vlen, flags)`: followed for DNS payloads only.
    SendMmsg,
    /// `recvfrom(fd, buf, len, flags, addr, addrlen)`: followed for DNS payloads only.
    RecvFrom,
    /// `recvmsg(fd, msghdr, flags)`: followed for DNS payloads only.
    RecvMsg,
    /// `recvmmsg(fd, mmsghdr *vec, vlen, flags, timeout)`: followed for DNS payloads only.
    RecvMmsg,
    /// `execve(path, argv, envp)` / `execveat(dfd, path, argv, envp, flags)`.
    Exec {
        dirfd: u8,
        path: u8,
        argv: u8,
        flags: u8,
    },
}

/// The class of a syscall number, or `None` for syscalls permtrace ignores.
#[inline(always)]
pub const fn class_of(nr: u32) -> Option<Class> {
    use nr::*;
    const N: u8 = NO_ARG;
    Some(match nr {
        OPEN => Class::Path(p(N, 0, 1, 2)),
        CREAT => Class::Path(p(N, 0, N, 1)),
        OPENAT => Class::Path(p(0, 1, 2, 3)),
        OPENAT2 => Class::OpenAt2,
        STAT | LSTAT | READLINK | RMDIR | UNLINK | CHDIR | CHOWN | LCHOWN | UTIME | UTIMES
        | STATFS | TRUNCATE => Class::Path(p(N, 0, N, N)),
        ACCESS => Class::Path(p(N, 0, 1, N)),
        MKDIR | CHMOD => Class::Path(p(N, 0, N, 1)),
        NEWFSTATAT => Class::Path(p(0, 1, 3, N)),
        STATX => Class::Path(p(0, 1, 2, N)),
        FACCESSAT => Class::Path(p(0, 1, 2, N)),
        FACCESSAT2 => Class::Path(p(0, 1, 3, N)),
        READLINKAT | FUTIMESAT => Class::Path(p(0, 1, N, N)),
        MKDIRAT | FCHMODAT => Class::Path(p(0, 1, N, 2)),
        FCHMODAT2 => Class::Path(p(0, 1, 3, 2)),
        UNLINKAT => Class::Path(p(0, 1, 2, N)),
        FCHOWNAT => Class::Path(p(0, 1, 4, N)),
        UTIMENSAT => Class::Path(p(0, 1, 3, N)),
        INOTIFY_ADD_WATCH => Class::Path(p(N, 1, 2, N)),
        RENAME | LINK | SYMLINK => Class::Path(p2(N, 0, N, 1, N)),
        RENAMEAT => Class::Path(p2(0, 1, 2, 3, N)),
        RENAMEAT2 | LINKAT => Class::Path(p2(0, 1, 2, 3, 4)),
        // symlinkat(target, newdirfd, linkpath): the target is content, not a lookup.
        SYMLINKAT => Class::Path(p2(N, 0, 1, 2, N)),
        FCHDIR | DUP | DUP2 | DUP3 | FCNTL | IOCTL => Class::Fd,
        SOCKET => Class::Socket,
        CONNECT | BIND => Class::SockAddr,
        LISTEN => Class::Listen,
        SENDTO => Class::SendTo,
        SENDMSG => Class::SendMsg,
        SENDMMSG => Class::SendMmsg,
        RECVFROM => Class::RecvFrom,
        RECVMSG => Class::RecvMsg,
        RECVMMSG => Class::RecvMmsg,
        EXECVE => Class::Exec {
            dirfd: N,
            path: 0,
            argv: 1,
            flags: N,
        },
        EXECVEAT => Class::Exec {
            dirfd: 0,
            path: 1,
            argv: 2,
            flags: 4,
        },
        _ => return None,
    })
}

/// `fcntl` commands permtrace follows: the ones that create a file descriptor, and the one
/// that sets or clears close-on-exec (which decides whether a directory fd is still there,
/// under the same number, in the program a process execs).
pub const F_DUPFD: u64 = 0;
pub const F_SETFD: u64 = 2;
pub const F_DUPFD_CLOEXEC: u64 = 1030;
/// `FD_CLOEXEC`, the flag `F_SETFD` sets.
pub const FD_CLOEXEC: u64 = 1;
/// `ioctl` requests that set / clear close-on-exec; libuv and CPython use them instead of
/// `fcntl(F_SETFD)` (e.g. to pass a descriptor to a child).
pub const FIONCLEX: u64 = 0x5450;
pub const FIOCLEX: u64 = 0x5451;
/// `O_CLOEXEC` (the flag of `dup3`).
pub const O_CLOEXEC: u64 = 0o2000000;
/// `AT_EMPTY_PATH`: the call works on the dirfd itself (e.g. glibc's `fstat`), not a path.
pub const AT_EMPTY_PATH: u64 = 0x1000;
/// `AT_FDCWD`.
pub const AT_FDCWD: i32 = -100;
/// The DNS port, big-endian as it sits in a `sockaddr_in`/`sockaddr_in6`.
pub const DNS_PORT_BE: [u8; 2] = 53u16.to_be_bytes();
/// Size of `struct mmsghdr` on x86_64 (a 56-byte `msghdr`, `msg_len`, padding).
pub const MMSGHDR_SIZE: u64 = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_number_has_a_class_and_others_do_not() {
        for n in [
            nr::OPEN,
            nr::OPENAT,
            nr::OPENAT2,
            nr::STATX,
            nr::RENAMEAT2,
            nr::EXECVE,
        ] {
            assert!(class_of(n).is_some(), "{n}");
        }
        // read(2), write(2), close(2), mmap(2): never followed.
        for n in [0, 1, 3, 9] {
            assert!(class_of(n).is_none(), "{n}");
        }
    }

    #[test]
    fn symlinkat_resolves_only_the_link_path() {
        let Some(Class::Path(a)) = class_of(nr::SYMLINKAT) else {
            panic!()
        };
        assert_eq!((a.dirfd, a.path, a.dirfd2, a.path2), (NO_ARG, 0, 1, 2));
    }
}
