//! Decoding ring buffer records into [`Event`]s.
//!
//! This is the one place that knows the byte layout of `permtrace_common::event`. Fields are
//! read one by one at offsets taken from those very structs (`offset_of!`), so a layout
//! change cannot silently shift a field, and a record that is too short or of an unknown
//! kind is an error, never undefined behaviour.

use std::{
    mem::{offset_of, size_of},
    net::IpAddr,
};

use permtrace_common::{
    event::{
        DnsEvent, EventHeader, EventKind, ExecEvent, ExitEvent, FdEvent, ForkEvent, LookupAddr,
        LookupEvent, PathEvent, RuntimeEvent, SockEvent, dns_dir, flags, phase,
    },
    limits::{NAME_CAP, SOCKADDR_CAP},
};

use crate::{
    event::{
        Body, DnsMessage, Event, ExecCall, FdCall, Feature, Lookup, PathCall, RawPath, RuntimeCall,
        SockCall,
    },
    pathbytes::PathBytes,
};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("record of {0} bytes is shorter than an event header")]
    Short(usize),
    #[error("unknown event kind {0}")]
    UnknownKind(u32),
    #[error("unknown runtime feature {0}")]
    UnknownFeature(u32),
    #[error("{kind:?} record needs {need} bytes, has {have}")]
    Truncated {
        kind: EventKind,
        need: usize,
        have: usize,
    },
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes<const N: usize>(&self, off: usize) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.0[off..off + N]);
        out
    }
    fn u16(&self, off: usize) -> u16 {
        u16::from_ne_bytes(self.bytes(off))
    }
    fn u32(&self, off: usize) -> u32 {
        u32::from_ne_bytes(self.bytes(off))
    }
    fn i32(&self, off: usize) -> i32 {
        i32::from_ne_bytes(self.bytes(off))
    }
    fn u64(&self, off: usize) -> u64 {
        u64::from_ne_bytes(self.bytes(off))
    }
    fn i64(&self, off: usize) -> i64 {
        i64::from_ne_bytes(self.bytes(off))
    }
    /// `len` bytes at `off`, or an error naming what is missing.
    fn tail(&self, kind: EventKind, off: usize, len: usize) -> Result<&[u8], DecodeError> {
        self.0.get(off..off + len).ok_or(DecodeError::Truncated {
            kind,
            need: off + len,
            have: self.0.len(),
        })
    }
}

struct Header {
    kind: EventKind,
    flags: u32,
    tgid: u32,
    tid: u32,
    ts_ns: u64,
    ret: i64,
    nr: u32,
}

pub fn decode(record: &[u8]) -> Result<Event, DecodeError> {
    if record.len() < size_of::<EventHeader>() {
        return Err(DecodeError::Short(record.len()));
    }
    let r = Reader(record);
    let raw_kind = r.u32(offset_of!(EventHeader, kind));
    let kind = EventKind::try_from(raw_kind).map_err(DecodeError::UnknownKind)?;
    let h = Header {
        kind,
        flags: r.u32(offset_of!(EventHeader, flags)),
        tgid: r.u32(offset_of!(EventHeader, tgid)),
        tid: r.u32(offset_of!(EventHeader, tid)),
        ts_ns: r.u64(offset_of!(EventHeader, ts_ns)),
        ret: r.i64(offset_of!(EventHeader, ret)),
        nr: r.u32(offset_of!(EventHeader, nr)),
    };
    let fixed = match kind {
        EventKind::Path => size_of::<PathEvent>(),
        EventKind::Fd => size_of::<FdEvent>(),
        EventKind::Sock => size_of::<SockEvent>(),
        EventKind::Exec | EventKind::ExecFailed => size_of::<ExecEvent>(),
        EventKind::Fork => size_of::<ForkEvent>(),
        EventKind::Exit => size_of::<ExitEvent>(),
        EventKind::Dns => size_of::<DnsEvent>(),
        EventKind::Lookup => size_of::<LookupEvent>(),
        EventKind::Runtime => size_of::<RuntimeEvent>(),
    };
    r.tail(kind, 0, fixed)?;
    let body = match kind {
        EventKind::Path => Body::Path(path_call(&r, &h)?),
        EventKind::Fd => Body::Fd(FdCall {
            nr: h.nr,
            ret: h.ret,
            a: r.i64(offset_of!(FdEvent, a)),
            b: r.i64(offset_of!(FdEvent, b)),
            c: r.i64(offset_of!(FdEvent, c)),
        }),
        EventKind::Sock => {
            let len = r.u32(offset_of!(SockEvent, addr_len)) as usize;
            Body::Sock(SockCall {
                nr: h.nr,
                ret: h.ret,
                fd: r.i32(offset_of!(SockEvent, fd)),
                domain: r.u32(offset_of!(SockEvent, domain)),
                sock_type: r.u32(offset_of!(SockEvent, sock_type)),
                addr: r
                    .tail(kind, SockEvent::TAIL, len.min(SOCKADDR_CAP))?
                    .to_vec(),
                addr_fault: h.flags & flags::ADDR_FAULT != 0,
            })
        }
        EventKind::Exec | EventKind::ExecFailed => Body::Exec(exec_call(&r, &h)?),
        EventKind::Fork => Body::Fork {
            child: r.u32(offset_of!(ForkEvent, child_tgid)),
        },
        EventKind::Exit => Body::Exit {
            status: r.u32(offset_of!(ExitEvent, exit_code)),
        },
        EventKind::Dns => {
            let addr_len = (r.u32(offset_of!(DnsEvent, addr_len)) as usize).min(SOCKADDR_CAP);
            let payload_len = r.u32(offset_of!(DnsEvent, payload_len)) as usize;
            Body::Dns(DnsMessage {
                fd: r.i32(offset_of!(DnsEvent, fd)),
                sent: r.u32(offset_of!(DnsEvent, direction)) == dns_dir::SENT,
                peer: r.tail(kind, DnsEvent::TAIL, addr_len)?.to_vec(),
                payload: r
                    .tail(kind, DnsEvent::TAIL + SOCKADDR_CAP, payload_len)?
                    .to_vec(),
                truncated: h.flags & flags::PAYLOAD_TRUNCATED != 0,
            })
        }
        EventKind::Lookup => Body::Lookup(lookup(&r, &h)?),
        EventKind::Runtime => {
            let id = r.u32(offset_of!(RuntimeEvent, feature));
            Body::Runtime(RuntimeCall {
                feature: Feature::from_id(id).ok_or(DecodeError::UnknownFeature(id))?,
                enter: r.u32(offset_of!(RuntimeEvent, phase)) == phase::ENTER,
            })
        }
    };
    Ok(Event {
        ts_ns: h.ts_ns,
        tgid: h.tgid,
        tid: h.tid,
        body,
    })
}

fn raw_path(bytes: &[u8], truncated: bool, fault: bool) -> RawPath {
    RawPath {
        bytes: PathBytes::new(bytes),
        truncated,
        fault,
    }
}

fn path_call(r: &Reader<'_>, h: &Header) -> Result<PathCall, DecodeError> {
    let len = r.u16(offset_of!(PathEvent, path_len)) as usize;
    let len2 = r.u16(offset_of!(PathEvent, path2_len)) as usize;
    let path = raw_path(
        r.tail(h.kind, PathEvent::TAIL, len)?,
        h.flags & flags::PATH_TRUNCATED != 0,
        h.flags & flags::PATH_FAULT != 0,
    );
    let path2 = if h.flags & flags::HAS_PATH2 != 0 {
        Some(raw_path(
            r.tail(h.kind, PathEvent::TAIL + len, len2)?,
            h.flags & flags::PATH2_TRUNCATED != 0,
            h.flags & flags::PATH2_FAULT != 0,
        ))
    } else {
        None
    };
    Ok(PathCall {
        nr: h.nr,
        ret: h.ret,
        dirfd: r.i32(offset_of!(PathEvent, dirfd)),
        path,
        dirfd2: r.i32(offset_of!(PathEvent, dirfd2)),
        path2,
        flags: r.u64(offset_of!(PathEvent, flags)),
        mode: r.u32(offset_of!(PathEvent, mode)),
    })
}

fn lookup(r: &Reader<'_>, h: &Header) -> Result<Lookup, DecodeError> {
    let name_len = (r.u16(offset_of!(LookupEvent, name_len)) as usize).min(NAME_CAP);
    let count = r.u16(offset_of!(LookupEvent, addr_count)) as usize;
    let name = r.tail(h.kind, LookupEvent::TAIL, name_len)?;
    let size = size_of::<LookupAddr>();
    let raw = if count == 0 {
        &[][..]
    } else {
        r.tail(h.kind, LookupEvent::TAIL + NAME_CAP, count * size)?
    };
    let mut addrs = Vec::new();
    for entry in raw.chunks_exact(size) {
        let family = u32::from_ne_bytes(entry[..4].try_into().expect("4 bytes"));
        let bytes = &entry[offset_of!(LookupAddr, addr)..];
        let ip = match family as i32 {
            libc::AF_INET => IpAddr::from([bytes[0], bytes[1], bytes[2], bytes[3]]),
            libc::AF_INET6 => IpAddr::from(<[u8; 16]>::try_from(&bytes[..16]).expect("16 bytes")),
            _ => continue,
        };
        if !addrs.contains(&ip) {
            addrs.push(ip);
        }
    }
    Ok(Lookup {
        enter: r.u32(offset_of!(LookupEvent, phase)) == phase::ENTER,
        ret: h.ret,
        name: String::from_utf8_lossy(name).into_owned(),
        name_truncated: h.flags & flags::NAME_TRUNCATED != 0,
        addrs,
        addrs_truncated: h.flags & flags::ADDRS_TRUNCATED != 0,
    })
}

fn exec_call(r: &Reader<'_>, h: &Header) -> Result<ExecCall, DecodeError> {
    let name_len = r.u16(offset_of!(ExecEvent, filename_len)) as usize;
    let argv_len = r.u16(offset_of!(ExecEvent, argv_len)) as usize;
    let filename = raw_path(
        r.tail(h.kind, ExecEvent::TAIL, name_len)?,
        h.flags & flags::PATH_TRUNCATED != 0,
        h.flags & flags::PATH_FAULT != 0,
    );
    let blob = r.tail(h.kind, ExecEvent::TAIL + name_len, argv_len)?;
    let blob = blob.strip_suffix(&[0]).unwrap_or(blob);
    let argv = if blob.is_empty() {
        Vec::new()
    } else {
        blob.split(|&b| b == 0).map(PathBytes::new).collect()
    };
    Ok(ExecCall {
        ret: h.ret,
        nr: h.nr,
        filename,
        argv,
        argv_truncated: h.flags & (flags::ARGV_TRUNCATED | flags::ARGV_FAULT) != 0,
        dirfd: r.i32(offset_of!(ExecEvent, dirfd)),
        at_flags: r.u32(offset_of!(ExecEvent, at_flags)),
    })
}

/// Encoders producing the exact bytes the kernel side writes, for tests of the decoder and
/// of everything downstream of it.
#[cfg(test)]
pub mod encode {
    use super::*;

    fn put<T: Copy>(buf: &mut Vec<u8>, off: usize, v: T) {
        let n = size_of::<T>();
        if buf.len() < off + n {
            buf.resize(off + n, 0);
        }
        // SAFETY: T is one of the plain repr(C) event structs; writing its bytes is sound.
        let bytes = unsafe { std::slice::from_raw_parts((&raw const v).cast::<u8>(), n) };
        buf[off..off + n].copy_from_slice(bytes);
    }

    fn hdr(kind: EventKind, tgid: u32, nr: u32, ret: i64) -> EventHeader {
        EventHeader {
            kind: kind as u32,
            tgid,
            tid: tgid,
            ts_ns: 1,
            ret,
            nr,
            ..Default::default()
        }
    }

    pub fn path(
        tgid: u32,
        nr: u32,
        dirfd: i32,
        p: &str,
        p2: Option<&str>,
        flags: u64,
        ret: i64,
    ) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut ev = PathEvent {
            hdr: hdr(EventKind::Path, tgid, nr, ret),
            flags,
            dirfd,
            dirfd2: -100,
            path_len: p.len() as u16,
            ..Default::default()
        };
        buf.resize(PathEvent::TAIL, 0);
        buf.extend_from_slice(p.as_bytes());
        if let Some(p2) = p2 {
            buf.extend_from_slice(p2.as_bytes());
            ev.path2_len = p2.len() as u16;
            ev.hdr.flags |= flags::HAS_PATH2;
        }
        ev.hdr.size = buf.len() as u32;
        put(&mut buf, 0, ev);
        buf
    }

    pub fn exec(tgid: u32, kind: EventKind, filename: &str, argv: &[&str], ret: i64) -> Vec<u8> {
        let mut buf = vec![0; ExecEvent::TAIL];
        buf.extend_from_slice(filename.as_bytes());
        let mut blob = Vec::new();
        for a in argv {
            blob.extend_from_slice(a.as_bytes());
            blob.push(0);
        }
        buf.extend_from_slice(&blob);
        let mut h = hdr(kind, tgid, 59, ret);
        h.size = buf.len() as u32;
        let ev = ExecEvent {
            hdr: h,
            dirfd: -100,
            filename_len: filename.len() as u16,
            argv_len: blob.len() as u16,
            ..Default::default()
        };
        put(&mut buf, 0, ev);
        buf
    }

    /// A getaddrinfo entry (`addrs` empty) or return, as the uprobes write it: one entry per
    /// `(family, bytes)`, family 0 for a skipped entry.
    pub fn lookup(tgid: u32, enter: bool, name: &str, ret: i64, addrs: &[(u32, &[u8])]) -> Vec<u8> {
        let mut buf = vec![0; LookupEvent::TAIL];
        buf.extend_from_slice(name.as_bytes());
        if !addrs.is_empty() {
            buf.resize(LookupEvent::TAIL + NAME_CAP, 0);
            for (family, bytes) in addrs {
                let mut entry = LookupAddr {
                    family: *family,
                    addr: [0; 16],
                };
                entry.addr[..bytes.len()].copy_from_slice(bytes);
                let at = buf.len();
                put(&mut buf, at, entry);
            }
        }
        let mut h = hdr(EventKind::Lookup, tgid, 0, ret);
        h.size = buf.len() as u32;
        let ev = LookupEvent {
            hdr: h,
            phase: if enter { phase::ENTER } else { phase::RETURN },
            name_len: name.len() as u16,
            addr_count: addrs.len() as u16,
        };
        put(&mut buf, 0, ev);
        buf
    }

    pub fn runtime(tgid: u32, feature: u32, enter: bool) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut h = hdr(EventKind::Runtime, tgid, 0, 0);
        h.size = size_of::<RuntimeEvent>() as u32;
        let ev = RuntimeEvent {
            hdr: h,
            feature,
            phase: if enter { phase::ENTER } else { phase::RETURN },
        };
        put(&mut buf, 0, ev);
        buf
    }

    pub fn dns(tgid: u32, fd: i32, sent: bool, peer: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0; DnsEvent::TAIL];
        buf.extend_from_slice(peer);
        buf.resize(DnsEvent::TAIL + SOCKADDR_CAP, 0);
        buf.extend_from_slice(payload);
        let mut h = hdr(EventKind::Dns, tgid, 45, payload.len() as i64);
        h.size = buf.len() as u32;
        let ev = DnsEvent {
            hdr: h,
            fd,
            direction: if sent {
                dns_dir::SENT
            } else {
                dns_dir::RECEIVED
            },
            addr_len: peer.len() as u32,
            payload_len: payload.len() as u32,
        };
        put(&mut buf, 0, ev);
        buf
    }

    pub fn sock(tgid: u32, nr: u32, fd: i32, addr: &[u8], ret: i64) -> Vec<u8> {
        let mut buf = vec![0; SockEvent::TAIL];
        buf.extend_from_slice(addr);
        let mut h = hdr(EventKind::Sock, tgid, nr, ret);
        h.size = buf.len() as u32;
        put(
            &mut buf,
            0,
            SockEvent {
                hdr: h,
                fd,
                addr_len: addr.len() as u32,
                ..Default::default()
            },
        );
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use permtrace_common::syscalls::nr;

    #[test]
    fn path_records_round_trip() {
        let rec = encode::path(7, nr::OPENAT, -100, "/etc/hostname", None, 0o2000000, 3);
        let ev = decode(&rec).unwrap();
        assert_eq!(ev.tgid, 7);
        let Body::Path(p) = ev.body else {
            panic!("{ev:?}")
        };
        assert_eq!(p.path.bytes.to_string(), "/etc/hostname");
        assert_eq!(
            (p.ret, p.dirfd, p.flags, p.path2.is_none()),
            (3, -100, 0o2000000, true)
        );

        let rec = encode::path(7, nr::RENAMEAT2, -100, "a", Some("b"), 0, 0);
        let Body::Path(p) = decode(&rec).unwrap().body else {
            panic!()
        };
        assert_eq!(p.path2.unwrap().bytes.to_string(), "b");
        // Two names cost two names: the second follows the first.
        assert_eq!(rec.len(), PathEvent::TAIL + 2);

        // rename("a", ""): an empty second path is still a second path.
        let rec = encode::path(7, nr::RENAME, -100, "a", Some(""), 0, -2);
        let Body::Path(p) = decode(&rec).unwrap().body else {
            panic!()
        };
        assert_eq!(p.path2.map(|p| p.bytes.to_string()), Some(String::new()));
    }

    #[test]
    fn a_second_path_or_argv_past_the_record_end_is_an_error() {
        let rec = encode::path(7, nr::RENAMEAT2, -100, "abc", Some("defgh"), 0, 0);
        assert!(matches!(
            decode(&rec[..rec.len() - 1]),
            Err(DecodeError::Truncated { .. })
        ));
        let rec = encode::exec(9, EventKind::Exec, "/bin/sh", &["sh", "-c", "x"], 0);
        assert!(matches!(
            decode(&rec[..rec.len() - 1]),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn exec_records_split_argv() {
        let rec = encode::exec(
            9,
            EventKind::Exec,
            "/bin/sh",
            &["sh", "-c", "cat /etc/hostname"],
            0,
        );
        let Body::Exec(e) = decode(&rec).unwrap().body else {
            panic!()
        };
        assert_eq!(e.filename.bytes.to_string(), "/bin/sh");
        let argv: Vec<String> = e.argv.iter().map(|a| a.to_string()).collect();
        assert_eq!(argv, ["sh", "-c", "cat /etc/hostname"]);
        // argv follows the filename: the record is as long as its strings.
        assert_eq!(
            rec.len(),
            ExecEvent::TAIL + "/bin/sh".len() + "sh\0-c\0cat /etc/hostname\0".len()
        );
    }

    #[test]
    fn lookup_records_keep_the_name_and_distinct_addresses() {
        let rec = encode::lookup(5, true, "api.example.com", 0, &[]);
        let Body::Lookup(l) = decode(&rec).unwrap().body else {
            panic!()
        };
        assert!(l.enter && l.addrs.is_empty());
        assert_eq!(l.name, "api.example.com");

        let v6 = "2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets();
        let rec = encode::lookup(
            5,
            false,
            "api.example.com",
            0,
            &[
                (libc::AF_INET as u32, &[93, 184, 216, 34]),
                (0, &[]), // an entry the kernel skipped (another socket type)
                (libc::AF_INET as u32, &[93, 184, 216, 34]),
                (libc::AF_INET6 as u32, &v6),
            ],
        );
        let Body::Lookup(l) = decode(&rec).unwrap().body else {
            panic!()
        };
        let addrs: Vec<String> = l.addrs.iter().map(|a| a.to_string()).collect();
        assert_eq!(addrs, ["93.184.216.34", "2001:db8::1"]);
        assert!(!l.enter && l.ret == 0);
        // A return record cut before its address table is an error, not a silent empty list.
        assert!(matches!(
            decode(&rec[..LookupEvent::TAIL + NAME_CAP + 10]),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn runtime_records_name_their_feature_and_unknown_features_are_errors() {
        use permtrace_common::event::feature;
        let rec = encode::runtime(3, feature::WORKER, true);
        assert_eq!(
            decode(&rec).unwrap().body,
            Body::Runtime(RuntimeCall {
                feature: Feature::Worker,
                enter: true
            })
        );
        let rec = encode::runtime(3, 99, true);
        assert_eq!(decode(&rec), Err(DecodeError::UnknownFeature(99)));
    }

    #[test]
    fn short_unknown_and_truncated_records_are_errors() {
        assert_eq!(decode(&[0; 10]), Err(DecodeError::Short(10)));
        let mut rec = encode::path(1, nr::OPENAT, -100, "/x", None, 0, 0);
        rec[0] = 99;
        assert_eq!(decode(&rec), Err(DecodeError::UnknownKind(99)));
        let rec = encode::path(1, nr::OPENAT, -100, "/abc", None, 0, 0);
        assert!(matches!(
            decode(&rec[..rec.len() - 2]),
            Err(DecodeError::Truncated { .. })
        ));
    }
}
