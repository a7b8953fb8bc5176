//! `permtrace policy`: not built yet.

use crate::cli::PolicyCmdArgs;

pub fn policy(_args: PolicyCmdArgs) -> anyhow::Result<i32> {
    anyhow::bail!("`permtrace policy` is not available in this build yet")
}
