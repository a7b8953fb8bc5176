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
            ring,
            collector,
            log,
            decode_errors,
            clock,
            seeder,
            ..
        } = self;
        let mut log_error = None;
        let n = ring.get_mut().drain(|record| match wire::decode(record) {
            Ok(ev) => {
                if let Some(seeder) = seeder.as_mut() {
                    let exit = matches!(ev.body, Body::Exit { .. });
                    if !exit && !collector.knows(ev.tgid) {
                        let seed = seeder(ev.tgid, matches!(ev.body, Body::Exec(_)));
                        collector.seed(ev.tgid, seed, ev.ts_ns);
                    }
                }
                let resolved = collector.ingest(&ev);
                if let Some(log) = log.as_mut() {
                    if log_error.is_none() {
                        let ms = (ev.ts_ns as i128 + clock.boot_to_unix_ns) as f64 / 1e6;
                        if let Err(e) = log.write(&line(&ev, &resolved, ms)) {
                            log_error = Some(e);
                        }
                    }
                }
            }
            Err(e) => {
                *decode_errors += 1;
                log::warn!("undecodable kernel record: {e}");
            }
        });
        if let Some(e) = log_error {
            return Err(e).context("writing the event log");
        }
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
    pub fn write_json(&self, out: &mut dyn std::io::Write) -> serde_json::Result<()> {
        self.collector
            .write_json(self.kernel_stats(), self.decode_errors, out)
    }

    pub fn flush_log(&mut self) -> Result<()> {
        if let Some(log) = self.log.as_mut() {
            log.flush().context("writing the event log")?;
        }
        Ok(())
    }
}
