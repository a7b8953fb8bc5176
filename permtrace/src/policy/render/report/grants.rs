//! The grants part of the report: each grant with why, what it covers and who used it.

use std::fmt::Write as _;

use super::{list_paths, programs_line};
use crate::policy::{
    model::*,
    render::{node_value, text::iso_time},
};

pub(super) fn grants_section(
    o: &mut String,
    p: &Policy,
    scope: &str,
    flag: &str,
    grants: &[Grant],
) {
    let _ = writeln!(o, "Granted: {scope} ({})", grants.len());
    if grants.is_empty() {
        let _ = writeln!(o, "  nothing\n");
        return;
    }
    for g in grants {
        let _ = writeln!(o, "  {flag}={}", node_value(g));
        let why = match (&g.reason, g.directory) {
            (GrantReason::Exact, true) => {
                "the directory itself was used (see below); Node grants a directory with \
                 everything in it"
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
        GrantReason::SharedPrefix { with } => format!(
            "granted as a raw string prefix, standing for {}: Node leaves the directory itself \
             ungranted when another grant starts with the same string, and their parent is \
             protected (see the review item)",
            with.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(" and ")
        ),
        GrantReason::KeptInternal { why } => format!("kept by --keep-internal ({why})"),
    }
}
