//! Building record headers, sending records, and counting what could not be sent.

use aya_ebpf::{
    bindings::{BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP},
    helpers::{bpf_get_current_pid_tgid, generated::bpf_ktime_get_boot_ns},
};
use permtrace_common::{
    event::{EventHeader, EventKind},
    maps::Stat,
};

use crate::{
    globals::WAKEUP_BYTES,
    maps::{PT_EVENTS, PT_STATS},
};

/// A header for an event of the current thread. `size` is filled in by [`send`].
#[inline(always)]
pub fn header(kind: EventKind, nr: u32, ret: i64) -> EventHeader {
    let pid_tgid = bpf_get_current_pid_tgid();
    EventHeader {
        kind: kind as u32,
        flags: 0,
        tgid: (pid_tgid >> 32) as u32,
        tid: pid_tgid as u32,
        // SAFETY: no arguments, no memory access.
        ts_ns: unsafe { bpf_ktime_get_boot_ns() },
        ret,
        nr,
        size: 0,
    }
}

/// Copies the first `len` bytes of `buf` into the ring buffer. The reader is woken only when
/// enough data is waiting; otherwise its periodic drain picks the record up.
#[inline(always)]
pub fn send(buf: &[u8], len: usize) {
    let len = if len > buf.len() { buf.len() } else { len };
    let wake = if PT_EVENTS.query(BPF_RB_AVAIL_DATA as u64) >= WAKEUP_BYTES.load() {
        BPF_RB_FORCE_WAKEUP
    } else {
        BPF_RB_NO_WAKEUP
    };
    match PT_EVENTS.output::<[u8]>(&buf[..len], wake as u64) {
        Ok(()) => bump(Stat::Emitted),
        Err(_) => bump(Stat::RingFull),
    }
}

/// Adds one to a per-CPU counter.
#[inline(always)]
pub fn bump(stat: Stat) {
    if let Some(p) = PT_STATS.get_ptr_mut(stat as u32) {
        // SAFETY: per-CPU slot, only this CPU's running program touches it.
        unsafe { *p += 1 }
    }
}
