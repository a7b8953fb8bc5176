//! `permtrace policy CAPTURE`: render the draft from a saved capture (no root needed).

use std::io::Write as _;

use anyhow::{Context as _, Result};

use crate::{
    capture::load_capture,
    cli::{PolicyCmdArgs, PolicyFormat},
    output::OutputDir,
    policy::{Settings, draft, render, write_drafts},
};

/// `quiet` (`-q`): no summary of what was written, and the incomplete-capture warning only
/// when events were lost.
pub fn policy(args: PolicyCmdArgs, quiet: bool) -> Result<i32> {
    let capture = load_capture(&args.capture)?;
    let (policy, dir) = match &args.out {
        Some(dir) => {
            let out = OutputDir::create(dir, None)?;
            let drafts = write_drafts(&out, &capture, &args.policy)?;
            let shown = out.path().display().to_string();
            for line in drafts.summary(&shown).iter().filter(|_| !quiet) {
                eprintln!("permtrace: {line}");
            }
            (drafts.policy, shown)
        }
        None => {
            let policy = draft(&capture, &Settings::from_args(&args.policy))?;
            let dir = args
                .capture
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| ".".into());
            (policy, dir)
        }
    };
    let text = match args.format {
        PolicyFormat::Flags => render::node_flags(&policy),
        PolicyFormat::Config => render::node_config(&policy).with_context(|| {
            format!(
                "Node.js {} has no config file support (it arrived in 22.16); use --format flags",
                policy.node.version
            )
        })?,
        PolicyFormat::Deno => format!(
            "{}\n# deno.json (deno run -P uses its \"default\" set):\n{}",
            render::deno_flags(&policy),
            render::deno_json(&policy)
        ),
        PolicyFormat::Json => render::json(&policy),
        PolicyFormat::Report => render::report(&policy, &dir),
    };
    let warn = match quiet {
        true => policy.completeness.lost_events > 0,
        false => policy.completeness.incomplete,
    };
    if warn && args.format != PolicyFormat::Report {
        eprintln!(
            "permtrace: WARNING: the capture is incomplete ({}); this draft may lack grants",
            policy.completeness.reasons.join("; ")
        );
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .context("writing to stdout")?;
    stdout.flush().ok();
    Ok(0)
}
