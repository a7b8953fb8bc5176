//! Following running processes without a gap (Pulsar's protocol): the kernel programs are
//! attached first, so from then on every fork of a followed process is followed by the
//! kernel itself. Then each process enters the traced set *before* its children are listed:
//! a child forked in between is either listed or already followed. Passes repeat until one
//! finds nothing new. Each process found is described to the collector from procfs.

use std::collections::HashSet;

use anyhow::{Result, bail};
use permtrace_common::maps::track;

use super::{cgroup::Cgroup, procscan};
use crate::{
    clock,
    session::{Session, seed_process},
};

/// Describes `pid` to the collector from procfs, unless the stream already did (a fork
/// seen since the programs were attached replays its life more exactly).
pub fn seed(session: &mut Session, pid: u32) {
    if session.collector.knows(pid) {
        return;
    }
    let seed = procscan::process_seed(pid, true).unwrap_or_default();
    seed_process(
        &mut session.tracer,
        &mut session.collector,
        pid,
        seed,
        clock::boot_ns(),
    );
}

/// Follows `roots` and all their descendants; returns how many processes that is.
pub fn follow_trees(session: &mut Session, roots: &[u32]) -> Result<usize> {
    let mut followed: HashSet<u32> = HashSet::new();
    // Every pid looked at, live or not: an unreaped zombie child is listed in every pass.
    let mut seen: HashSet<u32> = roots.iter().copied().collect();
    let mut found: Vec<(u32, u32)> = roots.iter().map(|&r| (r, track::ROOT)).collect();
    while !found.is_empty() {
        for &(pid, why) in &found {
            session.tracer.track(pid, why)?;
            // Gone or exiting before it was in the set: its exit hook may have run already,
            // and would never take it out again.
            if !procscan::is_live(pid) {
                session.tracer.untrack(pid).ok();
                continue;
            }
            followed.insert(pid);
        }
        // Parents before children: each pass is one generation deeper.
        for &(pid, _) in found.iter().filter(|(p, _)| followed.contains(p)) {
            seed(session, pid);
        }
        // Keep the ring buffer from filling while procfs is read.
        session.drain()?;
        found = procscan::children_of(&followed)
            .into_iter()
            .filter(|(child, _)| seen.insert(*child))
            .map(|(child, _)| (child, track::CHILD))
            .collect();
        found.sort_unstable();
        found.dedup();
    }
    Ok(followed.len())
}

/// The cgroup ids (this cgroup and the ones below it) already given to the kernel.
#[derive(Default)]
pub struct CgroupIds(HashSet<u64>);

/// Follows every process in the cgroup and its sub-cgroups, now and later (the kernel
/// checks each process's cgroup); describes the current members. Called again now and then
/// to pick up sub-cgroups created since. Returns how many new members were described.
pub fn follow_cgroup(session: &mut Session, cg: &Cgroup, ids: &mut CgroupIds) -> Result<usize> {
    for (dir, id) in cg.subtree() {
        if ids.0.contains(&id) {
            continue;
        }
        if let Err(e) = session.tracer.track_cgroup(id) {
            bail!(
                "cannot follow {} (cgroup {id}): {e:#}; permtrace follows at most 64 cgroups \
                 — give a cgroup with fewer sub-cgroups",
                dir.display()
            );
        }
        ids.0.insert(id);
    }
    // Parents first (they started earlier), so children are linked to their program.
    let mut members: Vec<(u64, u32)> = cg
        .members()
        .into_iter()
        .filter(|&pid| pid != std::process::id() && !session.collector.knows(pid))
        .map(|pid| (start_time(pid), pid))
        .collect();
    members.sort_unstable();
    for &(_, pid) in &members {
        seed(session, pid);
    }
    session.drain()?;
    Ok(members.len())
}

fn start_time(pid: u32) -> u64 {
    procfs::process::Process::new(pid as i32)
        .and_then(|p| p.stat())
        .map(|s| s.starttime)
        .unwrap_or(u64::MAX)
}

/// Whether any process permtrace follows by pid still runs. Entries of processes that are
/// gone (or zombies) without the kernel having taken them out are dropped on the way.
pub fn any_followed_alive(session: &mut Session) -> bool {
    let mut alive = false;
    for pid in session.tracer.tracked_pids() {
        if procscan::is_live(pid) {
            alive = true;
        } else if let Err(e) = session.tracer.untrack(pid) {
            log::debug!("{e:#}");
        }
    }
    alive
}
