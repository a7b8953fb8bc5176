//! `permtrace run -- CMD`: start a command under the tracer and capture its whole tree.

use std::{io::Write as _, time::Instant};

use anyhow::{Context as _, Result};
use permtrace_common::maps::track;

use crate::{
    capture::{Mode, Target, UserInfo, Window},
    cli::RunArgs,
    clock,
    collector::{Collector, ProcessSeed},
    commands::print_summary,
    eventlog::EventLog,
    nodeinfo::detect_node_version,
    output::{OutputDir, create_no_follow},
    pathbytes::PathBytes,
    resolve::ProcState,
    session::Session,
    target::{
        ExecOutcome, SignalSource, Signals, SpawnSpec, exit_code_of, resolve_user, wait_nohang,
    },
    tracer::{Tracer, TracerOptions, check_privileges, likely_node_binaries},
};

/// Environment variables that make Node read files natively or change its options.
pub(crate) const NODE_ENV: &[&str] = &[
    "NODE_OPTIONS",
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_PATH",
];

/// `quiet` (`-q`): no end-of-run summary, except the warning about lost events.
pub fn run(args: RunArgs, quiet: bool) -> Result<i32> {
    // First, so that a user without the rights gets this message and not an error about
    // some directory, and nothing is created or started.
    check_privileges()?;
    let user = resolve_user(args.user.as_deref())?;
    let owner = user.as_ref().map(|u| (u.uid, u.gid));
    let cwd = match &args.cwd {
        Some(d) => std::fs::canonicalize(d).with_context(|| format!("--cwd {}", d.display()))?,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    // Everything that can fail is checked before the command starts: it must not run
    // untraced, nor run for nothing.
    let out = OutputDir::create(&args.out, owner)?;
    let log = match &args.events {
        None => None,
        Some(p) if p.as_os_str() == "-" => Some(EventLog::new(Box::new(std::io::BufWriter::new(
            std::io::stdout(),
        )))),
        Some(p) => Some(EventLog::new(Box::new(std::io::BufWriter::with_capacity(
            1 << 16,
            create_no_follow(p, owner)?,
        )))),
    };
    let opts = TracerOptions {
        ring_bytes: args.kernel.ring_bytes,
        uprobes: !args.kernel.no_uprobes,
        ..Default::default()
    };
    let mut tracer = Tracer::start(&opts, false)?;
    for node in likely_node_binaries(&args.command, &cwd) {
        tracer.probe_node_binary(&node);
    }

    let spec = SpawnSpec {
        argv: args.command.clone(),
        cwd: args.cwd.clone(),
        user: user.clone(),
    };
    Signals::block()?;
    let child = spec.fork_paused()?;
    let pid = child.pid;
    let started = Instant::now();
    let started_ms = clock::unix_ms();
    let clock = clock::system_clock();

    let mut target = Target {
        mode: Mode::Run,
        command: args
            .command
            .iter()
            .map(|a| PathBytes::from(std::path::Path::new(a)))
            .collect(),
        cwd: Some(PathBytes::from(cwd.as_path())),
        user: user.as_ref().map(|u| UserInfo {
            uid: u.uid,
            gid: u.gid,
            name: u.name.to_string_lossy().into_owned(),
        }),
        ..Default::default()
    };
    for k in NODE_ENV {
        if let Ok(v) = std::env::var(k) {
            target.env.insert((*k).to_string(), v);
        }
    }
    let window = Window {
        started_at_ms: started_ms,
        saw_start: true,
        ..Default::default()
    };
    let mut collector = Collector::new(target, window, clock);
    collector.seed(
        pid,
        ProcessSeed {
            state: ProcState::with_cwd(PathBytes::from(cwd.as_path())),
            ..Default::default()
        },
        clock::boot_ns(),
    );

    // From here the child is followed: its exec and everything after are captured. A child
    // whose set-up failed has exited: tracking its (free) pid could follow a stranger.
    if child.ready {
        tracer.track(pid, track::ROOT)?;
    }
    let outcome = child.release()?;
    let what = args
        .command
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    match &outcome {
        ExecOutcome::Started => {}
        ExecOutcome::NotFound => eprintln!(
            "permtrace: {}: command not found",
            args.command[0].to_string_lossy()
        ),
        ExecOutcome::NotExecutable(e) => eprintln!(
            "permtrace: {}: cannot execute: {}",
            args.command[0].to_string_lossy(),
            std::io::Error::from_raw_os_error(*e)
        ),
        ExecOutcome::SetupFailed { step, errno } => eprintln!(
            "permtrace: could not prepare the command ({step}): {}",
            std::io::Error::from_raw_os_error(*errno)
        ),
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("starting the event loop")?;
    let (mut session, ending) = runtime.block_on(async {
        let mut session = Session::new(tracer, collector, log, clock)?;
        let ending = trace_until_exit(&mut session, pid).await?;
        anyhow::Ok((session, ending))
    })?;
    // Tracing ends with the command. Descendants that outlive it (daemons, `cmd &`) are let
    // go: without that, one that keeps making syscalls would keep this drain busy forever.
    let still_running = session.tracer.untrack_all()?;
    while session.drain()? > 0 {}
    session.flush_log()?;

    let window = session.collector.window_mut();
    window.ended_at_ms = clock::unix_ms();
    let code = match ending {
        Ending::Exited(status) => {
            window.ended_by = "exit".into();
            exit_code_of(status)
        }
        Ending::StoppedTracing => {
            window.ended_by = "signal".into();
            eprintln!("permtrace: stopped tracing; {what} (pid {pid}) keeps running untraced");
            130
        }
    };
    if let Some(node) = session.collector.target_mut().node.as_mut() {
        node.version = detect_node_version(&node.exe, user.as_ref());
    }
    let mut capture = session.capture();
    capture.stats.still_running = still_running.len() as u64;
    if !still_running.is_empty() {
        log::info!("still running when tracing stopped: {still_running:?}");
    }
    let json = serde_json::to_vec_pretty(&capture).context("serializing the capture")?;
    let written = out.write_atomic("capture.json", &json)?;
    print_summary(
        &capture,
        &format!("`{what}`"),
        started.elapsed().as_secs_f64(),
        quiet,
    );
    if !quiet {
        eprintln!("permtrace: wrote {}", written.display());
    }
    crate::policy::emit_drafts(&out, &capture, &args.policy, quiet);
    std::io::stderr().flush().ok();
    Ok(code)
}

enum Ending {
    /// The command exited; its wait status.
    Exited(i32),
    /// A second Ctrl-C: the user stopped tracing, the command runs on.
    StoppedTracing,
}

async fn trace_until_exit(session: &mut Session, pid: u32) -> Result<Ending> {
    let mut signals = Signals::open()?;
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(10));
    let mut interrupts = 0;
    loop {
        tokio::select! {
            r = session.wait_readable() => r?,
            _ = tick.tick() => {
                if let Some(status) = wait_nohang(pid)? {
                    return Ok(Ending::Exited(status));
                }
            }
            sig = signals.recv() => {
                let sig = sig?;
                match sig.signo {
                    libc::SIGCHLD => {
                        if let Some(status) = wait_nohang(pid)? {
                            return Ok(Ending::Exited(status));
                        }
                    }
                    libc::SIGINT => {
                        interrupts += 1;
                        if interrupts >= 2 {
                            return Ok(Ending::StoppedTracing);
                        }
                        // Ctrl-C at the terminal reached the command too (same process group).
                        if sig.source != SignalSource::Kernel {
                            forward(pid, libc::SIGINT);
                        }
                        eprintln!("permtrace: waiting for the command to exit (Ctrl-C again stops tracing)");
                    }
                    other => forward(pid, other),
                }
            }
        }
        session.drain()?;
    }
}

fn forward(pid: u32, signo: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid as i32, signo) };
}
