//! Acceptance of permtrace's drafts (issue 3): trace a real app on a real Node, then prove
//! with that same Node that the draft permtrace wrote lets the app run with zero
//! ERR_ACCESS_DENIED (as flags and as a config file), still denies what the app does not use,
//! and, where Node can audit, leaves no check unanswered.

pub mod apps;
mod audit;
mod draft;
mod probe;
mod runs;
mod workspace;

use std::ffi::OsString;

use serde_json::Value;

use crate::common::{node_binary, permtrace};
use apps::App;
use draft::{Draft, major, shape_problems};
use runs::{Outcome, run};
use workspace::Workspace;

/// The whole acceptance of one app on one Node version. Every step after the trace runs even
/// when an earlier one failed, and the panic lists all problems with the app's output, the
/// exact command lines and the draft (flags, config, report), so a CI log alone explains it.
pub fn check(app: &'static App, version: &str) {
    let node = node_binary(version);
    let ws = Workspace::new(app);
    let out = ws.beside("permtrace-out");

    // a. Trace: the app must really work while traced.
    ws.fresh_copy();
    let mut argv: Vec<OsString> = vec!["run".into(), "-o".into(), out.clone().into(), "--".into()];
    argv.push(node.clone().into());
    argv.extend(app.args.iter().map(OsString::from));
    let traced = run(&permtrace(), &argv, &ws.workdir(), &[]);
    if !app_worked(&traced, app) {
        panic!(
            "{} on Node {version}: the app did not succeed while traced\n{}",
            app.name,
            traced.describe()
        );
    }
    let draft = Draft::read(&out)
        .unwrap_or_else(|e| panic!("{} on Node {version}: {e}\n{}", app.name, traced.describe()));

    let mut problems = Vec::new();
    problems.extend(capture_problems(&out, version));
    problems.extend(
        shape_problems(&draft, major(version), &ws)
            .into_iter()
            .map(|p| format!("draft: {p}")),
    );

    // b. The app under the flags, then under the config file, each from a fresh copy.
    let flags: Vec<OsString> = draft.flags.iter().map(OsString::from).collect();
    let config = vec![OsString::from(format!(
        "--experimental-config-file={}",
        draft.config_path.display()
    ))];
    for (how, node_args) in [("node-flags.txt", &flags), ("node.config.json", &config)] {
        ws.fresh_copy();
        let args: Vec<OsString> = node_args
            .iter()
            .cloned()
            .chain(app.args.iter().map(OsString::from))
            .collect();
        let o = run(&node, &args, &ws.workdir(), &[]);
        if !app_worked(&o, app) || o.saw_access_denied() {
            problems.push(format!(
                "under {how}: the app must succeed with no ERR_ACCESS_DENIED\n{}",
                o.describe()
            ));
        }
    }

    // c. Outside the app, the same drafts still deny.
    for (how, node_args) in [("node-flags.txt", &flags), ("node.config.json", &config)] {
        let (o, results) = probe::probe(&node, node_args, &ws);
        let leaks: Vec<String> = results
            .into_iter()
            .filter(|(_, result)| result != "ERR_ACCESS_DENIED")
            .map(|(spec, result)| format!("`{spec}` gave {result}"))
            .collect();
        if !leaks.is_empty() {
            problems.push(format!(
                "under {how}, outside the app, not denied: {}\n{}",
                leaks.join(", "),
                o.describe()
            ));
        }
    }

    // d. Node's own audit: nothing the draft leaves out is ever checked.
    if major(version) >= 24 {
        problems.extend(audit_problems(&node, &draft, &ws));
    }

    // e. The same draft comes back from the saved capture, without tracing.
    problems.extend(rerender_problems(&out, &draft, &ws));

    if !problems.is_empty() {
        panic!(
            "{} on Node {version}: {} problem(s)\n\n{}\n\n{}\n\n--- traced run ---\n{}",
            app.name,
            problems.len(),
            problems.join("\n\n"),
            draft.describe(),
            traced.describe()
        );
    }
}

fn app_worked(o: &Outcome, app: &App) -> bool {
    o.exited_zero() && o.printed_line(&app.success_line())
}

/// The capture knows which Node ran (the draft is rendered for it).
fn capture_problems(out: &std::path::Path, version: &str) -> Vec<String> {
    let path = out.join("capture.json");
    let capture: Value = match std::fs::read(&path).map(|b| serde_json::from_slice(&b)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return vec![format!("{}: not JSON: {e}", path.display())],
        Err(e) => return vec![format!("{}: {e}", path.display())],
    };
    let seen = &capture["target"]["node"]["version"];
    if seen != version {
        return vec![format!(
            "capture.json target.node.version is {seen}, not {version:?}"
        )];
    }
    Vec::new()
}

fn audit_problems(node: &std::path::Path, draft: &Draft, ws: &Workspace) -> Vec<String> {
    let mut problems = Vec::new();
    // Control: with no grants at all the same subscriber must hear this app, or a silent
    // audit below would prove nothing.
    ws.fresh_copy();
    let control = audit::audit_run(node, &["--permission-audit".to_string()], ws, "control");
    if !control.loaded || control.missing(ws.app).is_empty() {
        problems.push(format!(
            "audit control: with no grants the subscriber recorded {} event(s) (loaded: {}); \
             the audit run cannot be trusted\n{}",
            control.events.len(),
            control.loaded,
            control.outcome.describe()
        ));
        return problems;
    }
    ws.fresh_copy();
    let audited = audit::audit_run(node, &draft.audit_flags(), ws, "draft");
    let missing = audited.missing(ws.app);
    if !app_worked(&audited.outcome, ws.app) || !audited.loaded || !missing.is_empty() {
        problems.push(format!(
            "under --permission-audit with the draft's grants, Node reported {} check(s) the \
             draft does not cover (subscriber loaded: {}):\n{}\n{}",
            missing.len(),
            audited.loaded,
            missing
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
            audited.outcome.describe()
        ));
    }
    problems
}

/// `permtrace policy capture.json -o DIR` renders the drafts `run` wrote.
fn rerender_problems(out: &std::path::Path, draft: &Draft, ws: &Workspace) -> Vec<String> {
    let again = ws.beside("policy-out");
    let args: Vec<OsString> = vec![
        "policy".into(),
        out.join("capture.json").into(),
        "-o".into(),
        again.clone().into(),
    ];
    let o = run(&permtrace(), &args, &ws.base, &[]);
    if !o.exited_zero() {
        return vec![format!(
            "permtrace policy on the saved capture failed\n{}",
            o.describe()
        )];
    }
    match Draft::read(&again) {
        Err(e) => vec![e],
        Ok(d) if d.flags != draft.flags || d.config != draft.config => vec![format!(
            "permtrace policy on the saved capture rendered a different draft than run\n{}",
            d.describe()
        )],
        Ok(_) => Vec::new(),
    }
}
