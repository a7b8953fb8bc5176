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
    let all_paths: BTreeSet<PathBytes> = cap
        .files
        .iter()
        .filter(|r| r.unresolved.is_none())
        .map(|r| r.path.clone())
        .collect();
    let implicit = implicit_grants(cap, actors, node);
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
        }) || has_recorded_children(&rec.path, &all_paths);
        let created = accesses.keys().any(|a| {
            matches!(
                a,
                Access::Write | Access::Mkdir | Access::RenameTo | Access::LinkTo
            )
        });
        let removed = accesses
            .keys()
            .any(|a| matches!(a, Access::Unlink | Access::Rmdir | Access::RenameFrom));
        let scope = |want: fn(Access) -> bool| {
            let picked: Vec<_> = accesses.iter().filter(|(a, _)| want(**a)).collect();
            (!picked.is_empty()).then(|| covered(&rec.path, picked))
        };
        let need = |reason: Option<GrantReason>| Need {
            path: rec.path.clone(),
            directory,
            created,
            removed,
            reason,
        };
        if let Some(ev) = scope(Access::needs_write) {
            out.write.push(Needed {
                need: need(reason.clone()),
                evidence: ev,
            });
        }
        if let Some(ev) = scope(Access::needs_read) {
            let unknown_programs = accesses.values().any(|s| s.by.is_empty() || s.by_more > 0);
            let granted = implicit
                .get(&rec.path)
                .filter(|(_, to)| !unknown_programs && all_implicit(&ev, to, actors));
            if let Some((why, _)) = granted {
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
        // Uprobes ran (the runtime features were observed) and no C library lacked the
        // getaddrinfo probe.
        resolver_watched: cap.runtime.observed
            && !cap
                .runtime
                .unobserved
                .iter()
                .any(|g| g.features.iter().any(|f| f == "getaddrinfo")),
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
        let startup_file = matches!(
            name.as_str(),
            "--env-file" | "--env-file-if-exists" | "--experimental-config-file"
        );
        if let Some(v) = value.filter(|_| startup_file) {
            ctx.startup_files
                .push(resolve_lexically(&cwd, v.as_bytes()));
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
        let read_ok = rec.access.iter().any(|(a, s)| {
            matches!(a, Access::Read | Access::ReadWrite) && s.ok > 0 && actors.any_restricted(s)
        });
        if read_ok {
            ctx.read_ok.insert(rec.path.clone());
        }
        // A readlink failing with EINVAL found the path (it is just not a symlink): ICU's
        // zone lookup readlinks each component of /etc/localtime's target that way, and
        // without this the chain's ancestors (/usr, /usr/share) looked like the
        // application's own use of /usr and drafted --allow-fs-read=/usr/* (acceptance
        // matrix, http-server).
        let walked = rec.access.iter().any(|(a, s)| {
            actors.any_restricted(s)
                && (s.ok > 0 || (*a == Access::Readlink && s.errors.contains_key("EINVAL")))
        });
        if walked && internal::is_walk_target(&rec.path) {
            ctx.walk_targets.insert(rec.path.clone());
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

/// What Node grants by itself on this version (22.17+/24.2+/25+): for each path, why, and
/// which programs it is granted to (each Node process gets its own entry script and
/// `--require` preloads).
type ImplicitGrants = BTreeMap<PathBytes, (String, BTreeSet<u32>)>;

fn implicit_grants(cap: &Capture, actors: &Actors, node: &NodeTarget) -> ImplicitGrants {
    let mut out = ImplicitGrants::new();
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
    for p in actors.restricted() {
        // A relative script is resolved against the capture's directory only for Node
        // processes not started by Node (their working directory is the command's); a child's
        // directory is not recorded, so its relative paths are not taken as implicit.
        let top = p
            .parent
            .is_none_or(|id| actors.role(id) != Role::Restricted);
        let cwd = cap.target.cwd.as_ref().filter(|_| top);
        let resolve = |s: &PathBytes| match (s.is_absolute(), cwd) {
            (true, _) => Some(resolve_lexically(&PathBytes::from("/"), s.as_bytes())),
            (false, Some(cwd)) => Some(resolve_lexically(cwd, s.as_bytes())),
            (false, None) => None,
        };
        let cmd = parse_node_argv(&p.argv);
        let entry = cmd.script.as_ref().and_then(resolve);
        let preloads = cmd.requires.iter().filter(|r| {
            let b = r.as_bytes();
            b.starts_with(b"/") || b.starts_with(b"./") || b.starts_with(b"../")
        });
        let mut add = |path: PathBytes, why: &String| {
            out.entry(path)
                .or_insert_with(|| (why.clone(), BTreeSet::new()))
                .1
                .insert(p.id);
        };
        if let Some(e) = entry {
            add(e, &why_entry);
        }
        for r in preloads.filter_map(resolve) {
            add(r, &why_pre);
        }
    }
    out
}

/// Whether every restricted program that made these accesses has the path granted implicitly.
fn all_implicit(ev: &Covered, granted_to: &BTreeSet<u32>, actors: &Actors) -> bool {
    ev.programs
        .iter()
        .filter(|&&id| actors.role(id) == Role::Restricted)
        .all(|id| granted_to.contains(id))
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
                    removed: false,
                    reason: Some(reason),
                },
                evidence: covered(path, []),
            }),
        }
    }
}
