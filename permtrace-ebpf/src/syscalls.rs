//! `sys_enter` / `sys_exit`: stash the arguments of interesting syscalls of traced threads,
//! and at exit hand them with the result to the handler of their class.
//!
//! Paths and addresses are read at exit, not entry: at entry the string may sit in a page
//! that is not faulted in yet (a fresh binary's .rodata), and a BPF program cannot fault.
//! By exit the kernel has copied it, so it is resident.

use aya_ebpf::{
    helpers::bpf_get_current_pid_tgid, macros::btf_tracepoint, programs::BtfTracePointContext,
};
use permtrace_common::{
    maps::Stat,
    syscalls::{
        AT_EMPTY_PATH, Class, F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD, FIOCLEX, FIONCLEX, NO_ARG,
        class_of, nr,
    },
};

use crate::{
    dns,
    emit::bump,
    exec, files,
    maps::{INFLIGHT, Inflight},
    mem::{regs_word, user},
    sockets, tree,
};

/// Word indices of x86_64 `struct pt_regs` (arch/x86/include/asm/ptrace.h, a stable ABI).
mod regs {
    pub const R10: usize = 7;
    pub const R9: usize = 8;
    pub const R8: usize = 9;
    pub const DX: usize = 12;
    pub const SI: usize = 13;
    pub const DI: usize = 14;
    pub const ORIG_AX: usize = 15;
}

#[btf_tracepoint(function = "sys_enter")]
pub fn sys_enter(ctx: BtfTracePointContext) -> u32 {
    let id: i64 = ctx.arg(1);
    let Some(class) = class_of(id as u32) else {
        return 0;
    };
    let pid_tgid = bpf_get_current_pid_tgid();
    if !tree::is_tracked((pid_tgid >> 32) as u32) {
        return 0;
    }
    let r: *const u64 = ctx.arg(0);
    let args = [
        regs_word(r, regs::DI),
        regs_word(r, regs::SI),
        regs_word(r, regs::DX),
        regs_word(r, regs::R10),
        regs_word(r, regs::R8),
        regs_word(r, regs::R9),
    ];
    if !worth_following(id as u32, class, &args) {
        return 0;
    }
    let inflight = Inflight {
        nr: id as u32,
        _pad: 0,
        args,
    };
    if INFLIGHT.insert(pid_tgid, inflight, 0).is_err() {
        bump(Stat::InflightFull);
    }
    0
}

/// Filters calls that carry nothing permtrace needs, before paying for a stash: fd-only
/// `fstat`s that glibc and libuv issue as `newfstatat`/`statx(fd, "", AT_EMPTY_PATH)`,
/// `futimens` (`utimensat` with a NULL path), `fcntl`s that neither duplicate an fd nor
/// change its close-on-exec bit, and every `ioctl` but FIOCLEX/FIONCLEX (libuv issues an
/// `ioctl(FIONBIO)` per socket; those must stay on the cheap path).
#[inline(always)]
fn worth_following(nr: u32, class: Class, args: &[u64; 6]) -> bool {
    match class {
        Class::Path(a) => {
            let path = arg(args, a.path);
            if path == 0 {
                return false;
            }
            if a.flags != NO_ARG && arg(args, a.flags) & AT_EMPTY_PATH != 0 {
                // An empty path with AT_EMPTY_PATH is an fd operation. If the first byte
                // cannot be read now, keep the call and decide at exit.
                return user::<u8>(path) != Some(0);
            }
            true
        }
        Class::Fd if nr == nr::FCNTL => matches!(args[1], F_DUPFD | F_DUPFD_CLOEXEC | F_SETFD),
        Class::Fd if nr == nr::IOCTL => matches!(args[1] as u32 as u64, FIOCLEX | FIONCLEX),
        // A send to the connected peer: its address was reported by connect, so only the
        // payload of a DNS socket is of interest.
        Class::SendTo => args[4] != 0 || dns::is_dns_socket(args[0] as i32),
        Class::RecvFrom | Class::RecvMsg | Class::SendMmsg | Class::RecvMmsg => {
            dns::worth_following(class, args)
        }
        _ => true,
    }
}

#[inline(always)]
pub fn arg(args: &[u64; 6], index: u8) -> u64 {
    match index {
        0..=5 => args[index as usize],
        _ => 0,
    }
}

#[btf_tracepoint(function = "sys_exit")]
pub fn sys_exit(ctx: BtfTracePointContext) -> u32 {
    let r: *const u64 = ctx.arg(0);
    let nr = regs_word(r, regs::ORIG_AX) as u32;
    let Some(class) = class_of(nr) else {
        return 0;
    };
    let pid_tgid = bpf_get_current_pid_tgid();
    let Some(slot) = INFLIGHT.get_ptr(pid_tgid) else {
        return 0;
    };
    // SAFETY: a live map value; copied out before the entry is removed.
    let inflight = unsafe { *slot };
    let _ = INFLIGHT.remove(pid_tgid);
    if inflight.nr != nr {
        return 0;
    }
    let ret: i64 = ctx.arg(1);
    let args = &inflight.args;
    match class {
        Class::Path(a) => files::path_exit(nr, a, args, ret),
        Class::OpenAt2 => files::openat2_exit(args, ret),
        Class::Fd => files::fd_exit(nr, args, ret),
        Class::Socket | Class::SockAddr | Class::Listen => sockets::sock_exit(nr, class, args, ret),
        Class::SendTo | Class::SendMsg => {
            sockets::sock_exit(nr, class, args, ret);
            dns::dns_exit(nr, class, args, ret);
        }
        Class::SendMmsg | Class::RecvFrom | Class::RecvMsg | Class::RecvMmsg => {
            dns::dns_exit(nr, class, args, ret)
        }
        Class::Exec {
            dirfd,
            path,
            argv,
            flags,
        } => {
            // A successful exec is reported by sched_process_exec, from kernel memory.
            if ret < 0 {
                exec::failed_exec(nr, args, ret, dirfd, path, argv, flags);
            }
        }
    }
    0
}
