//! Writing the capture as JSON straight from the aggregates. A [`Capture`] holds every
//! per-path record at once (a `BTreeMap` of counters each, over 1 KiB per path); a capture of
//! 200k paths written every minute must not double the collector's memory, so checkpoints
//! stream the per-path records one at a time. The JSON is the same as `Capture`'s (a test
//! compares them).

use std::io::Write;

use serde::{Serialize, Serializer};

use super::{Collector, files::Files};
use crate::{
    capture::{
        Capture, CaptureStats, NameRecord, NetRecord, Program, RuntimeUse, SourceInfo, SpawnRecord,
        Target, ToolInfo, Window,
    },
    tracer::KernelStats,
};

/// `Capture`, field for field, with `files` produced on the fly.
#[derive(Serialize)]
struct CaptureView<'a> {
    schema: &'a str,
    tool: &'a ToolInfo,
    target: &'a Target,
    window: &'a Window,
    stats: &'a CaptureStats,
    programs: &'a [Program],
    files: FilesView<'a>,
    network: &'a [NetRecord],
    spawns: &'a [SpawnRecord],
    runtime: &'a RuntimeUse,
    names: &'a [NameRecord],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    sources: &'a [SourceInfo],
}

struct FilesView<'a>(&'a Files);

impl Serialize for FilesView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.0
                .sorted_keys()
                .into_iter()
                .map(|k| self.0.record_of(k)),
        )
    }
}

impl Collector {
    /// Writes the capture as of now, as pretty JSON, without materializing it.
    pub fn write_json(
        &self,
        kernel: KernelStats,
        decode_errors: u64,
        out: impl Write,
    ) -> serde_json::Result<()> {
        let cap: Capture = self.snapshot_without_files(kernel, decode_errors);
        let view = CaptureView {
            schema: &cap.schema,
            tool: &cap.tool,
            target: &cap.target,
            window: &cap.window,
            stats: &cap.stats,
            programs: &cap.programs,
            files: FilesView(&self.files),
            network: &cap.network,
            spawns: &cap.spawns,
            runtime: &cap.runtime,
            names: &cap.names,
            sources: &cap.sources,
        };
        serde_json::to_writer_pretty(out, &view)
    }
}
