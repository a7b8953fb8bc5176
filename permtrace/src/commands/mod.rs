//! One module per subcommand; each returns the process exit code.

pub mod attach;
pub mod diff;
pub mod hosts;
pub mod merge;
pub mod policy;
pub mod run;
mod summary;

pub use summary::print_summary;

use crate::cli::{Cli, Command};

pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Attach(args) => attach::attach(args),
        Command::Policy(args) => policy::policy(args),
        Command::Merge(args) => merge::merge(args),
        Command::Diff(args) => diff::diff(args),
        Command::Hosts(args) => hosts::hosts(args),
    }
}
