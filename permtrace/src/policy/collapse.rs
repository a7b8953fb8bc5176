//! From the paths one scope (fs.read or fs.write) needs to the fewest grants that cover them
//! and that Node evaluates as intended:
//!
//! 1. seeds (the project directory, package roots) cover everything under them;
//! 2. a path with a generated component (temp names, pids, UUIDs, hashes) is covered by the
//!    directory above that component, since the next run will use other names;
//! 3. a directory with `threshold` or more distinct names under it becomes one grant;
//! 4. nothing is granted together with its parent: Node then denies the parent itself;
//! 5. a directory grant whose path string is a prefix of another grant (`/srv/app` and
//!    `/srv/app-data`) is ungranted by Node's radix tree; when the directory itself is used,
//!    both merge into their parent, or into the string prefix `/srv/app*` when the parent is
//!    protected (4 and 5 are in [`trap`]).
//!
//! No directory at or above a protected place is ever produced (see [`Protected`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::{
    model::{GrantReason, Review, Severity},
    names::{Lifecycle, is_generated},
    protect::{Protected, Verdict},
    trap::{self, has_ancestor_in},
};
use crate::pathbytes::PathBytes;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    pub path: PathBytes,
    /// Known to be a directory (listed, created as one, or has recorded children).
    pub directory: bool,
    /// The program created it (opened for writing, mkdir, rename target).
    pub created: bool,
    /// The program removed it (unlink, rmdir, renamed away).
    pub removed: bool,
    /// Why an exact grant would be made (Entry/Preload on Node 20, KeptInternal).
    pub reason: Option<GrantReason>,
}

#[cfg(test)]
impl Need {
    pub fn new(path: &str) -> Need {
        Need {
            path: PathBytes::from(path),
            directory: false,
            created: false,
            removed: false,
            reason: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub path: PathBytes,
    pub directory: bool,
    /// Granted as the raw string prefix `path*` (see [`trap`]).
    pub string_prefix: bool,
    pub reason: GrantReason,
    /// Indices of the needs this grant covers.
    pub covers: Vec<usize>,
}

#[derive(Clone, Copy, Debug)]
pub struct Rules<'a> {
    pub threshold: usize,
    pub protect: &'a Protected,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub grants: Vec<Planned>,
    pub review: Vec<Review>,
}

/// Plans the grants of one scope. `seeds` are directory grants decided by the caller.
pub fn plan(needs: &[Need], seeds: Vec<(PathBytes, GrantReason)>, rules: Rules) -> Plan {
    let mut out = Plan::default();
    let mut grants: Vec<Planned> = seeds
        .into_iter()
        .map(|(path, reason)| dir_grant(path, reason))
        .collect();
    // Directory grants so far (seeds, then also generated groups), for "is it covered".
    let mut dirs: HashSet<PathBytes> = grants.iter().map(|g| g.path.clone()).collect();
    let covered =
        |dirs: &HashSet<PathBytes>, p: &PathBytes| dirs.contains(p) || has_ancestor_in(p, dirs);

    // 2. Generated names.
    let lives: HashMap<&PathBytes, Lifecycle> = needs
        .iter()
        .map(|n| {
            let life = Lifecycle {
                created: n.created,
                removed: n.removed,
            };
            (&n.path, life)
        })
        .collect();
    let mut generated: BTreeMap<PathBytes, BTreeSet<String>> = BTreeMap::new();
    let mut exact: Vec<usize> = Vec::new();
    for (i, need) in needs.iter().enumerate() {
        if covered(&dirs, &need.path) {
            continue;
        }
        match generated_component(&need.path, &lives) {
            Some((dir, name)) => match rules.protect.check(&dir) {
                Verdict::Allowed => {
                    generated.entry(dir).or_default().insert(name);
                }
                Verdict::Temp => {
                    out.review.push(Review {
                        severity: Severity::Warning,
                        topic: "shared-temp-dir".into(),
                        message: format!(
                            "the program creates generated names directly in {dir} (e.g. {name}); \
                             no exact grant can match the next run's names, so all of {dir} is \
                             granted. Prefer a private directory (e.g. TMPDIR=<app dir>/tmp, or \
                             fs.mkdtemp under the app's own directory), or --protect {dir} to \
                             keep exact grants"
                        ),
                        paths: vec![dir.clone()],
                    });
                    generated.entry(dir).or_default().insert(name);
                }
                Verdict::Protected(pattern) => {
                    out.review.push(Review {
                        severity: Severity::Warning,
                        topic: "generated-in-protected-dir".into(),
                        message: format!(
                            "{} looks generated, but its directory {dir} is protected ({pattern}); \
                             it is granted exactly and the next run's name will be denied",
                            need.path
                        ),
                        paths: vec![need.path.clone()],
                    });
                    exact.push(i);
                }
            },
            None => exact.push(i),
        }
    }
    for (dir, names) in generated {
        let examples = names.into_iter().take(3).collect();
        grants.push(dir_grant(dir, GrantReason::Generated { examples }));
    }
    dirs.extend(grants.iter().map(|g| g.path.clone()));
    exact.retain(|&i| !covered(&dirs, &needs[i].path));

    // 3. Directories with many distinct names under them.
    let mut items: Vec<&PathBytes> = exact.iter().map(|&i| &needs[i].path).collect();
    let loose: Vec<PathBytes> = grants
        .iter()
        .filter(|g| matches!(g.reason, GrantReason::Generated { .. }))
        .map(|g| g.path.clone())
        .collect();
    items.extend(loose.iter());
    for (dir, distinct) in dirs_over_threshold(&items, rules) {
        let threshold = rules.threshold;
        grants.push(dir_grant(
            dir,
            GrantReason::Collapsed {
                distinct,
                threshold,
            },
        ));
    }
    for &i in &exact {
        let n = &needs[i];
        grants.push(Planned {
            path: n.path.clone(),
            directory: n.directory,
            string_prefix: false,
            reason: n.reason.clone().unwrap_or(GrantReason::Exact),
            covers: Vec::new(),
        });
    }

    // 4 and 5.
    let mut grants = trap::untangle(grants, needs, rules, &mut out.review);

    // Which grant covers each need: the grant at its path, the directory grant above it, or
    // a string prefix of it.
    grants.sort_by(|a, b| a.path.cmp(&b.path));
    let at: HashMap<PathBytes, usize> = grants
        .iter()
        .enumerate()
        .map(|(i, g)| (g.path.clone(), i))
        .collect();
    let prefixes: Vec<usize> = (0..grants.len())
        .filter(|&g| grants[g].string_prefix)
        .collect();
    for (i, need) in needs.iter().enumerate() {
        let mut cur = Some(need.path.clone());
        let mut found = None;
        while let Some(p) = cur {
            if let Some(&g) = at.get(&p)
                && (p == need.path || grants[g].directory)
            {
                found = Some(g);
                break;
            }
            cur = p.parent();
        }
        let by_prefix = || {
            prefixes
                .iter()
                .copied()
                .find(|&g| need.path.as_bytes().starts_with(grants[g].path.as_bytes()))
        };
        if let Some(g) = found.or_else(by_prefix) {
            grants[g].covers.push(i);
        }
    }
    out.grants = grants;
    out
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

/// The directory above the topmost generated component of `path`, and that component.
fn generated_component(
    path: &PathBytes,
    lives: &HashMap<&PathBytes, Lifecycle>,
) -> Option<(PathBytes, String)> {
    let mut prefix = PathBytes::from("/");
    for comp in path
        .as_bytes()
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
    {
        let here = prefix.join(comp);
        let life = lives.get(&here).copied().unwrap_or_default();
        if is_generated(comp, life) {
            return Some((prefix, String::from_utf8_lossy(comp).into_owned()));
        }
        prefix = here;
    }
    None
}

/// Directories (deepest first) with at least `threshold` distinct names leading to items,
/// that may be granted.
fn dirs_over_threshold(items: &[&PathBytes], rules: Rules) -> Vec<(PathBytes, usize)> {
    if rules.threshold == 0 {
        return Vec::new();
    }
    let mut children: BTreeMap<PathBytes, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for item in items {
        let mut cur = (*item).clone();
        while let Some(parent) = cur.parent() {
            children
                .entry(parent.clone())
                .or_default()
                .insert(cur.file_name().to_vec());
            cur = parent;
        }
    }
    children
        .into_iter()
        .filter(|(dir, names)| names.len() >= rules.threshold && rules.protect.allows(dir))
        .map(|(dir, names)| (dir, names.len()))
        .collect()
}

#[cfg(test)]
#[path = "collapse_tests.rs"]
mod tests;
