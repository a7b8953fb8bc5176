//! The live status of a long capture: one line redrawn in place on a terminal, plain log
//! lines (at each checkpoint) otherwise.

use std::{
    io::{IsTerminal as _, Write as _},
    time::{Duration, Instant},
};

use crate::units::format_duration;

/// What the status line shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    pub elapsed: Duration,
    pub remaining: Option<Duration>,
    pub events_per_s: f64,
    pub paths: usize,
    pub endpoints: usize,
    pub spawns: usize,
    pub processes: usize,
    pub dropped: u64,
    pub checkpoints: u64,
}

pub fn status_line(p: &Progress) -> String {
    let time = match p.remaining {
        Some(r) => format!(
            "{} elapsed, {} left",
            format_duration(p.elapsed),
            format_duration(r)
        ),
        None => format!("{} elapsed", format_duration(p.elapsed)),
    };
    let mut line = format!(
        "{time} | {:.0} events/s | {} paths | {} endpoints | {} spawns | {} processes | {} dropped",
        p.events_per_s, p.paths, p.endpoints, p.spawns, p.processes, p.dropped
    );
    if p.checkpoints > 0 {
        line.push_str(&format!(" | {} checkpoints", p.checkpoints));
    }
    line
}

/// Where and how often the status goes.
pub struct StatusOut {
    terminal: bool,
    quiet: bool,
    drawn: bool,
    last_events: u64,
    last_at: Instant,
    rate: f64,
}

impl StatusOut {
    pub fn new(quiet: bool) -> Self {
        Self {
            terminal: std::io::stderr().is_terminal(),
            quiet,
            drawn: false,
            last_events: 0,
            last_at: Instant::now(),
            rate: 0.0,
        }
    }

    /// Events per second since the previous call.
    pub fn rate(&mut self, events: u64) -> f64 {
        let secs = self.last_at.elapsed().as_secs_f64();
        if secs >= 0.5 {
            self.rate = events.saturating_sub(self.last_events) as f64 / secs;
            self.last_events = events;
            self.last_at = Instant::now();
        }
        self.rate
    }

    /// Redraws the line (terminal only; called every second).
    pub fn tick(&mut self, p: &Progress) {
        if self.terminal && !self.quiet {
            // A line longer than the terminal wraps, and \r then redraws only its tail.
            let line = format!("permtrace: {}", status_line(p));
            let line: String = match terminal_width() {
                Some(w) if line.chars().count() >= w => line.chars().take(w - 1).collect(),
                _ => line,
            };
            eprint!("\r\x1b[K{line}");
            std::io::stderr().flush().ok();
            self.drawn = true;
        }
    }

    /// A checkpoint was written: a log line when stderr is not a terminal.
    pub fn checkpoint(&mut self, p: &Progress) {
        if !self.terminal && !self.quiet {
            eprintln!(
                "permtrace: checkpoint {} written: {}",
                p.checkpoints,
                status_line(p)
            );
        }
    }

    /// Information (not shown with -q).
    pub fn info(&mut self, msg: &str) {
        if !self.quiet {
            self.say(msg);
        }
    }

    /// A message between status redraws: on its own line, the status redrawn after.
    pub fn say(&mut self, msg: &str) {
        self.clear();
        eprintln!("permtrace: {msg}");
    }

    /// Ends the status line so what follows starts on a fresh line.
    pub fn clear(&mut self) {
        if self.drawn {
            eprint!("\r\x1b[K");
            self.drawn = false;
        }
    }
}

fn terminal_width() -> Option<usize> {
    // SAFETY: winsize is plain data; TIOCGWINSZ fills it or fails.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: fd 2 and a valid pointer to a winsize.
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 1).then_some(ws.ws_col as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_time_rate_sizes_and_drops() {
        let p = Progress {
            elapsed: Duration::from_secs(3725),
            remaining: Some(Duration::from_secs(169_075)),
            events_per_s: 1234.4,
            paths: 532,
            endpoints: 4,
            spawns: 3,
            processes: 12,
            dropped: 0,
            checkpoints: 62,
        };
        assert_eq!(
            status_line(&p),
            "1h02m elapsed, 1d22h left | 1234 events/s | 532 paths | 4 endpoints | 3 spawns | \
             12 processes | 0 dropped | 62 checkpoints"
        );
        let p = Progress {
            elapsed: Duration::from_secs(5),
            ..Default::default()
        };
        assert_eq!(
            status_line(&p),
            "5s elapsed | 0 events/s | 0 paths | 0 endpoints | 0 spawns | 0 processes | 0 dropped"
        );
    }
}
