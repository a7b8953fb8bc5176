//! Review items (what needs a human decision) and the capture's completeness: the parts of
//! the draft that are about trusting it rather than about grants.

use super::{Settings, model::*, protect::Verdict, target::NodeTarget};
use crate::{capture::Capture, pathbytes::PathBytes};

/// Exact grants inside secret places (keys, credentials, /proc, /sys).
pub fn sensitive_grants(read: &[Grant], write: &[Grant], settings: &Settings) -> Option<Review> {
    let paths: Vec<PathBytes> = read
        .iter()
        .chain(write)
        .filter(|g| settings.protect.secret_place(&g.path).is_some())
        .map(|g| g.path.clone())
        .collect();
    (!paths.is_empty()).then(|| Review {
        severity: Severity::Note,
        topic: "sensitive-path".into(),
        message: "the application accessed these paths in sensitive places (keys, credentials, \
                  /proc, /sys); they are granted exactly as observed, check that the application \
                  should"
            .into(),
        paths,
    })
}

/// Node cannot take a path with `*` (a wildcard to it), a newline (one flag per line) or
/// bytes that are not UTF-8 (its config file is JSON) exactly: such grants are left out.
pub fn representable(grants: Vec<Grant>, review: &mut Vec<Review>) -> Vec<Grant> {
    let (ok, bad): (Vec<_>, Vec<_>) = grants.into_iter().partition(|g| {
        let b = g.path.as_bytes();
        std::str::from_utf8(b).is_ok() && !b.contains(&b'*') && !b.contains(&b'\n')
    });
    if !bad.is_empty() {
        review.push(Review {
            severity: Severity::Warning,
            topic: "unrepresentable-path".into(),
            message:
                "these paths contain `*` (a wildcard to Node), a newline or bytes that are not \
                      UTF-8, so no grant can name them exactly; they are left out"
                    .into(),
            paths: bad.into_iter().map(|g| g.path).collect(),
        });
    }
    ok
}

pub fn version_notes(node: &NodeTarget) -> Vec<Review> {
    let mut v = Vec::new();
    if node.unverified {
        v.push(Review {
            severity: Severity::Warning,
            topic: "unverified-version".into(),
            message: format!(
                "Node {} is newer than the versions permtrace was verified against (20, 22, 24, \
                 25, 26); the rules of 26 are used",
                node.version
            ),
            paths: vec![],
        });
    }
    if node.major == 22 && node.minor < 13 {
        v.push(Review {
            severity: Severity::Warning,
            topic: "old-release".into(),
            message: "Node 22 before 22.13 also checks module-resolution stats, which this draft \
                      leaves out; upgrade Node or expect to add grants"
                .into(),
            paths: vec![],
        });
    }
    v
}

pub fn completeness(cap: &Capture) -> Completeness {
    let s = &cap.stats;
    let mut reasons = Vec::new();
    if s.lost() > 0 {
        reasons.push(format!(
            "{} events were lost (ring buffer full: {}, in-flight table full: {}, processes not \
             followed: {}, undecodable records: {}); grants for what they did are missing. \
             Re-run with a larger --ring-bytes",
            s.lost(),
            s.kernel.ring_full,
            s.kernel.inflight_full,
            s.kernel.tracked_full,
            s.decode_errors
        ));
    }
    if !cap.window.saw_start {
        reasons.push(
            "the capture joined running processes (attach) and did not see their start: files \
             they read before (modules, configuration) are missing from the draft"
                .into(),
        );
    }
    if s.still_running > 0 {
        reasons.push(format!(
            "{} process(es) of the traced tree were still running when tracing stopped; what \
             they did afterwards is not in the capture",
            s.still_running
        ));
    }
    match cap.window.ended_by.as_str() {
        "signal" => reasons.push("tracing was stopped before the command exited".into()),
        "checkpoint" => reasons.push("this is a checkpoint of a capture still running".into()),
        _ => {}
    }
    Completeness {
        incomplete: !reasons.is_empty(),
        reasons,
        lost_events: s.lost(),
        decode_errors: s.decode_errors,
        unresolved_paths: s.unresolved_paths,
        saw_start: cap.window.saw_start,
    }
}

/// Stats of ancestor directories are dropped as Node's own path walks; the ones no grant
/// covers are worth a look, in case the application stats them itself. Left out: the
/// ancestors of the entry scripts, preloads and packages Node loaded modules from
/// (`started`), whose realpaths Node walks at every start, and the timezone lookup's (/etc/localtime, /usr/share/zoneinfo), which ICU
/// walks: listing those in every report would only teach people to skip the note.
pub fn uncovered_walks(
    dropped: &[Dropped],
    read: &[Grant],
    started: &[PathBytes],
) -> Option<Review> {
    let zoneinfo = PathBytes::from("/usr/share/zoneinfo");
    let always = |p: &PathBytes| {
        let above = |t: &PathBytes| t.starts_with_dir(p);
        started.iter().any(above)
            || above(&PathBytes::from("/etc/localtime"))
            || above(&zoneinfo)
            || p.starts_with_dir(&zoneinfo)
    };
    let paths: Vec<PathBytes> = dropped
        .iter()
        .filter(|d| d.category == "path walk")
        .filter(|d| !read.iter().any(|g| g.reaches(&d.path)) && !always(&d.path))
        .map(|d| d.path.clone())
        .collect();
    (!paths.is_empty()).then(|| Review {
        severity: Severity::Note,
        topic: "ancestor-stat".into(),
        message: "stats of these ancestor directories were left out as Node's own path walks \
                  (module realpath, timezone lookup), which Node does not check; if the \
                  application stats one itself, grant it (a directory grant covers everything \
                  under it)"
            .into(),
        paths,
    })
}

/// Directory grants that reach further than the access behind them: Node grants a
/// directory recursively, so letting the application stat or list a directory lets it read
/// everything below, and a protected directory used itself is still granted whole.
pub fn broad_directory_grants(read: &[Grant], write: &[Grant], settings: &Settings) -> Vec<Review> {
    let mut out = Vec::new();
    for (scope, grants) in [("read", read), ("write", write)] {
        for g in grants.iter().filter(|g| g.directory) {
            let protected = settings.protect.check(&g.path);
            let own = matches!(
                g.reason,
                GrantReason::Exact | GrantReason::KeptInternal { .. }
            );
            if own && protected != Verdict::Allowed {
                out.push(Review {
                    severity: Severity::Warning,
                    topic: "protected-dir-granted".into(),
                    message: format!(
                        "{} is a protected place, but the application used the directory itself, \
                         so {scope} access to everything under it is granted (Node has no \
                         non-recursive directory grant); narrow the application or accept it",
                        g.path
                    ),
                    paths: vec![g.path.clone()],
                });
            } else if own
                && scope == "read"
                && g.covers
                    .iter()
                    .all(|c| c.accesses.keys().all(|a| a.is_metadata()))
            {
                out.push(Review {
                    severity: Severity::Note,
                    topic: "directory-for-stat".into(),
                    message: format!(
                        "the application only stat()ed the directory {}, but Node can only grant \
                         it recursively: everything under it becomes readable",
                        g.path
                    ),
                    paths: vec![g.path.clone()],
                });
            }
        }
    }
    out
}
