//! Node's grant tree (a radix tree over path strings) answers wrongly for two shapes of grant
//! sets (node-permission.md section 4.2); this step rewrites a plan until it has neither:
//!
//! 1. a grant together with a directory grant above it: Node then denies the directory
//!    itself, so only the ancestor is kept;
//! 2. a directory grant whose path string is a prefix of another grant (`/srv/app` with
//!    `/srv/app-data/x.json`): Node splits its tree node at `/srv/app`, and the directory
//!    itself (stat, readdir, the package.json "type" lookup) is denied while what is inside
//!    stays granted, on every version 20 to 26, in either order.
//!
//! For 2, when the directory itself is used: both merge into their parent if it may be
//! granted; otherwise into the raw string prefix `/srv/app*`, the one grant set measured to
//! keep the directory granted on 20, 22, 24, 25 and 26 (a repeated grant, a grant of a file
//! inside it, a trailing slash, or `/srv/app*` next to the sibling all fail on at least one
//! version), unless that prefix would also reach a protected place; then the exact grants
//! stay and a warning says what breaks.

use std::collections::HashSet;

use super::{
    collapse::{Need, Planned, Rules},
    model::{GrantReason, Review, Severity},
};
use crate::pathbytes::PathBytes;

/// Rewrites `grants` until Node evaluates every one of them as intended; what cannot be made
/// right is reported in `review`.
pub fn untangle(
    mut grants: Vec<Planned>,
    needs: &[Need],
    rules: Rules,
    review: &mut Vec<Review>,
) -> Vec<Planned> {
    let mut flagged: HashSet<(PathBytes, PathBytes)> = HashSet::new();
    loop {
        grants = without_nested(grants);
        let Some((d, s)) = sibling_trap(&grants, &flagged) else {
            return grants;
        };
        let dir = grants[d].path.clone();
        let sib = grants[s].path.clone();
        let itself_used = needs.iter().any(|n| n.path == dir)
            || matches!(
                grants[d].reason,
                GrantReason::Project { .. } | GrantReason::Package
            );
        let parent = dir.parent().unwrap_or_default();
        if !itself_used {
            review.push(trap_review(
                Severity::Note,
                &dir,
                &sib,
                "it is not used itself, only what is under it",
            ));
        } else if rules.protect.allows(&parent) {
            let with = vec![dir, sib];
            grants.push(dir_grant(parent, GrantReason::MergedSiblings { with }));
            continue;
        } else if let Some(pattern) = rules.protect.reached_by_prefix(&dir) {
            let why = format!(
                "their parent {parent} is protected, and the raw prefix {dir}* that Node would \
                 evaluate correctly also reaches the protected place {pattern}. Rename one of \
                 them so that neither name starts with the other"
            );
            review.push(trap_review(Severity::Warning, &dir, &sib, &why));
        } else {
            review.push(prefix_review(&dir, &sib, &parent));
            grants.push(Planned {
                path: dir.clone(),
                directory: true,
                string_prefix: true,
                reason: GrantReason::SharedPrefix { with: vec![dir] },
                covers: Vec::new(),
            });
            continue;
        }
        flagged.insert((grants[d].path.clone(), sib));
    }
}

fn dir_grant(path: PathBytes, reason: GrantReason) -> Planned {
    Planned {
        path,
        directory: true,
        string_prefix: false,
        reason,
        covers: Vec::new(),
    }
}

fn trap_review(severity: Severity, dir: &PathBytes, sib: &PathBytes, why: &str) -> Review {
    Review {
        severity,
        topic: "sibling-prefix".into(),
        message: format!(
            "Node's grant tree leaves the directory {dir} itself ungranted (stat, readdir, mkdir \
             of it and the package.json type lookup are denied) because {sib} starts with the \
             same string; {why}"
        ),
        paths: vec![dir.clone(), sib.clone()],
    }
}

fn prefix_review(dir: &PathBytes, sib: &PathBytes, parent: &PathBytes) -> Review {
    Review {
        severity: Severity::Warning,
        topic: "string-prefix-grant".into(),
        message: format!(
            "{dir} and {sib} start with the same string, which makes Node deny the directory \
             {dir} itself (stat, readdir, the package.json type lookup) when both are granted, \
             and their parent {parent} is protected: the draft grants the raw string prefix \
             {dir}* instead, which Node evaluates correctly but which also grants every other \
             path starting with \"{dir}\" (e.g. {dir}-old, {dir}2), now and later. To avoid \
             it, rename one of them so that neither name starts with the other, or \
             --unprotect {parent} to grant {parent}/* instead"
        ),
        paths: vec![dir.clone(), sib.clone()],
    }
}

/// Drops every grant inside a directory grant, every grant a string-prefix grant reaches, and
/// repeats of a path (a string prefix wins over a directory, a directory over a file).
/// Grants a string prefix absorbs outside its directory are recorded in its reason, for
/// renderers without string prefixes (Deno).
pub fn without_nested(mut grants: Vec<Planned>) -> Vec<Planned> {
    let rank = |g: &Planned| match (g.string_prefix, g.directory) {
        (true, _) => 0,
        (false, true) => 1,
        (false, false) => 2,
    };
    grants.sort_by(|a, b| (&a.path, rank(a)).cmp(&(&b.path, rank(b))));
    grants.dedup_by(|later, first| later.path == first.path);
    let dirs: HashSet<PathBytes> = grants
        .iter()
        .filter(|g| g.directory)
        .map(|g| g.path.clone())
        .collect();
    grants.retain(|g| !has_ancestor_in(&g.path, &dirs));
    // Sorted by path, so every path a prefix reaches follows it directly.
    let mut out: Vec<Planned> = Vec::with_capacity(grants.len());
    let mut prefix_at: Option<usize> = None;
    for g in grants {
        if let Some(i) = prefix_at
            && g.path.as_bytes().starts_with(out[i].path.as_bytes())
        {
            // A string prefix absorbed whole brings the grants it stood for.
            let absorbed = match g.reason {
                GrantReason::SharedPrefix { with } if g.string_prefix => with,
                _ => vec![g.path],
            };
            if let GrantReason::SharedPrefix { with } = &mut out[i].reason {
                with.extend(absorbed);
            }
            continue;
        }
        if g.string_prefix {
            prefix_at = Some(out.len());
        }
        out.push(g);
    }
    out
}

/// Whether a strict ancestor of `path` is in `dirs`.
pub fn has_ancestor_in(path: &PathBytes, dirs: &HashSet<PathBytes>) -> bool {
    let mut cur = path.parent();
    while let Some(p) = cur {
        if dirs.contains(&p) {
            return true;
        }
        cur = p.parent();
    }
    false
}

/// A directory grant `d` and another grant `s` whose path string starts with `d`'s without
/// being inside it, not already reported. `grants` is sorted by path, so every string that
/// starts with `d`'s follows it directly. A string-prefix grant is no trap: its tree node
/// ends in a wildcard.
fn sibling_trap(
    grants: &[Planned],
    flagged: &HashSet<(PathBytes, PathBytes)>,
) -> Option<(usize, usize)> {
    for (d, dir) in grants.iter().enumerate() {
        if !dir.directory || dir.string_prefix || dir.path.as_bytes() == b"/" {
            continue;
        }
        let db = dir.path.as_bytes();
        for (s, other) in grants.iter().enumerate().skip(d + 1) {
            let sb = other.path.as_bytes();
            if !sb.starts_with(db) {
                break;
            }
            if sb.len() > db.len()
                && sb[db.len()] != b'/'
                && !flagged.contains(&(dir.path.clone(), other.path.clone()))
            {
                return Some((d, s));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(path: &str, with: &[&str]) -> Planned {
        Planned {
            path: path.into(),
            directory: true,
            string_prefix: true,
            reason: GrantReason::SharedPrefix {
                with: with.iter().map(|w| PathBytes::from(*w)).collect(),
            },
            covers: Vec::new(),
        }
    }

    #[test]
    fn a_string_prefix_absorbing_another_takes_over_what_it_stood_for() {
        let grants = vec![
            prefix("/srv/app", &["/srv/app", "/srv/app-data/x.json"]),
            prefix("/srv/a", &["/srv/a"]),
            dir_grant("/srv/a/k".into(), GrantReason::Exact),
            dir_grant("/srv/other".into(), GrantReason::Exact),
        ];
        let out = without_nested(grants);
        let paths: Vec<String> = out.iter().map(|g| g.path.to_string()).collect();
        assert_eq!(paths, ["/srv/a", "/srv/other"]);
        assert_eq!(
            out[0].reason,
            GrantReason::SharedPrefix {
                with: vec![
                    "/srv/a".into(),
                    "/srv/app".into(),
                    "/srv/app-data/x.json".into()
                ]
            }
        );
    }
}
