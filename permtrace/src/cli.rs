//! Command-line interface: every subcommand and its options.

use std::{ffi::OsString, path::PathBuf};

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "permtrace",
    version,
    about = "Trace what a Node.js service reads, writes, connects to and spawns, and draft the \
             permission config it needs",
    disable_help_subcommand = true
)]
pub struct Cli {
    /// More log output (-v: info, -vv: debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a command and trace it and every process it starts, from its first syscall.
    ///
    /// Example: sudo permtrace run --events events.jsonl -- node app.js
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Write every event as one JSON object per line to FILE ("-" for stdout).
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Directory for capture.json and the drafts.
    #[arg(
        short = 'o',
        long = "out",
        value_name = "DIR",
        default_value = "permtrace-out"
    )]
    pub out: PathBuf,
    /// Run the command as this user (default under sudo: the user who ran sudo).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Start the command in this directory.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    #[command(flatten)]
    pub kernel: KernelArgs,
    /// The command to trace.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Clone, Args)]
pub struct KernelArgs {
    /// Size of the kernel-to-user ring buffer (e.g. 4M, 16M; a power of two).
    #[arg(long, value_name = "BYTES", default_value = "4M", value_parser = parse_ring_bytes)]
    pub ring_bytes: u32,
}

/// Parses sizes like `4096`, `512K`, `4M`, `1G`; must be a power of two of at least 4 KiB.
pub fn parse_ring_bytes(s: &str) -> Result<u32, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => {
            let unit = s[i..].to_ascii_uppercase();
            let mult: u64 = match unit.trim_end_matches("IB").trim_end_matches('B') {
                "" => 1,
                "K" => 1 << 10,
                "M" => 1 << 20,
                "G" => 1 << 30,
                _ => return Err(format!("unknown size unit in {s:?} (use K, M or G)")),
            };
            (&s[..i], mult)
        }
        None => (s, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a size"))?;
    let bytes = n * mult;
    if bytes < 4096 || !bytes.is_power_of_two() || bytes > (1 << 30) {
        return Err(format!(
            "{s:?}: the ring buffer size must be a power of two from 4K to 1G"
        ));
    }
    Ok(bytes as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_takes_the_command_after_double_dash() {
        let cli =
            Cli::try_parse_from(["permtrace", "run", "--events", "-", "--", "node", "-e", "1"])
                .unwrap();
        let Command::Run(run) = cli.command;
        assert_eq!(run.command, ["node", "-e", "1"]);
        assert_eq!(run.events.unwrap(), PathBuf::from("-"));
        assert_eq!(run.kernel.ring_bytes, 4 << 20);
    }

    #[test]
    fn run_without_a_command_and_unknown_commands_are_usage_errors() {
        assert!(Cli::try_parse_from(["permtrace", "run"]).is_err());
        assert!(Cli::try_parse_from(["permtrace", "frobnicate"]).is_err());
    }

    #[test]
    fn ring_sizes() {
        assert_eq!(parse_ring_bytes("16M"), Ok(16 << 20));
        assert_eq!(parse_ring_bytes("256k"), Ok(256 << 10));
        assert!(parse_ring_bytes("3M").is_err());
        assert!(parse_ring_bytes("1K").is_err());
        assert!(parse_ring_bytes("lots").is_err());
    }
}
