//! Comparing captures record by record, for captures no draft can be made of: each new
//! (path, access kind), endpoint and spawn is a difference.

use std::collections::{BTreeSet, HashSet};

use super::{Diff, NewEndpoint, NewFlag, NewFs, NewSpawn, describe_program};
use crate::{
    access::Access,
    capture::{Capture, Program},
    pathbytes::PathBytes,
    resolve::Unresolved,
};

pub fn diff(old: &Capture, new: &Capture) -> Diff {
    let mut d = Diff::default();
    let old_files: HashSet<(&PathBytes, Option<Unresolved>, Access)> = old
        .files
        .iter()
        .flat_map(|f| f.access.keys().map(move |a| (&f.path, f.unresolved, *a)))
        .collect();
    for f in &new.files {
        for (access, s) in &f.access {
            if !old_files.contains(&(&f.path, f.unresolved, *access)) {
                d.fs.push(NewFs {
                    scope: name_of(access),
                    path: f.path.clone(),
                    directory: false,
                    count: s.count,
                    ok: s.ok,
                    by: names(new, &s.by),
                    why: f.unresolved.map(|u| format!("unresolved: {}", name_of(&u))),
                });
            }
        }
    }
    let old_net: HashSet<_> = old
        .network
        .iter()
        .map(|n| (n.op, n.family, &n.address, n.port))
        .collect();
    for n in &new.network {
        if !old_net.contains(&(n.op, n.family, &n.address, n.port)) {
            d.network.push(NewEndpoint {
                op: name_of(&n.op),
                protocol: name_of(&n.protocol),
                address: n.address.clone(),
                port: n.port,
                count: n.stats.count,
                by: names(new, &n.stats.by),
            });
        }
    }
    // Program ids differ between captures: spawns compare by the parent's executable.
    let old_spawns: HashSet<(&PathBytes, &PathBytes)> = old
        .spawns
        .iter()
        .filter(|s| !s.path_search)
        .filter_map(|s| Some((&program(old, s.parent)?.exe, &s.filename)))
        .collect();
    for s in new.spawns.iter().filter(|s| !s.path_search) {
        let Some(parent) = program(new, s.parent) else {
            continue;
        };
        if !old_spawns.contains(&(&parent.exe, &s.filename)) {
            d.spawns.push(NewSpawn {
                parent: describe_program(parent),
                filename: s.filename.clone(),
                count: s.stats.count,
                ok: s.stats.ok,
            });
        }
    }
    let old_flags = flags(old);
    for (flag, why) in flags(new) {
        if !old_flags.iter().any(|(f, _)| *f == flag) {
            d.flags.push(NewFlag {
                flag: flag.into(),
                why,
            });
        }
    }
    d
}

/// The name a value has in capture.json (`"read"`, `"connect"`, `"tcp"`).
fn name_of<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "unknown".into(),
    }
}

fn program(cap: &Capture, id: u32) -> Option<&Program> {
    cap.programs.iter().find(|p| p.id == id)
}

fn names(cap: &Capture, ids: &[u32]) -> Vec<String> {
    ids.iter()
        .filter_map(|&id| program(cap, id).map(describe_program))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Node permission flags a capture shows a need for (only Node processes' own use counts:
/// what a spawned shell does is not Node's to check).
fn flags(cap: &Capture) -> Vec<(&'static str, String)> {
    let node_ids: HashSet<u32> = cap
        .programs
        .iter()
        .filter(|p| p.is_node)
        .map(|p| p.id)
        .collect();
    let mut out = Vec::new();
    let spawned = cap
        .spawns
        .iter()
        .filter(|s| node_ids.contains(&s.parent) && s.stats.ok > 0)
        .count();
    if spawned > 0 {
        out.push(("--allow-child-process", format!("{spawned} kinds of spawn")));
    }
    let net = cap
        .network
        .iter()
        .filter(|n| n.stats.by.iter().any(|b| node_ids.contains(b)))
        .count();
    if net > 0 {
        out.push(("--allow-net", format!("{net} endpoints; Node 25 and later")));
    }
    let r = &cap.runtime;
    if r.workers > 0 {
        out.push(("--allow-worker", format!("{} worker threads", r.workers)));
    }
    if r.wasi > 0 {
        out.push(("--allow-wasi", format!("{} WASI instances", r.wasi)));
    }
    if !r.addons.is_empty() {
        out.push((
            "--allow-addons",
            format!("{} native addons", r.addons.len()),
        ));
    }
    if r.inspector > 0 {
        out.push((
            "--allow-inspector",
            format!("{} inspector sessions", r.inspector),
        ));
    }
    out
}
