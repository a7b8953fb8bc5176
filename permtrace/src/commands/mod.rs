//! One module per subcommand; each returns the process exit code.

pub mod run;
mod summary;

pub use summary::print_summary;

use crate::cli::{Cli, Command};

pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Run(args) => run::run(args),
    }
}
