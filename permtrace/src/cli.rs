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
    /// Follow running processes (and their future children) or a cgroup, for hours or days.
    ///
    /// Example: sudo permtrace attach --pid 4242 --duration 48h -o /var/lib/permtrace/api
    Attach(AttachArgs),
    /// Render the draft permission config from a saved capture (no root needed).
    ///
    /// Example: permtrace policy permtrace-out/capture.json --node-version 22 --format flags
    Policy(PolicyCmdArgs),
    /// Combine captures of the same service (replicas, days) into one.
    ///
    /// Example: permtrace merge api-a/capture.json api-b/capture.json -o api-merged
    Merge(MergeArgs),
    /// List what a new capture needs that an old one did not; exit 1 when there is any.
    ///
    /// Example: permtrace diff baseline/capture.json new/capture.json
    Diff(DiffArgs),
    /// Print the hosts a capture connected to (by the names the app used), the ports it
    /// listened on and the unix sockets it used, as JSON for an egress firewall (no root).
    ///
    /// Example: permtrace hosts permtrace-out/capture.json > egress.json
    Hosts(HostsArgs),
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
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// The command to trace.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Process to follow, with its descendants (repeatable).
    #[arg(long = "pid", value_name = "PID", required_unless_present = "cgroup")]
    pub pids: Vec<u32>,
    /// cgroup v2 directory whose processes are followed (a container or systemd unit).
    #[arg(long, value_name = "PATH")]
    pub cgroup: Option<PathBuf>,
    /// End the capture after this long (e.g. 90s, 30m, 48h).
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Directory for capture.json, checkpoints and the drafts.
    #[arg(
        short = 'o',
        long = "out",
        value_name = "DIR",
        default_value = "permtrace-out"
    )]
    pub out: PathBuf,
    /// Write every event as one JSON object per line to FILE ("-" for stdout).
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Write the capture to the output directory this often (e.g. 60s, 5m).
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub checkpoint_every: String,
    /// Continue the capture in the output directory instead of starting a new one.
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub kernel: KernelArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// How drafts are rendered (shared by run, attach and policy).
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// Render for this Node.js version (e.g. 22, 24.21.0) instead of the traced binary's.
    #[arg(long, value_name = "VERSION")]
    pub node_version: Option<String>,
    /// Keep paths Node never checks itself (loader, libraries, OpenSSL, DNS files) as grants.
    #[arg(long)]
    pub keep_internal: bool,
    /// Grant a whole directory once this many distinct names under it were touched (0: never
    /// collapse; generated names and the project directory are collapsed regardless).
    #[arg(long, value_name = "N", default_value_t = crate::policy::DEFAULT_COLLAPSE_THRESHOLD)]
    pub collapse_threshold: usize,
    /// Never collapse grants to or above this place (repeatable; `*` matches one name, a
    /// leading `**/` any directory with that name). Adds to the built-in list.
    #[arg(long, value_name = "PATH")]
    pub protect: Vec<String>,
    /// Remove an entry from the built-in protected list, exactly as listed (repeatable).
    #[arg(long, value_name = "PATH")]
    pub unprotect: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PolicyCmdArgs {
    /// A capture.json written by run, attach or merge.
    #[arg(value_name = "CAPTURE")]
    pub capture: PathBuf,
    /// What to print: Node flags, node.config.json, Deno flags and deno.json, the policy as
    /// JSON, or the human report.
    #[arg(long, value_enum, default_value = "flags")]
    pub format: PolicyFormat,
    /// Also write every rendering into this directory.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyFormat {
    Flags,
    Config,
    Deno,
    Json,
    Report,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Captures to merge.
    #[arg(value_name = "CAPTURE", required = true, num_args = 2..)]
    pub captures: Vec<PathBuf>,
    /// Directory for the merged capture.json and drafts.
    #[arg(short = 'o', long = "out", value_name = "DIR", required = true)]
    pub out: PathBuf,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The baseline capture.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The new capture.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Print the differences as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Args)]
pub struct HostsArgs {
    /// A capture.json written by run, attach or merge.
    #[arg(value_name = "CAPTURE")]
    pub capture: PathBuf,
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
        let Command::Run(run) = cli.command else {
            panic!()
        };
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
