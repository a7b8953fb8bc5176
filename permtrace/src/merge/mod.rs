//! Combining captures of one service (replicas, days, a `run` of its start plus an
//! `attach` of its steady state) into one, keeping for every record which captures saw it
//! (`seen_in`, indices into `sources`), so a report can say "seen in 3 of 4". Pure: captures
//! in, a capture and warnings out.

mod programs;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::{
    access::Access,
    capture::{
        AccessStats, Capture, CaptureStats, FileRecord, Mode, NameRecord, NetOp, NetRecord,
        RuntimeUse, SCHEMA, SourceInfo, SpawnRecord, Target, ToolInfo, Window,
    },
    collector::{add_kernel_stats, merge_stats},
    pathbytes::PathBytes,
    resolve::Unresolved,
    sockaddr::Family,
};
use programs::Programs;

/// One capture to merge, named for the report (its file, usually).
pub struct Input {
    pub label: String,
    pub capture: Capture,
}

pub struct Merged {
    pub capture: Capture,
    /// Things the user should know (different Node versions, incomplete inputs).
    pub warnings: Vec<String>,
}

type FileKey = (PathBytes, Option<Unresolved>);
type NetKey = (Option<NetOp>, Option<Family>, String, Option<u16>);
type SpawnKey = (u32, PathBytes, Option<u32>);

#[derive(Default)]
struct Merger {
    sources: Vec<SourceInfo>,
    programs: Programs,
    files: HashMap<FileKey, (BTreeMap<Access, AccessStats>, BTreeSet<u32>)>,
    network: HashMap<NetKey, (NetRecord, BTreeSet<u32>)>,
    spawns: HashMap<SpawnKey, (SpawnRecord, BTreeSet<u32>)>,
    names: BTreeMap<(String, String), NameRecord>,
    runtime: RuntimeUse,
    stats: CaptureStats,
}

pub fn merge(inputs: Vec<Input>) -> Merged {
    let mut m = Merger::default();
    let warnings = warnings(&inputs);
    let target = merged_target(&inputs);
    let window = merged_window(&inputs);
    for input in &inputs {
        m.add(input);
    }
    // Observed directly only if it was in every input.
    m.runtime.observed = inputs.iter().all(|i| i.capture.runtime.observed);
    Merged {
        capture: m.finish(target, window),
        warnings,
    }
}

impl Merger {
    fn add(&mut self, input: &Input) {
        let cap = &input.capture;
        // The sources this input stands for: itself, or the ones it was merged from.
        let first = self.sources.len() as u32;
        if cap.sources.is_empty() {
            self.sources.push(SourceInfo {
                label: input.label.clone(),
                window: cap.window.clone(),
                node: cap.target.node.clone(),
            });
        } else {
            self.sources.extend(cap.sources.iter().map(|s| SourceInfo {
                label: format!("{} ({})", s.label, input.label),
                ..s.clone()
            }));
        }
        let all: Vec<u32> = (first..self.sources.len() as u32).collect();
        let seen = |seen_in: &[u32]| -> Vec<u32> {
            if seen_in.is_empty() {
                all.clone()
            } else {
                seen_in.iter().map(|i| first + i).collect()
            }
        };
        let ids = self.programs.add(&cap.programs);
        let remap = |s: &AccessStats| -> AccessStats {
            let mut s = s.clone();
            s.by = s.by.iter().filter_map(|b| ids.get(b).copied()).collect();
            s
        };

        for f in &cap.files {
            let e = self
                .files
                .entry((f.path.clone(), f.unresolved))
                .or_default();
            for (access, stats) in &f.access {
                merge_stats(e.0.entry(*access).or_default(), &remap(stats));
            }
            e.1.extend(seen(&f.seen_in));
        }
        for n in &cap.network {
            let key = (n.op, n.family, n.address.clone(), n.port);
            let e = self.network.entry(key).or_insert_with(|| {
                let mut r = n.clone();
                r.stats = AccessStats::default();
                r.hostnames.clear();
                (r, BTreeSet::new())
            });
            e.0.loopback |= n.loopback;
            e.0.name_unknown |= n.name_unknown;
            e.0.before_attach |= n.before_attach;
            if e.0.protocol.is_none() || e.0.protocol == Some(crate::capture::Protocol::Unknown) {
                e.0.protocol = n.protocol;
            }
            for h in &n.hostnames {
                if !e.0.hostnames.contains(h) {
                    e.0.hostnames.push(h.clone());
                }
            }
            merge_stats(&mut e.0.stats, &remap(&n.stats));
            e.1.extend(seen(&n.seen_in));
        }
        for s in &cap.spawns {
            let Some(&parent) = ids.get(&s.parent) else {
                continue;
            };
            let program = s.program.and_then(|p| ids.get(&p).copied());
            let key = (parent, s.filename.clone(), program);
            let e = self.spawns.entry(key).or_insert_with(|| {
                let r = SpawnRecord {
                    parent,
                    program,
                    stats: AccessStats::default(),
                    seen_in: Vec::new(),
                    ..s.clone()
                };
                (r, BTreeSet::new())
            });
            e.0.path_search &= s.path_search;
            merge_stats(&mut e.0.stats, &remap(&s.stats));
            e.1.extend(seen(&s.seen_in));
        }
        for n in &cap.names {
            let e = self
                .names
                .entry((n.name.clone(), n.via.clone()))
                .or_insert_with(|| NameRecord {
                    stats: AccessStats::default(),
                    addresses: Vec::new(),
                    ..n.clone()
                });
            for a in &n.addresses {
                if !e.addresses.contains(a) {
                    e.addresses.push(a.clone());
                }
            }
            merge_stats(&mut e.stats, &remap(&n.stats));
        }
        let r = &cap.runtime;
        self.runtime.workers += r.workers;
        self.runtime.wasi += r.wasi;
        self.runtime.inspector += r.inspector;
        for a in &r.addons {
            if !self.runtime.addons.contains(a) {
                self.runtime.addons.push(a.clone());
            }
        }
        for g in &r.unobserved {
            if !self.runtime.unobserved.contains(g) {
                self.runtime.unobserved.push(g.clone());
            }
        }
        let s = &cap.stats;
        self.stats.events += s.events;
        self.stats.kernel = add_kernel_stats(&self.stats.kernel, &s.kernel);
        self.stats.decode_errors += s.decode_errors;
        self.stats.unresolved_paths += s.unresolved_paths;
        self.stats.processes += s.processes;
        self.stats.still_running += s.still_running;
    }

    fn finish(self, target: Target, window: Window) -> Capture {
        let mut files: Vec<FileRecord> = (self.files.into_iter())
            .map(|((path, unresolved), (access, seen))| FileRecord {
                path,
                unresolved,
                access,
                seen_in: seen.into_iter().collect(),
            })
            .collect();
        files.sort_by(|a, b| {
            (&a.path, a.unresolved.is_some()).cmp(&(&b.path, b.unresolved.is_some()))
        });
        let mut network: Vec<NetRecord> = (self.network.into_values())
            .map(|(mut r, seen)| {
                r.seen_in = seen.into_iter().collect();
                r
            })
            .collect();
        network.sort_by(|a, b| (a.op, &a.address, a.port).cmp(&(b.op, &b.address, b.port)));
        let mut spawns: Vec<SpawnRecord> = (self.spawns.into_values())
            .map(|(mut r, seen)| {
                r.seen_in = seen.into_iter().collect();
                r
            })
            .collect();
        spawns.sort_by(|a, b| {
            (a.parent, &a.filename, a.program).cmp(&(b.parent, &b.filename, b.program))
        });
        Capture {
            schema: SCHEMA.into(),
            tool: ToolInfo {
                name: "permtrace".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            target,
            window,
            stats: self.stats,
            programs: self.programs.into_list(),
            files,
            network,
            spawns,
            runtime: self.runtime,
            names: self.names.into_values().collect(),
            sources: self.sources,
        }
    }
}

/// The service as the inputs describe it: the first input's view, with the followed pids
/// and preloads of all.
fn merged_target(inputs: &[Input]) -> Target {
    let mut t = Target {
        mode: Mode::Merged,
        ..Default::default()
    };
    for input in inputs {
        let c = &input.capture.target;
        if t.command.is_empty() {
            t.command = c.command.clone();
        }
        t.cwd = t.cwd.take().or_else(|| c.cwd.clone());
        t.user = t.user.take().or_else(|| c.user.clone());
        t.node = t.node.take().or_else(|| c.node.clone());
        t.entry = t.entry.take().or_else(|| c.entry.clone());
        if t.node_options.is_empty() {
            t.node_options = c.node_options.clone();
        }
        t.cgroup = t.cgroup.take().or_else(|| c.cgroup.clone());
        for p in &c.preloads {
            if !t.preloads.contains(p) {
                t.preloads.push(p.clone());
            }
        }
        for (k, v) in &c.env {
            t.env.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for p in &c.attached_pids {
            if !t.attached_pids.contains(p) {
                t.attached_pids.push(*p);
            }
        }
    }
    t
}

/// From the earliest start to the latest end. The start of the service was seen if any
/// input saw it (its start-up accesses are in the merge).
fn merged_window(inputs: &[Input]) -> Window {
    let windows = inputs.iter().map(|i| &i.capture.window);
    Window {
        started_at_ms: windows.clone().map(|w| w.started_at_ms).min().unwrap_or(0),
        ended_at_ms: windows.clone().map(|w| w.ended_at_ms).max().unwrap_or(0),
        saw_start: windows.clone().any(|w| w.saw_start),
        ended_by: "merge".into(),
        gaps: Vec::new(),
    }
}

fn warnings(inputs: &[Input]) -> Vec<String> {
    let mut out = Vec::new();
    let mut versions: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for i in inputs {
        let v = (i.capture.target.node.as_ref())
            .map(|n| n.version.clone().unwrap_or_else(|| "unknown".into()));
        if let Some(v) = v {
            versions.entry(v).or_default().push(&i.label);
        }
    }
    if versions.len() > 1 {
        let list: Vec<String> = versions
            .iter()
            .map(|(v, labels)| format!("{v} ({})", labels.join(", ")))
            .collect();
        out.push(format!(
            "the captures ran different Node.js versions: {}; render the draft for the one \
             you deploy (permtrace policy --node-version)",
            list.join("; ")
        ));
    }
    let entries: BTreeSet<_> = inputs
        .iter()
        .filter_map(|i| i.capture.target.entry.as_ref())
        .collect();
    if entries.len() > 1 {
        let list: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        out.push(format!(
            "the captures ran different entry scripts ({}): are they the same service?",
            list.join(", ")
        ));
    }
    for i in inputs {
        let lost = i.capture.stats.lost();
        if lost > 0 {
            out.push(format!(
                "{} lost {lost} events: it is incomplete, and so is the merge",
                i.label
            ));
        }
    }
    out
}
