//! `cargo xtask bootstrap`: installs what building permtrace needs and a fresh machine lacks,
//! and only that. Every step says whether it was already done, so running it twice is cheap
//! and tells the reader the machine is ready.
//!
//! The eBPF programs are built by aya-build with the nightly toolchain (`-Z build-std=core`,
//! so nightly needs rust-src) and linked by bpf-linker, which must use the same LLVM as that
//! nightly rustc. There is no system LLVM of that version, so bpf-linker is built against the
//! libLLVM shared library that ships in nightly's sysroot.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::{
    cmd::{self, Env},
    workspace,
};

/// The bpf-linker release the eBPF build is known to work with (aya 0.14 / aya-build 0.2.0).
pub const BPF_LINKER_VERSION: &str = "0.13.0";

const INSTALL_NIGHTLY: &str =
    "rustup toolchain install nightly --profile minimal --component rust-src";

/// Runs every step; returns the environment later builds must use (PATH may have gained the
/// directory bpf-linker was installed into).
pub fn run() -> Result<Env> {
    println!("bootstrap: checking what building permtrace needs");
    let env = Env::current();
    let sysroot = nightly(&env)?;
    rust_src(&env)?;
    let env = bpf_linker(env, &sysroot)?;
    node_and_npm(&env)?;
    println!("bootstrap: ready");
    Ok(env)
}

fn report(step: &str, state: &str) {
    println!("bootstrap: {step:<24} {state}");
}

/// The nightly toolchain must exist; installing a toolchain is the user's call (it is large
/// and changes what `+nightly` means on their machine), so a missing one is an error that
/// says how.
fn nightly(env: &Env) -> Result<PathBuf> {
    if env.which("rustup").is_none() {
        bail!(
            "rustup is not on PATH. permtrace builds its eBPF programs with a nightly toolchain \
             managed by rustup: install rustup (https://rustup.rs), then run `{INSTALL_NIGHTLY}`"
        );
    }
    let version = cmd::output(
        env.command("rustup")
            .args(["run", "nightly", "rustc", "--version"])
            // rustup prints a backtrace with its error when this is set; the error is enough.
            .env("RUST_BACKTRACE", "0"),
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "the nightly Rust toolchain is not installed ({e:#}).\n\
                 The eBPF programs are built with nightly. Install it with:\n    {INSTALL_NIGHTLY}"
        )
    })?;
    report(
        "nightly toolchain",
        &format!("already installed ({version})"),
    );
    let sysroot = cmd::output(
        env.command("rustup")
            .args(["run", "nightly", "rustc", "--print", "sysroot"]),
    )?;
    Ok(PathBuf::from(sysroot))
}

fn rust_src(env: &Env) -> Result<()> {
    let installed = cmd::output(env.command("rustup").args([
        "component",
        "list",
        "--installed",
        "--toolchain",
        "nightly",
    ]))?;
    if installed
        .lines()
        .any(|l| l.trim() == "rust-src" || l.starts_with("rust-src "))
    {
        report("rust-src (nightly)", "already installed");
        return Ok(());
    }
    report("rust-src (nightly)", "missing: installing");
    cmd::run(
        env.command("rustup")
            .args(["component", "add", "rust-src", "--toolchain", "nightly"]),
    )
}

/// Finds a working bpf-linker of the right version on PATH or in cargo's install root, or
/// builds one.
fn bpf_linker(env: Env, sysroot: &Path) -> Result<Env> {
    let step = "bpf-linker";
    let root = install_root()?;
    let bin_dir = root.join("bin");
    let installed = bin_dir.join("bpf-linker");
    let on_path = env.which("bpf-linker");
    if let Some(found) = &on_path {
        match linker_state(found) {
            LinkerState::Good => {
                report(step, &format!("already installed ({BPF_LINKER_VERSION})"));
                return Ok(env);
            }
            LinkerState::Other(why) => {
                report(step, &format!("{} is not usable ({why})", found.display()))
            }
        }
    }
    if on_path.as_deref() != Some(installed.as_path())
        && linker_state(&installed) == LinkerState::Good
    {
        report(step, &format!("already installed in {}", bin_dir.display()));
    } else {
        report(
            step,
            &format!(
                "building {BPF_LINKER_VERSION} into {} (takes a few minutes)",
                bin_dir.display()
            ),
        );
        install_bpf_linker(&env, sysroot, &root)?;
        if let LinkerState::Other(why) = linker_state(&installed) {
            bail!("the bpf-linker just built does not work: {why}");
        }
        report(step, &format!("installed {}", installed.display()));
    }
    if env.which("bpf-linker").as_deref() == Some(installed.as_path()) {
        return Ok(env);
    }
    path_hint(&bin_dir);
    env.with_path_first(&bin_dir)
}

#[derive(Debug, PartialEq, Eq)]
enum LinkerState {
    Good,
    /// Not runnable or not the version the build needs; why.
    Other(String),
}

fn linker_state(path: &Path) -> LinkerState {
    if !path.is_file() {
        return LinkerState::Other("not found".into());
    }
    // A bpf-linker linked against an older nightly's libLLVM stops running when rustup
    // removes that nightly; running it is the only reliable check.
    match cmd::output(std::process::Command::new(path).arg("--version")) {
        Ok(v) if v.split_whitespace().nth(1) == Some(BPF_LINKER_VERSION) => LinkerState::Good,
        Ok(v) => LinkerState::Other(format!("it is `{v}`")),
        Err(e) => LinkerState::Other(format!("it does not run: {e:#}")),
    }
}

fn path_hint(bin_dir: &Path) {
    println!(
        "bootstrap: note: {} is not first on PATH; xtask uses it for its own builds. For plain \
         `cargo build`, add it: export PATH=\"{}:$PATH\"",
        bin_dir.display(),
        bin_dir.display()
    );
}

/// Where `cargo install` puts binaries: `$CARGO_INSTALL_ROOT`, else `$CARGO_HOME`, else
/// `~/.cargo`.
fn install_root() -> Result<PathBuf> {
    for var in ["CARGO_INSTALL_ROOT", "CARGO_HOME"] {
        if let Some(dir) = std::env::var_os(var).filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
    }
    Ok(workspace::home()?.join(".cargo"))
}

/// The libLLVM that ships in nightly's sysroot, e.g. `libLLVM-22-rust-1.97.0-nightly.so`:
/// returns the linker name (`LLVM-22-rust-1.97.0-nightly`) and the LLVM major version (22).
fn nightly_llvm(sysroot: &Path) -> Result<(String, u32)> {
    let lib = sysroot.join("lib");
    let entries = std::fs::read_dir(&lib).with_context(|| format!("listing {}", lib.display()))?;
    for entry in entries {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(found) = parse_llvm_lib_name(name) {
            return Ok(found);
        }
    }
    bail!(
        "no libLLVM-*-rust-*.so in {}: bpf-linker must link against the LLVM of the nightly \
         rustc and this nightly does not ship it as a shared library",
        lib.display()
    )
}

fn parse_llvm_lib_name(file: &str) -> Option<(String, u32)> {
    let link = file.strip_prefix("lib")?.strip_suffix(".so")?;
    let rest = link.strip_prefix("LLVM-")?;
    let (major, tail) = rest.split_once('-')?;
    if !tail.starts_with("rust-") {
        return None;
    }
    Some((link.to_string(), major.parse().ok()?))
}

fn install_bpf_linker(env: &Env, sysroot: &Path, root: &Path) -> Result<()> {
    let (llvm, major) = nightly_llvm(sysroot)?;
    let lib = sysroot.join("lib");
    let lib = lib.display();
    let rustflags =
        format!("-C link-arg=-L{lib} -C link-arg=-l{llvm} -C link-arg=-Wl,-rpath,{lib}");
    let mut install = env.cargo();
    install
        .args([
            "install",
            "bpf-linker",
            "--version",
            BPF_LINKER_VERSION,
            "--locked",
            "--force",
        ])
        .args(["--no-default-features", "--features"])
        .arg(format!("llvm-{major},no-llvm-linking"))
        .arg("--root")
        .arg(root)
        .env("RUSTFLAGS", &rustflags)
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    println!("  RUSTFLAGS=\"{rustflags}\"");
    cmd::run(&mut install).with_context(|| {
        format!(
            "building bpf-linker {BPF_LINKER_VERSION} against nightly's {llvm} failed (does \
             bpf-linker {BPF_LINKER_VERSION} have an `llvm-{major}` feature?)"
        )
    })
}

fn node_and_npm(env: &Env) -> Result<()> {
    for tool in ["node", "npm"] {
        let version = cmd::output(env.command(tool).arg("--version")).map_err(|e| {
            anyhow::anyhow!(
                "{tool} is needed ({e:#}): the demo traces a Node.js app and the tests fetch \
                 Node.js binaries with npm. Install Node.js 20 or newer with npm (e.g. \
                 `apt-get install nodejs npm`)"
            )
        })?;
        report(tool, &format!("present ({version})"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_llvm_lib_name;

    #[test]
    fn llvm_library_name_gives_link_name_and_major() {
        assert_eq!(
            parse_llvm_lib_name("libLLVM-22-rust-1.97.0-nightly.so"),
            Some(("LLVM-22-rust-1.97.0-nightly".to_string(), 22))
        );
        assert_eq!(
            parse_llvm_lib_name("libLLVM-23-rust-1.101.0-nightly.so"),
            Some(("LLVM-23-rust-1.101.0-nightly".to_string(), 23))
        );
    }

    #[test]
    fn other_sysroot_files_are_not_llvm() {
        for name in [
            "libLLVM.so.22.1-rust-1.97.0-nightly",
            "librustc_driver-b5a965480ee51f9a.so",
            "libLLVM-22.so",
            "libLLVM-x-rust-1.so",
        ] {
            assert_eq!(parse_llvm_lib_name(name), None, "{name}");
        }
    }
}
