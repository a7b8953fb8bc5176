//! `permtrace attach`: not built yet.

use crate::cli::AttachArgs;

pub fn attach(_args: AttachArgs) -> anyhow::Result<i32> {
    anyhow::bail!("`permtrace attach` is not available in this build yet")
}
