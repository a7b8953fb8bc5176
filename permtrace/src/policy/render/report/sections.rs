//! The other parts of the report: capabilities, network, implicit grants, Deno, what was
//! dropped as Node-internal and what other programs did.

use std::{collections::BTreeMap, fmt::Write as _};

use super::{LIST_LIMIT, list_paths, program_text, programs_line};
use crate::policy::{model::*, render::text::iso_time};

pub(super) fn capabilities_section(o: &mut String, p: &Policy) {
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

pub(super) fn network_section(o: &mut String, p: &Policy) {
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

pub(super) fn implicit_section(o: &mut String, p: &Policy) {
    if p.implicit.is_empty() {
        return;
    }
    let _ = writeln!(o, "Granted by Node itself (nothing to emit)");
    for i in &p.implicit {
        let _ = writeln!(o, "  {}: {}", i.path, i.why);
    }
    o.push('\n');
}

pub(super) fn dropped_section(o: &mut String, p: &Policy) {
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

pub(super) fn outside_section(o: &mut String, p: &Policy) {
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

pub(super) fn deno_section(o: &mut String, p: &Policy, dir: &str) {
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
