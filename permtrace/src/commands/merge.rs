//! `permtrace merge A.json B.json … -o DIR`: one capture from several of the same service.
//! Every input is read and checked before anything is written: a corrupt or truncated input
//! leaves the output directory as it was.

use std::{io::Write as _, os::unix::fs::MetadataExt as _, path::Path};

use anyhow::{Result, bail};

use crate::{
    capture::load_capture,
    cli::MergeArgs,
    commands::write_capture,
    merge::{Input, merge as merge_captures},
    output::OutputDir,
    target::resolve_user,
};

/// `quiet` (`-q`): no summary of the drafts written.
pub fn merge(args: MergeArgs, quiet: bool) -> Result<i32> {
    let mut inputs = Vec::new();
    for path in &args.captures {
        inputs.push(Input {
            label: path.display().to_string(),
            capture: load_capture(path)?,
        });
    }
    let target = args.out.join("capture.json");
    if let Some(same) = args.captures.iter().find(|p| same_file(p, &target)) {
        bail!(
            "{} is one of the inputs; write the merge to another directory",
            same.display()
        );
    }
    let merged = merge_captures(inputs);
    for w in &merged.warnings {
        eprintln!("permtrace: WARNING: {w}");
    }
    let owner = resolve_user(None)?.map(|u| (u.uid, u.gid));
    let out = OutputDir::create(&args.out, owner)?;
    let cap = &merged.capture;
    let written = write_capture(&out, cap)?;
    let n = cap.sources.len();
    let everywhere = cap.files.iter().filter(|f| f.seen_in.len() == n).count();
    eprintln!(
        "permtrace: merged {n} captures: {} paths ({everywhere} seen in all {n}), {} endpoints, \
         {} spawns, {} events",
        cap.files.len(),
        cap.network.len(),
        cap.spawns.len(),
        cap.stats.events
    );
    eprintln!("permtrace: wrote {}", written.display());
    crate::policy::emit_drafts(&out, cap, &args.policy, quiet);
    std::io::stderr().flush().ok();
    Ok(0)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}
