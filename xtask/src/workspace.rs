//! Where things are: the repository, cargo's target directory, the Node.js binary cache.

use std::path::PathBuf;

use anyhow::{Context as _, Result};

/// The repository root (xtask lives one level below it).
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// cargo's target directory for this workspace.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root().join(dir)
            }
        }
        _ => root().join("target"),
    }
}

/// The home directory (`$HOME`).
pub fn home() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .context("HOME is not set")
}

/// Where Node.js binaries for the tests are cached: `$XDG_CACHE_HOME/permtrace/node`
/// (default `~/.cache/permtrace/node`), the same place `node_binary()` in
/// permtrace/tests/common/mod.rs looks.
pub fn node_cache() -> Result<PathBuf> {
    let cache = match std::env::var_os("XDG_CACHE_HOME") {
        Some(c) if !c.is_empty() => PathBuf::from(c),
        _ => home()?.join(".cache"),
    };
    Ok(cache.join("permtrace/node"))
}

/// The effective user id of this process, from /proc (xtask links no libc bindings).
pub fn euid() -> Result<u32> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|id| id.parse().ok())
        .context("no effective uid in /proc/self/status")
}

pub fn is_root() -> Result<bool> {
    Ok(euid()? == 0)
}
