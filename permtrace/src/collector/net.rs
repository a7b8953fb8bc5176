//! Per-endpoint aggregates: connects, binds, listens and addressed sends.

use std::collections::{BTreeSet, HashMap};

use permtrace_common::syscalls::nr;

use super::{
    names::Names,
    stats::{Context, merge_stats, record_access},
};
use crate::{
    capture::{AccessStats, NetOp, NetRecord, Protocol},
    event::SockCall,
    resolve::SocketInfo,
    sockaddr::{Family, SockAddr},
};

type Key = (NetOp, Family, Protocol, String, Option<u16>);

#[derive(Default)]
struct Endpoint {
    loopback: bool,
    stats: AccessStats,
    hostnames: BTreeSet<String>,
    name_unknown: bool,
}

#[derive(Default)]
pub struct Net {
    map: HashMap<Key, Endpoint>,
}

impl Net {
    pub fn load(&mut self, records: &[NetRecord]) {
        for r in records {
            let (Some(op), Some(family), Some(proto)) = (r.op, r.family, r.protocol) else {
                continue;
            };
            let key = (op, family, proto, r.address.clone(), r.port);
            let entry = self.map.entry(key).or_default();
            entry.loopback = r.loopback;
            entry.hostnames.extend(r.hostnames.iter().cloned());
            entry.name_unknown |= r.name_unknown;
            merge_stats(&mut entry.stats, &r.stats);
        }
    }

    /// `sock` is what was known about the fd before this call; `names` says what the
    /// destination of a connect or send is called in process `tgid`'s tree.
    pub fn record(
        &mut self,
        call: &SockCall,
        sock: Option<&SocketInfo>,
        (names, tgid): (&Names, u32),
        ctx: Context,
        now: u64,
    ) {
        let op = match call.nr {
            nr::CONNECT => NetOp::Connect,
            nr::BIND => NetOp::Bind,
            nr::LISTEN => NetOp::Listen,
            nr::SENDTO | nr::SENDMSG => NetOp::SendTo,
            _ => return,
        };
        let raw = if op == NetOp::Listen {
            sock.and_then(|s| s.bound.as_deref())
        } else {
            Some(call.addr.as_slice())
        };
        let addr = raw.and_then(SockAddr::parse);
        if matches!(addr, Some(SockAddr::Other(0))) {
            return; // AF_UNSPEC: a UDP socket dissolving its association, not an endpoint.
        }
        let family = match &addr {
            Some(a) => a.family(),
            None => sock
                .map(|s| Family::from_domain(s.domain))
                .unwrap_or(Family::Other),
        };
        let protocol = protocol(family, sock);
        let (address, port, loopback) = match &addr {
            Some(a) => (a.host(), a.port(), a.is_loopback()),
            None => ("(unknown)".to_string(), None, false),
        };
        let entry = self
            .map
            .entry((op, family, protocol, address, port))
            .or_default();
        entry.loopback = loopback;
        if matches!(op, NetOp::Connect | NetOp::SendTo)
            && let Some(ip) = addr.as_ref().and_then(SockAddr::ip)
        {
            let naming = names.naming(tgid, ip, port);
            entry.hostnames.extend(naming.hostnames);
            entry.name_unknown |= naming.name_unknown;
        }
        record_access(&mut entry.stats, call.ret, ctx, now);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn to_records(&self) -> Vec<NetRecord> {
        let mut out: Vec<NetRecord> = self
            .map
            .iter()
            .map(|((op, family, protocol, address, port), e)| NetRecord {
                op: Some(*op),
                family: Some(*family),
                protocol: Some(*protocol),
                address: address.clone(),
                port: *port,
                loopback: e.loopback,
                hostnames: e.hostnames.iter().cloned().collect(),
                name_unknown: e.name_unknown,
                stats: e.stats.clone(),
                seen_in: Vec::new(),
            })
            .collect();
        out.sort_by(|a, b| (a.op, &a.address, a.port).cmp(&(b.op, &b.address, b.port)));
        out
    }
}

fn protocol(family: Family, sock: Option<&SocketInfo>) -> Protocol {
    let Some(s) = sock else {
        return Protocol::Unknown;
    };
    let ip = matches!(family, Family::Inet | Family::Inet6);
    match (s.sock_type & 0xf) as i32 {
        libc::SOCK_STREAM if ip => Protocol::Tcp,
        libc::SOCK_DGRAM if ip => Protocol::Udp,
        libc::SOCK_STREAM | libc::SOCK_SEQPACKET => Protocol::Stream,
        libc::SOCK_DGRAM => Protocol::Datagram,
        _ => Protocol::Unknown,
    }
}
