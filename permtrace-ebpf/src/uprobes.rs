//! Uprobes: libc's `getaddrinfo` (the name a process asked for and the addresses it got),
//! and the native entry points of Node runtime features that no syscall reveals (a Worker
//! thread is just a clone). Userspace attaches them per binary; every program first checks
//! that the caller is traced, so other processes using the same libc or node pay only that.

use aya_ebpf::{
    helpers::bpf_get_current_pid_tgid,
    macros::{uprobe, uretprobe},
    programs::{ProbeContext, RetProbeContext},
};
use permtrace_common::{
    event::{EventKind, LookupAddr, LookupEvent, RuntimeEvent, flags, phase},
    limits::{LOOKUP_ADDRS, NAME_CAP},
    maps::Stat,
};

use crate::{
    emit::{bump, header, send},
    maps::{LOOKUPS, LookupCall},
    mem::{attach_cookie, copy_value, put, scratch, user, user_bytes, user_str},
    tree,
};

const TAIL: usize = LookupEvent::TAIL;
const ADDRS_AT: usize = TAIL + NAME_CAP;
const ADDR_SIZE: usize = core::mem::size_of::<LookupAddr>();

const AF_INET: u32 = 2;
const AF_INET6: u32 = 10;
const SOCK_STREAM: u32 = 1;

/// `int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
/// struct addrinfo **res)`.
#[uprobe]
pub fn getaddrinfo_enter(ctx: ProbeContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !tree::is_tracked((pid_tgid >> 32) as u32) {
        return 0;
    }
    let call = LookupCall {
        name: ctx.arg::<u64>(0).unwrap_or(0),
        res: ctx.arg::<u64>(3).unwrap_or(0),
    };
    let _ = LOOKUPS.insert(pid_tgid, call, 0);
    // The entry opens the window in which this thread's file opens are libc's own.
    emit_lookup(phase::ENTER, call.name, 0, 0);
    0
}

#[uretprobe]
pub fn getaddrinfo_return(ctx: RetProbeContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let Some(slot) = LOOKUPS.get_ptr(pid_tgid) else {
        return 0;
    };
    // Copied out before the entry is removed.
    let call = copy_value(slot);
    let _ = LOOKUPS.remove(pid_tgid);
    let ret: i32 = ctx.ret();
    let list = if ret == 0 {
        user::<u64>(call.res).unwrap_or(0)
    } else {
        0
    };
    emit_lookup(phase::RETURN, call.name, ret as i64, list);
    0
}

/// One lookup event: the name, and at return the addresses of the result list at `list`.
#[inline(always)]
fn emit_lookup(ph: u32, name: u64, ret: i64, list: u64) {
    let Some(s) = scratch() else { return };
    let buf = &mut s.buf;
    let mut hdr = header(EventKind::Lookup, 0, ret);

    let name_len = match user_str(name, &mut buf[TAIL..TAIL + NAME_CAP]) {
        Some(n) => {
            if n + 1 >= NAME_CAP {
                hdr.flags |= flags::NAME_TRUNCATED;
            }
            n
        }
        None => {
            // A NULL name (service-only lookup) or unreadable memory.
            if name != 0 {
                hdr.flags |= flags::NAME_TRUNCATED;
                bump(Stat::ReadFault);
            }
            0
        }
    };

    // struct addrinfo { int ai_flags, ai_family, ai_socktype, ai_protocol; socklen_t
    // ai_addrlen; struct sockaddr *ai_addr; char *ai_canonname; struct addrinfo *ai_next; }
    // Entry i goes to slot i whatever it holds, so the verifier sees one loop counter and no
    // data-dependent state; entries that are not kept get family 0 and userspace skips them.
    let mut ai = list;
    let mut count = 0usize;
    while count < LOOKUP_ADDRS && ai != 0 {
        let off = ADDRS_AT + count * ADDR_SIZE;
        let family = user::<u32>(ai + 4).unwrap_or(0);
        let socktype = user::<u32>(ai + 8).unwrap_or(0);
        let sa = user::<u64>(ai + 24).unwrap_or(0);
        // glibc lists an address once per socket type when the caller names none.
        let keep = socktype == SOCK_STREAM || socktype == 0;
        let kept = match family {
            AF_INET if keep => user_bytes(sa + 4, &mut buf[off + 4..off + 8]),
            AF_INET6 if keep => user_bytes(sa + 8, &mut buf[off + 4..off + 20]),
            _ => false,
        };
        put(buf, off, if kept { family } else { 0u32 });
        ai = user::<u64>(ai + 40).unwrap_or(0);
        count += 1;
    }
    if ai != 0 {
        hdr.flags |= flags::ADDRS_TRUNCATED;
    }

    let size = if count > 0 {
        ADDRS_AT + count * ADDR_SIZE
    } else {
        TAIL + name_len
    };
    hdr.size = size as u32;
    put(
        buf,
        0,
        LookupEvent {
            hdr,
            phase: ph,
            name_len: name_len as u16,
            addr_count: count as u16,
        },
    );
    send(buf, size);
}

/// Entry of a Node runtime feature's native function; the attach cookie says which.
#[uprobe]
pub fn node_feature(ctx: ProbeContext) -> u32 {
    emit_runtime(attach_cookie(ctx.regs.cast()) as u32, phase::ENTER);
    0
}

/// Return of a Node runtime feature's native function (addons: closes the dlopen window).
#[uretprobe]
pub fn node_feature_return(ctx: RetProbeContext) -> u32 {
    emit_runtime(attach_cookie(ctx.regs.cast()) as u32, phase::RETURN);
    0
}

#[inline(always)]
fn emit_runtime(feature: u32, ph: u32) {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !tree::is_tracked((pid_tgid >> 32) as u32) {
        return;
    }
    let Some(s) = scratch() else { return };
    let mut hdr = header(EventKind::Runtime, 0, 0);
    hdr.size = core::mem::size_of::<RuntimeEvent>() as u32;
    put(
        &mut s.buf,
        0,
        RuntimeEvent {
            hdr,
            feature,
            phase: ph,
        },
    );
    send(&s.buf, hdr.size as usize);
}
