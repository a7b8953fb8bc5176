//! Proof that a draft is not `*`: under its grants, reads and writes outside the app are still
//! denied. The targets are files that exist, next to the app's root (a raw-prefix sibling of
//! it, `<root>-secret.txt`, which a `<root>*` grant would let through) and in /etc.

use std::{ffi::OsString, path::Path};

use serde_json::Value;

use super::{
    runs::{Outcome, run},
    workspace::Workspace,
};

const PROBE: &str = r#"
const fs = require('node:fs');
const result = {};
for (const spec of process.argv.slice(1)) {
  const i = spec.indexOf(':');
  const [op, p] = [spec.slice(0, i), spec.slice(i + 1)];
  try {
    if (op === 'read') fs.readFileSync(p);
    else fs.writeFileSync(p, 'should have been denied');
    result[spec] = 'allowed';
  } catch (e) {
    result[spec] = e.code || String(e);
  }
}
console.log('PROBE ' + JSON.stringify(result));
"#;

/// The probes for an app: `(spec, path)`, with `spec` like `read:/etc/passwd`.
pub fn targets(ws: &Workspace) -> Vec<String> {
    let secret = ws.beside(&format!("{}-secret.txt", ws.app.name));
    if !secret.exists() {
        std::fs::write(&secret, "not for the app\n").unwrap();
    }
    let out = ws.beside(&format!("{}-secret-out.txt", ws.app.name));
    vec![
        format!("read:{}", secret.display()),
        "read:/etc/passwd".to_string(),
        format!("write:{}", out.display()),
    ]
}

/// Runs the probe with `node_args` (the draft's flags, or its config file) from the app's
/// directory; returns the outcome and each probe's result (`ERR_ACCESS_DENIED` when denied).
pub fn probe(
    node: &Path,
    node_args: &[OsString],
    ws: &Workspace,
) -> (Outcome, Vec<(String, String)>) {
    let specs = targets(ws);
    let args: Vec<OsString> = node_args
        .iter()
        .cloned()
        .chain([OsString::from("-e"), OsString::from(PROBE)])
        .chain(specs.iter().map(OsString::from))
        .collect();
    let outcome = run(node, &args, &ws.workdir(), &[]);
    let parsed: Option<Value> = outcome
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("PROBE "))
        .and_then(|j| serde_json::from_str(j).ok());
    let results = specs
        .iter()
        .map(|s| {
            let r = parsed
                .as_ref()
                .and_then(|p| p[s].as_str())
                .unwrap_or("(no result)");
            (s.clone(), r.to_string())
        })
        .collect();
    (outcome, results)
}
