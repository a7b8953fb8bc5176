//! The process tree: children of traced processes are traced from their first instruction
//! (the fork tracepoint runs before the child is woken), and forgotten when they are gone.

use aya_ebpf::{
    helpers::bpf_get_current_pid_tgid, macros::btf_tracepoint, programs::BtfTracePointContext,
};
use permtrace_common::{
    event::{EventKind, ExitEvent, ForkEvent},
    maps::{Stat, track},
};

use crate::{
    emit::{bump, header, send},
    globals::OFFSETS,
    maps::{INFLIGHT, PT_TRACKED},
    mem::{kernel, put, scratch},
    tree,
};

/// `sched_process_fork(struct task_struct *parent, struct task_struct *child)`.
#[btf_tracepoint(function = "sched_process_fork")]
pub fn sched_fork(ctx: BtfTracePointContext) -> u32 {
    let parent_tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if !tree::is_tracked(parent_tgid) {
        return 0;
    }
    let child: u64 = ctx.arg(1);
    let off = OFFSETS.load();
    let (Some(pid), Some(tgid)) = (
        kernel::<u32>(child, off.task_pid),
        kernel::<u32>(child, off.task_tgid),
    ) else {
        return 0;
    };
    // A new thread of a traced process is covered by its tgid already.
    if pid != tgid || tgid == parent_tgid {
        return 0;
    }
    if PT_TRACKED.insert(tgid, track::CHILD, 0).is_err() {
        bump(Stat::TrackedFull);
        return 0;
    }
    let Some(s) = scratch() else { return 0 };
    let mut hdr = header(EventKind::Fork, 0, 0);
    hdr.size = core::mem::size_of::<ForkEvent>() as u32;
    put(
        &mut s.buf,
        0,
        ForkEvent {
            hdr,
            child_tgid: tgid,
            _pad: 0,
        },
    );
    send(&s.buf, hdr.size as usize);
    0
}

/// `sched_process_exit(struct task_struct *p[, bool group_dead])`: fires for every thread.
#[btf_tracepoint(function = "sched_process_exit")]
pub fn sched_exit(ctx: BtfTracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    if !tree::is_tracked(tgid) {
        return 0;
    }
    // A thread killed inside a followed syscall never reaches its exit hook.
    let _ = INFLIGHT.remove(pid_tgid);
    let off = OFFSETS.load();
    let group_dead = if off.exit_has_group_dead != 0 {
        let v: u64 = ctx.arg(1);
        v & 0xff != 0
    } else {
        // Older kernels: approximate with the leader's exit.
        tgid == pid_tgid as u32
    };
    if !group_dead {
        return 0;
    }
    let _ = PT_TRACKED.remove(tgid);
    let task: u64 = ctx.arg(0);
    let code = kernel::<u32>(task, off.task_exit_code).unwrap_or(0);
    let Some(s) = scratch() else { return 0 };
    let mut hdr = header(EventKind::Exit, 0, 0);
    hdr.size = core::mem::size_of::<ExitEvent>() as u32;
    put(
        &mut s.buf,
        0,
        ExitEvent {
            hdr,
            exit_code: code,
            _pad: 0,
        },
    );
    send(&s.buf, hdr.size as usize);
    0
}
