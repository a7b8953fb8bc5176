//! `report.txt`: what was granted and why (each grant with the paths it covers, counts,
//! programs, first/last seen), what needs a human decision, what was dropped as
//! Node-internal and why, what other programs did, and whether the capture is complete.

use std::{collections::BTreeMap, fmt::Write as _};

use super::{
    node_value, run_hints,
    text::{iso_time, shell_quote},
};
use crate::policy::{
    model::*,
    target::{AuditMode, VersionSource},
};

/// Per grant, dropped category and outside program: this many paths are listed (all of
/// them are in `--format json`).
const LIST_LIMIT: usize = 12;

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

fn grants_section(o: &mut String, p: &Policy, scope: &str, flag: &str, grants: &[Grant]) {
    let _ = writeln!(o, "Granted: {scope} ({})", grants.len());
    if grants.is_empty() {
        let _ = writeln!(o, "  nothing\n");
        return;
    }
    for g in grants {
        let _ = writeln!(o, "  {flag}={}", node_value(g));
        let why = match (&g.reason, g.directory) {
            (GrantReason::Exact, true) => {
                "this directory was used itself (created, listed or removed); a directory grant \
                 covers what is in it"
                    .to_string()
            }
            (r, _) => reason_text(r),
        };
        let _ = writeln!(o, "    why: {why}");
        let _ = writeln!(
            o,
            "    covers {} path(s), {} call(s), first seen {}, last seen {}",
            g.covers.len(),
            g.count,
            iso_time(g.first_seen_ms),
            iso_time(g.last_seen_ms)
        );
        programs_line(o, p, &g.programs, "    ");
        list_paths(o, &g.covers, "      ");
    }
    o.push('\n');
}

fn reason_text(r: &GrantReason) -> String {
    match r {
        GrantReason::Exact => "this path was accessed".into(),
        GrantReason::Entry => "the entry script (Node 20 does not grant it by itself)".into(),
        GrantReason::Preload => "a --require preload (Node 20 does not grant it by itself)".into(),
        GrantReason::Project { package_json: true } => {
            "the entry script's project directory (nearest package.json Node read): covers its \
             modules, node_modules and the package.json \"type\" lookup"
                .into()
        }
        GrantReason::Project { package_json: false } => {
            "the entry script's directory (no package.json was read): covers the modules loaded from it"
                .into()
        }
        GrantReason::Package => "a package outside the project whose modules Node loaded".into(),
        GrantReason::Collapsed {
            distinct,
            threshold,
        } => format!(
            "{distinct} distinct names under it were accessed (collapse threshold {threshold})"
        ),
        GrantReason::Generated { examples } => format!(
            "names created in it are generated and change every run (e.g. {})",
            examples.join(", ")
        ),
        GrantReason::MergedSiblings { with } => format!(
            "merged {} into their parent: Node leaves a directory ungranted when another grant \
             starts with the same string",
            with.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(" and ")
        ),
        GrantReason::KeptInternal { why } => format!("kept by --keep-internal ({why})"),
    }
}

fn access_text(c: &Covered) -> String {
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

fn list_paths(o: &mut String, items: &[Covered], indent: &str) {
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

fn program_text(p: &Policy, id: u32) -> String {
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

fn programs_line(o: &mut String, p: &Policy, ids: &[u32], indent: &str) {
    for id in ids {
        let _ = writeln!(o, "{indent}by {}", program_text(p, *id));
    }
}

fn capabilities_section(o: &mut String, p: &Policy) {
    let _ = writeln!(o, "Capabilities ({})", p.capabilities.len());
    if p.capabilities.is_empty() {
        let _ = writeln!(o, "  none used\n");
        return;
    }
    for c in &p.capabilities {
        match (c.grantable, c.capability) {
            (true, _) => {
                let _ = writeln!(o, "  {}", c.capability.flag());
            }
            (false, Capability::Net) => {
                let _ = writeln!(
                    o,
                    "  network used, but Node {} does not check the network: nothing to grant \
                     (Node 25+ would need --allow-net)",
                    p.node.version
                );
            }
            (false, _) => {
                let _ = writeln!(
                    o,
                    "  {} needed, but Node {} has no such flag",
                    c.capability.flag(),
                    p.node.version
                );
            }
        }
        for e in c.evidence.iter().take(LIST_LIMIT) {
            let _ = writeln!(o, "      {e}");
        }
        if c.evidence.len() > LIST_LIMIT {
            let _ = writeln!(o, "      ... and {} more", c.evidence.len() - LIST_LIMIT);
        }
        programs_line(o, p, &c.programs, "    ");
    }
    o.push('\n');
}

fn network_section(o: &mut String, p: &Policy) {
    let n = &p.network;
    if n.endpoints.is_empty() && n.names.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "Network (for review and Deno; Node has no per-host permission)"
    );
    for ep in &n.endpoints {
        let port = ep.port.map(|x| format!(":{x}")).unwrap_or_default();
        let names = match ep.hostnames.is_empty() {
            true => String::new(),
            false => format!(" ({})", ep.hostnames.join(", ")),
        };
        let resolver = if ep.resolver_only {
            ", libc resolver only"
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "  {} {} {}{port}{names}: {}× ({} ok{resolver}), first {}",
            ep.op,
            ep.protocol,
            ep.address,
            ep.count,
            ep.ok,
            iso_time(ep.first_seen_ms)
        );
    }
    if !n.names.is_empty() {
        let _ = writeln!(o, "  names resolved: {}", n.names.join(", "));
    }
    o.push('\n');
}

fn implicit_section(o: &mut String, p: &Policy) {
    if p.implicit.is_empty() {
        return;
    }
    let _ = writeln!(o, "Granted by Node itself (nothing to emit)");
    for i in &p.implicit {
        let _ = writeln!(o, "  {}: {}", i.path, i.why);
    }
    o.push('\n');
}

fn dropped_section(o: &mut String, p: &Policy) {
    if p.dropped.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "Dropped as Node-internal: Node never checks these ({} paths; --keep-internal keeps them)",
        p.dropped.len()
    );
    let mut by_cat: BTreeMap<(&str, &str), Vec<Covered>> = BTreeMap::new();
    for d in &p.dropped {
        by_cat
            .entry((d.category.as_str(), d.why.as_str()))
            .or_default()
            .push(d.access.clone());
    }
    for ((cat, why), items) in by_cat {
        let _ = writeln!(o, "  {cat}: {why} ({} path(s))", items.len());
        list_paths(o, &items, "      ");
    }
    o.push('\n');
}

fn outside_section(o: &mut String, p: &Policy) {
    if p.outside.is_empty() {
        return;
    }
    let _ = writeln!(o, "Outside Node's permission model (not granted)");
    for u in &p.outside {
        let _ = writeln!(o, "  {}\n    {}", program_text(p, u.program), u.why);
        list_paths(o, &u.paths, "      ");
    }
    o.push('\n');
}

fn deno_section(o: &mut String, p: &Policy, dir: &str) {
    let _ = writeln!(
        o,
        "Deno (deno-flags.txt, deno.json)\n  \
         mapfile -t DENO_FLAGS < {dir}/deno-flags.txt && deno run \"${{DENO_FLAGS[@]}}\" main.ts\n  \
         or copy deno.json's \"permissions\" next to the app and run: deno run -P main.ts\n  \
         Rendered from what Node did: Deno loads local modules without --allow-read; env and sys \
         access are not visible to tracing (audit them with DENO_AUDIT_PERMISSIONS); unix sockets \
         and full fs access are not rendered."
    );
    if p.network.endpoints.iter().any(|e| !e.hostnames.is_empty()) {
        let _ = writeln!(
            o,
            "  Connections use the host names the application resolved (Deno tells names and \
             addresses apart)."
        );
    }
    o.push('\n');
}
