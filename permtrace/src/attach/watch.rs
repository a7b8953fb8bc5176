//! The event loop of a long capture: drain the kernel's events, checkpoint on schedule,
//! show progress, and notice when the capture should end. Never signals the followed
//! processes.

use std::time::{Duration, Instant};

use anyhow::Result;

use super::{
    cgroup::Cgroup,
    follow::{self, CgroupIds},
    procscan,
    status::{Progress, StatusOut},
};
use crate::{clock, output::OutputDir, session::Session, target::Signals};

/// Why a capture ended (`window.ended_by`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    Duration,
    Signal(i32),
    AllExited,
}

impl Ending {
    pub fn ended_by(self) -> &'static str {
        match self {
            Ending::Duration => "duration",
            Ending::Signal(_) => "signal",
            Ending::AllExited => "exit",
        }
    }
}

pub struct Watch<'a> {
    pub out: &'a OutputDir,
    pub checkpoint_every: Duration,
    pub duration: Option<Duration>,
    /// Followed by cgroup: the capture does not end when its processes exit.
    pub cgroup: Option<(Cgroup, CgroupIds)>,
    pub status: StatusOut,
    pub started: Instant,
    pub checkpoints: u64,
    pub failed_checkpoints: u64,
}

impl Watch<'_> {
    pub async fn run(&mut self, session: &mut Session, signals: &mut Signals) -> Result<Ending> {
        let mut drain_tick = tokio::time::interval(Duration::from_millis(50));
        let mut second = tokio::time::interval(Duration::from_secs(1));
        let deadline = self
            .duration
            .map(|d| tokio::time::Instant::from_std(self.started + d));
        let until_deadline = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(until_deadline);
        let mut next_checkpoint = Instant::now() + self.checkpoint_every;
        let mut seconds = 0u64;
        loop {
            tokio::select! {
                r = session.wait_readable() => r?,
                _ = drain_tick.tick() => {}
                _ = &mut until_deadline => return Ok(Ending::Duration),
                sig = signals.recv() => {
                    let signo = sig?.signo;
                    if signo != libc::SIGCHLD {
                        return Ok(Ending::Signal(signo));
                    }
                }
                _ = second.tick() => {
                    seconds += 1;
                    if let Some(ending) = self.every_second(session, seconds)? {
                        return Ok(ending);
                    }
                }
            }
            session.drain()?;
            if Instant::now() >= next_checkpoint {
                self.checkpoint(session);
                next_checkpoint = Instant::now() + self.checkpoint_every;
            }
        }
    }

    fn every_second(&mut self, session: &mut Session, seconds: u64) -> Result<Option<Ending>> {
        let progress = self.progress(session);
        self.status.tick(&progress);
        match self.cgroup.as_mut() {
            None => {
                if !follow::any_followed_alive(session) {
                    return Ok(Some(Ending::AllExited));
                }
            }
            // Sub-cgroups created since (a restarted container's, a unit's new scope).
            Some((cg, ids)) if seconds.is_multiple_of(5) => {
                if cg.exists() {
                    follow::follow_cgroup(session, cg, ids)?;
                }
            }
            Some(_) => {}
        }
        Ok(None)
    }

    pub fn progress(&mut self, session: &Session) -> Progress {
        let (paths, endpoints, spawns, processes) = session.collector.sizes();
        let elapsed = self.started.elapsed();
        let k = session.kernel_stats();
        Progress {
            elapsed,
            remaining: self.duration.map(|d| d.saturating_sub(elapsed)),
            events_per_s: self.status.rate(session.collector.events()),
            paths,
            endpoints,
            spawns,
            processes,
            dropped: k.dropped() + session.decode_errors,
            checkpoints: self.checkpoints,
        }
    }

    /// Writes the capture as of now. A failure (disk full) is reported and the capture goes
    /// on: the next checkpoint may succeed, and the final write reports its own error.
    pub fn checkpoint(&mut self, session: &mut Session) {
        match write_checkpoint(session, self.out) {
            Ok(()) => {
                self.checkpoints += 1;
                let progress = self.progress(session);
                self.status.checkpoint(&progress);
            }
            Err(e) => {
                self.failed_checkpoints += 1;
                self.status
                    .say(&format!("WARNING: checkpoint failed: {e:#}"));
            }
        }
    }
}

fn write_checkpoint(session: &mut Session, out: &OutputDir) -> Result<()> {
    // Once, not until empty: a busy service refills the ring as fast as it is read.
    session.drain()?;
    session.flush_log()?;
    session.collector.forget_gone(procscan::is_alive);
    let window = session.collector.window_mut();
    window.ended_at_ms = clock::unix_ms();
    window.ended_by = "checkpoint".into();
    out.write_atomic_with("capture.json", |w| session.write_json(w))?;
    Ok(())
}
