//! What the traced file accesses mean for Node: for each path, whether a restricted Node
//! process touched it, whether Node checks that access, and which scope (fs.read, fs.write)
//! it needs. The output feeds the collapse step.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    actors::{Actors, Role},
    collapse::Need,
    evidence::covered,
    internal::{self, Verdict},
    model::{Covered, Dropped, GrantReason, Implicit, Review, Severity},
    target::NodeTarget,
};
use crate::{
    access::Access,
    capture::{AccessStats, Capture},
    node_args::parse_node_argv,
    pathbytes::{PathBytes, resolve_lexically},
};

/// A path one scope needs, with its evidence.
#[derive(Clone, Debug)]
pub struct Needed {
    pub need: Need,
    pub evidence: Covered,
}

#[derive(Debug, Default)]
pub struct FsUse {
    pub read: Vec<Needed>,
    pub write: Vec<Needed>,
    pub dropped: Vec<Dropped>,
    /// Accesses by programs outside the model, by program id.
    pub outside: BTreeMap<u32, Vec<Covered>>,
    pub implicit: Vec<Implicit>,
    /// `.node` files Node opened (dlopen).
    pub addons: Vec<Covered>,
    /// Symlinks a restricted Node process created.
    pub symlinks: Vec<Covered>,
    pub unresolved: Vec<PathBytes>,
    pub review: Vec<Review>,
    /// Internal-filter facts (shared with the project-directory search).
    pub read_ok: BTreeSet<PathBytes>,
}

pub fn analyse(cap: &Capture, actors: &Actors, node: &NodeTarget, keep_internal: bool) -> FsUse {
    let ctx = filter_context(cap, actors);
    let implicit = implicit_paths(cap, actors, node);
    let mut out = FsUse {
        read_ok: ctx.read_ok.clone(),
        ..Default::default()
    };
    for rec in &cap.files {
        let (mine, theirs): (Vec<_>, Vec<_>) = rec
            .access
            .iter()
            .filter(|(a, _)| **a != Access::Exec)
            .partition(|(_, s)| actors.any_restricted(s));
        for (access, s) in &theirs {
            for &id in &s.by {
                out.outside
                    .entry(id)
                    .or_default()
                    .push(covered(&rec.path, [(*access, *s)]));
            }
        }
        if mine.is_empty() {
            continue;
        }
        if rec.unresolved.is_some() {
            out.unresolved.push(rec.path.clone());
            continue;
        }
        let (links, mine): (Vec<_>, Vec<_>) =
            mine.into_iter().partition(|(a, _)| **a == Access::Symlink);
        if !links.is_empty() {
            out.symlinks.push(covered(&rec.path, links));
        }
        if mine.is_empty() {
            continue;
        }
        let accesses: BTreeMap<Access, AccessStats> =
            mine.iter().map(|(a, s)| (**a, (*s).clone())).collect();
        let mut reason = None;
        match internal::classify(&rec.path, &accesses, &ctx) {
            Verdict::Keep => {}
            Verdict::Ambiguous(message) => out.review.push(Review {
                severity: Severity::Warning,
                topic: "ambiguous-read".into(),
                message,
                paths: vec![rec.path.clone()],
            }),
            Verdict::Addon => {
                out.addons.push(covered(&rec.path, &accesses));
                if !keep_internal {
                    continue;
                }
                reason = Some(GrantReason::KeptInternal {
                    why: "a native addon (dlopen is not fs-checked)".into(),
                });
            }
            Verdict::Drop { category, why } => {
                if !keep_internal {
                    out.dropped.push(Dropped {
                        path: rec.path.clone(),
                        category: category.into(),
                        why,
                        access: covered(&rec.path, &accesses),
                    });
                    continue;
                }
                reason = Some(GrantReason::KeptInternal { why });
            }
        }
        let directory = accesses.keys().any(|a| {
            matches!(
                a,
                Access::List | Access::Chdir | Access::Watch | Access::Mkdir | Access::Rmdir
            )
        }) || has_recorded_children(&rec.path, &ctx.all_paths);
        let created = accesses.keys().any(|a| {
            matches!(
                a,
                Access::Write | Access::Mkdir | Access::RenameTo | Access::LinkTo
            )
        });
        let scope = |want: fn(Access) -> bool| {
            let picked: Vec<_> = accesses.iter().filter(|(a, _)| want(**a)).collect();
            (!picked.is_empty()).then(|| covered(&rec.path, picked))
        };
        let need = |reason: Option<GrantReason>| Need {
            path: rec.path.clone(),
            directory,
            created,
            reason,
        };
        if let Some(ev) = scope(Access::needs_write) {
            out.write.push(Needed {
                need: need(reason.clone()),
                evidence: ev,
            });
        }
        if let Some(ev) = scope(Access::needs_read) {
            if let Some(why) = implicit.get(&rec.path) {
                out.implicit.push(Implicit {
                    path: rec.path.clone(),
                    why: why.clone(),
                    covers: Some(ev),
                });
                continue;
            }
            out.read.push(Needed {
                need: need(reason),
                evidence: ev,
            });
        }
    }
    mark_entry_and_preloads(cap, node, &mut out);
    out
}

/// Facts the internal-access filter needs.
fn filter_context(cap: &Capture, actors: &Actors) -> internal::Context {
    let env = &cap.target.env;
    let mut ctx = internal::Context {
        node_exes: cap
            .programs
            .iter()
            .filter(|p| p.is_node)
            .map(|p| p.exe.clone())
            .collect(),
        ..Default::default()
    };
    if let Some(node) = &cap.target.node {
        ctx.node_exes.insert(node.exe.clone());
    }
    for key in ["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"] {
        if let Some(v) = env.get(key).filter(|v| v.starts_with('/')) {
            ctx.ca_files
                .push(resolve_lexically(&PathBytes::from("/"), v.as_bytes()));
        }
    }
    if let Some(dirs) = env.get("SSL_CERT_DIR") {
        for d in dirs.split(':').filter(|d| d.starts_with('/')) {
            ctx.ca_dirs
                .push(resolve_lexically(&PathBytes::from("/"), d.as_bytes()));
        }
    }
    let cwd = cap
        .target
        .cwd
        .clone()
        .unwrap_or_else(|| PathBytes::from("/"));
    let mut options: Vec<String> = cap.target.node_options.clone();
    if let Some(o) = env.get("NODE_OPTIONS") {
        options.extend(o.split_whitespace().map(str::to_string));
    }
    let mut i = 0;
    while i < options.len() {
        let (name, value) = match options[i].split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (options[i].clone(), options.get(i + 1).cloned()),
        };
        if matches!(
            name.as_str(),
            "--env-file" | "--env-file-if-exists" | "--experimental-config-file"
        ) {
            if let Some(v) = value {
                ctx.startup_files
                    .push(resolve_lexically(&cwd, v.as_bytes()));
            }
        }
        if matches!(name.as_str(), "--use-openssl-ca" | "--use-system-ca") {
            ctx.ca_dirs.push(PathBytes::from("/etc/ssl/certs"));
        }
        i += 1;
    }
    ctx.spawned = cap
        .spawns
        .iter()
        .any(|s| actors.role(s.parent) == Role::Restricted);
    for rec in cap.files.iter().filter(|r| r.unresolved.is_none()) {
        ctx.all_paths.insert(rec.path.clone());
        let read_ok = rec.access.iter().any(|(a, s)| {
            matches!(a, Access::Read | Access::ReadWrite) && s.ok > 0 && actors.any_restricted(s)
        });
        if read_ok {
            ctx.read_ok.insert(rec.path.clone());
        }
    }
    ctx
}

pub fn has_recorded_children(path: &PathBytes, all: &BTreeSet<PathBytes>) -> bool {
    let mut lo = path.as_bytes().to_vec();
    if lo != b"/" {
        lo.push(b'/');
    }
    all.range(PathBytes::new(lo.clone())..)
        .next()
        .is_some_and(|q| q.as_bytes().starts_with(&lo))
}

/// Paths Node grants by itself on this version, with the reason: the entry script and
/// `--require` preloads of every restricted Node process (22.17+/24.2+/25+).
fn implicit_paths(
    cap: &Capture,
    actors: &Actors,
    node: &NodeTarget,
) -> BTreeMap<PathBytes, String> {
    let mut out = BTreeMap::new();
    if !node.implicit_entry() {
        return out;
    }
    let why_entry = format!(
        "the entry script: Node {} grants fs.read on path.resolve(argv[1]) by itself",
        node.major
    );
    let why_pre = format!(
        "a --require preload: Node {} grants fs.read on it by itself",
        node.major
    );
    if let Some(e) = &cap.target.entry {
        out.insert(e.clone(), why_entry.clone());
    }
    for p in &cap.target.preloads {
        out.insert(p.clone(), why_pre.clone());
    }
    // Other Node processes: only absolute paths (their working directory is not recorded).
    for p in actors.restricted() {
        let cmd = parse_node_argv(&p.argv);
        if let Some(s) = cmd.script.filter(|s| s.is_absolute()) {
            out.entry(resolve_lexically(&PathBytes::from("/"), s.as_bytes()))
                .or_insert_with(|| why_entry.clone());
        }
        for r in cmd.requires.iter().filter(|r| r.is_absolute()) {
            out.entry(r.clone()).or_insert_with(|| why_pre.clone());
        }
    }
    out
}

/// Node 20 (and lines before the implicit grant) must be granted the entry script and the
/// preloads: give those exact needs their reason, and add them when the capture did not see
/// them being read (an attach that started later).
fn mark_entry_and_preloads(cap: &Capture, node: &NodeTarget, out: &mut FsUse) {
    if node.implicit_entry() {
        return;
    }
    let wanted = cap
        .target
        .entry
        .iter()
        .map(|e| (e, GrantReason::Entry))
        .chain(
            cap.target
                .preloads
                .iter()
                .map(|p| (p, GrantReason::Preload)),
        );
    for (path, reason) in wanted {
        match out.read.iter_mut().find(|n| &n.need.path == path) {
            Some(n) => n.need.reason = Some(reason),
            None => out.read.push(Needed {
                need: Need {
                    path: path.clone(),
                    directory: false,
                    created: false,
                    reason: Some(reason),
                },
                evidence: covered(path, []),
            }),
        }
    }
}
