//! The collector: events in, a [`Capture`] out. Pure: no I/O, no clock of its own (the
//! kernel's timestamps are converted with the [`Clock`] it is given), so every rule here is
//! unit-tested with synthetic events. It keeps aggregates, never the raw events, so a capture
//! of days stays small.

mod files;
mod names;
mod net;
mod programs;
mod runtime;
mod spawns;
mod stats;

pub use runtime::ProbeReport;

pub use spawns::is_path_search_step;

#[cfg(test)]
mod names_tests;
#[cfg(test)]
mod runtime_tests;
#[cfg(test)]
mod test_events;
#[cfg(test)]
mod tests;

pub use stats::record_access;

use crate::{
    capture::{Capture, CaptureStats, SCHEMA, Target, ToolInfo, Window},
    event::{Body, Event, Feature},
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
    names: names::Names,
    runtime: runtime::Runtime,
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
            names: names::Names::default(),
            runtime: runtime::Runtime::default(),
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
        c.names.load(&capture.names);
        c.runtime.load(&capture.runtime);
        c.spawns.load(&capture.spawns);
        c.events = capture.stats.events;
        c.unresolved = capture.stats.unresolved_paths;
        c
    }

    pub fn seed(&mut self, tgid: u32, seed: ProcessSeed, ts_ns: u64) {
        self.names.seed(tgid, seed.program.is_some());
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
                let ctx = self.context(ev);
                self.unresolved += self.files.record(call, &resolved, ctx, now);
                if let Some(p) = resolved.path.as_ref().and_then(|r| r.path()) {
                    self.runtime.opened(ev.tid, p);
                    if call.ret >= 0 {
                        self.programs.saw_open(ev.tgid, p, call);
                    }
                }
            }
            Body::Sock(call) => {
                let ctx = self.context(ev);
                let names = (&self.names, ev.tgid);
                self.net.record(call, sock.as_ref(), names, ctx, now);
            }
            Body::Exec(exec) => {
                let filename = resolved.path.as_ref().and_then(|r| r.path()).cloned();
                let filename = filename.unwrap_or_else(|| exec.filename.bytes.clone());
                let program = if exec.ret == 0 {
                    self.names.exec(ev.tgid);
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
            Body::Fork { child } => {
                self.programs.fork(ev.tgid, *child);
                self.names.fork(ev.tgid, *child);
            }
            Body::Exit { .. } => {
                self.programs.exit(ev.tgid);
                self.names.exit(ev.tgid);
            }
            Body::Dns(msg) => {
                let ctx = self.context(ev);
                let stream = self
                    .resolver
                    .process(ev.tgid)
                    .and_then(|s| s.socket(msg.fd))
                    .map(|s| s.sock_type & 0xf == libc::SOCK_STREAM as u32);
                // Port 53 traffic that is not a DNS message names nothing: it stays in the
                // event log only.
                self.names.dns(ev.tgid, msg, stream, ctx, now);
            }
            Body::Lookup(l) => {
                let ctx = self.programs.context(ev.tgid);
                self.names.lookup(ev.tgid, ev.tid, l, ctx, now);
            }
            Body::Runtime(call) if call.feature == Feature::ResolverInit => {
                self.names.resolver_window(ev.tgid, ev.tid, call.enter);
            }
            Body::Runtime(call) => self.runtime.call(ev.tid, *call),
            Body::Fd(_) => {}
        }
        resolved
    }

    /// Who made the event's call, and whether libc's resolver made it on the app's behalf.
    fn context(&self, ev: &Event) -> stats::Context {
        let mut ctx = self.programs.context(ev.tgid);
        ctx.in_resolver = self.names.in_resolver(ev.tid);
        ctx
    }

    /// What attaching uprobes achieved for the program process `tgid` runs (its node
    /// binary), or for a library it loaded (`library`: its path).
    pub fn note_probes(&mut self, tgid: u32, library: Option<PathBytes>, report: ProbeReport) {
        let binary = match library {
            Some(lib) => lib,
            None => match self.programs.exe_of(tgid) {
                Some(exe) => exe,
                None => return,
            },
        };
        self.runtime.probed(binary, report);
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
            runtime: self.runtime.to_record(&self.programs.node_exes()),
            names: self.names.to_records(),
            sources: Vec::new(),
        }
    }
}
