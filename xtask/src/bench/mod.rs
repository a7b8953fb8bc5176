//! `cargo xtask bench`: what tracing costs a Node.js workload, as ratios against the same
//! workload untraced, in one run (interleaved, so machine drift hits every configuration
//! alike), with strace as the reference point. Performance is only ever measured here, never
//! asserted in a timed test.

mod report;
mod runs;

use std::{path::PathBuf, time::Instant};

use anyhow::{Context as _, Result, bail};
use clap::ValueEnum;

use crate::{bootstrap, cmd, demo, workspace};
use runs::{Config, Setup, Workload};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Runs of each configuration; the table shows medians.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
    /// Only this workload (repeatable); default: all.
    #[arg(long = "workload", value_enum, value_name = "NAME")]
    workloads: Vec<Workload>,
    /// Leave out strace (the slowest configuration by far).
    #[arg(long)]
    no_strace: bool,
    /// The Node.js binary to run the workloads with (default: node on PATH).
    #[arg(long, value_name = "PATH")]
    node: Option<PathBuf>,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    if !workspace::is_root()? {
        bail!(
            "the bench traces with eBPF and needs root: run it as root, e.g. \
             `sudo -E env \"PATH=$PATH\" cargo xtask bench`"
        );
    }
    let started = Instant::now();
    let env = bootstrap::run()?;
    let permtrace = demo::build_release(&env)?;
    let node = match &args.node {
        Some(n) => n.clone(),
        None => env.which("node").context("node is not on PATH")?,
    };
    let mut configs = vec![Config::Untraced, Config::Permtrace, Config::PermtraceEvents];
    if !args.no_strace {
        if env.which("strace").is_none() {
            bail!(
                "strace is not on PATH: install it (`apt-get install strace`) or pass --no-strace"
            );
        }
        configs.push(Config::Strace);
    }
    let workloads = if args.workloads.is_empty() {
        Workload::value_variants().to_vec()
    } else {
        args.workloads.clone()
    };
    let dir = workspace::target_dir().join("bench");
    let setup = Setup::new(&env, node, permtrace, &dir)?;

    // One unrecorded run of each workload first: the first run pays for cold caches (the
    // require tree, node itself) and would skew whichever configuration came first.
    for &workload in &workloads {
        setup
            .run_once(workload, Config::Untraced)
            .with_context(|| format!("warming up {}", workload.name()))?;
    }
    let mut results = report::Results::default();
    for rep in 1..=args.repeat {
        for &workload in &workloads {
            for &config in &configs {
                let sample = setup
                    .run_once(workload, config)
                    .with_context(|| format!("{} under {}", workload.name(), config.name()))?;
                println!(
                    "bench: run {rep}/{} {:<8} {:<22} loop {:>9.1} ms  wall {:>9.1} ms{}",
                    args.repeat,
                    workload.name(),
                    config.name(),
                    sample.loop_ms,
                    sample.wall_ms,
                    sample
                        .kernel
                        .map(|k| format!("  events {} dropped {}", k.events, k.dropped))
                        .unwrap_or_default()
                );
                results.add(workload, config, sample);
            }
        }
    }

    let machine = report::machine(&env, &setup.node)?;
    let markdown = results.markdown(&machine, args.repeat);
    let path = dir.join("report.md");
    std::fs::write(&path, &markdown).with_context(|| format!("writing {}", path.display()))?;
    println!(
        "\n{markdown}\nbench: wrote {} ({})",
        path.display(),
        cmd::minutes(started.elapsed())
    );
    Ok(())
}
