//! `permtrace merge`: not built yet.

use crate::cli::MergeArgs;

pub fn merge(_args: MergeArgs) -> anyhow::Result<i32> {
    anyhow::bail!("`permtrace merge` is not available in this build yet")
}
