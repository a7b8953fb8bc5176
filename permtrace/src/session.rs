//! A capture in progress: the tracer's ring buffer feeding the collector (and the event log).
//! `run` and `attach` differ only in how they start and when they stop; both drive this.

use anyhow::{Context as _, Result};
use tokio::io::{Interest, unix::AsyncFd};

use crate::{
    capture::Capture,
    collector::{Clock, Collector, ProcessSeed},
    event::Body,
    eventlog::{EventLog, line},
    tracer::{EventRing, KernelStats, Tracer},
    wire,
};

/// Describes a process the collector meets for the first time in the stream (attach: read
/// from procfs). Gets its tgid and whether that first event is its exec.
pub type Seeder = Box<dyn FnMut(u32, bool) -> ProcessSeed>;

pub struct Session {
    pub tracer: Tracer,
    ring: AsyncFd<EventRing>,
    pub collector: Collector,
    log: Option<EventLog>,
    pub decode_errors: u64,
    clock: Clock,
    seeder: Option<Seeder>,
}

impl Session {
    /// Must be called inside a tokio runtime.
    pub fn new(
        mut tracer: Tracer,
        collector: Collector,
        log: Option<EventLog>,
        clock: Clock,
    ) -> Result<Self> {
        let ring = tracer
            .take_ring()
            .context("the ring buffer was already taken")?;
        // SAFETY: the ring's fd is owned by the EventRing moved into the AsyncFd, so it stays
        // open and the same for the AsyncFd's whole life.
        let ring = unsafe { AsyncFd::register_with_interest(ring, Interest::READABLE) }
            .map_err(std::io::Error::from)
            .context("registering the ring buffer with the event loop")?;
        Ok(Self {
            tracer,
            ring,
            collector,
            log,
            decode_errors: 0,
            clock,
            seeder: None,
        })
    }

    /// Processes can enter the traced set without the collector having seen them start
    /// (a traced cgroup, a fork event lost): `seeder` describes them when they first show up.
    pub fn set_seeder(&mut self, seeder: Seeder) {
        self.seeder = Some(seeder);
    }

    /// Waits until the kernel wakes the reader (enough data is waiting). The periodic drain
    /// covers the rest, so callers also call [`Session::drain`] on a short timer.
    pub async fn wait_readable(&self) -> Result<()> {
        let mut guard = self
            .ring
            .readable()
            .await
            .context("polling the ring buffer")?;
        guard.clear_ready();
        Ok(())
    }

    /// Processes every record waiting in the ring buffer.
    pub fn drain(&mut self) -> Result<usize> {
        let Self {
            tracer,
            ring,
            collector,
            log,
            decode_errors,
            clock,
            seeder,
            ..
        } = self;
        let mut sink = Sink {
            tracer,
            collector,
            log,
            decode_errors,
            clock: *clock,
            seeder,
            log_error: None,
        };
        let n = ring.get_mut().drain(|record| sink.handle(record));
        sink.finish()?;
        Ok(n)
    }

    pub fn kernel_stats(&self) -> KernelStats {
        self.tracer.stats().unwrap_or_else(|e| {
            log::warn!("cannot read kernel counters: {e:#}");
            KernelStats::default()
        })
    }

    pub fn capture(&self) -> Capture {
        self.collector
            .snapshot(self.kernel_stats(), self.decode_errors)
    }

    /// Writes the capture as of now as JSON, streamed from the aggregates (checkpoints).
    /// Writing a large capture takes a while: the ring buffer is emptied into memory as it
    /// goes, so the kernel never finds it full, and those events are taken in after.
    pub fn write_json(&mut self, out: &mut dyn std::io::Write) -> Result<()> {
        let kernel = self.kernel_stats();
        let Self {
            tracer,
            ring,
            collector,
            log,
            decode_errors,
            clock,
            seeder,
            ..
        } = self;
        let mut pending: Vec<Vec<u8>> = Vec::new();
        let mut keep_up = || {
            ring.get_mut().drain(|r| pending.push(r.to_vec()));
        };
        let written = collector.write_json_with(kernel, *decode_errors, out, &mut keep_up);
        let mut sink = Sink {
            tracer,
            collector,
            log,
            decode_errors,
            clock: *clock,
            seeder,
            log_error: None,
        };
        for record in &pending {
            sink.handle(record);
        }
        sink.finish()?;
        written.context("writing the capture")
    }

    pub fn flush_log(&mut self) -> Result<()> {
        if let Some(log) = self.log.as_mut() {
            log.flush().context("writing the event log")?;
        }
        Ok(())
    }
}

/// Describes a running process to the collector, and probes what it runs (its node binary
/// and C library) so its runtime features and lookups are seen from now on.
pub fn seed_process(
    tracer: &mut Tracer,
    collector: &mut Collector,
    tgid: u32,
    seed: ProcessSeed,
    ts_ns: u64,
) {
    let exe = seed.program.as_ref().map(|(exe, _)| exe.clone());
    collector.seed(tgid, seed, ts_ns);
    if let Some(exe) = exe {
        let (node, libraries) = tracer.probe_process(tgid, &exe);
        if let Some(report) = node {
            collector.note_probes(tgid, None, report);
        }
        for p in libraries {
            collector.note_probes(tgid, p.library, p.report);
        }
    }
}

/// Where decoded records go: the collector (after describing unseen processes), the uprobes
/// that follow what processes load, and the log.
struct Sink<'a> {
    tracer: &'a mut Tracer,
    collector: &'a mut Collector,
    log: &'a mut Option<EventLog>,
    decode_errors: &'a mut u64,
    clock: Clock,
    seeder: &'a mut Option<Seeder>,
    log_error: Option<std::io::Error>,
}

impl Sink<'_> {
    fn handle(&mut self, record: &[u8]) {
        let ev = match wire::decode(record) {
            Ok(ev) => ev,
            Err(e) => {
                *self.decode_errors += 1;
                log::warn!("undecodable kernel record: {e}");
                return;
            }
        };
        if let Some(seeder) = self.seeder.as_mut() {
            let exit = matches!(ev.body, Body::Exit { .. });
            if !exit && !self.collector.knows(ev.tgid) {
                let seed = seeder(ev.tgid, matches!(ev.body, Body::Exec(_)));
                seed_process(self.tracer, self.collector, ev.tgid, seed, ev.ts_ns);
            }
        }
        let resolved = self.collector.ingest(&ev);
        // A new node binary or C library gets its uprobes as soon as it shows up.
        if let Some(p) = self.tracer.follow_native(&ev, &resolved) {
            if p.library.is_none() {
                self.collector.note_node_exec(ev.tgid, ev.ts_ns, &p.report);
            }
            self.collector.note_probes(ev.tgid, p.library, p.report);
        }
        if let Some(log) = self.log.as_mut()
            && self.log_error.is_none()
        {
            let ms = (ev.ts_ns as i128 + self.clock.boot_to_unix_ns) as f64 / 1e6;
            if let Err(e) = log.write(&line(&ev, &resolved, ms)) {
                self.log_error = Some(e);
            }
        }
    }

    fn finish(self) -> Result<()> {
        match self.log_error {
            Some(e) => Err(e).context("writing the event log"),
            None => Ok(()),
        }
    }
}
