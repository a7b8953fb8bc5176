//! Per-path aggregates.

use std::collections::{BTreeMap, HashMap};

use super::stats::{Context, merge_stats, record_access};
use crate::{
    access::{Access, classify},
    capture::{AccessStats, FileRecord},
    event::PathCall,
    pathbytes::PathBytes,
    resolve::{Resolution, Resolved, Unresolved},
};

pub type Key = (PathBytes, Option<Unresolved>);

/// The accesses to one path. Most paths see one or two kinds of access, so a vector sized
/// exactly beats a `BTreeMap`, whose smallest node holds eleven entries (~1.2 KiB per path:
/// 250 MiB over 200k paths).
#[derive(Default)]
struct Accesses(Vec<(Access, AccessStats)>);

impl Accesses {
    fn entry(&mut self, access: Access) -> &mut AccessStats {
        let i = match self.0.iter().position(|(a, _)| *a == access) {
            Some(i) => i,
            None => {
                self.0.reserve_exact(1);
                self.0.push((access, AccessStats::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }

    fn to_map(&self) -> BTreeMap<Access, AccessStats> {
        self.0.iter().cloned().collect()
    }
}

#[derive(Default)]
pub struct Files {
    map: HashMap<Key, Accesses>,
}

impl Files {
    pub fn load(&mut self, records: &[FileRecord]) {
        for r in records {
            let entry = self.map.entry((r.path.clone(), r.unresolved)).or_default();
            for (access, stats) in &r.access {
                merge_stats(entry.entry(*access), stats);
            }
        }
    }

    /// Records the call's path(s); returns how many of them could not be resolved.
    pub fn record(&mut self, call: &PathCall, resolved: &Resolved, ctx: Context, now: u64) -> u64 {
        let (first, second) = classify(call);
        let mut unresolved = 0;
        let mut one = |res: Option<&Resolution>, raw: &PathBytes, access: Access| {
            let key = match res {
                Some(Resolution::Absolute(p)) => (p.clone(), None),
                Some(Resolution::Unresolved(why)) => {
                    unresolved += 1;
                    (raw.clone(), Some(*why))
                }
                None => return,
            };
            let stats = self.map.entry(key).or_default().entry(access);
            record_access(stats, call.ret, ctx, now);
        };
        one(resolved.path.as_ref(), &call.path.bytes, first);
        if let (Some(access), Some(raw)) = (second, call.path2.as_ref()) {
            one(resolved.path2.as_ref(), &raw.bytes, access);
        }
        unresolved
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// The keys in output order (by path; a resolved path before the same unresolved one).
    pub fn sorted_keys(&self) -> Vec<&Key> {
        let mut keys: Vec<&Key> = self.map.keys().collect();
        keys.sort_by(|a, b| (&a.0, a.1.is_some()).cmp(&(&b.0, b.1.is_some())));
        keys
    }

    pub fn record_of(&self, key: &Key) -> FileRecord {
        FileRecord {
            path: key.0.clone(),
            unresolved: key.1,
            access: self.map.get(key).map(Accesses::to_map).unwrap_or_default(),
            seen_in: Vec::new(),
        }
    }

    pub fn to_records(&self) -> Vec<FileRecord> {
        self.sorted_keys()
            .into_iter()
            .map(|k| self.record_of(k))
            .collect()
    }
}
