//! Host names: what the traced processes looked up (libc `getaddrinfo`, DNS messages on port
//! 53), and which names produced each address a process later connects or sends to.
//!
//! Names are joined per process tree: a lookup by any process of a tree names the address
//! for every process of that tree (a server often resolves in one worker and connects in
//! another), but never for an unrelated tree. Several names for one address are all kept.

use std::{
    collections::{BTreeSet, HashMap},
    net::IpAddr,
};

use super::stats::{Context, merge_stats, record_attempt, record_result};
use crate::{
    capture::{AccessStats, NameRecord},
    dnsmsg,
    event::{DnsMessage, Lookup, eai_name},
};

pub const VIA_GETADDRINFO: &str = "getaddrinfo";
pub const VIA_DNS: &str = "dns";

/// Where a process stands for name joins.
#[derive(Clone, Copy, Debug)]
struct Lineage {
    /// The first traced ancestor: processes with the same root share their lookups.
    root: u32,
    /// Running since before the capture began (attach), without an exec since: it may hold
    /// addresses from lookups permtrace never saw.
    ran_before: bool,
}

/// The names an address of a connect or send is known by.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Naming {
    pub hostnames: Vec<String>,
    /// No name was seen, and the process may have looked it up before the capture began.
    pub name_unknown: bool,
}

#[derive(Default)]
pub struct Names {
    lineage: HashMap<u32, Lineage>,
    /// (tree root, address) -> names that resolved to it.
    table: HashMap<(u32, IpAddr), BTreeSet<String>>,
    /// Address -> names from the capture this one resumes (its trees are gone).
    carried: HashMap<IpAddr, BTreeSet<String>>,
    records: HashMap<(String, &'static str), (BTreeSet<IpAddr>, AccessStats)>,
    /// Threads inside getaddrinfo or c-ares initialisation, with their process.
    resolving: HashMap<u32, u32>,
}

impl Names {
    pub fn load(&mut self, records: &[NameRecord]) {
        for r in records {
            let via = if r.via == VIA_DNS {
                VIA_DNS
            } else {
                VIA_GETADDRINFO
            };
            let entry = self.records.entry((r.name.clone(), via)).or_default();
            merge_stats(&mut entry.1, &r.stats);
            for a in r.addresses.iter().filter_map(|a| a.parse::<IpAddr>().ok()) {
                entry.0.insert(a);
                self.carried.entry(a).or_default().insert(r.name.clone());
            }
        }
    }

    /// A process known from outside the stream: `ran_before` when it was already running.
    pub fn seed(&mut self, tgid: u32, ran_before: bool) {
        self.lineage.insert(
            tgid,
            Lineage {
                root: tgid,
                ran_before,
            },
        );
    }

    pub fn fork(&mut self, parent: u32, child: u32) {
        let l = self.lineage_of(parent);
        self.lineage.insert(child, l);
    }

    /// A new program image holds no address from before.
    pub fn exec(&mut self, tgid: u32) {
        let mut l = self.lineage_of(tgid);
        l.ran_before = false;
        self.lineage.insert(tgid, l);
    }

    pub fn exit(&mut self, tgid: u32) {
        self.lineage.remove(&tgid);
        // A thread killed inside a lookup never returns from it.
        self.resolving.retain(|_, owner| *owner != tgid);
    }

    fn lineage_of(&self, tgid: u32) -> Lineage {
        // A process that joined without a fork (cgroup mode) is a tree of its own; without
        // an exec seen, it may hold earlier lookups when the capture did not see it start.
        self.lineage.get(&tgid).copied().unwrap_or(Lineage {
            root: tgid,
            ran_before: false,
        })
    }

    /// c-ares entering or leaving its configuration reading on thread `tid`.
    pub fn resolver_window(&mut self, tgid: u32, tid: u32, enter: bool) {
        if enter {
            self.resolving.insert(tid, tgid);
        } else {
            self.resolving.remove(&tid);
        }
    }

    /// Whether thread `tid` is inside a resolver (libc's getaddrinfo, c-ares setting itself
    /// up): its file opens and DNS messages are the resolver's, not the application's.
    pub fn in_resolver(&self, tid: u32) -> bool {
        self.resolving.contains_key(&tid)
    }

    pub fn lookup(&mut self, tgid: u32, tid: u32, l: &Lookup, ctx: Context, now: u64) {
        if l.enter {
            self.resolving.insert(tid, tgid);
            return;
        }
        self.resolving.remove(&tid);
        let name = l.name.to_ascii_lowercase();
        // A service-only lookup, or an address literal: no name to remember.
        if name.is_empty() || name.parse::<IpAddr>().is_ok() {
            return;
        }
        let error = (l.ret != 0).then(|| eai_name(l.ret));
        if l.name_truncated {
            // Only part of the name was copied: a wrong name is worse than none.
            return;
        }
        let entry = self
            .records
            .entry((name.clone(), VIA_GETADDRINFO))
            .or_default();
        record_attempt(&mut entry.1, ctx, now);
        record_result(&mut entry.1, error);
        entry.0.extend(l.addrs.iter().copied());
        let root = self.lineage_of(tgid).root;
        for a in &l.addrs {
            self.table
                .entry((root, *a))
                .or_default()
                .insert(name.clone());
        }
    }

    /// A DNS message sent or received. `stream`: the socket is TCP (length-prefixed), when
    /// known. Returns false when the payload is not a DNS message from a client's side.
    pub fn dns(
        &mut self,
        tgid: u32,
        msg: &DnsMessage,
        stream: Option<bool>,
        ctx: Context,
        now: u64,
    ) -> bool {
        let tcp = stream.unwrap_or_else(|| dnsmsg::looks_tcp_framed(&msg.payload, msg.truncated));
        let bytes = if tcp {
            dnsmsg::strip_tcp_length(&msg.payload)
        } else {
            &msg.payload
        };
        let Ok(parsed) = dnsmsg::parse(bytes) else {
            return false;
        };
        if parsed.name.is_empty() || parsed.response == msg.sent {
            // The root query, or a message going the wrong way for a client (a traced DNS
            // server): not a lookup by this process.
            return false;
        }
        let entry = self
            .records
            .entry((parsed.name.clone(), VIA_DNS))
            .or_default();
        if msg.sent {
            record_attempt(&mut entry.1, ctx, now);
            return true;
        }
        let error = (parsed.rcode != 0).then(|| dnsmsg::rcode_name(parsed.rcode));
        record_result(&mut entry.1, error);
        entry.0.extend(parsed.addresses.iter().copied());
        // libc's own queries may carry a search domain; the name the application asked for
        // comes with getaddrinfo's return.
        if !ctx.in_resolver {
            let root = self.lineage_of(tgid).root;
            for a in &parsed.addresses {
                self.table
                    .entry((root, *a))
                    .or_default()
                    .insert(parsed.name.clone());
            }
        }
        true
    }

    /// The names process `tgid` knows `ip` by. `port` 53 is a name server, which comes from
    /// resolv.conf, never from a lookup.
    pub fn naming(&self, tgid: u32, ip: IpAddr, port: Option<u16>) -> Naming {
        let l = self.lineage_of(tgid);
        let mut names: BTreeSet<&String> = BTreeSet::new();
        if let Some(n) = self.table.get(&(l.root, ip)) {
            names.extend(n);
        }
        if let Some(n) = self.carried.get(&ip) {
            names.extend(n);
        }
        Naming {
            name_unknown: names.is_empty() && l.ran_before && port != Some(53),
            hostnames: names.into_iter().cloned().collect(),
        }
    }

    pub fn to_records(&self) -> Vec<NameRecord> {
        let mut out: Vec<NameRecord> = self
            .records
            .iter()
            .map(|((name, via), (addrs, stats))| NameRecord {
                name: name.clone(),
                addresses: addrs.iter().map(|a| a.to_string()).collect(),
                via: (*via).to_string(),
                stats: stats.clone(),
            })
            .collect();
        out.sort_by(|a, b| (&a.name, &a.via).cmp(&(&b.name, &b.via)));
        out
    }
}
