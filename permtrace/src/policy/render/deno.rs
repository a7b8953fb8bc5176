//! Deno flags and a `deno.json` permission set from the same model (node-permission.md
//! section 11). Deno differs: lists may be comma-joined; `*` is literal, so directory grants
//! are plain paths; `--allow-net` takes `host:port` and names are distinct from addresses, so
//! the names the application resolved are used when known; `--allow-run` takes program
//! names (looked up in PATH) or exact paths.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::policy::model::{Grant, GrantReason, Policy};

/// The permission lists: (read, write, net, run).
fn lists(policy: &Policy) -> [(&'static str, Vec<String>); 4] {
    // Deno has no string prefixes (`*` is literal), and no prefix bug to avoid: a string
    // prefix grant becomes the grants it stands for.
    let paths = |gs: &[Grant]| -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for g in gs {
            match (&g.reason, g.string_prefix) {
                (GrantReason::SharedPrefix { with }, true) => {
                    v.extend(with.iter().map(|w| w.to_string()))
                }
                _ => v.push(g.path.to_string()),
            }
        }
        v
    };
    let mut net = BTreeSet::new();
    for ep in policy.network.endpoints.iter().filter(|e| !e.resolver_only) {
        let Some(port) = ep.port else { continue };
        if ep.protocol == "unix" {
            continue;
        }
        if ep.hostnames.is_empty() || ep.op != "connect" {
            let host = if ep.address.contains(':') {
                format!("[{}]", ep.address)
            } else {
                ep.address.clone()
            };
            net.insert(format!("{host}:{port}"));
        }
        for h in ep.hostnames.iter().filter(|_| ep.op == "connect") {
            net.insert(format!("{h}:{port}"));
        }
    }
    let run: BTreeSet<String> = policy
        .spawned
        .iter()
        .filter(|s| !s.path_search)
        .map(|s| s.program.clone())
        .collect();
    [
        ("read", paths(&policy.fs.read)),
        ("write", paths(&policy.fs.write)),
        ("net", net.into_iter().collect()),
        ("run", run.into_iter().collect()),
    ]
}

/// `deno-flags.txt`: one flag per line; values comma-joined, except values containing a comma,
/// which get a flag of their own.
pub fn deno_flags(policy: &Policy) -> String {
    let mut out = String::new();
    for (kind, values) in lists(policy) {
        let (plain, comma): (Vec<String>, Vec<String>) =
            values.into_iter().partition(|v| !v.contains(','));
        if !plain.is_empty() {
            out.push_str(&format!("--allow-{kind}={}\n", plain.join(",")));
        }
        for v in comma {
            out.push_str(&format!("--allow-{kind}={v}\n"));
        }
    }
    out
}

/// `deno.json` with a `default` permission set (`deno run -P main.ts`).
pub fn deno_json(policy: &Policy) -> String {
    let mut set = Map::new();
    for (kind, values) in lists(policy) {
        if !values.is_empty() {
            set.insert(
                kind.into(),
                Value::Array(values.into_iter().map(Value::String).collect()),
            );
        }
    }
    let doc = json!({ "permissions": { "default": set } });
    let mut s = serde_json::to_string_pretty(&doc).expect("JSON values serialize");
    s.push('\n');
    s
}
