//! Node runtime features seen through uprobes on the node binary (Worker threads, WASI,
//! native addons, the inspector), and which binaries could not be watched.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::{
    capture::{ProbeGap, RuntimeUse},
    event::{Feature, RuntimeCall},
    pathbytes::PathBytes,
};

/// What attaching uprobes to one binary achieved (reported by the tracer edge).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProbeReport {
    /// Features (by capture name: "worker", ..., "getaddrinfo") that could not be watched,
    /// with why.
    pub missing: BTreeMap<String, String>,
}

impl ProbeReport {
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// The same reason for every feature in `features`.
    pub fn all_missing<'a>(features: impl IntoIterator<Item = &'a str>, reason: &str) -> Self {
        Self {
            missing: features
                .into_iter()
                .map(|f| (f.to_string(), reason.to_string()))
                .collect(),
        }
    }
}

#[derive(Default)]
pub struct Runtime {
    workers: u64,
    wasi: u64,
    inspector: u64,
    addons: BTreeSet<PathBytes>,
    /// Threads inside `process.dlopen`, and whether the addon's path was seen yet.
    dlopen: HashMap<u32, bool>,
    /// Binaries probed, by the path the traced process ran them as.
    probed: BTreeMap<PathBytes, ProbeReport>,
}

impl Runtime {
    pub fn load(&mut self, r: &RuntimeUse) {
        self.workers += r.workers;
        self.wasi += r.wasi;
        self.inspector += r.inspector;
        self.addons.extend(r.addons.iter().cloned());
        for gap in &r.unobserved {
            let report = self.probed.entry(gap.binary.clone()).or_default();
            for f in &gap.features {
                report.missing.insert(f.clone(), gap.reason.clone());
            }
        }
    }

    pub fn call(&mut self, tid: u32, call: RuntimeCall) {
        match (call.feature, call.enter) {
            (Feature::Worker, true) => self.workers += 1,
            (Feature::Wasi, true) => self.wasi += 1,
            (Feature::InspectorOpen | Feature::InspectorConnect, true) => self.inspector += 1,
            (Feature::Addon, true) => {
                self.dlopen.insert(tid, false);
            }
            (Feature::Addon, false) => {
                self.dlopen.remove(&tid);
            }
            _ => {}
        }
    }

    /// A path thread `tid` opened: inside `process.dlopen`, the first one is the addon (the
    /// loader opens it before any library it needs).
    pub fn opened(&mut self, tid: u32, path: &PathBytes) {
        if let Some(seen) = self.dlopen.get_mut(&tid)
            && !*seen
        {
            *seen = true;
            self.addons.insert(path.clone());
        }
    }

    /// Records what probing `binary` achieved. A later complete report for the same binary
    /// (probes attached after a first failure) does not erase the earlier gap: events from
    /// that window are missing.
    pub fn probed(&mut self, binary: PathBytes, report: ProbeReport) {
        let entry = self.probed.entry(binary).or_default();
        for (f, why) in report.missing {
            entry.missing.entry(f).or_insert(why);
        }
    }

    /// `node_binaries`: executables of the Node programs that ran.
    pub fn to_record(&self, node_binaries: &[PathBytes]) -> RuntimeUse {
        let watched = |exe: &PathBytes| {
            self.probed.get(exe).is_some_and(|r| {
                Feature::PERMISSIONS
                    .iter()
                    .all(|f| !r.missing.contains_key(f.name()))
            })
        };
        let mut unobserved: Vec<ProbeGap> = self
            .probed
            .iter()
            .filter(|(_, r)| !r.is_complete())
            .flat_map(|(binary, r)| {
                // One gap per distinct reason, so the report can say why.
                let mut by_reason: BTreeMap<&String, Vec<String>> = BTreeMap::new();
                for (f, why) in &r.missing {
                    by_reason.entry(why).or_default().push(f.clone());
                }
                by_reason.into_iter().map(|(why, features)| ProbeGap {
                    binary: binary.clone(),
                    features,
                    reason: why.clone(),
                })
            })
            .collect();
        for exe in node_binaries {
            if !self.probed.contains_key(exe) {
                unobserved.push(ProbeGap {
                    binary: exe.clone(),
                    features: Feature::PERMISSIONS
                        .iter()
                        .map(|f| f.name().to_string())
                        .collect(),
                    reason: "no uprobes were attached to this binary".into(),
                });
            }
        }
        RuntimeUse {
            workers: self.workers,
            wasi: self.wasi,
            addons: self.addons.iter().cloned().collect(),
            inspector: self.inspector,
            observed: !node_binaries.is_empty() && node_binaries.iter().all(watched),
            unobserved,
        }
    }
}
