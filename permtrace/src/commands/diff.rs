//! `permtrace diff`: not built yet.

use crate::cli::DiffArgs;

pub fn diff(_args: DiffArgs) -> anyhow::Result<i32> {
    anyhow::bail!("`permtrace diff` is not available in this build yet")
}
