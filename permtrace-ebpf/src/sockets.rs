//! Events for socket creation, connect, bind, listen and addressed sends.

use permtrace_common::{
    event::{EventKind, SockEvent, flags},
    limits::SOCKADDR_CAP,
    maps::Stat,
    syscalls::{Class, nr},
};

use crate::{
    dns,
    emit::{bump, header, send},
    mem::{put, scratch, user, user_bytes},
};

const TAIL: usize = SockEvent::TAIL;
const EINPROGRESS: i64 = 115;

#[inline(always)]
pub fn sock_exit(nr: u32, class: Class, args: &[u64; 6], ret: i64) {
    let (addr, addr_len) = match class {
        Class::SockAddr => (args[1], args[2]),
        Class::SendTo => (args[4], args[5]),
        Class::SendMsg => {
            // struct msghdr { void *msg_name; socklen_t msg_namelen; ... }
            let name = user::<u64>(args[1]).unwrap_or(0);
            let len = user::<u32>(args[1] + 8).unwrap_or(0) as u64;
            (name, len)
        }
        _ => (0, 0),
    };
    // A send without an address goes to the connected peer, already reported by connect.
    if matches!(class, Class::SendTo | Class::SendMsg) && addr == 0 {
        return;
    }
    let Some(s) = scratch() else { return };
    let buf = &mut s.buf;
    let mut hdr = header(EventKind::Sock, nr, ret);

    let mut n = 0usize;
    if addr != 0 && addr_len > 0 {
        n = if addr_len as usize > SOCKADDR_CAP {
            SOCKADDR_CAP
        } else {
            addr_len as usize
        };
        // The verifier needs the copy size bounded and non-zero in this very register.
        if n == 0 || n > SOCKADDR_CAP || !user_bytes(addr, &mut buf[TAIL..TAIL + n]) {
            hdr.flags |= flags::ADDR_FAULT;
            bump(Stat::ReadFault);
            n = 0;
        }
    }

    // Connected DNS sockets send and receive without an address: remember which they are.
    if nr == nr::CONNECT && (ret == 0 || ret == -EINPROGRESS) && n >= 4 && n <= SOCKADDR_CAP {
        dns::note_connect(args[0] as i32, &buf[TAIL..TAIL + 4]);
    } else if nr == nr::SOCKET && ret >= 0 {
        dns::forget_socket(ret as i32);
    }

    let (domain, sock_type) = match nr {
        nr::SOCKET => (args[0] as u32, args[1] as u32),
        nr::LISTEN => (0, args[1] as u32),
        _ => (0, 0),
    };
    hdr.size = (TAIL + n) as u32;
    let fd = if nr == nr::SOCKET {
        ret as i32
    } else {
        args[0] as i32
    };
    let ev = SockEvent {
        hdr,
        fd,
        domain,
        sock_type,
        addr_len: n as u32,
    };
    put(buf, 0, ev);
    send(buf, TAIL + n);
}
