//! Writing every rendering next to a capture: used by `run`, `attach`, `merge` (after
//! capture.json is written) and `policy -o`. Files appear atomically, never through a planted
//! symlink (via [`OutputDir`]).

use std::path::PathBuf;

use anyhow::Result;

use super::{Policy, Settings, draft, render};
use crate::{capture::Capture, cli::PolicyArgs, output::OutputDir};

pub const FLAGS_FILE: &str = "node-flags.txt";
pub const CONFIG_FILE: &str = "node.config.json";
pub const REPORT_FILE: &str = "report.txt";
pub const DENO_FLAGS_FILE: &str = "deno-flags.txt";
pub const DENO_CONFIG_FILE: &str = "deno.json";
pub const POLICY_FILE: &str = "policy.json";

/// Every file a draft may consist of.
pub const DRAFT_FILES: &[&str] = &[
    FLAGS_FILE,
    CONFIG_FILE,
    REPORT_FILE,
    DENO_FLAGS_FILE,
    DENO_CONFIG_FILE,
    POLICY_FILE,
];

pub struct Drafts {
    pub policy: Policy,
    pub written: Vec<PathBuf>,
}

impl Drafts {
    /// The lines to print after writing: where the drafts are and how to run with them.
    pub fn summary(&self, dir: &str) -> Vec<String> {
        let p = &self.policy;
        let mut v = vec![format!(
            "drafts for Node.js {}: {} read grant(s), {} write grant(s), {} capability flag(s), {} \
             item(s) to review; see {dir}/{REPORT_FILE}",
            p.node.version,
            p.fs.read.len(),
            p.fs.write.len(),
            p.capabilities.iter().filter(|c| c.grantable).count(),
            p.review.len()
        )];
        if p.completeness.incomplete {
            v.push(
                "WARNING: the capture is incomplete; the draft may lack grants (see the report)"
                    .into(),
            );
        }
        v.extend(
            render::run_hints(p, dir)
                .into_iter()
                .map(|h| format!("run: {h}")),
        );
        v
    }
}

/// Drafts the policy for `capture` and writes every rendering into `out`. A config file left
/// by an earlier draft for another version is removed when this version has none.
pub fn write_drafts(out: &OutputDir, capture: &Capture, args: &PolicyArgs) -> Result<Drafts> {
    let policy = draft(capture, &Settings::from_args(args))?;
    let dir = out.path().display().to_string();
    let mut written = vec![out.write_atomic(FLAGS_FILE, render::node_flags(&policy).as_bytes())?];
    match render::node_config(&policy) {
        Some(cfg) => written.push(out.write_atomic(CONFIG_FILE, cfg.as_bytes())?),
        None => out.remove(CONFIG_FILE)?,
    }
    written.push(out.write_atomic(REPORT_FILE, render::report(&policy, &dir).as_bytes())?);
    written.push(out.write_atomic(DENO_FLAGS_FILE, render::deno_flags(&policy).as_bytes())?);
    written.push(out.write_atomic(DENO_CONFIG_FILE, render::deno_json(&policy).as_bytes())?);
    written.push(out.write_atomic(POLICY_FILE, render::json(&policy).as_bytes())?);
    Ok(Drafts { policy, written })
}

/// [`write_drafts`] for the capturing commands (run, attach, merge): prints where the drafts
/// are and how to run node with them, or why none could be made. A capture that cannot be
/// drafted (no Node process, unknown version) is not an error of the capture: it is saved.
/// Returns whether the drafts were written. `quiet` (`-q`) leaves out the summary, not the
/// failure.
pub fn emit_drafts(out: &OutputDir, capture: &Capture, args: &PolicyArgs, quiet: bool) -> bool {
    let dir = out.path().display().to_string();
    match write_drafts(out, capture, args) {
        Ok(drafts) => {
            for line in drafts.summary(&dir).iter().filter(|_| !quiet) {
                eprintln!("permtrace: {line}");
            }
            true
        }
        Err(e) => {
            eprintln!("permtrace: no draft written: {e:#}");
            eprintln!(
                "permtrace: the capture is saved; draft it later with `permtrace policy \
                 {dir}/capture.json --node-version <N> -o {dir}`"
            );
            false
        }
    }
}
