//! The collector: events in, a [`Capture`] out. Pure: no I/O, no clock of its own (the
//! kernel's timestamps are converted with the [`Clock`] it is given), so every rule here is
//! unit-tested with synthetic events. It keeps aggregates, never the raw events, so a capture
//! of days stays small.

mod files;
mod net;
mod programs;
mod spawns;
mod stats;

pub use spawns::is_path_search_step;

#[cfg(test)]
mod tests;

pub use stats::record_access;

use crate::{
    capture::{Capture, CaptureStats, SCHEMA, Target, ToolInfo, Window},
    event::{Body, Event},
    pathbytes::PathBytes,
    resolve::{ProcState, Resolved, Resolver},
    tracer::KernelStats,
};

/// Converts `CLOCK_BOOTTIME` nanoseconds to Unix milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    /// Unix time minus boot time, in nanoseconds.
    pub boot_to_unix_ns: i128,
}

impl Clock {
    pub fn unix_ms(&self, boot_ns: u64) -> u64 {
        ((boot_ns as i128 + self.boot_to_unix_ns) / 1_000_000).max(0) as u64
    }
}

/// A process permtrace knows from outside the event stream.
#[derive(Clone, Debug, Default)]
pub struct ProcessSeed {
    pub state: ProcState,
    /// Executable and arguments when already running (attach); `None` for the command
    /// `run` starts, whose exec is in the stream.
    pub program: Option<(PathBytes, Vec<PathBytes>)>,
}

pub struct Collector {
    clock: Clock,
    target: Target,
    window: Window,
    resolver: Resolver,
    programs: programs::Programs,
    files: files::Files,
    net: net::Net,
    spawns: spawns::Spawns,
    events: u64,
    unresolved: u64,
}

impl Collector {
    pub fn new(target: Target, window: Window, clock: Clock) -> Self {
        Self {
            clock,
            target,
            window,
            resolver: Resolver::new(),
            programs: programs::Programs::default(),
            files: files::Files::default(),
            net: net::Net::default(),
            spawns: spawns::Spawns::default(),
            events: 0,
            unresolved: 0,
        }
    }

    /// Continues an earlier capture (`--resume`): its aggregates are the starting point.
    pub fn resume(capture: &Capture, clock: Clock) -> Self {
        let mut c = Self::new(capture.target.clone(), capture.window.clone(), clock);
        c.programs.load(&capture.programs);
        c.files.load(&capture.files);
        c.net.load(&capture.network);
        c.spawns.load(&capture.spawns);
        c.events = capture.stats.events;
        c.unresolved = capture.stats.unresolved_paths;
        c
    }

    pub fn seed(&mut self, tgid: u32, seed: ProcessSeed, ts_ns: u64) {
        if let Some((exe, argv)) = seed.program {
            let now = self.clock.unix_ms(ts_ns);
            self.programs.exec(tgid, &exe, &argv, now);
            self.note_node(tgid);
        }
        self.resolver.seed(tgid, seed.state);
    }

    /// Takes one event into the aggregates; returns how its paths were resolved (for the
    /// event log).
    pub fn ingest(&mut self, ev: &Event) -> Resolved {
        self.events += 1;
        let now = self.clock.unix_ms(ev.ts_ns);
        // Socket facts must be read before the resolver applies a bind/socket call.
        let sock = match &ev.body {
            Body::Sock(call) => self
                .resolver
                .process(ev.tgid)
                .and_then(|s| s.socket(call.fd))
                .cloned(),
            _ => None,
        };
        let parent_program = self.programs.program_of(ev.tgid);
        let resolved = self.resolver.apply(ev);
        match &ev.body {
            Body::Path(call) => {
                let ctx = self.programs.context(ev.tgid);
                self.unresolved += self.files.record(call, &resolved, ctx, now);
                if call.ret >= 0 {
                    if let Some(p) = resolved.path.as_ref().and_then(|r| r.path()) {
                        self.programs.saw_open(ev.tgid, p, call);
                    }
                }
            }
            Body::Sock(call) => {
                let ctx = self.programs.context(ev.tgid);
                self.net.record(call, sock.as_ref(), ctx, now);
            }
            Body::Exec(exec) => {
                let filename = resolved.path.as_ref().and_then(|r| r.path()).cloned();
                let filename = filename.unwrap_or_else(|| exec.filename.bytes.clone());
                let program = if exec.ret == 0 {
                    let id = self.programs.exec(ev.tgid, &filename, &exec.argv, now);
                    self.note_node(ev.tgid);
                    Some(id)
                } else {
                    None
                };
                if let Some(parent) = parent_program {
                    let ctx = self.programs.context_for(parent, ev.tgid);
                    self.spawns
                        .record(parent, &filename, exec, program, ctx, now);
                }
            }
            Body::Fork { child } => self.programs.fork(ev.tgid, *child),
            Body::Exit { .. } => self.programs.exit(ev.tgid),
            Body::Fd(_) | Body::Dns(_) => {}
        }
        resolved
    }

    /// The first Node program in the tree defines the target's node binary and entry.
    fn note_node(&mut self, tgid: u32) {
        if self.target.node.is_some() {
            return;
        }
        let Some(cmd) = self.programs.node_command(tgid) else {
            return;
        };
        let (exe, parsed) = cmd;
        self.target.node = Some(crate::capture::NodeInfo { exe, version: None });
        let cwd = self.resolver.process(tgid).and_then(|s| s.cwd.clone());
        if let Some(cwd) = cwd {
            self.target.entry = parsed.entry(&cwd);
            self.target.preloads = parsed.preload_paths(&cwd);
        }
        self.target.node_options = parsed.options;
    }

    pub fn target_mut(&mut self) -> &mut Target {
        &mut self.target
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    pub fn window_mut(&mut self) -> &mut Window {
        &mut self.window
    }

    pub fn events(&self) -> u64 {
        self.events
    }

    /// Sizes for a live status line: (unique paths, endpoints, spawn kinds, live processes).
    pub fn sizes(&self) -> (usize, usize, usize, usize) {
        (
            self.files.len(),
            self.net.len(),
            self.spawns.len(),
            self.resolver.len(),
        )
    }

    /// The capture as of now (for checkpoints and the final output).
    pub fn snapshot(&self, kernel: KernelStats, decode_errors: u64) -> Capture {
        Capture {
            schema: SCHEMA.into(),
            tool: ToolInfo {
                name: "permtrace".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            target: self.target.clone(),
            window: self.window.clone(),
            stats: CaptureStats {
                events: self.events,
                kernel,
                decode_errors,
                unresolved_paths: self.unresolved,
                processes: self.programs.processes_seen(),
                still_running: 0,
            },
            programs: self.programs.to_records(),
            files: self.files.to_records(),
            network: self.net.to_records(),
            spawns: self.spawns.to_records(),
            runtime: Default::default(),
            names: Vec::new(),
            sources: Vec::new(),
        }
    }
}
