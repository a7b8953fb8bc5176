//! The differences as a person reviewing a deploy reads them.

use std::fmt::Write as _;

use super::{Basis, Diff};

pub fn render_text(d: &Diff, old: &str, new: &str) -> String {
    let mut s = String::new();
    let basis = match &d.basis {
        Basis::PermissionModel { node_version } => {
            format!("(drafts for Node.js {node_version} compared)")
        }
        Basis::Records { .. } => "(captures compared record by record)".into(),
    };
    if d.is_empty() {
        let _ = writeln!(s, "{new} needs nothing that {old} did not {basis}.");
    } else {
        let things = if d.len() == 1 { "thing" } else { "things" };
        let _ = writeln!(
            s,
            "{new} needs {} {things} that {old} did not {basis}:",
            d.len()
        );
    }
    if let Basis::Records { why } = &d.basis {
        let _ = writeln!(s, "  (no draft could be made: {why})");
    }
    let times = |n: u64| {
        if n == 1 {
            "1 time".to_string()
        } else {
            format!("{n} times")
        }
    };
    if !d.fs.is_empty() {
        let _ = writeln!(s, "\nfiles:");
        for f in &d.fs {
            let path = if f.directory {
                format!("{}/*", f.path.to_string().trim_end_matches('/'))
            } else {
                f.path.to_string()
            };
            let mut extra = vec![times(f.count)];
            if f.ok == 0 {
                extra.push("all failed".into());
            }
            extra.extend(f.why.clone());
            if !f.by.is_empty() {
                extra.push(format!("by {}", f.by.join(", ")));
            }
            let _ = writeln!(s, "  {:<12} {path}  ({})", f.scope, extra.join(", "));
        }
    }
    if !d.network.is_empty() {
        let _ = writeln!(s, "\nnetwork:");
        for n in &d.network {
            let port = n.port.map(|p| format!(":{p}")).unwrap_or_default();
            let by = if n.by.is_empty() {
                String::new()
            } else {
                format!(", by {}", n.by.join(", "))
            };
            let _ = writeln!(
                s,
                "  {:<12} {} {}{port}  ({}{by})",
                n.op,
                n.protocol,
                n.address,
                times(n.count)
            );
        }
    }
    if !d.spawns.is_empty() {
        let _ = writeln!(s, "\nspawns:");
        for sp in &d.spawns {
            let failed = if sp.ok == 0 { ", all failed" } else { "" };
            let _ = writeln!(
                s,
                "  {} -> {}  ({}{failed})",
                sp.parent,
                sp.filename,
                times(sp.count)
            );
        }
    }
    if !d.flags.is_empty() {
        let _ = writeln!(s, "\nNode permission flags:");
        for f in &d.flags {
            let _ = writeln!(s, "  {}  ({})", f.flag, f.why);
        }
    }
    if !d.notes.is_empty() {
        let _ = writeln!(s);
    }
    for n in &d.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}
