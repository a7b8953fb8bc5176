//! One measured run: a workload under one configuration.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

use crate::{
    cmd::{self, Env},
    workspace,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Workload {
    /// 200k fs.openSync + closeSync of one file.
    Open,
    /// 20k sequential TCP connects to a listener in the same process.
    Connect,
    /// An HTTP server answering 5k requests from a local keep-alive client, reading a file
    /// for each.
    Http,
    /// require() of 2000 packages from a node_modules tree.
    Require,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Connect => "connect",
            Self::Http => "http",
            Self::Require => "require",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Open => "200k `fs.openSync`+`closeSync` of one file",
            Self::Connect => "20k sequential TCP connects to a listener in the same process",
            Self::Http => "HTTP server answering 5k keep-alive requests, reading a file for each",
            Self::Require => "`require()` of 2000 packages (package.json, index.js, lib file)",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Config {
    Untraced,
    Permtrace,
    PermtraceEvents,
    Strace,
}

/// The syscalls permtrace's kernel side follows for these workloads, for a like-for-like
/// strace.
const STRACE_SYSCALLS: &str =
    "trace=open,openat,openat2,creat,connect,execve,execveat,chdir,fchdir";

impl Config {
    pub fn name(self) -> &'static str {
        match self {
            Self::Untraced => "untraced",
            Self::Permtrace => "permtrace run",
            Self::PermtraceEvents => "permtrace run --events",
            Self::Strace => "strace -f",
        }
    }

    pub fn describe(self) -> String {
        match self {
            Self::Untraced => "`node script.js`".into(),
            Self::Permtrace => "`permtrace run -o DIR -- node script.js` (release build)".into(),
            Self::PermtraceEvents => {
                "the same with `--events FILE` (every event as JSON to a file)".into()
            }
            Self::Strace => format!("`strace -f -qq -e {STRACE_SYSCALLS} -o FILE node script.js`"),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct KernelCounts {
    pub events: u64,
    pub dropped: u64,
}

#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Time inside the workload's loop, measured by node itself.
    pub loop_ms: f64,
    /// The whole command, including tracer start-up and teardown.
    pub wall_ms: f64,
    /// permtrace's counters from capture.json.
    pub kernel: Option<KernelCounts>,
}

pub struct Setup {
    env: Env,
    pub node: PathBuf,
    permtrace: PathBuf,
    scripts: PathBuf,
    require_tree: PathBuf,
    scratch: PathBuf,
}

const REQUIRE_PACKAGES: usize = 2000;

impl Setup {
    pub fn new(env: &Env, node: PathBuf, permtrace: PathBuf, dir: &Path) -> Result<Self> {
        let require_tree = dir.join("require-tree");
        write_require_tree(&require_tree)?;
        Ok(Self {
            env: env.clone(),
            node,
            permtrace,
            scripts: workspace::root().join("xtask/bench"),
            require_tree,
            scratch: dir.join("run"),
        })
    }

    fn workload_args(&self, workload: Workload) -> Vec<std::ffi::OsString> {
        let script = self.scripts.join(format!("{}.js", workload.name()));
        let mut args = vec![self.node.clone().into_os_string(), script.into_os_string()];
        if workload == Workload::Require {
            args.push(self.require_tree.clone().into_os_string());
            args.push(REQUIRE_PACKAGES.to_string().into());
        }
        args
    }

    pub fn run_once(&self, workload: Workload, config: Config) -> Result<Sample> {
        let scratch = &self.scratch;
        if scratch.exists() {
            std::fs::remove_dir_all(scratch)?;
        }
        std::fs::create_dir_all(scratch)?;
        let out = scratch.join("out");
        let node = self.workload_args(workload);
        let mut command: Command = match config {
            Config::Untraced => {
                let mut c = self.env.command(&node[0]);
                c.args(&node[1..]);
                c
            }
            Config::Permtrace | Config::PermtraceEvents => {
                let mut c = self.env.command(&self.permtrace);
                c.arg("run").arg("-o").arg(&out);
                if config == Config::PermtraceEvents {
                    c.arg("--events").arg(scratch.join("events.jsonl"));
                }
                c.arg("--").args(&node);
                c
            }
            Config::Strace => {
                let mut c = self.env.command("strace");
                c.args(["-f", "-qq", "-e", STRACE_SYSCALLS, "-o"])
                    .arg(scratch.join("strace.txt"))
                    .args(&node);
                c
            }
        };
        command.stdin(Stdio::null()).current_dir(scratch);
        let shown = cmd::display(&command);
        let started = Instant::now();
        let output = command
            .output()
            .with_context(|| format!("starting `{shown}`"))?;
        let wall_ms = started.elapsed().as_secs_f64() * 1e3;
        if !output.status.success() {
            bail!(
                "`{shown}` failed ({}):\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let loop_ms = loop_ms(&String::from_utf8_lossy(&output.stdout))
            .with_context(|| format!("no timing from `{shown}`"))?;
        let kernel = match config {
            Config::Permtrace | Config::PermtraceEvents => Some(kernel_counts(&out)?),
            _ => None,
        };
        // Event logs of the big workloads run to hundreds of MB: never keep them.
        std::fs::remove_dir_all(scratch)?;
        Ok(Sample {
            loop_ms,
            wall_ms,
            kernel,
        })
    }
}

fn loop_ms(stdout: &str) -> Option<f64> {
    stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .and_then(|v| v["loop_ms"].as_f64())
}

fn kernel_counts(out: &Path) -> Result<KernelCounts> {
    let path = out.join("capture.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let cap: Value = serde_json::from_str(&text)?;
    let stats = &cap["stats"];
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    Ok(KernelCounts {
        events: n(&stats["events"]),
        dropped: ["ring_full", "inflight_full", "tracked_full"]
            .iter()
            .map(|k| n(&stats["kernel"][k]))
            .sum::<u64>()
            + n(&stats["decode_errors"]),
    })
}

/// `node_modules/pkg<i>/{package.json,index.js,lib/value.js}` for the require workload;
/// written once and reused (its content never changes).
fn write_require_tree(tree: &Path) -> Result<()> {
    let done = tree.join(".complete");
    if done.exists() {
        return Ok(());
    }
    for i in 0..REQUIRE_PACKAGES {
        let pkg = tree.join(format!("node_modules/pkg{i}"));
        std::fs::create_dir_all(pkg.join("lib"))
            .with_context(|| format!("creating {}", pkg.display()))?;
        std::fs::write(
            pkg.join("package.json"),
            format!("{{\"name\":\"pkg{i}\",\"version\":\"1.0.0\",\"main\":\"index.js\"}}\n"),
        )?;
        std::fs::write(
            pkg.join("index.js"),
            "'use strict';\nmodule.exports = { value: require('./lib/value') };\n",
        )?;
        std::fs::write(pkg.join("lib/value.js"), format!("module.exports = {i};\n"))?;
    }
    std::fs::write(tree.join("main.js"), "// resolution base for require.js\n")?;
    std::fs::write(done, "")?;
    Ok(())
}
