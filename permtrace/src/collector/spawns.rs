//! Execs by traced processes, per parent program.

use std::collections::HashMap;

use super::stats::{Context, merge_stats, record_access};
use crate::{
    capture::{AccessStats, SpawnRecord},
    event::ExecCall,
    pathbytes::PathBytes,
};

type Key = (u32, PathBytes, Option<u32>);

#[derive(Default)]
pub struct Spawns {
    map: HashMap<Key, (bool, AccessStats)>,
}

impl Spawns {
    pub fn load(&mut self, records: &[SpawnRecord]) {
        for r in records {
            let key = (r.parent, r.filename.clone(), r.program);
            let e = self
                .map
                .entry(key)
                .or_insert((r.path_search, AccessStats::default()));
            merge_stats(&mut e.1, &r.stats);
        }
    }

    pub fn record(
        &mut self,
        parent: u32,
        filename: &PathBytes,
        exec: &ExecCall,
        program: Option<u32>,
        ctx: Context,
        now: u64,
    ) {
        let search = exec.ret < 0 && is_path_search_step(filename, &exec.argv);
        let e = self
            .map
            .entry((parent, filename.clone(), program))
            .or_insert((search, AccessStats::default()));
        record_access(&mut e.1, exec.ret, ctx, now);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn to_records(&self) -> Vec<SpawnRecord> {
        let mut out: Vec<SpawnRecord> = self
            .map
            .iter()
            .map(
                |((parent, filename, program), (path_search, stats))| SpawnRecord {
                    parent: *parent,
                    filename: filename.clone(),
                    program: *program,
                    path_search: *path_search,
                    stats: stats.clone(),
                    seen_in: Vec::new(),
                },
            )
            .collect();
        out.sort_by(|a, b| {
            (a.parent, &a.filename, a.program).cmp(&(b.parent, &b.filename, b.program))
        });
        out
    }
}

/// `execvp("node", ["node", ...])` tries `$dir/node` for each PATH entry; the misses are
/// failed execs whose filename is some directory plus the slash-less argv[0].
pub fn is_path_search_step(filename: &PathBytes, argv: &[PathBytes]) -> bool {
    let Some(arg0) = argv.first() else {
        return false;
    };
    let name = arg0.as_bytes();
    !name.is_empty() && !name.contains(&b'/') && filename.file_name() == name
}
