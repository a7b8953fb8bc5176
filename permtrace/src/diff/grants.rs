//! Comparing two drafted permission models: what NEW's draft grants that OLD's does not
//! cover.

use std::collections::{BTreeSet, HashSet};

use super::{Basis, Diff, NewEndpoint, NewFlag, NewFs, NewSpawn, describe};
use crate::policy::{
    Policy,
    model::{Grant, GrantReason},
};

pub fn diff(old: &Policy, new: &Policy) -> Diff {
    let mut d = Diff {
        basis: Basis::PermissionModel {
            node_version: new.node.version.clone(),
        },
        ..Default::default()
    };
    if new.fs.all.is_some() && old.fs.all.is_none() {
        d.flags.push(NewFlag {
            flag: "--allow-fs-read=* --allow-fs-write=*".into(),
            why: "the application creates symlinks, which Node allows only with full access".into(),
        });
    }
    if old.fs.all.is_none() {
        for (scope, new_grants, old_grants) in [
            ("read", &new.fs.read, &old.fs.read),
            ("write", &new.fs.write, &old.fs.write),
        ] {
            for g in new_grants.iter().filter(|g| !covered(g, old_grants)) {
                d.fs.push(NewFs {
                    scope: scope.into(),
                    path: g.path.clone(),
                    directory: g.directory,
                    count: g.count,
                    ok: g.covers.iter().map(|c| c.ok).sum(),
                    by: programs(new, &g.programs),
                    why: Some(reason(g)),
                });
            }
        }
    }
    let old_caps: BTreeSet<_> = old
        .capabilities
        .iter()
        .filter(|c| c.grantable)
        .map(|c| c.capability)
        .collect();
    for c in new
        .capabilities
        .iter()
        .filter(|c| c.grantable && !old_caps.contains(&c.capability))
    {
        d.flags.push(NewFlag {
            flag: c.capability.flag().into(),
            why: c.evidence.first().cloned().unwrap_or_default(),
        });
    }
    let key = |e: &crate::policy::model::Endpoint| {
        (e.op.clone(), e.protocol.clone(), e.address.clone(), e.port)
    };
    let old_net: HashSet<_> = old
        .network
        .endpoints
        .iter()
        .filter(|e| !e.resolver_only)
        .map(key)
        .collect();
    for e in new.network.endpoints.iter().filter(|e| !e.resolver_only) {
        if !old_net.contains(&key(e)) {
            d.network.push(NewEndpoint {
                op: e.op.clone(),
                protocol: e.protocol.clone(),
                address: e.address.clone(),
                port: e.port,
                count: e.count,
                by: programs(new, &e.programs),
            });
        }
    }
    let old_spawns: HashSet<_> = old
        .spawned
        .iter()
        .filter(|s| !s.path_search)
        .map(|s| &s.path)
        .collect();
    for s in new
        .spawned
        .iter()
        .filter(|s| !s.path_search && !old_spawns.contains(&s.path))
    {
        d.spawns.push(NewSpawn {
            parent: programs(new, &[s.by])
                .pop()
                .unwrap_or_else(|| format!("program {}", s.by)),
            filename: s.path.clone(),
            count: s.count,
            ok: s.ok,
        });
    }
    d
}

/// Whether one of `grants` already allows what `g` allows: the same path (a directory
/// grant covering a file grant), a directory above it, or a string prefix of it.
fn covered(g: &Grant, grants: &[Grant]) -> bool {
    grants.iter().any(|o| {
        if o.path == g.path {
            o.string_prefix || o.directory || (!g.directory && !g.string_prefix)
        } else if g.string_prefix {
            // `g` reaches every path starting with its string: only a broader prefix, or a
            // directory above it, covers all of that.
            (o.string_prefix && g.path.as_bytes().starts_with(o.path.as_bytes()))
                || (o.directory
                    && !o.string_prefix
                    && g.path.starts_with_dir(&o.path)
                    && g.path != o.path)
        } else {
            o.reaches(&g.path)
        }
    })
}

fn reason(g: &Grant) -> String {
    match &g.reason {
        GrantReason::Exact => "accessed".into(),
        GrantReason::Entry => "entry script".into(),
        GrantReason::Preload => "preloaded module".into(),
        GrantReason::Project { .. } => "the application's project directory".into(),
        GrantReason::Package => "a package the application loads".into(),
        GrantReason::Collapsed { distinct, .. } => format!("{distinct} names in it"),
        GrantReason::Generated { examples } => match examples.first() {
            Some(e) => format!("generated names, e.g. {e}"),
            None => "generated names".into(),
        },
        GrantReason::MergedSiblings { .. } => "merged with a sibling (Node's prefix rule)".into(),
        GrantReason::SharedPrefix { with } => format!(
            "string prefix standing for {} sibling grants (Node's prefix rule)",
            with.len()
        ),
        GrantReason::KeptInternal { why } => format!("kept with --keep-internal: {why}"),
    }
}

fn programs(p: &Policy, ids: &[u32]) -> Vec<String> {
    let mut out: Vec<String> = ids
        .iter()
        .filter_map(|id| p.programs.iter().find(|r| r.id == *id))
        .map(|r| describe(&r.exe, &r.argv))
        .collect();
    out.sort();
    out.dedup();
    out
}
