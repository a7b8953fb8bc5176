//! Every map of the kernel side, in one place.

use aya_ebpf::{
    macros::map,
    maps::{HashMap, LruHashMap, PerCpuArray, RingBuf},
};
use permtrace_common::{limits, maps::Stat};

/// The event stream. Userspace sets the real size at load (`--ring-bytes`).
#[map(name = "PT_EVENTS")]
pub static PT_EVENTS: RingBuf = RingBuf::with_byte_size(limits::DEFAULT_RING_BYTES, 0);

/// Traced thread groups: tgid -> why (`permtrace_common::maps::track`).
#[map(name = "PT_TRACKED")]
pub static PT_TRACKED: HashMap<u32, u32> = HashMap::with_max_entries(65536, 0);

/// Traced cgroups (cgroup v2 ids) for `attach --cgroup`.
#[map(name = "PT_CGROUPS")]
pub static PT_CGROUPS: HashMap<u64, u32> = HashMap::with_max_entries(64, 0);

/// Per-CPU counters, indexed by `Stat`.
#[map(name = "PT_STATS")]
pub static PT_STATS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Stat::COUNT, 0);

/// Arguments of a syscall between its entry and its exit.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Inflight {
    pub nr: u32,
    pub _pad: u32,
    pub args: [u64; 6],
}

/// In-flight syscalls of traced threads, by pid_tgid. LRU so that a thread killed inside a
/// syscall cannot leak its slot forever (its exit also removes it).
#[map]
pub static INFLIGHT: LruHashMap<u64, Inflight> = LruHashMap::with_max_entries(16384, 0);

/// One record's worth of per-CPU space to build an event in (the BPF stack is 512 bytes).
#[repr(C, align(8))]
pub struct Scratch {
    pub buf: [u8; limits::SCRATCH_CAP],
}

#[map]
pub static SCRATCH: PerCpuArray<Scratch> = PerCpuArray::with_max_entries(1, 0);

/// A `getaddrinfo` call between its entry and its return: where its name and result list are.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct LookupCall {
    pub name: u64,
    /// `struct addrinfo **res`.
    pub res: u64,
}

/// `getaddrinfo` calls in progress in traced threads, by pid_tgid. LRU: a thread killed inside
/// the call never reaches the return probe.
#[map]
pub static LOOKUPS: LruHashMap<u64, LookupCall> = LruHashMap::with_max_entries(4096, 0);

/// Sockets of traced processes connected to port 53, by `tgid << 32 | fd`: sends and receives
/// on them carry no address, so this is how their DNS payloads are recognised. Set by
/// connect, cleared by a connect elsewhere or a new socket on the same fd. LRU: a closed fd
/// that is never reused must not pin a slot.
#[map]
pub static DNS_SOCKETS: LruHashMap<u64, u8> = LruHashMap::with_max_entries(4096, 0);
