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

type Key = (PathBytes, Option<Unresolved>);

#[derive(Default)]
pub struct Files {
    map: HashMap<Key, BTreeMap<Access, AccessStats>>,
}

impl Files {
    pub fn load(&mut self, records: &[FileRecord]) {
        for r in records {
            let entry = self.map.entry((r.path.clone(), r.unresolved)).or_default();
            for (access, stats) in &r.access {
                merge_stats(entry.entry(*access).or_default(), stats);
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
            let stats = self.map.entry(key).or_default().entry(access).or_default();
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

    pub fn to_records(&self) -> Vec<FileRecord> {
        let mut out: Vec<FileRecord> = self
            .map
            .iter()
            .map(|((path, unresolved), access)| FileRecord {
                path: path.clone(),
                unresolved: *unresolved,
                access: access.clone(),
                seen_in: Vec::new(),
            })
            .collect();
        out.sort_by(|a, b| {
            (&a.path, a.unresolved.is_some()).cmp(&(&b.path, b.unresolved.is_some()))
        });
        out
    }
}
