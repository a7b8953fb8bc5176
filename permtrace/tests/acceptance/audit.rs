//! `--permission-audit` (Node 24.20+ and 26): the app runs under the draft's grants with
//! checks reported instead of enforced, and a diagnostics_channel subscriber records every
//! check the grants would fail. Node itself then says what the draft misses, including the
//! silent checks that never raise an error in enforce mode (node-permission.md section 7).
//!
//! Node 24 passes neither audit mode nor the grants to child processes, so there only the
//! main process and its workers are audited; 26 audits child Node processes too.

use std::{ffi::OsString, path::Path};

use serde_json::Value;

use super::{
    apps::App,
    runs::{Outcome, run},
    workspace::Workspace,
};

pub struct AuditRun {
    pub outcome: Outcome,
    /// Every event recorded, as JSON lines.
    pub events: Vec<Value>,
    /// The subscriber ran in the main process.
    pub loaded: bool,
}

impl AuditRun {
    /// Events that say the draft lacks something.
    pub fn missing(&self, app: &App) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e.get("loaded").is_none() && !benign(app, e))
            .collect()
    }
}

/// Runs the app with `flags` (which carry `--permission-audit`) and the subscriber.
pub fn audit_run(node: &Path, flags: &[String], ws: &Workspace, label: &str) -> AuditRun {
    let subscriber = ws.beside("audit-subscriber.cjs");
    if !subscriber.exists() {
        std::fs::write(&subscriber, include_str!("audit-subscriber.cjs")).unwrap();
    }
    let log = ws.beside(&format!("audit-{label}.jsonl"));
    let _ = std::fs::remove_file(&log);
    let args: Vec<OsString> = flags
        .iter()
        .map(OsString::from)
        .chain(ws.app.args.iter().map(OsString::from))
        .collect();
    let node_options = OsString::from(format!("-r {}", subscriber.display()));
    let outcome = run(
        node,
        &args,
        &ws.workdir(),
        &[
            ("NODE_OPTIONS", Some(&node_options)),
            ("PERMTRACE_AUDIT_LOG", Some(log.as_os_str())),
        ],
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
        .collect();
    let loaded = events
        .iter()
        .any(|e| e.get("loaded").is_some() && e["thread"] == 0);
    AuditRun {
        outcome,
        events,
        loaded,
    }
}

/// Checks that fail harmlessly in enforce mode and must not be granted for: when a Worker
/// starts, Node checks the Inspector scope (to attach the inspector to it) and, denied, just
/// starts the worker without one; under `--permission` the app runs normally with no
/// `--allow-inspector` (verified on 22, 24 and 26), so the draft rightly leaves it out.
fn benign(app: &App, event: &Value) -> bool {
    let m = &event["message"];
    app.starts_workers() && m["permission"] == "Inspector" && m["resource"] == ""
}
