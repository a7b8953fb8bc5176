//! Turning capture counters into the model's evidence records.

use std::collections::BTreeMap;

use super::model::Covered;
use crate::{access::Access, capture::AccessStats, pathbytes::PathBytes};

/// The evidence of some of a path's access kinds.
pub fn covered<'a>(
    path: &PathBytes,
    accesses: impl IntoIterator<Item = (&'a Access, &'a AccessStats)>,
) -> Covered {
    let mut c = Covered {
        path: path.clone(),
        accesses: BTreeMap::new(),
        ok: 0,
        errors: BTreeMap::new(),
        programs: Vec::new(),
        first_seen_ms: 0,
        last_seen_ms: 0,
    };
    for (access, s) in accesses {
        add_stats(&mut c, *access, s);
    }
    c
}

fn add_stats(c: &mut Covered, access: Access, s: &AccessStats) {
    let first = c.accesses.is_empty();
    *c.accesses.entry(access).or_default() += s.count;
    c.ok += s.ok;
    for (e, n) in &s.errors {
        *c.errors.entry(e.clone()).or_default() += n;
    }
    for p in &s.by {
        if !c.programs.contains(p) {
            c.programs.push(*p);
        }
    }
    c.programs.sort_unstable();
    if first || s.first_seen_ms < c.first_seen_ms {
        c.first_seen_ms = s.first_seen_ms;
    }
    c.last_seen_ms = c.last_seen_ms.max(s.last_seen_ms);
}

/// Totals over several evidence records: (calls, first seen, last seen, programs).
pub fn totals<'a>(items: impl IntoIterator<Item = &'a Covered>) -> (u64, u64, u64, Vec<u32>) {
    let mut count = 0;
    let mut first = u64::MAX;
    let mut last = 0;
    let mut programs: Vec<u32> = Vec::new();
    for c in items {
        count += c.count();
        first = first.min(c.first_seen_ms);
        last = last.max(c.last_seen_ms);
        programs.extend(&c.programs);
    }
    programs.sort_unstable();
    programs.dedup();
    if first == u64::MAX {
        first = 0;
    }
    (count, first, last, programs)
}
