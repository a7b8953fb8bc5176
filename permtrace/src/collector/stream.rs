//! Writing the capture as JSON straight from the aggregates. A [`Capture`] holds every
//! per-path record at once (a `BTreeMap` of counters each, over 1 KiB per path); a capture of
//! 200k paths written every minute must not double the collector's memory, so checkpoints
//! stream the per-path records one at a time. The JSON is the same as `Capture`'s (a test
//! compares them).

use std::{cell::RefCell, io::Write};

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

/// The per-path records, with `between` called every [`RECORDS_BETWEEN_CALLS`] records.
struct FilesView<'a> {
    files: &'a Files,
    between: RefCell<&'a mut dyn FnMut()>,
}

const RECORDS_BETWEEN_CALLS: usize = 2048;

impl Serialize for FilesView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let keys = self.files.sorted_keys();
        s.collect_seq(keys.into_iter().enumerate().map(|(i, k)| {
            if i % RECORDS_BETWEEN_CALLS == RECORDS_BETWEEN_CALLS - 1 {
                (self.between.borrow_mut())();
            }
            self.files.record_of(k)
        }))
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
        self.write_json_with(kernel, decode_errors, out, &mut || {})
    }

    /// [`Collector::write_json`], calling `between` now and then while it writes (to keep
    /// reading the kernel's events during a long write).
    pub fn write_json_with(
        &self,
        kernel: KernelStats,
        decode_errors: u64,
        out: impl Write,
        between: &mut dyn FnMut(),
    ) -> serde_json::Result<()> {
        let cap: Capture = self.snapshot_without_files(kernel, decode_errors);
        let view = CaptureView {
            schema: &cap.schema,
            tool: &cap.tool,
            target: &cap.target,
            window: &cap.window,
            stats: &cap.stats,
            programs: &cap.programs,
            files: FilesView {
                files: &self.files,
                between: RefCell::new(between),
            },
            network: &cap.network,
            spawns: &cap.spawns,
            runtime: &cap.runtime,
            names: &cap.names,
            sources: &cap.sources,
        };
        serde_json::to_writer_pretty(out, &view)
    }
}
