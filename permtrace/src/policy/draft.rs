//! Capture in, [`Policy`] out: the pipeline that every renderer shares. Pure: it reads
//! nothing but the capture and the settings.

use anyhow::{Result, bail};

use super::{
    Settings,
    actors::{Actors, Role},
    caps,
    collapse::{self, Rules},
    evidence::totals,
    fsuse::{self, FsUse, Needed},
    model::*,
    protect::Verdict,
    review::{
        broad_directory_grants, completeness, representable, sensitive_grants, uncovered_walks,
        version_notes,
    },
    target::NodeTarget,
};
use crate::{capture::Capture, pathbytes::PathBytes};

pub fn draft(cap: &Capture, settings: &Settings) -> Result<Policy> {
    let captured = cap.target.node.as_ref().and_then(|n| n.version.as_deref());
    let node = NodeTarget::resolve(settings.node_version.as_deref(), captured)?;
    if cap.target.node.is_none() && !cap.programs.iter().any(|p| p.is_node) {
        bail!(
            "the capture contains no Node.js process (traced: {}); there is nothing to draft a \
             Node permission config for",
            describe_command(cap)
        );
    }
    let actors = Actors::new(cap, &node);
    let mut fs = fsuse::analyse(cap, &actors, &node, settings.keep_internal);
    let rules = Rules {
        threshold: settings.collapse_threshold,
        protect: &settings.protect,
    };
    let mut review = std::mem::take(&mut fs.review);

    let seeds = read_seeds(cap, &fs, settings, &mut review);
    let read = grants(&fs.read, seeds, rules, &mut review);
    let write = grants(&fs.write, vec![], rules, &mut review);
    let (read, write) = (
        representable(read, &mut review),
        representable(write, &mut review),
    );
    let all = (!fs.symlinks.is_empty()).then(|| {
        review.push(Review {
            severity: Severity::Warning,
            topic: "symlink".into(),
            message: "the application creates symlinks (fs.symlink), which Node allows only with \
                      full read and write access to everything: the draft grants \
                      --allow-fs-read=* and --allow-fs-write=*, which disables fs restrictions. \
                      Avoid creating symlinks to keep the narrow grants listed in the report"
                .into(),
            paths: fs.symlinks.iter().map(|c| c.path.clone()).collect(),
        });
        FullAccess {
            why: "fs.symlink requires full fs.read and fs.write permissions".into(),
            evidence: fs.symlinks.clone(),
        }
    });
    if !fs.unresolved.is_empty() {
        review.push(Review {
            severity: Severity::Warning,
            topic: "unresolved-paths".into(),
            message: format!(
                "{} path(s) a Node process used could not be made absolute (relative to a \
                 directory permtrace did not see, or unreadable); they are not granted",
                fs.unresolved.len()
            ),
            paths: fs.unresolved.clone(),
        });
    }
    review.extend(sensitive_grants(&read, &write, settings));
    review.extend(broad_directory_grants(&read, &write, settings));
    let started: Vec<PathBytes> = cap
        .target
        .entry
        .iter()
        .chain(&cap.target.preloads)
        .chain(fs.implicit.iter().map(|i| &i.path))
        .chain(read.iter().filter_map(|g| match g.reason {
            GrantReason::Project { .. } | GrantReason::Package => Some(&g.path),
            _ => None,
        }))
        .cloned()
        .collect();
    if let Some(r) = uncovered_walks(&fs.dropped, &read, &started) {
        review.push(r);
    }
    let caps = caps::analyse(cap, &actors, &node, &fs.addons);
    review.extend(caps.review);
    review.extend(version_notes(&node));
    review.sort_by(|a, b| (a.severity, &a.topic, &a.paths).cmp(&(b.severity, &b.topic, &b.paths)));
    review.dedup();

    let outside = fs
        .outside
        .iter()
        .map(|(&id, paths)| OutsideUse {
            program: id,
            why: match actors.role(id) {
                Role::UnrestrictedNode => format!(
                    "a Node process started by Node: Node {} does not pass its permission flags \
                     to children",
                    node.major
                ),
                _ => "not Node.js: the permission model does not apply to it".into(),
            },
            paths: paths.clone(),
        })
        .collect();
    let all_ids = cap.programs.iter().map(|p| p.id);
    Ok(Policy {
        schema: SCHEMA.into(),
        capture: summary(cap),
        completeness: completeness(cap),
        settings: SettingsUsed {
            collapse_threshold: settings.collapse_threshold,
            keep_internal: settings.keep_internal,
            protected: settings.protect.describe(),
        },
        programs: actors.refs(all_ids),
        node_facts: NodeFacts::of(&node),
        node,
        fs: FsPolicy { read, write, all },
        capabilities: caps.capabilities,
        network: caps.network,
        spawned: caps.spawned,
        implicit: fs.implicit,
        dropped: fs.dropped,
        outside,
        review,
    })
}

/// The entry script's project directory, and package roots of modules outside it.
fn read_seeds(
    cap: &Capture,
    fs: &FsUse,
    settings: &Settings,
    review: &mut Vec<Review>,
) -> Vec<(PathBytes, GrantReason)> {
    let has_package_json = |d: &PathBytes| fs.read_ok.contains(&d.join(b"package.json"));
    let nearest_package = |file: &PathBytes| {
        let mut dir = file.parent();
        while let Some(d) = dir {
            if has_package_json(&d) {
                return Some(d);
            }
            dir = d.parent();
        }
        None
    };
    let mut seeds: Vec<(PathBytes, GrantReason)> = Vec::new();
    if let Some(entry) = &cap.target.entry {
        let project = match nearest_package(entry) {
            Some(d) if settings.protect.allows(&d) => Some((d, true)),
            _ => entry
                .parent()
                .filter(|d| {
                    // Without a package.json only worth a grant when more than the entry is read.
                    fs.read
                        .iter()
                        .any(|n| n.need.path != *entry && n.need.path.starts_with_dir(d))
                })
                .map(|d| (d, false)),
        };
        if let Some((dir, package_json)) = project {
            match settings.protect.check(&dir) {
                Verdict::Allowed => seeds.push((dir, GrantReason::Project { package_json })),
                _ => review.push(Review {
                    severity: Severity::Note,
                    topic: "project-dir-protected".into(),
                    message: format!(
                        "the entry script's directory {dir} is a protected place, so module files \
                         are granted one by one instead of the whole directory"
                    ),
                    paths: vec![dir],
                }),
            }
        }
    }
    const MODULE_EXTS: &[&[u8]] = &[b".js", b".mjs", b".cjs", b".json"];
    for n in &fs.read {
        let p = &n.need.path;
        if seeds.iter().any(|(d, _)| p.starts_with_dir(d))
            || !MODULE_EXTS.iter().any(|e| p.file_name().ends_with(e))
        {
            continue;
        }
        if let Some(d) = nearest_package(p).filter(|d| settings.protect.allows(d)) {
            seeds.push((d, GrantReason::Package));
        }
    }
    seeds
}

fn grants(
    needed: &[Needed],
    seeds: Vec<(PathBytes, GrantReason)>,
    rules: Rules,
    review: &mut Vec<Review>,
) -> Vec<Grant> {
    let needs: Vec<collapse::Need> = needed.iter().map(|n| n.need.clone()).collect();
    let plan = collapse::plan(&needs, seeds, rules);
    review.extend(plan.review);
    plan.grants
        .into_iter()
        .map(|g| {
            let covers: Vec<Covered> = g
                .covers
                .iter()
                .map(|&i| needed[i].evidence.clone())
                .collect();
            let (count, first, last, programs) = totals(&covers);
            Grant {
                path: g.path,
                directory: g.directory,
                string_prefix: g.string_prefix,
                reason: g.reason,
                covers,
                count,
                first_seen_ms: first,
                last_seen_ms: last,
                programs,
            }
        })
        .collect()
}

fn summary(cap: &Capture) -> CaptureSummary {
    CaptureSummary {
        mode: cap.target.mode.clone(),
        command: cap.target.command.clone(),
        cwd: cap.target.cwd.clone(),
        entry: cap.target.entry.clone(),
        node_exe: cap.target.node.as_ref().map(|n| n.exe.clone()),
        started_at_ms: cap.window.started_at_ms,
        ended_at_ms: cap.window.ended_at_ms,
        ended_by: cap.window.ended_by.clone(),
        events: cap.stats.events,
        sources: cap.sources.len(),
    }
}

fn describe_command(cap: &Capture) -> String {
    match cap.target.command.is_empty() {
        true => format!("{} programs", cap.programs.len()),
        false => cap
            .target
            .command
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(" "),
    }
}

#[cfg(test)]
#[path = "draft_tests.rs"]
mod tests;
