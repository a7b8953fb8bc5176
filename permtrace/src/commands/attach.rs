//! `permtrace attach`: follow running processes (and everything they start) or a cgroup for
//! hours or days, checkpointing the capture so a crash loses at most one interval, and
//! write the capture and drafts when it ends. The followed processes are never signalled.

use std::{io::Write as _, path::Path, time::Instant};

use anyhow::{Context as _, Result, bail};

use crate::{
    attach::{
        cgroup::Cgroup,
        follow::{CgroupIds, follow_cgroup, follow_trees},
        procscan,
        rotating_log::RotatingLog,
        status::StatusOut,
        watch::{Ending, Watch},
    },
    capture::{Capture, Gap, Mode, Target, UserInfo, Window, load_capture},
    cli::AttachArgs,
    clock,
    collector::Collector,
    commands::{print_summary, run::NODE_ENV, write_capture},
    eventlog::EventLog,
    nodeinfo::detect_node_version,
    output::OutputDir,
    pathbytes::PathBytes,
    session::Session,
    target::{Signals, TargetUser, resolve_user, user_by_uid},
    tracer::{Tracer, TracerOptions},
};

/// `quiet` (`-q`): no start-up message or status line, no end-of-capture summary; warnings
/// (lost events included) still print.
pub fn attach(args: AttachArgs, quiet: bool) -> Result<i32> {
    // Files permtrace writes belong to whoever ran sudo, not root.
    let owner = resolve_user(None)?.map(|u| (u.uid, u.gid));
    // Everything that can be refused is checked before the output directory is created.
    let existing = args.out.join("capture.json");
    let previous = if args.resume {
        let prev = load_capture(&existing).context(
            "--resume continues the capture in the output directory, and there is none to \
             continue (give the -o of the interrupted capture)",
        )?;
        check_resumable(&prev)?;
        Some(prev)
    } else {
        if existing.exists() {
            bail!(
                "{} already holds a capture; continue it with --resume, or choose another -o",
                args.out.display()
            );
        }
        None
    };
    let (roots, cgroup) = targets(&args, previous.as_ref())?;
    let what = describe(&roots, cgroup.as_ref());
    // From here a SIGTERM waits for the event loop, which ends the capture cleanly.
    Signals::block()?;
    let out = OutputDir::create(&args.out, owner)?;
    out.remove_stale_temps();
    let log = open_event_log(&args, owner)?;

    // The same moment on both clocks: --duration counts from `started`, the window from
    // `started_ms`, and a capture of 3s must not say 2.999s.
    let started_ms = clock::unix_ms();
    let started = Instant::now();
    let clock = clock::system_clock();
    let collector = match &previous {
        Some(prev) => resumed(prev, &roots, cgroup.as_ref(), clock),
        None => Collector::new(
            new_target(&roots, cgroup.as_ref()),
            Window {
                started_at_ms: started_ms,
                saw_start: false,
                ..Default::default()
            },
            clock,
        ),
    };
    let opts = TracerOptions {
        ring_bytes: args.kernel.ring_bytes,
        uprobes: !args.kernel.no_uprobes,
        ..Default::default()
    };
    let tracer = Tracer::start(&opts, cgroup.is_some())?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("starting the event loop")?;
    let mut status = StatusOut::new(quiet);
    let (mut session, ending, failed_checkpoints) = runtime.block_on(async {
        let mut signals = Signals::open()?;
        let mut session = Session::new(tracer, collector, log, clock)?;
        session.set_seeder(Box::new(|pid, exec| {
            procscan::process_seed(pid, !exec).unwrap_or_default()
        }));
        let mut followed = follow_trees(&mut session, &roots)?;
        let mut cgroup = cgroup.map(|cg| (cg, CgroupIds::default()));
        if let Some((cg, ids)) = cgroup.as_mut() {
            followed += follow_cgroup(&mut session, cg, ids)?;
        }
        note_node_version(&mut session, &roots);
        status.info(&format!(
            "following {followed} processes ({what}); {}Ctrl-C or SIGTERM ends the capture",
            args.duration
                .map(|d| format!("ends by itself in {}; ", crate::units::format_duration(d)))
                .unwrap_or_default()
        ));
        let mut watch = Watch {
            out: &out,
            checkpoint_every: args.checkpoint_every,
            duration: args.duration,
            cgroup,
            status,
            started,
            checkpoints: 0,
            failed_checkpoints: 0,
        };
        // A valid capture exists from the first second on.
        watch.checkpoint(&mut session);
        let ending = watch.run(&mut session, &mut signals).await?;
        watch.status.clear();
        anyhow::Ok((session, ending, watch.failed_checkpoints))
    })?;
    if let Ending::Signal(signo) = ending {
        eprintln!(
            "permtrace: {}: ending the capture; the followed processes keep running",
            signal_name(signo)
        );
    }
    // Stop following first: the followed processes run on, and a busy one would refill the
    // ring as fast as it is read. What they were in the middle of still arrives.
    session.tracer.untrack_all()?;
    session.tracer.untrack_cgroups()?;
    while session.drain()? > 0 {}
    session.flush_log()?;
    let window = session.collector.window_mut();
    window.ended_at_ms = clock::unix_ms();
    window.ended_by = ending.ended_by().into();
    let user = session.collector.target().user.clone();
    if let Some(node) = session.collector.target_mut().node.as_mut()
        && node.version.is_none()
    {
        // A Node program started after attach, now perhaps gone: ask the file, as the
        // followed processes' user.
        let user = user.filter(|u| u.uid != 0).map(|u| TargetUser {
            uid: u.uid,
            gid: u.gid,
            name: Default::default(),
            home: None,
            groups: Vec::new(),
        });
        node.version = detect_node_version(&node.exe, user.as_ref());
    }
    let capture = session.capture();
    drop(session); // detaches the kernel programs
    let written = write_capture(&out, &capture)?;
    print_summary(&capture, &what, started.elapsed().as_secs_f64(), quiet);
    print_notes(&capture, failed_checkpoints);
    eprintln!("permtrace: wrote {}", written.display());
    crate::policy::emit_drafts(&out, &capture, &args.policy, quiet);
    std::io::stderr().flush().ok();
    Ok(0)
}

/// A capture permtrace can continue: one it wrote while tracing (not a merge), whose
/// program ids are the positions in its list as the collector numbers them.
fn check_resumable(prev: &Capture) -> Result<()> {
    if prev.target.mode == Mode::Merged {
        bail!(
            "the capture in the output directory is a merge; only a traced capture can be resumed"
        );
    }
    if prev
        .programs
        .iter()
        .enumerate()
        .any(|(i, p)| p.id != i as u32)
    {
        bail!(
            "the capture in the output directory was edited (its program ids are not 0, 1, 2, …); it cannot be resumed"
        );
    }
    Ok(())
}

/// The pids and cgroup to follow: as given, or (`--resume` without them) the capture's own.
fn targets(args: &AttachArgs, previous: Option<&Capture>) -> Result<(Vec<u32>, Option<Cgroup>)> {
    let mut pids = args.pids.clone();
    let mut cgroup = args.cgroup.as_deref().map(Cgroup::find).transpose()?;
    if let (Some(prev), true) = (previous, pids.is_empty() && cgroup.is_none()) {
        if prev.target.mode != Mode::Attach {
            bail!("the capture to resume was not made by attach; give --pid or --cgroup");
        }
        pids = (prev.target.attached_pids.iter().copied())
            .filter(|&p| procscan::is_alive(p))
            .collect();
        if let Some(cg) = &prev.target.cgroup {
            cgroup = Some(Cgroup::find(Path::new(cg))?);
        }
        if pids.is_empty() && cgroup.is_none() {
            bail!(
                "none of the processes the capture followed (pids {:?}) is running any more; \
                 give the new ones with --pid",
                prev.target.attached_pids
            );
        }
    }
    for &pid in &pids {
        if pid == std::process::id() {
            bail!("--pid {pid} is permtrace itself");
        }
        if !procscan::is_live(pid) {
            bail!("no running process with pid {pid}");
        }
        if procscan::program_of(pid).is_none() {
            bail!(
                "pid {pid} is a kernel thread (or its program cannot be read); attach to a process"
            );
        }
    }
    pids.sort_unstable();
    pids.dedup();
    Ok((pids, cgroup))
}

fn new_target(roots: &[u32], cgroup: Option<&Cgroup>) -> Target {
    let first = roots.first().copied();
    let uid = first.and_then(procscan::uid_of);
    Target {
        mode: Mode::Attach,
        cwd: first
            .and_then(|p| std::fs::read_link(format!("/proc/{p}/cwd")).ok())
            .map(|c| PathBytes::from(c.as_path())),
        user: uid.map(|uid| UserInfo {
            uid,
            gid: first.and_then(procscan::gid_of).unwrap_or(0),
            name: user_by_uid(uid)
                .map(|u| u.name.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }),
        env: first
            .map(|p| procscan::env_of(p, NODE_ENV))
            .unwrap_or_default(),
        attached_pids: roots.to_vec(),
        cgroup: cgroup.map(|c| c.dir.display().to_string()),
        ..Default::default()
    }
}

/// The collector of a resumed capture: everything seen so far, and the interruption marked.
fn resumed(
    prev: &Capture,
    roots: &[u32],
    cgroup: Option<&Cgroup>,
    clock: crate::collector::Clock,
) -> Collector {
    let mut c = Collector::resume(prev, clock);
    let now = clock::unix_ms();
    c.window_mut().gaps.push(Gap {
        from_ms: prev.window.ended_at_ms,
        to_ms: now,
    });
    let target = c.target_mut();
    for &p in roots {
        if !target.attached_pids.contains(&p) {
            target.attached_pids.push(p);
        }
    }
    if let Some(cg) = cgroup {
        target.cgroup = Some(cg.dir.display().to_string());
    }
    c
}

fn open_event_log(args: &AttachArgs, owner: Option<(u32, u32)>) -> Result<Option<EventLog>> {
    Ok(match &args.events {
        None => None,
        Some(p) if p.as_os_str() == "-" => Some(EventLog::new(Box::new(std::io::BufWriter::new(
            std::io::stdout(),
        )))),
        Some(p) => Some(EventLog::new(Box::new(RotatingLog::create(
            p,
            args.events_max_bytes,
            args.events_keep,
            owner,
        )?))),
    })
}

/// Asks the very binary a followed Node process runs (`/proc/PID/exe`, right even when the
/// file was replaced since) for its version, as that process's user.
fn note_node_version(session: &mut Session, roots: &[u32]) {
    let Some(node) = session.collector.target().node.clone() else {
        return;
    };
    if node.version.is_some() {
        return;
    }
    let candidates = roots.iter().copied().chain(session.tracer.tracked_pids());
    let Some(pid) = candidates
        .into_iter()
        .find(|&p| procscan::program_of(p).is_some_and(|(exe, _)| exe == node.exe))
    else {
        return;
    };
    let user = match (procscan::uid_of(pid), procscan::gid_of(pid)) {
        (Some(uid), Some(gid)) if uid != 0 => Some(TargetUser {
            uid,
            gid,
            name: Default::default(),
            home: None,
            groups: Vec::new(),
        }),
        _ => None,
    };
    let exe = PathBytes::from(format!("/proc/{pid}/exe").as_str());
    let version = detect_node_version(&exe, user.as_ref());
    if let Some(n) = session.collector.target_mut().node.as_mut() {
        n.version = version;
    }
}

fn describe(roots: &[u32], cgroup: Option<&Cgroup>) -> String {
    let mut parts: Vec<String> = roots.iter().map(|p| format!("pid {p}")).collect();
    if let Some(cg) = cgroup {
        parts.push(format!("cgroup {}", cg.dir.display()));
    }
    parts.join(", ")
}

fn print_notes(cap: &Capture, failed_checkpoints: u64) {
    if !cap.window.saw_start {
        eprintln!(
            "permtrace: NOTE: permtrace joined these processes while they ran: what they did \
             before (start-up reads, connections opened earlier) is not in this capture. Trace \
             a start of the service with `permtrace run` and merge the two."
        );
    }
    if !cap.window.gaps.is_empty() {
        let secs: u64 = cap
            .window
            .gaps
            .iter()
            .map(|g| g.to_ms.saturating_sub(g.from_ms))
            .sum();
        eprintln!(
            "permtrace: NOTE: the capture was interrupted {} time(s) ({}s in all); nothing was \
             traced in between",
            cap.window.gaps.len(),
            secs / 1000
        );
    }
    if failed_checkpoints > 0 {
        eprintln!("permtrace: WARNING: {failed_checkpoints} checkpoint(s) could not be written");
    }
}

fn signal_name(signo: i32) -> &'static str {
    match signo {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        libc::SIGQUIT => "SIGQUIT",
        _ => "signal",
    }
}
