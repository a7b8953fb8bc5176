//! What a finished capture leaves in its output directory: capture.json and the drafts
//! rendered from it. Shared by `attach` and `merge`.

use std::path::PathBuf;

use anyhow::Result;

use crate::{capture::Capture, cli::PolicyArgs, output::OutputDir};

/// Writes capture.json, then the drafts, atomically each; returns the files written.
pub fn write_capture_and_drafts(
    out: &OutputDir,
    capture: &Capture,
    policy: &PolicyArgs,
) -> Result<Vec<PathBuf>> {
    let path = out.write_atomic_with("capture.json", |w| {
        serde_json::to_writer_pretty(w, capture).map_err(Into::into)
    })?;
    let mut written = vec![path];
    written.extend(write_drafts(out, capture, policy)?);
    Ok(written)
}

/// The drafts next to the capture, rendered by the policy engine. This build has no
/// policy engine yet, so there are none; `permtrace policy` renders them from capture.json.
fn write_drafts(
    _out: &OutputDir,
    _capture: &Capture,
    _policy: &PolicyArgs,
) -> Result<Vec<PathBuf>> {
    Ok(Vec::new())
}
