//! The collector: events in, a [`Capture`] out. Pure: no I/O, no clock of its own (the
//! kernel's timestamps are converted with the [`Clock`] it is given), so every rule here is
//! unit-tested with synthetic events. It keeps aggregates, never the raw events, so a capture
//! of days stays small.

mod files;
mod literals;
mod names;
mod net;
mod programs;
mod runtime;
mod spawns;
mod stats;
mod stream;

pub use literals::ip_literals;
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

pub use stats::{add_kernel_stats, merge_stats, record_access};

use permtrace_common::syscalls::nr;

use crate::{
    capture::{Capture, CaptureStats, SCHEMA, Target, ToolInfo, Window},
    event::{Body, Event, Feature, SockCall},
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
    /// Its parent, when that is followed too (attach: a descendant found in procfs).
    pub parent: Option<u32>,
    /// Socket fds (in `state.fds`, with their bound address) that were listening (stream)
    /// or bound (datagram) when permtrace attached.
    pub listening: Vec<i32>,
    /// IP addresses written in its command line and environment (attach): connects to them
    /// are literals, not names resolved before the capture.
    pub literals: Vec<std::net::IpAddr>,
}

/// What an earlier part of a resumed capture lost, added to what this part loses.
#[derive(Clone, Debug, Default)]
struct Prior {
    kernel: KernelStats,
    decode_errors: u64,
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
    prior: Prior,
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
            prior: Prior::default(),
        }
    }

    /// Continues an earlier capture (`--resume`): its aggregates, counters (including what
    /// it lost) and window are the starting point.
    pub fn resume(capture: &Capture, clock: Clock) -> Self {
        let mut c = Self::new(capture.target.clone(), capture.window.clone(), clock);
        c.programs.load(&capture.programs, capture.stats.processes);
        c.files.load(&capture.files);
        c.net.load(&capture.network);
        c.names.load(&capture.names);
        c.runtime.load(&capture.runtime);
        c.spawns.load(&capture.spawns);
        c.events = capture.stats.events;
        c.unresolved = capture.stats.unresolved_paths;
        c.prior = Prior {
            kernel: capture.stats.kernel,
            decode_errors: capture.stats.decode_errors,
        };
        c
    }

    pub fn seed(&mut self, tgid: u32, seed: ProcessSeed, ts_ns: u64) {
        let now = self.clock.unix_ms(ts_ns);
        // The state first: the entry script is resolved against the seeded cwd.
        self.resolver.seed(tgid, seed.state);
        self.names
            .seed(tgid, seed.program.is_some(), &seed.literals);
        if let Some((exe, argv)) = seed.program {
            self.programs.seed(tgid, seed.parent, &exe, &argv, now);
            self.note_node(tgid);
        }
        let ctx = self.programs.context(tgid);
        for fd in seed.listening {
            let Some(sock) = self.resolver.process(tgid).and_then(|s| s.socket(fd)) else {
                continue;
            };
            let stream = sock.sock_type & 0xf == libc::SOCK_STREAM as u32;
            let call = SockCall {
                nr: if stream { nr::LISTEN } else { nr::BIND },
                ret: 0,
                fd,
                domain: sock.domain,
                sock_type: sock.sock_type,
                addr: sock.bound.clone().unwrap_or_default(),
                addr_fault: false,
            };
            self.net.record_before_attach(&call, sock, ctx, now);
        }
    }

    /// Whether the collector has state for this process (seeded, or seen forking).
    pub fn knows(&self, tgid: u32) -> bool {
        self.resolver.process(tgid).is_some()
    }

    /// Drops the per-process state of processes that no longer exist (`alive` says which
    /// do), for when their exit was never seen (lost events, or processes that only ever
    /// ran inside a traced cgroup): a capture of days must not keep every pid it saw.
    pub fn forget_gone(&mut self, alive: impl Fn(u32) -> bool) -> usize {
        let mut gone: Vec<u32> = self.resolver.tgids().chain(self.programs.tgids()).collect();
        gone.sort_unstable();
        gone.dedup();
        gone.retain(|t| !alive(*t));
        for tgid in &gone {
            self.resolver.forget(*tgid);
            self.programs.exit(*tgid);
            self.names.exit(*tgid);
            self.runtime.left(*tgid);
        }
        gone.len()
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
                let opened = resolved.path.as_ref().and_then(|r| r.path());
                if let Some(p) = opened.filter(|_| call.ret >= 0) {
                    self.programs.saw_open(ev.tgid, p, call);
                }
                let ctx = self.context(ev);
                self.unresolved += self.files.record(call, &resolved, ctx, now);
                if let Some(p) = opened {
                    self.runtime.opened(ev.tid, p);
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
                    self.runtime.left(ev.tgid);
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
                self.runtime.left(ev.tgid);
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
            Body::Runtime(call) => self.runtime.call(ev.tgid, ev.tid, *call),
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

    /// Process `tgid` exec'd its node binary at `exec_ns` (boot time), and `report` says
    /// when that binary's probes were in place: a process that started before then is
    /// watched for its JavaScript starting afterwards, or reported as probed late.
    pub fn note_node_exec(&mut self, tgid: u32, exec_ns: u64, report: &ProbeReport) {
        let Some(attached_ns) = report.attached_ns else {
            return;
        };
        if attached_ns <= exec_ns {
            return;
        }
        if let Some(exe) = self.programs.exe_of(tgid) {
            self.runtime
                .started_unwatched(tgid, exe, attached_ns - exec_ns);
        }
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

    pub fn window(&self) -> &Window {
        &self.window
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
        let mut cap = self.snapshot_without_files(kernel, decode_errors);
        cap.files = self.files.to_records();
        cap
    }

    /// Everything but the per-path records, which [`Collector::write_json`] streams.
    fn snapshot_without_files(&self, kernel: KernelStats, decode_errors: u64) -> Capture {
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
                kernel: add_kernel_stats(&self.prior.kernel, &kernel),
                decode_errors: self.prior.decode_errors + decode_errors,
                unresolved_paths: self.unresolved,
                processes: self.programs.processes_seen(),
                still_running: 0,
            },
            programs: self.programs.to_records(),
            files: Vec::new(),
            network: self.net.to_records(),
            spawns: self.spawns.to_records(),
            runtime: self.runtime.to_record(&self.programs.node_exes()),
            names: self.names.to_records(),
            sources: Vec::new(),
        }
    }
}

#[cfg(test)]
mod attach_tests;
