//! What the kernel reported, as typed values. Produced by [`crate::wire::decode`], consumed
//! by the resolver and the collector. No path is interpreted here yet.

use std::net::IpAddr;

use crate::pathbytes::PathBytes;
use permtrace_common::syscalls::nr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// `CLOCK_BOOTTIME` nanoseconds.
    pub ts_ns: u64,
    pub tgid: u32,
    pub tid: u32,
    pub body: Body,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Path(PathCall),
    Fd(FdCall),
    Sock(SockCall),
    Exec(ExecCall),
    Fork {
        child: u32,
    },
    Exit {
        status: u32,
    },
    Dns(DnsMessage),
    /// libc `getaddrinfo` entered or returned.
    Lookup(Lookup),
    /// A Node runtime feature's native entry point was entered or returned.
    Runtime(RuntimeCall),
}

/// A path string copied from user memory, with what went wrong copying it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawPath {
    pub bytes: PathBytes,
    /// Longer than the copy buffer: the tail is missing.
    pub truncated: bool,
    /// The memory could not be read: `bytes` is empty.
    pub fault: bool,
}

impl RawPath {
    pub fn new(s: &str) -> Self {
        Self {
            bytes: PathBytes::from(s),
            ..Default::default()
        }
    }

    /// Whether the bytes are the whole path the program passed.
    pub fn is_complete(&self) -> bool {
        !self.truncated && !self.fault
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathCall {
    pub nr: u32,
    pub ret: i64,
    pub dirfd: i32,
    pub path: RawPath,
    pub dirfd2: i32,
    pub path2: Option<RawPath>,
    /// `O_*` for opens, `AT_*` for the *at calls, the mode for `access`.
    pub flags: u64,
    pub mode: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdCall {
    pub nr: u32,
    pub ret: i64,
    pub a: i64,
    pub b: i64,
    /// Third argument (`dup3` flags, `fcntl` argument).
    pub c: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SockCall {
    pub nr: u32,
    pub ret: i64,
    pub fd: i32,
    pub domain: u32,
    pub sock_type: u32,
    /// Raw `struct sockaddr` bytes (connect, bind, sendto, sendmsg).
    pub addr: Vec<u8>,
    pub addr_fault: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecCall {
    /// 0 for a successful exec; the negative errno of a failed one.
    pub ret: i64,
    pub nr: u32,
    pub filename: RawPath,
    pub argv: Vec<PathBytes>,
    pub argv_truncated: bool,
    pub dirfd: i32,
    pub at_flags: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsMessage {
    pub fd: i32,
    pub sent: bool,
    pub peer: Vec<u8>,
    pub payload: Vec<u8>,
    pub truncated: bool,
}

/// A `getaddrinfo` call, at entry (name only) or at return (name, result, addresses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    pub enter: bool,
    /// 0, or the `EAI_*` code getaddrinfo returned (negative on glibc).
    pub ret: i64,
    /// The name asked for (lossily decoded: DNS names are ASCII); empty for a NULL name.
    pub name: String,
    /// The name was longer than the copy buffer or could not be read.
    pub name_truncated: bool,
    /// Distinct addresses of the result list, in its order.
    pub addrs: Vec<IpAddr>,
    /// The result list had more addresses than the kernel copied.
    pub addrs_truncated: bool,
}

/// A Node runtime feature whose native entry point permtrace watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feature {
    Worker,
    Wasi,
    Addon,
    InspectorOpen,
    InspectorConnect,
    /// c-ares reading its configuration: a resolver window, not a permission.
    ResolverInit,
}

impl Feature {
    /// Every probed entry point.
    pub const ALL: [Feature; 6] = [
        Feature::Worker,
        Feature::Wasi,
        Feature::Addon,
        Feature::InspectorOpen,
        Feature::InspectorConnect,
        Feature::ResolverInit,
    ];

    /// The features that need a permission flag (`capture.runtime`).
    pub const PERMISSIONS: [Feature; 5] = [
        Feature::Worker,
        Feature::Wasi,
        Feature::Addon,
        Feature::InspectorOpen,
        Feature::InspectorConnect,
    ];

    /// The id shared with the kernel side (`permtrace_common::event::feature`).
    pub fn id(self) -> u32 {
        use permtrace_common::event::feature as f;
        match self {
            Feature::Worker => f::WORKER,
            Feature::Wasi => f::WASI,
            Feature::Addon => f::ADDON,
            Feature::InspectorOpen => f::INSPECTOR_OPEN,
            Feature::InspectorConnect => f::INSPECTOR_CONNECT,
            Feature::ResolverInit => f::RESOLVER_INIT,
        }
    }

    pub fn from_id(id: u32) -> Option<Feature> {
        Feature::ALL.into_iter().find(|f| f.id() == id)
    }

    /// Short name used in captures and logs.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Worker => "worker",
            Feature::Wasi => "wasi",
            Feature::Addon => "addon",
            Feature::InspectorOpen => "inspector_open",
            Feature::InspectorConnect => "inspector_connect",
            Feature::ResolverInit => "resolver_init",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuntimeCall {
    pub feature: Feature,
    pub enter: bool,
}

/// The name of a syscall permtrace follows.
pub fn syscall_name(n: u32) -> &'static str {
    match n {
        nr::OPEN => "open",
        nr::STAT => "stat",
        nr::IOCTL => "ioctl",
        nr::LSTAT => "lstat",
        nr::ACCESS => "access",
        nr::DUP => "dup",
        nr::DUP2 => "dup2",
        nr::SOCKET => "socket",
        nr::CONNECT => "connect",
        nr::SENDTO => "sendto",
        nr::RECVFROM => "recvfrom",
        nr::SENDMSG => "sendmsg",
        nr::RECVMSG => "recvmsg",
        nr::BIND => "bind",
        nr::LISTEN => "listen",
        nr::EXECVE => "execve",
        nr::FCNTL => "fcntl",
        nr::TRUNCATE => "truncate",
        nr::CHDIR => "chdir",
        nr::FCHDIR => "fchdir",
        nr::RENAME => "rename",
        nr::MKDIR => "mkdir",
        nr::RMDIR => "rmdir",
        nr::CREAT => "creat",
        nr::LINK => "link",
        nr::UNLINK => "unlink",
        nr::SYMLINK => "symlink",
        nr::READLINK => "readlink",
        nr::CHMOD => "chmod",
        nr::CHOWN => "chown",
        nr::LCHOWN => "lchown",
        nr::UTIME => "utime",
        nr::STATFS => "statfs",
        nr::UTIMES => "utimes",
        nr::INOTIFY_ADD_WATCH => "inotify_add_watch",
        nr::OPENAT => "openat",
        nr::MKDIRAT => "mkdirat",
        nr::FCHOWNAT => "fchownat",
        nr::FUTIMESAT => "futimesat",
        nr::NEWFSTATAT => "newfstatat",
        nr::UNLINKAT => "unlinkat",
        nr::RENAMEAT => "renameat",
        nr::LINKAT => "linkat",
        nr::SYMLINKAT => "symlinkat",
        nr::READLINKAT => "readlinkat",
        nr::FCHMODAT => "fchmodat",
        nr::FACCESSAT => "faccessat",
        nr::UTIMENSAT => "utimensat",
        nr::DUP3 => "dup3",
        nr::RECVMMSG => "recvmmsg",
        nr::SENDMMSG => "sendmmsg",
        nr::RENAMEAT2 => "renameat2",
        nr::EXECVEAT => "execveat",
        nr::STATX => "statx",
        nr::OPENAT2 => "openat2",
        nr::FACCESSAT2 => "faccessat2",
        nr::FCHMODAT2 => "fchmodat2",
        _ => "unknown",
    }
}

/// The symbolic name of an errno value (positive), for reports; `E<n>` when unknown.
pub fn errno_name(errno: i64) -> String {
    let name = match errno {
        1 => "EPERM",
        2 => "ENOENT",
        3 => "ESRCH",
        4 => "EINTR",
        5 => "EIO",
        6 => "ENXIO",
        7 => "E2BIG",
        8 => "ENOEXEC",
        9 => "EBADF",
        10 => "ECHILD",
        11 => "EAGAIN",
        12 => "ENOMEM",
        13 => "EACCES",
        14 => "EFAULT",
        16 => "EBUSY",
        17 => "EEXIST",
        18 => "EXDEV",
        19 => "ENODEV",
        20 => "ENOTDIR",
        21 => "EISDIR",
        22 => "EINVAL",
        23 => "ENFILE",
        24 => "EMFILE",
        25 => "ENOTTY",
        26 => "ETXTBSY",
        27 => "EFBIG",
        28 => "ENOSPC",
        30 => "EROFS",
        31 => "EMLINK",
        32 => "EPIPE",
        36 => "ENAMETOOLONG",
        38 => "ENOSYS",
        39 => "ENOTEMPTY",
        40 => "ELOOP",
        61 => "ENODATA",
        88 => "ENOTSOCK",
        91 => "EPROTOTYPE",
        93 => "EPROTONOSUPPORT",
        95 => "EOPNOTSUPP",
        97 => "EAFNOSUPPORT",
        98 => "EADDRINUSE",
        99 => "EADDRNOTAVAIL",
        101 => "ENETUNREACH",
        104 => "ECONNRESET",
        110 => "ETIMEDOUT",
        111 => "ECONNREFUSED",
        113 => "EHOSTUNREACH",
        114 => "EALREADY",
        115 => "EINPROGRESS",
        116 => "ESTALE",
        122 => "EDQUOT",
        // Kernel-internal: the syscall was interrupted by a signal and will be restarted
        // (the program never sees these; the restarted call is reported on its own).
        512 => "ERESTARTSYS",
        513 => "ERESTARTNOINTR",
        514 => "ERESTARTNOHAND",
        516 => "ERESTART_RESTARTBLOCK",
        _ => return format!("E{errno}"),
    };
    name.to_string()
}

/// The name of a getaddrinfo error code (glibc and musl share these values), for reports.
pub fn eai_name(code: i64) -> String {
    let name = match code {
        -1 => "EAI_BADFLAGS",
        -2 => "EAI_NONAME",
        -3 => "EAI_AGAIN",
        -4 => "EAI_FAIL",
        -5 => "EAI_NODATA",
        -6 => "EAI_FAMILY",
        -7 => "EAI_SOCKTYPE",
        -8 => "EAI_SERVICE",
        -9 => "EAI_ADDRFAMILY",
        -10 => "EAI_MEMORY",
        -11 => "EAI_SYSTEM",
        -12 => "EAI_OVERFLOW",
        n => return format!("EAI_{n}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table against libc's own numbers, so a typo cannot name the wrong error.
    #[test]
    fn errno_names_match_libc() {
        let known = [
            ("EPERM", libc::EPERM),
            ("ENOENT", libc::ENOENT),
            ("ENXIO", libc::ENXIO),
            ("E2BIG", libc::E2BIG),
            ("ENOEXEC", libc::ENOEXEC),
            ("ECHILD", libc::ECHILD),
            ("EACCES", libc::EACCES),
            ("EEXIST", libc::EEXIST),
            ("ENODEV", libc::ENODEV),
            ("ENOTDIR", libc::ENOTDIR),
            ("ENFILE", libc::ENFILE),
            ("ENOTTY", libc::ENOTTY),
            ("ETXTBSY", libc::ETXTBSY),
            ("EFBIG", libc::EFBIG),
            ("EMLINK", libc::EMLINK),
            ("EPIPE", libc::EPIPE),
            ("ENAMETOOLONG", libc::ENAMETOOLONG),
            ("ENOSYS", libc::ENOSYS),
            ("ELOOP", libc::ELOOP),
            ("ENOTSOCK", libc::ENOTSOCK),
            ("EPROTOTYPE", libc::EPROTOTYPE),
            ("EPROTONOSUPPORT", libc::EPROTONOSUPPORT),
            ("EAFNOSUPPORT", libc::EAFNOSUPPORT),
            ("ECONNREFUSED", libc::ECONNREFUSED),
            ("EINPROGRESS", libc::EINPROGRESS),
            ("ESTALE", libc::ESTALE),
            ("EDQUOT", libc::EDQUOT),
        ];
        for (name, n) in known {
            assert_eq!(errno_name(i64::from(n)), name);
        }
        assert_eq!(errno_name(512), "ERESTARTSYS");
        assert_eq!(errno_name(4000), "E4000");
    }
}
