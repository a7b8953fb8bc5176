//! `report.txt`: what was granted and why (each grant with the paths it covers, counts,
//! programs, first/last seen), what needs a human decision, what was dropped as
//! Node-internal and why, what other programs did, and whether the capture is complete.

mod grants;
mod sections;

use std::fmt::Write as _;

use grants::grants_section;
use sections::*;

use super::{
    run_hints,
    text::{iso_time, shell_quote},
};
use crate::policy::{
    model::*,
    target::{AuditMode, VersionSource},
};

/// Per grant, dropped category and outside program: this many paths are listed (all of
/// them are in `--format json`).
pub(super) const LIST_LIMIT: usize = 12;

/// The report; `dir` is where the drafts are (for the run commands).
pub fn report(p: &Policy, dir: &str) -> String {
    let mut o = String::new();
    let title = format!(
        "permtrace draft permission policy for Node.js {}",
        p.node.version
    );
    let _ = writeln!(o, "{title}\n{}\n", "=".repeat(title.len()));
    capture_section(&mut o, p);
    if p.completeness.incomplete {
        let _ = writeln!(o, "!!! INCOMPLETE CAPTURE: this draft may lack grants !!!");
        for r in &p.completeness.reasons {
            let _ = writeln!(o, "  - {r}");
        }
        o.push('\n');
    }
    run_section(&mut o, p, dir);
    review_section(&mut o, p);
    grants_section(&mut o, p, "fs.read", "--allow-fs-read", &p.fs.read);
    grants_section(&mut o, p, "fs.write", "--allow-fs-write", &p.fs.write);
    if let Some(all) = &p.fs.all {
        let _ = writeln!(
            o,
            "Full fs access (--allow-fs-read=* --allow-fs-write=*)\n  why: {}",
            all.why
        );
        list_paths(&mut o, &all.evidence, "    ");
        o.push('\n');
    }
    capabilities_section(&mut o, p);
    network_section(&mut o, p);
    implicit_section(&mut o, p);
    deno_section(&mut o, p, dir);
    dropped_section(&mut o, p);
    outside_section(&mut o, p);
    let _ = writeln!(
        o,
        "Settings\n  collapse threshold: {} distinct names (--collapse-threshold)\n  keep internal: {}\n  \
         protected (--protect/--unprotect): {}",
        p.settings.collapse_threshold,
        p.settings.keep_internal,
        p.settings.protected.join(", ")
    );
    o
}

fn capture_section(o: &mut String, p: &Policy) {
    let c = &p.capture;
    let cmd: Vec<String> = c
        .command
        .iter()
        .map(|a| shell_quote(&a.to_string()))
        .collect();
    let secs = c.ended_at_ms.saturating_sub(c.started_at_ms) as f64 / 1000.0;
    let _ = writeln!(o, "Capture");
    if !cmd.is_empty() {
        let _ = writeln!(o, "  command: {}", cmd.join(" "));
    }
    if let Some(cwd) = &c.cwd {
        let _ = writeln!(o, "  cwd:     {cwd}");
    }
    let mode = match c.mode {
        crate::capture::Mode::Run => "run".to_string(),
        crate::capture::Mode::Attach => "attach".to_string(),
        crate::capture::Mode::Merged => format!("merged from {} captures", c.sources),
    };
    let _ = writeln!(
        o,
        "  window:  {} to {} ({secs:.1} s, {mode}, ended by {}), {} events",
        iso_time(c.started_at_ms),
        iso_time(c.ended_at_ms),
        if c.ended_by.is_empty() {
            "?"
        } else {
            &c.ended_by
        },
        c.events
    );
    let n = &p.node;
    let from = match n.source {
        VersionSource::Flag => format!("--node-version {}", n.given),
        VersionSource::Capture => format!(
            "the traced binary {}",
            c.node_exe
                .as_ref()
                .map(|e| e.to_string())
                .unwrap_or_default()
        ),
    };
    let assumed = match n.assumed_release {
        true => {
            ", the newest release of that line permtrace verified; pass the exact version if yours is older"
        }
        false => "",
    };
    let _ = writeln!(
        o,
        "  target:  Node.js {} (from {from}{assumed})\n",
        n.version
    );
}

fn run_section(o: &mut String, p: &Policy, dir: &str) {
    let _ = writeln!(o, "How to run");
    for h in run_hints(p, dir) {
        let _ = writeln!(o, "  {h}");
    }
    if p.node.config_shape().is_none() {
        let _ = writeln!(
            o,
            "  (Node {} has no config file support: use the flags.)",
            p.node.version
        );
    }
    match p.node.audit() {
        AuditMode::Works => {
            let _ = writeln!(
                o,
                "  To double-check, run once with --permission-audit instead of {} and subscribe \
                 to the node:permission-model:* diagnostics channels: granted resources report nothing.",
                p.node.enable_flag()
            );
        }
        AuditMode::Broken => {
            let _ = writeln!(
                o,
                "  Do not use --permission-audit on Node {}: it still denies fs and net.",
                p.node.version
            );
        }
        AuditMode::Absent => {}
    }
    o.push('\n');
}

fn review_section(o: &mut String, p: &Policy) {
    if p.review.is_empty() {
        let _ = writeln!(o, "Needs a human decision: nothing\n");
        return;
    }
    let _ = writeln!(o, "Needs a human decision ({})", p.review.len());
    for r in &p.review {
        let tag = match r.severity {
            Severity::Warning => "WARNING",
            Severity::Note => "note",
        };
        let _ = writeln!(o, "  [{tag}] {}: {}", r.topic, r.message);
        for path in r.paths.iter().take(LIST_LIMIT) {
            let _ = writeln!(o, "      {path}");
        }
        if r.paths.len() > LIST_LIMIT {
            let _ = writeln!(o, "      ... and {} more", r.paths.len() - LIST_LIMIT);
        }
    }
    o.push('\n');
}

pub(super) fn access_text(c: &Covered) -> String {
    let mut parts: Vec<String> = c
        .accesses
        .iter()
        .map(|(a, n)| {
            format!(
                "{} {n}",
                serde_json::to_value(a)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            )
        })
        .collect();
    if !c.errors.is_empty() {
        let errs: Vec<String> = c.errors.iter().map(|(e, n)| format!("{e} {n}")).collect();
        parts.push(format!("failed: {}", errs.join(", ")));
    }
    parts.join(", ")
}

pub(super) fn list_paths(o: &mut String, items: &[Covered], indent: &str) {
    for c in items.iter().take(LIST_LIMIT) {
        let _ = writeln!(o, "{indent}{}  ({})", c.path, access_text(c));
    }
    if items.len() > LIST_LIMIT {
        let _ = writeln!(
            o,
            "{indent}... and {} more (all in --format json)",
            items.len() - LIST_LIMIT
        );
    }
}

pub(super) fn program_text(p: &Policy, id: u32) -> String {
    let Some(pr) = p.programs.iter().find(|q| q.id == id) else {
        return format!("#{id}");
    };
    let mut argv: String = pr
        .argv
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    if argv.chars().count() > 100 {
        argv = argv.chars().take(100).collect::<String>() + "...";
    }
    let pids: Vec<String> = pr.pids.iter().map(u32::to_string).collect();
    format!("#{id} {} (pid {}): {argv}", pr.exe, pids.join(", "))
}

pub(super) fn programs_line(o: &mut String, p: &Policy, ids: &[u32], indent: &str) {
    for id in ids {
        let _ = writeln!(o, "{indent}by {}", program_text(p, *id));
    }
}
