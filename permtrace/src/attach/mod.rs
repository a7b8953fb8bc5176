//! The pieces of `permtrace attach` (the command itself is `commands::attach`): which
//! processes to follow and what procfs says about them, the live status line, and the event
//! log that rotates over days.

pub mod cgroup;
pub mod follow;
pub mod procscan;
pub mod rotating_log;
pub mod status;
pub mod watch;
