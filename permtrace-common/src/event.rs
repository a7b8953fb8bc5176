//! The records the kernel programs write into the ring buffer.
//!
//! Every record starts with an [`EventHeader`]; `kind` says which fixed body follows, and the
//! body's length fields say how many bytes of variable tail (paths, argv, socket addresses)
//! follow the body. Kinds have explicit ids that are never reused.

use core::mem::size_of;

/// What a record is. Stored as a `u32` in [`EventHeader::kind`]; userspace converts with
/// `TryFrom<u32>` and rejects unknown values instead of transmuting.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A syscall that names one or two paths. Body [`PathEvent`].
    Path = 1,
    /// A syscall on file descriptors only (fchdir, dup family). Body [`FdEvent`].
    Fd = 2,
    /// A socket syscall (socket, connect, bind, listen, sendto, sendmsg). Body [`SockEvent`].
    Sock = 3,
    /// A successful exec, seen at `sched_process_exec`. Body [`ExecEvent`].
    Exec = 4,
    /// A failed execve/execveat, seen at syscall exit. Body [`ExecEvent`].
    ExecFailed = 5,
    /// A tracked process forked a new process (not a thread). Body [`ForkEvent`].
    Fork = 6,
    /// The last thread of a tracked process exited. Body [`ExitEvent`].
    Exit = 7,
    /// A DNS message sent to or received from port 53. Body [`DnsEvent`].
    Dns = 10,
    /// libc `getaddrinfo` entered or returned (uprobes). Body [`LookupEvent`].
    Lookup = 11,
    /// A Node runtime feature's native entry point ran (uprobes on the node binary). Body
    /// [`RuntimeEvent`].
    Runtime = 12,
}

impl TryFrom<u32> for EventKind {
    type Error = u32;
    fn try_from(v: u32) -> Result<Self, u32> {
        Ok(match v {
            1 => Self::Path,
            2 => Self::Fd,
            3 => Self::Sock,
            4 => Self::Exec,
            5 => Self::ExecFailed,
            6 => Self::Fork,
            7 => Self::Exit,
            10 => Self::Dns,
            11 => Self::Lookup,
            12 => Self::Runtime,
            other => return Err(other),
        })
    }
}

/// Bits of [`EventHeader::flags`].
pub mod flags {
    /// The first path filled its buffer: it is longer than what was copied.
    pub const PATH_TRUNCATED: u32 = 1 << 0;
    /// The first path could not be read from user memory.
    pub const PATH_FAULT: u32 = 1 << 1;
    /// The second path filled its buffer.
    pub const PATH2_TRUNCATED: u32 = 1 << 2;
    /// The second path could not be read.
    pub const PATH2_FAULT: u32 = 1 << 3;
    /// argv was longer than [`crate::limits::ARGV_CAP`] (or had more arguments than were read).
    pub const ARGV_TRUNCATED: u32 = 1 << 4;
    /// argv could not be read.
    pub const ARGV_FAULT: u32 = 1 << 5;
    /// The socket address could not be read.
    pub const ADDR_FAULT: u32 = 1 << 6;
    /// The DNS payload was longer than what was copied.
    pub const PAYLOAD_TRUNCATED: u32 = 1 << 7;
    /// The syscall names a second path (it follows the first, see [`super::PathEvent`]).
    pub const HAS_PATH2: u32 = 1 << 8;
    /// The looked-up name filled its buffer (or could not be read: then `name_len` is 0).
    pub const NAME_TRUNCATED: u32 = 1 << 9;
    /// getaddrinfo returned more addresses than the event holds.
    pub const ADDRS_TRUNCATED: u32 = 1 << 10;
}

/// Common prefix of every record. 40 bytes, no padding.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct EventHeader {
    /// An [`EventKind`] id.
    pub kind: u32,
    /// [`flags`] bits.
    pub flags: u32,
    /// Process (thread group) id.
    pub tgid: u32,
    /// Thread id.
    pub tid: u32,
    /// `CLOCK_BOOTTIME` nanoseconds.
    pub ts_ns: u64,
    /// Syscall return value (0 where there is none).
    pub ret: i64,
    /// x86_64 syscall number (0 where there is none).
    pub nr: u32,
    /// Total length of the record in bytes, header and tail included.
    pub size: u32,
}

/// A syscall naming one or two paths. The first path's bytes (without NUL) follow at
/// [`PathEvent::TAIL`]; the second path, when there is one ([`flags::HAS_PATH2`]), right
/// after them, at `PathEvent::TAIL + path_len`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PathEvent {
    pub hdr: EventHeader,
    /// Open flags (`O_*`), `AT_*` flags, or the `access` mode, depending on `hdr.nr`.
    pub flags: u64,
    /// Directory fd the first path is relative to (`AT_FDCWD` = -100 for the cwd).
    pub dirfd: i32,
    /// Directory fd the second path is relative to.
    pub dirfd2: i32,
    /// Creation mode (`open`, `mkdir`, `chmod`), else 0.
    pub mode: u32,
    /// Bytes of the first path.
    pub path_len: u16,
    /// Bytes of the second path (0 when the syscall names one path).
    pub path2_len: u16,
}

impl PathEvent {
    pub const TAIL: usize = size_of::<PathEvent>();
}

/// A syscall on file descriptors only: `fchdir(a)`, `dup(a)`, `dup2(a, b)`, `dup3(a, b, c)`,
/// `fcntl(a, b = F_DUPFD* | F_SETFD, c)`, `ioctl(a, b = FIOCLEX | FIONCLEX)`. The resulting fd,
/// where there is one, is `hdr.ret`. The third argument carries the close-on-exec bit of
/// `dup3` and `F_SETFD`, so userspace knows which fds survive an exec.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FdEvent {
    pub hdr: EventHeader,
    pub a: i64,
    pub b: i64,
    pub c: i64,
}

/// A socket syscall. The socket address (raw `struct sockaddr_*` bytes) follows at
/// [`SockEvent::TAIL`] for connect/bind/sendto/sendmsg.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SockEvent {
    pub hdr: EventHeader,
    /// The socket fd (for `socket()`, the new fd is `hdr.ret`).
    pub fd: i32,
    /// `socket()`: the domain (`AF_*`); else 0.
    pub domain: u32,
    /// `socket()`: the type (`SOCK_*`, flags included); `listen()`: the backlog; else 0.
    pub sock_type: u32,
    /// Bytes of socket address that follow.
    pub addr_len: u32,
}

impl SockEvent {
    pub const TAIL: usize = size_of::<SockEvent>();
}

/// An exec. The filename's bytes follow at [`ExecEvent::TAIL`], then `argv_len` bytes of
/// NUL-separated arguments right after them, at `ExecEvent::TAIL + filename_len`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ExecEvent {
    pub hdr: EventHeader,
    /// Thread id that called exec, when it was not the thread group leader.
    pub old_tid: u32,
    /// Directory fd of `execveat` (`AT_FDCWD` otherwise).
    pub dirfd: i32,
    /// `execveat` flags.
    pub at_flags: u32,
    pub filename_len: u16,
    pub argv_len: u16,
}

impl ExecEvent {
    pub const TAIL: usize = size_of::<ExecEvent>();
}

/// A tracked process created another process (`hdr.tgid` is the parent).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ForkEvent {
    pub hdr: EventHeader,
    pub child_tgid: u32,
    pub _pad: u32,
}

/// The thread group `hdr.tgid` is gone.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ExitEvent {
    pub hdr: EventHeader,
    /// `task_struct.exit_code` as `wait()` would report it.
    pub exit_code: u32,
    pub _pad: u32,
}

/// Direction of a [`DnsEvent`].
pub mod dns_dir {
    pub const SENT: u32 = 1;
    pub const RECEIVED: u32 = 2;
}

/// A DNS message (UDP, or TCP with its 2-byte length prefix) to or from port 53. The
/// peer's socket address follows at [`DnsEvent::TAIL`], the payload after
/// `DnsEvent::TAIL + SOCKADDR_CAP`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct DnsEvent {
    pub hdr: EventHeader,
    pub fd: i32,
    /// [`dns_dir`].
    pub direction: u32,
    pub addr_len: u32,
    pub payload_len: u32,
}

impl DnsEvent {
    pub const TAIL: usize = size_of::<DnsEvent>();
}

/// Whether a uprobe event marks a function's entry or its return.
pub mod phase {
    pub const ENTER: u32 = 1;
    pub const RETURN: u32 = 2;
}

/// One entry of a [`LookupEvent`]'s result list: `family` is `AF_INET` (first 4 bytes of
/// `addr` used), `AF_INET6`, or 0 for an entry that was skipped (another socket type's
/// duplicate, or unreadable).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct LookupAddr {
    pub family: u32,
    pub addr: [u8; 16],
}

/// `getaddrinfo(name, service, hints, res)`, at entry ([`phase::ENTER`]) and at return. The
/// name's bytes (without NUL) follow at [`LookupEvent::TAIL`]; at return, `addr_count`
/// [`LookupAddr`] entries (one per result list entry visited) follow at
/// `LookupEvent::TAIL + NAME_CAP`, and `hdr.ret` is the function's result (0 or `EAI_*`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct LookupEvent {
    pub hdr: EventHeader,
    /// [`phase`].
    pub phase: u32,
    pub name_len: u16,
    pub addr_count: u16,
}

impl LookupEvent {
    pub const TAIL: usize = size_of::<LookupEvent>();
}

/// Node runtime features watched with uprobes on the node binary (the `feature` of a
/// [`RuntimeEvent`], also the uprobe's attach cookie).
pub mod feature {
    /// `node::worker::Worker::StartThread`: a Worker thread starts (`--allow-worker`).
    pub const WORKER: u32 = 1;
    /// `node::wasi::WASI::New`: `new WASI()` (`--allow-wasi`).
    pub const WASI: u32 = 2;
    /// `node::binding::DLOpen`: `process.dlopen`, i.e. a native addon (`--allow-addons`).
    pub const ADDON: u32 = 3;
    /// The inspector binding's `open()` (`inspector.open()`, `--allow-inspector`).
    pub const INSPECTOR_OPEN: u32 = 4;
    /// The inspector binding's session constructor (`Session.connect()`).
    pub const INSPECTOR_CONNECT: u32 = 5;
    /// c-ares (statically linked in node) setting itself up (`ares_init_options`,
    /// `ares_reinit`): not a permission, but the window in which it reads resolv.conf and
    /// nsswitch.conf, which Node never checks.
    pub const RESOLVER_INIT: u32 = 6;
}

/// A native entry point of a Node runtime feature was entered (or, for [`feature::ADDON`]
/// and [`feature::RESOLVER_INIT`], returned: the window between the two is the addon's
/// dlopen, or c-ares reading its configuration).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RuntimeEvent {
    pub hdr: EventHeader,
    /// [`feature`].
    pub feature: u32,
    /// [`phase`].
    pub phase: u32,
}

/// Offsets into kernel structures, read from the running kernel's BTF by userspace and
/// handed to the programs as a global before load (aya has no CO-RE relocations for Rust).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelOffsets {
    pub task_pid: u32,
    pub task_tgid: u32,
    pub task_mm: u32,
    pub task_exit_code: u32,
    pub mm_arg_start: u32,
    pub mm_arg_end: u32,
    pub bprm_filename: u32,
    /// 1 when `sched_process_exit` passes `group_dead` as its second argument (6.16+).
    pub exit_has_group_dead: u32,
}

// Layout guards: the decoder in userspace relies on these sizes and on the header being first.
const _: () = assert!(size_of::<EventHeader>() == 40);
const _: () = assert!(size_of::<PathEvent>() == 64);
const _: () = assert!(size_of::<FdEvent>() == 64);
const _: () = assert!(size_of::<SockEvent>() == 56);
const _: () = assert!(size_of::<ExecEvent>() == 56);
const _: () = assert!(size_of::<ForkEvent>() == 48);
const _: () = assert!(size_of::<ExitEvent>() == 48);
const _: () = assert!(size_of::<DnsEvent>() == 56);
const _: () = assert!(size_of::<KernelOffsets>() == 32);
const _: () = assert!(size_of::<LookupAddr>() == 20);
const _: () = assert!(size_of::<LookupEvent>() == 48);
const _: () = assert!(size_of::<RuntimeEvent>() == 48);

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all fields are plain integers, the structs are repr(C) with no padding
    // (checked by the size asserts above), so any bit pattern is a valid value.
    unsafe impl aya::Pod for super::KernelOffsets {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_unknown_ids_are_rejected() {
        for k in [
            EventKind::Path,
            EventKind::Fd,
            EventKind::Sock,
            EventKind::Exec,
            EventKind::ExecFailed,
            EventKind::Fork,
            EventKind::Exit,
            EventKind::Dns,
            EventKind::Lookup,
            EventKind::Runtime,
        ] {
            assert_eq!(EventKind::try_from(k as u32), Ok(k));
        }
        assert_eq!(EventKind::try_from(0), Err(0));
        assert_eq!(EventKind::try_from(8), Err(8));
    }

    #[test]
    fn header_is_first_in_every_body() {
        assert_eq!(core::mem::offset_of!(PathEvent, hdr), 0);
        assert_eq!(core::mem::offset_of!(SockEvent, hdr), 0);
        assert_eq!(core::mem::offset_of!(ExecEvent, hdr), 0);
        assert_eq!(core::mem::offset_of!(DnsEvent, hdr), 0);
        assert_eq!(core::mem::offset_of!(LookupEvent, hdr), 0);
        assert_eq!(core::mem::offset_of!(RuntimeEvent, hdr), 0);
    }
}
