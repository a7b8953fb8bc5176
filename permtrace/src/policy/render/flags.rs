//! `node-flags.txt`: the command-line flags for the target version, exactly one per line and
//! nothing else, so `mapfile -t F < node-flags.txt` or `xargs -d '\n'` can consume it. One
//! `--allow-fs-*` per path: Node does not split comma lists.

use super::node_value;
use crate::policy::model::Policy;

pub fn node_flags(policy: &Policy) -> String {
    let mut lines = vec![policy.node.enable_flag().to_string()];
    match &policy.fs.all {
        Some(_) => {
            lines.push("--allow-fs-read=*".into());
            lines.push("--allow-fs-write=*".into());
        }
        None => {
            for g in &policy.fs.read {
                lines.push(format!("--allow-fs-read={}", node_value(g)));
            }
            for g in &policy.fs.write {
                lines.push(format!("--allow-fs-write={}", node_value(g)));
            }
        }
    }
    for c in policy.capabilities.iter().filter(|c| c.grantable) {
        lines.push(c.capability.flag().to_string());
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}
