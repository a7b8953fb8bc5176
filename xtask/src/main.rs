//! permtrace's own tasks: `cargo xtask bootstrap | demo | test | bench`.
//!
//! xtask must build on a fresh machine before bpf-linker exists, so it depends on nothing of
//! permtrace and only on anyhow, clap and serde_json.

mod bench;
mod bootstrap;
mod cmd;
mod demo;
mod nodes;
mod test;
mod workspace;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "xtask",
    bin_name = "cargo xtask",
    about = "permtrace's bootstrap, demo, test and bench tasks"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install what building permtrace needs and a fresh machine lacks (idempotent):
    /// rust-src for the nightly toolchain and bpf-linker built against nightly's LLVM.
    Bootstrap,
    /// The main job: bootstrap, build permtrace (release), trace the bundled example app
    /// (examples/demo) and print its draft permission config.
    Demo,
    /// Run every test (as root: kernel tests fail, never skip, without it), after
    /// bootstrapping and fetching the Node.js binaries the tests use.
    Test,
    /// Measure tracing overhead as ratios against untraced runs and strace in the same batch.
    Bench(bench::BenchArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Bootstrap => bootstrap::run().map(|_| ()),
        Task::Demo => demo::run(),
        Task::Test => test::run(),
        Task::Bench(args) => bench::run(&args),
    };
    if let Err(e) = result {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}
