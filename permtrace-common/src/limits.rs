//! Capacities of the fixed buffers the kernel side fills.

/// Longest path copied from user memory, including the terminating NUL (Linux `PATH_MAX`).
/// A path that fills the buffer is flagged [`crate::event::flags::PATH_TRUNCATED`].
pub const PATH_CAP: usize = 4096;

/// Bytes of `argv` copied for an exec (the strings, NUL-separated, as they sit in memory).
pub const ARGV_CAP: usize = 2048;

/// Arguments copied one by one for a failed exec, where the new image's argument block does
/// not exist and each `argv[i]` pointer has to be followed.
pub const FAILED_EXEC_ARGS: usize = 8;

/// Bytes of a failed exec's argument copied per argument.
pub const FAILED_EXEC_ARG_CAP: usize = 256;

/// Largest socket address copied (`sizeof(struct sockaddr_storage)`).
pub const SOCKADDR_CAP: usize = 128;

/// Largest DNS message payload copied from a send or receive on port 53. Classic UDP answers
/// are at most 512 bytes and the EDNS default buffer is 1232; longer answers are copied in
/// part and flagged, and the parser keeps the records that fit.
pub const DNS_CAP: usize = 1536;

/// Longest host name copied from a `getaddrinfo` call, NUL included (DNS names are at most
/// 253 characters).
pub const NAME_CAP: usize = 256;

/// Addresses of a `getaddrinfo` result list copied into one event. glibc returns one entry per
/// address and socket type, so this covers a handful of distinct addresses.
pub const LOOKUP_ADDRS: usize = 16;

/// Size of the per-CPU scratch record the kernel builds an event in before copying it into
/// the ring buffer: a header, two paths and some slack for the fixed part.
pub const SCRATCH_CAP: usize = 2 * PATH_CAP + 256;

/// Default ring buffer size. 4 MiB measured loss-free under a 200k-open burst on this kind
/// of machine (shared/reference/ebpf-on-this-kernel.md, section 4); 256 KiB dropped events.
pub const DEFAULT_RING_BYTES: u32 = 4 << 20;

/// Unread bytes in the ring buffer above which a producer wakes the reader. Below it the
/// reader relies on its periodic drain; waking it for every event costs ~2x on opens.
pub const DEFAULT_WAKEUP_BYTES: u64 = 64 << 10;
