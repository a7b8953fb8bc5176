//! Renderers of the [`Policy`](super::Policy) model. Each is a pure function of the model.

pub mod config;
pub mod deno;
pub mod flags;
pub mod report;
mod text;

pub use config::node_config;
pub use deno::{deno_flags, deno_json};
pub use flags::node_flags;
pub use report::report;

use super::model::{Grant, Policy};
use crate::node_args::is_node_exe;

/// The policy model itself, as pretty JSON (schema `permtrace.policy/1`).
pub fn json(policy: &Policy) -> String {
    let mut s = serde_json::to_string_pretty(policy).expect("the policy model serializes");
    s.push('\n');
    s
}

/// A grant's value as Node takes it: a directory as `dir/*`, so that it also covers a
/// directory created after Node started (Node only widens a plain path to `path/*` when it
/// is a directory at start-up); a string prefix as `path*`.
pub fn node_value(g: &Grant) -> String {
    let p = g.path.to_string();
    match (g.string_prefix, g.directory, p.as_str()) {
        (true, _, _) => format!("{p}*"),
        (false, true, "/") => "/*".into(),
        (false, true, _) => format!("{p}/*"),
        (false, false, _) => p,
    }
}

/// How to start the traced program with the flags and the config file, as shell commands
/// (bash: `mapfile`); `dir` is where the drafts are.
pub fn run_hints(policy: &Policy, dir: &str) -> Vec<String> {
    let args = app_args(policy);
    let mut v = vec![format!(
        "mapfile -t NODE_FLAGS < {dir}/node-flags.txt && node \"${{NODE_FLAGS[@]}}\" {args}"
    )];
    if policy.node.config_shape().is_some() {
        v.push(format!(
            "node --experimental-config-file={dir}/node.config.json {args}"
        ));
    }
    v
}

/// The arguments after `node` of the traced command (or the entry script).
fn app_args(policy: &Policy) -> String {
    let cmd = &policy.capture.command;
    let parts: Vec<String> = match cmd.first() {
        Some(exe) if is_node_exe(exe) => cmd[1..]
            .iter()
            .map(|a| text::shell_quote(&a.to_string()))
            .collect(),
        _ => match &policy.capture.entry {
            Some(e) => vec![text::shell_quote(&e.to_string())],
            None => vec!["<your script>".into()],
        },
    };
    parts.join(" ")
}
