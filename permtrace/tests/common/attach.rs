//! Driving a real `permtrace attach`: started with arguments, its stderr followed line by
//! line (it says "following" once attached, "checkpoint" per checkpoint), signalled, and
//! waited for.

use std::{
    io::{BufRead as _, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc::{Receiver, RecvTimeoutError, channel},
    time::{Duration, Instant},
};

/// A running `permtrace attach`, its stderr read line by line.
pub struct Attach {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Attach {
    pub fn start(args: &[&str]) -> Attach {
        let mut child = Command::new(super::permtrace())
            .arg("attach")
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting permtrace");
        let (tx, lines) = channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut a = Attach {
            child,
            lines,
            seen: Vec::new(),
        };
        a.wait_for("following", Duration::from_secs(30));
        a
    }

    /// Waits for a stderr line containing `text`; returns it.
    pub fn wait_for(&mut self, text: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no {text:?} from permtrace in {timeout:?}; it said: {:#?}",
                        self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "permtrace exited before saying {text:?}; it said: {:#?}",
                        self.seen
                    )
                }
            }
        }
    }

    /// Waits for `n` more checkpoints to be written.
    pub fn checkpoints(&mut self, n: usize) {
        for _ in 0..n {
            self.wait_for("checkpoint", Duration::from_secs(30));
        }
    }

    /// Waits for permtrace to exit; returns its exit code and everything it said.
    pub fn finish(mut self, timeout: Duration) -> (i32, String) {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "permtrace did not exit in {timeout:?}; it said {:#?}",
                    self.seen
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.seen.extend(self.lines.iter());
        (status.code().unwrap_or(-1), self.seen.join("\n"))
    }

    pub fn signal(&self, signo: i32) {
        super::signal(self.child.id(), signo);
    }
}
