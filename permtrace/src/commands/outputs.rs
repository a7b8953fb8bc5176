//! What a finished capture leaves in its output directory: capture.json, then the drafts
//! rendered from it (`policy::emit_drafts`). Shared by `attach` and `merge`.

use std::path::PathBuf;

use anyhow::Result;

use crate::{capture::Capture, output::OutputDir};

/// Writes capture.json atomically; returns its path.
pub fn write_capture(out: &OutputDir, capture: &Capture) -> Result<PathBuf> {
    out.write_atomic_with("capture.json", |w| {
        serde_json::to_writer_pretty(w, capture).map_err(Into::into)
    })
}
