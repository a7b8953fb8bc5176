//! DNS messages of traced processes, copied at syscall exit from the buffers of sends to and
//! receives from port 53 (c-ares, which Node links statically for `dns.resolve*`, and libc's
//! own resolver). A socket becomes a DNS socket (`DNS_SOCKETS`) when it connects or sends to
//! port 53; only its receives are followed, so the receives of ordinary UDP traffic cost one
//! map lookup at entry and nothing else.

use aya_ebpf::helpers::bpf_get_current_pid_tgid;
use permtrace_common::{
    event::{DnsEvent, EventKind, dns_dir, flags},
    limits::{DNS_CAP, SOCKADDR_CAP},
    syscalls::{Class, DNS_PORT_BE, MMSGHDR_SIZE},
};

use crate::{
    emit::{header, send},
    maps::DNS_SOCKETS,
    mem::{put, scratch, user, user_bytes},
};

const TAIL: usize = DnsEvent::TAIL;
const PAYLOAD_AT: usize = TAIL + SOCKADDR_CAP;
/// Messages of one sendmmsg/recvmmsg looked at: libc sends its A and AAAA queries as two.
const MMSG_MAX: u64 = 4;
/// Bytes of a peer address copied: enough for a `sockaddr_in6`.
const PEER_CAP: usize = 28;

#[inline(always)]
fn socket_key(fd: i32) -> u64 {
    (bpf_get_current_pid_tgid() & 0xffff_ffff_0000_0000) | fd as u32 as u64
}

#[inline(always)]
pub fn is_dns_socket(fd: i32) -> bool {
    DNS_SOCKETS.get_ptr(socket_key(fd)).is_some()
}

/// `socket()` returned `fd`: whatever an earlier socket on that number was, it is gone.
#[inline(always)]
pub fn forget_socket(fd: i32) {
    let _ = DNS_SOCKETS.remove(socket_key(fd));
}

/// A connect (attempt) of `fd` to the address whose first bytes are `prefix`.
#[inline(always)]
pub fn note_connect(fd: i32, prefix: &[u8]) {
    if prefix.len() >= 4 && is_dns_prefix(prefix[0], prefix[2], prefix[3]) {
        let _ = DNS_SOCKETS.insert(socket_key(fd), 1, 0);
    } else {
        forget_socket(fd);
    }
}

/// AF_INET or AF_INET6 with port 53 (the family is little-endian, the port big-endian).
#[inline(always)]
fn is_dns_prefix(family_lo: u8, port_hi: u8, port_lo: u8) -> bool {
    (family_lo == libc_af::INET || family_lo == libc_af::INET6) && [port_hi, port_lo] == DNS_PORT_BE
}

mod libc_af {
    pub const INET: u8 = 2;
    pub const INET6: u8 = 10;
}

#[inline(always)]
fn addr_is_dns(addr: u64) -> bool {
    if addr == 0 {
        return false;
    }
    match user::<[u8; 4]>(addr) {
        Some(b) => is_dns_prefix(b[0], b[2], b[3]),
        None => false,
    }
}

/// At entry: whether a send or receive may carry DNS, so its arguments are worth stashing.
#[inline(always)]
pub fn worth_following(class: Class, args: &[u64; 6]) -> bool {
    let fd = args[0] as i32;
    match class {
        Class::RecvFrom | Class::RecvMsg | Class::RecvMmsg => is_dns_socket(fd),
        // msghdr.msg_name is the first field of the first mmsghdr: an addressed send may be
        // to port 53, which only its exit can tell.
        Class::SendMmsg => user::<u64>(args[1]) != Some(0) || is_dns_socket(fd),
        _ => true,
    }
}

/// At exit: copies the DNS message(s) the call sent or received, if it was DNS traffic.
#[inline(always)]
pub fn dns_exit(nr: u32, class: Class, args: &[u64; 6], ret: i64) {
    if ret <= 0 {
        return;
    }
    let fd = args[0] as i32;
    let known = is_dns_socket(fd);
    match class {
        Class::SendTo => {
            let len = if (ret as u64) < args[2] {
                ret as u64
            } else {
                args[2]
            };
            let m = Msg {
                addr: args[4],
                addr_len: args[5],
                buf: args[1],
                len,
            };
            message(nr, fd, dns_dir::SENT, &m, known, ret);
        }
        Class::RecvFrom => {
            let addr_len = if args[4] != 0 && args[5] != 0 {
                user::<u32>(args[5]).unwrap_or(0) as u64
            } else {
                0
            };
            let m = Msg {
                addr: args[4],
                addr_len,
                buf: args[1],
                len: ret as u64,
            };
            message(nr, fd, dns_dir::RECEIVED, &m, known, ret);
        }
        Class::SendMsg => msghdr(nr, fd, dns_dir::SENT, args[1], ret as u64, known, ret),
        Class::RecvMsg => msghdr(nr, fd, dns_dir::RECEIVED, args[1], ret as u64, known, ret),
        Class::SendMmsg | Class::RecvMmsg => {
            let dir = if matches!(class, Class::SendMmsg) {
                dns_dir::SENT
            } else {
                dns_dir::RECEIVED
            };
            let mut i = 0u64;
            while i < MMSG_MAX && i < ret as u64 {
                let h = args[1] + i * MMSGHDR_SIZE;
                // mmsghdr.msg_len, right after the 56-byte msghdr.
                let len = user::<u32>(h + 56).unwrap_or(0) as u64;
                msghdr(nr, fd, dir, h, len, known, ret);
                i += 1;
            }
        }
        _ => {}
    }
}

struct Msg {
    addr: u64,
    addr_len: u64,
    buf: u64,
    len: u64,
}

/// One `struct msghdr`: its address and first iovec (DNS messages are sent in one piece).
/// The address is checked first: an ordinary datagram costs two small reads.
#[inline(always)]
fn msghdr(nr: u32, fd: i32, dir: u32, hdr: u64, len: u64, known: bool, ret: i64) {
    let addr = user::<u64>(hdr).unwrap_or(0);
    if !known && !addr_is_dns(addr) {
        return;
    }
    let addr_len = user::<u32>(hdr + 8).unwrap_or(0) as u64;
    let iov = user::<u64>(hdr + 16).unwrap_or(0);
    let base = user::<u64>(iov).unwrap_or(0);
    let iov_len = user::<u64>(iov + 8).unwrap_or(0);
    let m = Msg {
        addr,
        addr_len,
        buf: base,
        len: if len < iov_len { len } else { iov_len },
    };
    message(nr, fd, dir, &m, known, ret);
}

#[inline(always)]
fn message(nr: u32, fd: i32, dir: u32, m: &Msg, known: bool, ret: i64) {
    if !known {
        if !addr_is_dns(m.addr) {
            return;
        }
        // An unconnected socket sending to port 53 (musl's resolver): its answers come back
        // on the same socket.
        if dir == dns_dir::SENT {
            let _ = DNS_SOCKETS.insert(socket_key(fd), 1, 0);
        }
    }
    if m.buf == 0 || m.len == 0 {
        return;
    }
    let Some(s) = scratch() else { return };
    let buf = &mut s.buf;
    let mut hdr = header(EventKind::Dns, nr, ret);

    let mut peer = 0usize;
    if m.addr != 0 && m.addr_len > 0 {
        peer = if m.addr_len as usize > PEER_CAP {
            PEER_CAP
        } else {
            m.addr_len as usize
        };
        if peer == 0 || peer > PEER_CAP || !user_bytes(m.addr, &mut buf[TAIL..TAIL + peer]) {
            peer = 0;
        }
    }

    let mut n = m.len as usize;
    if n > DNS_CAP {
        n = DNS_CAP;
        hdr.flags |= flags::PAYLOAD_TRUNCATED;
    }
    if n == 0 || n > DNS_CAP || !user_bytes(m.buf, &mut buf[PAYLOAD_AT..PAYLOAD_AT + n]) {
        return;
    }

    let size = PAYLOAD_AT + n;
    hdr.size = size as u32;
    let ev = DnsEvent {
        hdr,
        fd,
        direction: dir,
        addr_len: peer as u32,
        payload_len: n as u32,
    };
    put(buf, 0, ev);
    send(buf, size);
}
