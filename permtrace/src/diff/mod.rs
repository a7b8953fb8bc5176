//! What a new capture needs that an old one did not: paths and access kinds, endpoints,
//! programs spawned, and Node permission flags newly needed. For review before a deploy
//! (`permtrace diff` exits 1 when there is anything). Compares captures record by record;
//! pure.

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;

use crate::{
    access::Access,
    capture::{Capture, NetOp, Program, Protocol},
    pathbytes::PathBytes,
    resolve::Unresolved,
    sockaddr::Family,
};

#[derive(Debug, Default, Serialize)]
pub struct Diff {
    pub files: Vec<NewFile>,
    pub network: Vec<NewEndpoint>,
    pub spawns: Vec<NewSpawn>,
    /// Node permission flags the new capture needs and the old did not.
    pub flags: Vec<NewFlag>,
    /// Why the answer may be incomplete (lost events, start not seen).
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct NewFile {
    pub path: PathBytes,
    pub access: Access,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unresolved: Option<Unresolved>,
    pub count: u64,
    /// Calls that succeeded (a failed one still needs the grant: Node checks first).
    pub ok: u64,
    /// The programs that did it.
    pub by: Vec<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct NewEndpoint {
    pub op: Option<NetOp>,
    pub family: Option<Family>,
    pub protocol: Option<Protocol>,
    pub address: String,
    pub port: Option<u16>,
    pub count: u64,
    pub by: Vec<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct NewSpawn {
    /// The program that spawned.
    pub parent: String,
    pub filename: PathBytes,
    pub count: u64,
    pub ok: u64,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct NewFlag {
    pub flag: &'static str,
    pub why: String,
}

impl Diff {
    pub fn len(&self) -> usize {
        self.files.len() + self.network.len() + self.spawns.len() + self.flags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

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
                d.files.push(NewFile {
                    path: f.path.clone(),
                    access: *access,
                    unresolved: f.unresolved,
                    count: s.count,
                    ok: s.ok,
                    by: names(new, &s.by),
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
                op: n.op,
                family: n.family,
                protocol: n.protocol,
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
                parent: describe(parent),
                filename: s.filename.clone(),
                count: s.stats.count,
                ok: s.stats.ok,
            });
        }
    }
    let old_flags = flags(old);
    for (flag, why) in flags(new) {
        if !old_flags.iter().any(|(f, _)| *f == flag) {
            d.flags.push(NewFlag { flag, why });
        }
    }
    d.notes = notes(old, "OLD")
        .into_iter()
        .chain(notes(new, "NEW"))
        .collect();
    d
}

fn program(cap: &Capture, id: u32) -> Option<&Program> {
    cap.programs.iter().find(|p| p.id == id)
}

fn names(cap: &Capture, ids: &[u32]) -> Vec<String> {
    ids.iter()
        .filter_map(|&id| program(cap, id).map(describe))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// `node server.js`, `sh -c "git status"` (shortened).
fn describe(p: &Program) -> String {
    let name = String::from_utf8_lossy(p.exe.file_name()).into_owned();
    let args: Vec<String> = p
        .argv
        .iter()
        .skip(1)
        .map(|a| a.lossy().into_owned())
        .collect();
    let mut s = if args.is_empty() {
        name
    } else {
        format!("{name} {}", args.join(" "))
    };
    if s.chars().count() > 60 {
        s = s.chars().take(59).collect::<String>() + "…";
    }
    s
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

fn notes(cap: &Capture, which: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lost = cap.stats.lost();
    if lost > 0 {
        out.push(format!(
            "{which} lost {lost} events: it is incomplete, so this comparison may be too"
        ));
    }
    if !cap.window.saw_start {
        out.push(format!(
            "{which} joined running processes: their start-up is not in it"
        ));
    }
    out
}

/// The differences for a person reviewing a deploy.
pub fn render_text(d: &Diff, old: &str, new: &str) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    if d.is_empty() {
        let _ = writeln!(s, "{new} needs nothing that {old} did not.");
    } else {
        let things = if d.len() == 1 { "thing" } else { "things" };
        let _ = writeln!(s, "{new} needs {} {things} that {old} did not:", d.len());
    }
    let times = |n: u64| {
        if n == 1 {
            "1 time".to_string()
        } else {
            format!("{n} times")
        }
    };
    if !d.files.is_empty() {
        let _ = writeln!(s, "\nfiles:");
        for f in &d.files {
            let access = serde_json::to_value(f.access).unwrap_or_default();
            let mut extra = vec![times(f.count)];
            if f.ok == 0 {
                extra.push("all failed".into());
            }
            if let Some(u) = f.unresolved {
                extra.push(format!("unresolved: {u:?}"));
            }
            if !f.by.is_empty() {
                extra.push(format!("by {}", f.by.join(", ")));
            }
            let access = access.as_str().unwrap_or("?");
            let _ = writeln!(s, "  {access:<12} {}  ({})", f.path, extra.join(", "));
        }
    }
    if !d.network.is_empty() {
        let _ = writeln!(s, "\nnetwork:");
        for n in &d.network {
            let op = serde_json::to_value(n.op).unwrap_or_default();
            let proto = serde_json::to_value(n.protocol).unwrap_or_default();
            let port = n.port.map(|p| format!(":{p}")).unwrap_or_default();
            let by = if n.by.is_empty() {
                String::new()
            } else {
                format!(", by {}", n.by.join(", "))
            };
            let _ = writeln!(
                s,
                "  {:<12} {} {}{port}  ({}{by})",
                op.as_str().unwrap_or("?"),
                proto.as_str().unwrap_or("?"),
                n.address,
                times(n.count)
            );
        }
    }
    if !d.spawns.is_empty() {
        let _ = writeln!(s, "\nspawns:");
        for sp in &d.spawns {
            let failed = if sp.ok == 0 { ", all failed" } else { "" };
            let _ = writeln!(
                s,
                "  {} -> {}  ({}{failed})",
                sp.parent,
                sp.filename,
                times(sp.count)
            );
        }
    }
    if !d.flags.is_empty() {
        let _ = writeln!(s, "\nNode permission flags:");
        for f in &d.flags {
            let _ = writeln!(s, "  {}  ({})", f.flag, f.why);
        }
    }
    if !d.notes.is_empty() {
        let _ = writeln!(s);
    }
    for n in &d.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}
