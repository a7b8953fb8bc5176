//! Events for collector tests, built in the kernel's wire format (so the decoder is part of
//! what is tested), and the small setups the name and runtime tests share.

pub use super::*;
pub use crate::{
    access::Access,
    capture::{NetOp, NetRecord},
    event::{Body, Event, ExecCall, RawPath},
    wire::{decode, encode},
};
pub use permtrace_common::{
    event::feature,
    syscalls::{AT_FDCWD, nr},
};

pub fn ev(tgid: u32, tid: u32, body: Body) -> Event {
    Event {
        ts_ns: 5_000_000,
        tgid,
        tid,
        body,
    }
}

pub fn wire(tid: u32, record: Vec<u8>) -> Event {
    let mut e = decode(&record).expect("a valid record");
    e.tid = tid;
    e
}

pub fn inet(ip: [u8; 4], port: u16) -> Vec<u8> {
    let mut v = (libc::AF_INET as u16).to_ne_bytes().to_vec();
    v.extend_from_slice(&port.to_be_bytes());
    v.extend_from_slice(&ip);
    v.extend_from_slice(&[0; 8]);
    v
}

/// A collector whose root 100 runs node; `attached`: it was running before the capture.
pub fn node_collector(attached: bool) -> Collector {
    let mut c = Collector::new(Target::default(), Window::default(), Clock::default());
    let program = attached.then(|| ("/usr/bin/node".into(), vec!["node".into(), "a.js".into()]));
    c.seed(
        100,
        ProcessSeed {
            state: ProcState::with_cwd("/srv".into()),
            program,
        },
        0,
    );
    if !attached {
        c.ingest(&ev(
            100,
            100,
            Body::Exec(ExecCall {
                ret: 0,
                nr: nr::EXECVE,
                filename: RawPath::new("/usr/bin/node"),
                argv: vec!["node".into(), "a.js".into()],
                argv_truncated: false,
                dirfd: AT_FDCWD,
                at_flags: 0,
            }),
        ));
    }
    c
}

pub fn resolve(c: &mut Collector, tgid: u32, tid: u32, name: &str, ips: &[[u8; 4]]) {
    c.ingest(&wire(tid, encode::lookup(tgid, true, name, 0, &[])));
    let addrs: Vec<(u32, &[u8])> = ips
        .iter()
        .map(|ip| (libc::AF_INET as u32, &ip[..]))
        .collect();
    c.ingest(&wire(tid, encode::lookup(tgid, false, name, 0, &addrs)));
}

pub fn connect(c: &mut Collector, tgid: u32, ip: [u8; 4], port: u16) {
    c.ingest(&wire(
        tgid,
        encode::sock(tgid, nr::CONNECT, 30, &inet(ip, port), -115),
    ));
}

pub fn endpoint(cap: &Capture, address: &str, port: u16) -> NetRecord {
    cap.network
        .iter()
        .find(|n| n.op == Some(NetOp::Connect) && n.address == address && n.port == Some(port))
        .unwrap_or_else(|| panic!("no connect to {address}:{port} in {:?}", cap.network))
        .clone()
}
