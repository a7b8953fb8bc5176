//! The boolean capabilities (`--allow-child-process`, `--allow-worker`, `--allow-addons`,
//! `--allow-wasi`, `--allow-inspector`, `--allow-net`) and the evidence for each.

use super::{
    actors::{Actors, Role},
    model::{Capability, CapabilityUse, Covered, Endpoint, NetworkUse, Review, Severity, SpawnUse},
    target::NodeTarget,
};
use crate::{
    capture::{Capture, NetOp, NetRecord, ProbeGap, Protocol},
    event::Feature,
    sockaddr::Family,
};

pub struct Caps {
    pub capabilities: Vec<CapabilityUse>,
    pub network: NetworkUse,
    pub spawned: Vec<SpawnUse>,
    pub review: Vec<Review>,
}

pub fn analyse(cap: &Capture, actors: &Actors, node: &NodeTarget, addons: &[Covered]) -> Caps {
    let mut caps = Vec::new();
    let mut review = Vec::new();

    let spawned = spawns(cap, actors);
    if !spawned.is_empty() {
        let evidence = spawned
            .iter()
            .map(|s| match s.path_search {
                true => format!(
                    "{} tried while searching PATH ({}×, not found)",
                    s.path, s.count
                ),
                false if s.program == s.path.to_string() => {
                    format!("{} started {}× ({} ok)", s.path, s.count, s.ok)
                }
                false => format!(
                    "{} ({}) started {}× ({} ok)",
                    s.program, s.path, s.count, s.ok
                ),
            })
            .collect();
        let programs = ids(spawned.iter().map(|s| s.by));
        caps.push(use_of(Capability::ChildProcess, true, evidence, programs));
    }

    let rt = &cap.runtime;
    let how = if rt.observed { "observed" } else { "inferred" };
    if rt.workers > 0 {
        let e = vec![format!("{} worker thread(s) started ({how})", rt.workers)];
        caps.push(use_of(Capability::Worker, true, e, vec![]));
    }
    let mut addon_evidence: Vec<String> = rt
        .addons
        .iter()
        .map(|a| format!("native addon {a} loaded ({how})"))
        .collect();
    for a in addons {
        let line = format!("{} opened by Node ({} calls)", a.path, a.count());
        if !rt.addons.contains(&a.path) {
            addon_evidence.push(line);
        }
    }
    if !addon_evidence.is_empty() {
        let programs = ids(addons.iter().flat_map(|a| a.programs.iter().copied()));
        caps.push(use_of(Capability::Addons, true, addon_evidence, programs));
    }
    if rt.wasi > 0 {
        let e = vec![format!("{} WASI instance(s) created ({how})", rt.wasi)];
        caps.push(use_of(Capability::Wasi, true, e, vec![]));
    }
    if rt.inspector > 0 {
        let grantable = node.has_allow_inspector();
        let e = vec![format!(
            "{} inspector session(s) opened ({how})",
            rt.inspector
        )];
        caps.push(use_of(Capability::Inspector, grantable, e, vec![]));
        if !grantable {
            review.push(Review {
                severity: Severity::Warning,
                topic: "inspector".into(),
                message: format!(
                    "the application opened the inspector, which Node {} enforces but cannot \
                     grant (--allow-inspector arrived in 24.12); it will be denied",
                    node.version
                ),
                paths: vec![],
            });
        }
    }
    if !rt.observed {
        let why = unobserved_why(&rt.unobserved);
        review.push(Review {
            // Known gaps (uprobes off or refused, a node binary probed late) can hide a flag
            // the application needs.
            severity: match why.is_empty() {
                true => Severity::Note,
                false => Severity::Warning,
            },
            topic: "runtime-features-unobserved".into(),
            message: format!(
                "worker threads, WASI and inspector sessions are not visible as syscalls and \
                 were not observed in this capture; if the application uses them, add \
                 --allow-worker, --allow-wasi or --allow-inspector{why}"
            ),
            paths: vec![],
        });
    }

    let network = network(cap, actors, node);
    if !network.endpoints.is_empty() || !network.names.is_empty() {
        let mut e: Vec<String> = network
            .endpoints
            .iter()
            .map(|ep| {
                let port = ep.port.map(|p| format!(":{p}")).unwrap_or_default();
                // libc's own sockets (nscd, DNS servers) are not what Node checks, but they
                // mean a lookup happened, which it does check.
                let by = match ep.resolver_only {
                    true => ", by libc's resolver for a lookup",
                    false => "",
                };
                format!(
                    "{} {} {}{port} ({}×{by})",
                    ep.op, ep.protocol, ep.address, ep.count
                )
            })
            .collect();
        e.extend(network.names.iter().map(|n| format!("resolved {n}")));
        let programs = ids(network.endpoints.iter().flat_map(|ep| ep.programs.clone()));
        caps.push(use_of(Capability::Net, node.checks_net(), e, programs));
    }
    caps.sort_by_key(|c| c.capability);
    Caps {
        capabilities: caps,
        network,
        spawned,
        review,
    }
}

/// Why the runtime features went unwatched, per binary (`capture.runtime.unobserved`,
/// leaving out gaps that concern no permission, such as a libc without getaddrinfo).
fn unobserved_why(gaps: &[ProbeGap]) -> String {
    let permission = |f: &String| Feature::PERMISSIONS.iter().any(|p| p.name() == f);
    let mut why: Vec<String> = gaps
        .iter()
        .filter(|g| g.features.iter().any(permission))
        .map(|g| format!("{}: {}", g.binary, g.reason))
        .collect();
    why.dedup();
    match why.is_empty() {
        true => String::new(),
        false => format!(". Not watched: {}", why.join("; ")),
    }
}

fn use_of(
    c: Capability,
    grantable: bool,
    evidence: Vec<String>,
    programs: Vec<u32>,
) -> CapabilityUse {
    CapabilityUse {
        capability: c,
        grantable,
        evidence,
        programs,
    }
}

fn ids(it: impl IntoIterator<Item = u32>) -> Vec<u32> {
    let mut v: Vec<u32> = it.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Execs by restricted Node processes, successful or not: Node checks the spawn before
/// anything reaches the kernel, so even a failed attempt passed the check.
fn spawns(cap: &Capture, actors: &Actors) -> Vec<SpawnUse> {
    let mut out: Vec<SpawnUse> = Vec::new();
    for s in cap
        .spawns
        .iter()
        .filter(|s| actors.role(s.parent) == Role::Restricted)
    {
        let argv0 = s
            .program
            .and_then(|id| actors.program(id))
            .and_then(|p| p.argv.first().cloned());
        let program = match argv0 {
            Some(a) if !a.as_bytes().contains(&b'/') && !a.is_empty() => a.to_string(),
            _ => s.filename.to_string(),
        };
        out.push(SpawnUse {
            program,
            path: s.filename.clone(),
            count: s.stats.count,
            ok: s.stats.ok,
            by: s.parent,
            became: s.program,
            path_search: s.path_search,
            first_seen_ms: s.stats.first_seen_ms,
        });
    }
    out
}

/// Whether an endpoint is something Node's net permission is about: netlink (os.
/// networkInterfaces) and unnamed unix sockets are not.
fn is_noise(r: &NetRecord) -> bool {
    match r.family {
        Some(Family::Netlink) | Some(Family::Other) => true,
        Some(Family::Unix) => r.address.starts_with('('),
        _ => false,
    }
}

fn network(cap: &Capture, actors: &Actors, node: &NodeTarget) -> NetworkUse {
    let endpoints = cap
        .network
        .iter()
        .filter(|r| !is_noise(r) && actors.any_restricted(&r.stats))
        .map(|r| Endpoint {
            op: match r.op {
                Some(NetOp::Connect) => "connect",
                Some(NetOp::Bind) => "bind",
                Some(NetOp::Listen) => "listen",
                Some(NetOp::SendTo) => "send_to",
                Some(NetOp::Accept) => "accept",
                None => "unknown",
            }
            .into(),
            protocol: match (r.protocol, r.family) {
                (Some(Protocol::Tcp), _) => "tcp",
                (Some(Protocol::Udp), _) => "udp",
                (_, Some(Family::Unix)) => "unix",
                _ => "unknown",
            }
            .into(),
            address: r.address.clone(),
            port: r.port,
            hostnames: r.hostnames.clone(),
            name_unknown: r.name_unknown,
            loopback: r.loopback,
            resolver_only: r.stats.count > 0 && r.stats.in_resolver == r.stats.count,
            count: r.stats.count,
            ok: r.stats.ok,
            programs: r.stats.by.clone(),
            first_seen_ms: r.stats.first_seen_ms,
        })
        .collect();
    let mut names: Vec<String> = cap
        .names
        .iter()
        .filter(|n| actors.any_restricted(&n.stats))
        .map(|n| n.name.clone())
        .collect();
    names.sort();
    names.dedup();
    NetworkUse {
        checked_by_node: node.checks_net(),
        endpoints,
        names,
    }
}
