//! One module per subcommand; each returns the process exit code.

pub mod attach;
pub mod diff;
pub mod hosts;
pub mod merge;
mod outputs;
pub mod policy;
pub mod run;
mod summary;

pub use outputs::write_capture;
pub use summary::print_summary;

use crate::cli::{Cli, Command};

pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Run(args) => run::run(args, cli.quiet),
        Command::Attach(args) => attach::attach(args, cli.quiet),
        Command::Policy(args) => policy::policy(args, cli.quiet),
        Command::Merge(args) => merge::merge(args, cli.quiet),
        Command::Diff(args) => diff::diff(args),
        Command::Hosts(args) => hosts::hosts(args),
    }
}
