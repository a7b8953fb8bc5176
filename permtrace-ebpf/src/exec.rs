//! Exec events: successful execs from `sched_process_exec` (kernel memory, reliable even
//! though the caller's memory is gone), failed ones from the syscall's exit.

use aya_ebpf::{
    helpers::generated::bpf_get_current_task, macros::btf_tracepoint,
    programs::BtfTracePointContext,
};
use permtrace_common::{
    event::{EventKind, ExecEvent, flags},
    limits::{ARGV_CAP, FAILED_EXEC_ARG_CAP, FAILED_EXEC_ARGS, PATH_CAP},
    maps::Stat,
    syscalls::{AT_FDCWD, NO_ARG},
};

use crate::{
    emit::{bump, header, send},
    globals::OFFSETS,
    maps::INFLIGHT,
    mem::{
        kernel, kernel_str, kernel_str_truncated, put, scratch, user, user_bytes, user_str,
        user_str_truncated,
    },
    syscalls::arg,
    tree,
};

const TAIL: usize = ExecEvent::TAIL;

/// Where argv starts: right after the filename, so an exec record costs its strings, not a
/// PATH_MAX window (it used to be 4 KiB: a 4 KiB ring could never carry one). The mask only
/// bounds the offset for the verifier (the length is below PATH_CAP already).
#[inline(always)]
fn argv_at(filename_len: usize) -> usize {
    TAIL + (filename_len & (PATH_CAP - 1))
}

#[btf_tracepoint(function = "sched_process_exec")]
pub fn sched_exec(ctx: BtfTracePointContext) -> u32 {
    let hdr = header(EventKind::Exec, 0, 0);
    if !tree::is_tracked(hdr.tgid) {
        return 0;
    }
    let old_pid: i32 = ctx.arg(1);
    let bprm: u64 = ctx.arg(2);
    if old_pid as u32 != hdr.tid {
        // A non-leader thread exec'd and took over the leader's pid: its execve entry was
        // stashed under its old tid, and its exit (looked up under the new one) will not
        // find it. Drop it now rather than leave it to the LRU.
        let _ = INFLIGHT.remove(((hdr.tgid as u64) << 32) | old_pid as u32 as u64);
    }
    let off = OFFSETS.load();
    let Some(s) = scratch() else { return 0 };
    let buf = &mut s.buf;
    let mut hdr = hdr;

    let filename = kernel::<u64>(bprm, off.bprm_filename).unwrap_or(0);
    let filename_len = kernel_str(filename, &mut buf[TAIL..TAIL + PATH_CAP]).unwrap_or_else(|| {
        hdr.flags |= flags::PATH_FAULT;
        0
    });
    // execveat(dirfd, long relative path) execs "/dev/fd/N/<path>", which can exceed PATH_MAX.
    if kernel_str_truncated(filename, filename_len, PATH_CAP) {
        hdr.flags |= flags::PATH_TRUNCATED;
    }

    // The new image's argument block: written by the kernel a moment ago, so resident.
    // SAFETY: no arguments; returns the current task pointer.
    let task = unsafe { bpf_get_current_task() };
    let mm = kernel::<u64>(task, off.task_mm).unwrap_or(0);
    let start = kernel::<u64>(mm, off.mm_arg_start).unwrap_or(0);
    let end = kernel::<u64>(mm, off.mm_arg_end).unwrap_or(0);
    let mut argv_len = 0usize;
    if end > start {
        let mut n = (end - start) as usize;
        if n > ARGV_CAP {
            n = ARGV_CAP;
            hdr.flags |= flags::ARGV_TRUNCATED;
        }
        let at = argv_at(filename_len);
        if n > 0 && n <= ARGV_CAP && user_bytes(start, &mut buf[at..at + n]) {
            argv_len = n;
        } else {
            hdr.flags |= flags::ARGV_FAULT;
            bump(Stat::ReadFault);
        }
    }

    let size = argv_at(filename_len) + argv_len;
    hdr.size = size as u32;
    let ev = ExecEvent {
        hdr,
        old_tid: old_pid as u32,
        dirfd: AT_FDCWD,
        at_flags: 0,
        filename_len: filename_len as u16,
        argv_len: argv_len as u16,
    };
    put(buf, 0, ev);
    send(buf, size);
    0
}

/// A failed execve/execveat: its filename and the first arguments, read from the caller's
/// memory, which still exists because the exec failed.
#[inline(always)]
pub fn failed_exec(
    nr: u32,
    args: &[u64; 6],
    ret: i64,
    dirfd_arg: u8,
    path_arg: u8,
    argv_arg: u8,
    flags_arg: u8,
) {
    let Some(s) = scratch() else { return };
    let buf = &mut s.buf;
    let kind = EventKind::ExecFailed;
    let mut hdr = header(kind, nr, ret);

    let filename = arg(args, path_arg);
    let filename_len = user_str(filename, &mut buf[TAIL..TAIL + PATH_CAP]).unwrap_or_else(|| {
        hdr.flags |= flags::PATH_FAULT;
        0
    });
    if user_str_truncated(filename, filename_len, PATH_CAP) {
        hdr.flags |= flags::PATH_TRUNCATED;
    }

    // argv[i] pointers, each string copied right after the previous one.
    let argv = arg(args, argv_arg);
    let mut used = 0usize;
    let mut i = 0usize;
    while i < FAILED_EXEC_ARGS {
        let Some(p) = user::<u64>(argv + 8 * i as u64) else {
            break;
        };
        if p == 0 {
            break;
        }
        // Keep the write window inside the argv area whatever `used` is (verifier bound).
        if used > ARGV_CAP - FAILED_EXEC_ARG_CAP {
            hdr.flags |= flags::ARGV_TRUNCATED;
            break;
        }
        let at = argv_at(filename_len) + used;
        match user_str(p, &mut buf[at..at + FAILED_EXEC_ARG_CAP]) {
            Some(n) => {
                // A long argument is cut at FAILED_EXEC_ARG_CAP: say so, or the log shows
                // a shortened command line as if it were the real one.
                if user_str_truncated(p, n, FAILED_EXEC_ARG_CAP) {
                    hdr.flags |= flags::ARGV_TRUNCATED;
                }
                used += n + 1; // keep the NUL as the separator
            }
            None => {
                hdr.flags |= flags::ARGV_FAULT;
                break;
            }
        }
        i += 1;
    }
    if i == FAILED_EXEC_ARGS {
        hdr.flags |= flags::ARGV_TRUNCATED;
    }

    let size = argv_at(filename_len) + used;
    hdr.size = size as u32;
    let dirfd = if dirfd_arg == NO_ARG {
        AT_FDCWD
    } else {
        arg(args, dirfd_arg) as i32
    };
    let at_flags = if flags_arg == NO_ARG {
        0
    } else {
        arg(args, flags_arg) as u32
    };
    let ev = ExecEvent {
        hdr,
        old_tid: 0,
        dirfd,
        at_flags,
        filename_len: filename_len as u16,
        argv_len: used as u16,
    };
    put(buf, 0, ev);
    send(buf, size);
}
