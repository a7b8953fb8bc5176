//! `permtrace hosts CAPTURE`: the network endpoints of a capture as plain JSON, for an egress
//! firewall or allowlist review. Destinations are listed by the name the application used
//! (one entry per name when an address had several), or by IP when it used a literal address;
//! listening sockets and unix sockets are listed apart.

use std::{
    collections::{BTreeMap, BTreeSet},
    io::Write as _,
};

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::{
    capture::{AccessStats, Capture, NetOp, Protocol, load_capture},
    cli::HostsArgs,
    sockaddr::Family,
};

pub const HOSTS_SCHEMA: &str = "permtrace.hosts/1";

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct HostList {
    pub schema: &'static str,
    /// The capture lost events: endpoints may be missing from this list.
    pub incomplete: bool,
    /// IP destinations the workload connected or sent to.
    pub egress: Vec<Egress>,
    /// IP addresses and ports it bound or listened on.
    pub listen: Vec<Listener>,
    /// Unix sockets it connected to, bound or sent to (paths, `@name` when abstract).
    pub unix: Vec<UnixSocket>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Egress {
    /// The host name the application resolved, or the IP address it used.
    pub host: String,
    pub port: Option<u16>,
    /// `host:port` (`[v6]:port`), the form Deno's `--allow-net` and most firewalls take.
    pub endpoint: String,
    pub protocol: Protocol,
    /// `host` is a name (not an address literal).
    pub named: bool,
    /// Addresses this host was reached at.
    pub addresses: Vec<String>,
    /// Some connects had no name, and the process may have resolved it before the capture.
    pub name_unknown: bool,
    pub loopback: bool,
    pub count: u64,
    pub ok: u64,
    pub first_seen_ms: u64,
    pub last_seen_ms: u64,
    /// Executables that made the connections.
    pub programs: Vec<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Listener {
    pub address: String,
    pub port: Option<u16>,
    pub protocol: Protocol,
    /// "listen" for a listening stream socket, else "bind".
    pub op: NetOp,
    pub loopback: bool,
    pub count: u64,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct UnixSocket {
    pub path: String,
    pub op: NetOp,
    pub count: u64,
}

pub fn hosts(args: HostsArgs) -> Result<i32> {
    let cap = load_capture(&args.capture)?;
    let list = host_list(&cap);
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &list).context("writing the host list")?;
    writeln!(out).context("writing the host list")?;
    Ok(0)
}

pub fn host_list(cap: &Capture) -> HostList {
    let mut egress: BTreeMap<(bool, String, Option<u16>, Protocol), Egress> = BTreeMap::new();
    let mut listen = Vec::new();
    let mut unix = Vec::new();
    for r in &cap.network {
        let (Some(op), Some(family)) = (r.op, r.family) else {
            continue;
        };
        let protocol = r.protocol.unwrap_or(Protocol::Unknown);
        match family {
            Family::Unix => unix.push(UnixSocket {
                path: r.address.clone(),
                op,
                count: r.stats.count,
            }),
            Family::Inet | Family::Inet6 if matches!(op, NetOp::Connect | NetOp::SendTo) => {
                let named = !r.hostnames.is_empty();
                let hosts = if named {
                    r.hostnames.clone()
                } else {
                    vec![r.address.clone()]
                };
                for host in hosts {
                    let key = (r.loopback, host.clone(), r.port, protocol);
                    let e = egress.entry(key).or_insert_with(|| Egress {
                        endpoint: endpoint(&host, r.port),
                        host,
                        port: r.port,
                        protocol,
                        named,
                        addresses: Vec::new(),
                        name_unknown: false,
                        loopback: true,
                        count: 0,
                        ok: 0,
                        first_seen_ms: u64::MAX,
                        last_seen_ms: 0,
                        programs: Vec::new(),
                    });
                    add(e, &r.address, r.name_unknown, r.loopback, &r.stats, cap);
                }
            }
            Family::Inet | Family::Inet6 => listen.push(Listener {
                address: r.address.clone(),
                port: r.port,
                protocol,
                op,
                loopback: r.loopback,
                count: r.stats.count,
            }),
            Family::Netlink | Family::Other => {}
        }
    }
    HostList {
        schema: HOSTS_SCHEMA,
        incomplete: cap.stats.lost() > 0,
        egress: egress.into_values().collect(),
        listen,
        unix,
    }
}

fn add(
    e: &mut Egress,
    address: &str,
    unknown: bool,
    loopback: bool,
    s: &AccessStats,
    cap: &Capture,
) {
    if !e.addresses.iter().any(|a| a == address) {
        e.addresses.push(address.to_string());
        e.addresses.sort();
    }
    e.name_unknown |= unknown;
    e.loopback &= loopback;
    e.count += s.count;
    e.ok += s.ok;
    e.first_seen_ms = e.first_seen_ms.min(s.first_seen_ms);
    e.last_seen_ms = e.last_seen_ms.max(s.last_seen_ms);
    let mut programs: BTreeSet<String> = e.programs.drain(..).collect();
    for id in &s.by {
        if let Some(p) = cap.programs.iter().find(|p| p.id == *id) {
            programs.insert(p.exe.to_string());
        }
    }
    e.programs = programs.into_iter().collect();
}

/// `host:port`, with brackets around an IPv6 address.
fn endpoint(host: &str, port: Option<u16>) -> String {
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    match port {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{NetRecord, Program};

    fn rec(op: NetOp, family: Family, proto: Protocol, addr: &str, port: Option<u16>) -> NetRecord {
        NetRecord {
            op: Some(op),
            family: Some(family),
            protocol: Some(proto),
            address: addr.into(),
            port,
            loopback: addr.starts_with("127.") || addr == "::1",
            stats: AccessStats {
                count: 2,
                ok: 1,
                by: vec![0],
                first_seen_ms: 10,
                last_seen_ms: 20,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn destinations_are_listed_by_name_with_their_addresses_and_apart_from_servers() {
        let mut cap = Capture {
            programs: vec![Program {
                id: 0,
                exe: "/usr/bin/node".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut a = rec(
            NetOp::Connect,
            Family::Inet,
            Protocol::Tcp,
            "93.184.216.34",
            Some(443),
        );
        a.hostnames = vec!["api.example.com".into(), "www.example.com".into()];
        let mut b = rec(
            NetOp::Connect,
            Family::Inet,
            Protocol::Tcp,
            "93.184.216.35",
            Some(443),
        );
        b.hostnames = vec!["api.example.com".into()];
        let mut unknown = rec(
            NetOp::Connect,
            Family::Inet6,
            Protocol::Tcp,
            "2001:db8::7",
            Some(443),
        );
        unknown.name_unknown = true;
        cap.network = vec![
            a,
            b,
            unknown,
            rec(
                NetOp::SendTo,
                Family::Inet,
                Protocol::Udp,
                "127.0.0.53",
                Some(53),
            ),
            rec(
                NetOp::Listen,
                Family::Inet,
                Protocol::Tcp,
                "0.0.0.0",
                Some(3000),
            ),
            rec(
                NetOp::Connect,
                Family::Unix,
                Protocol::Stream,
                "/run/db.sock",
                None,
            ),
        ];
        let list = host_list(&cap);
        let endpoints: Vec<&str> = list.egress.iter().map(|e| e.endpoint.as_str()).collect();
        assert_eq!(
            endpoints,
            [
                "[2001:db8::7]:443",
                "api.example.com:443",
                "www.example.com:443",
                "127.0.0.53:53"
            ]
        );
        let api = &list.egress[1];
        assert_eq!(api.addresses, ["93.184.216.34", "93.184.216.35"]);
        assert_eq!(
            (api.count, api.ok, api.named, api.loopback),
            (4, 2, true, false)
        );
        assert_eq!(api.programs, ["/usr/bin/node"]);
        assert!(list.egress[0].name_unknown && !list.egress[0].named);
        assert!(list.egress[3].loopback);
        assert_eq!(list.listen.len(), 1);
        assert_eq!(
            (list.listen[0].port, list.listen[0].op),
            (Some(3000), NetOp::Listen)
        );
        assert_eq!(list.unix[0].path, "/run/db.sock");
        assert!(!list.incomplete);
    }
}
