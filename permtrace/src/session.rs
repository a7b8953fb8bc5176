//! A capture in progress: the tracer's ring buffer feeding the collector (and the event log).
//! `run` and `attach` differ only in how they start and when they stop; both drive this.

use anyhow::{Context as _, Result};
use tokio::io::{Interest, unix::AsyncFd};

use crate::{
    capture::Capture,
    collector::{Clock, Collector},
    eventlog::{EventLog, line},
    tracer::{EventRing, KernelStats, Tracer},
    wire,
};

pub struct Session {
    pub tracer: Tracer,
    ring: AsyncFd<EventRing>,
    pub collector: Collector,
    log: Option<EventLog>,
    pub decode_errors: u64,
    clock: Clock,
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
        })
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
            ..
        } = self;
        let mut log_error = None;
        let n = ring.get_mut().drain(|record| match wire::decode(record) {
            Ok(ev) => {
                let resolved = collector.ingest(&ev);
                // A new node binary or C library gets its uprobes as soon as it shows up.
                if let Some(p) = tracer.follow_native(&ev, &resolved) {
                    collector.note_probes(ev.tgid, p.library, p.report);
                }
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

    pub fn flush_log(&mut self) -> Result<()> {
        if let Some(log) = self.log.as_mut() {
            log.flush().context("writing the event log")?;
        }
        Ok(())
    }
}
