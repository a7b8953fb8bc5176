//! Builds the kernel programs (permtrace-ebpf) for bpfel-unknown-none with the nightly
//! toolchain and bpf-linker, and leaves the object in OUT_DIR for `include_bytes_aligned!`.

use anyhow::{Context as _, bail};

fn main() -> anyhow::Result<()> {
    let ebpf_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../permtrace-ebpf");
    println!("cargo:rerun-if-env-changed=AYA_BUILD_SKIP");
    let skip = std::env::var("AYA_BUILD_SKIP").is_ok_and(|v| v == "1" || v == "true");
    if !skip && which("bpf-linker").is_none() {
        bail!(
            "bpf-linker is not on PATH. Run `cargo xtask bootstrap` once: it installs \
             rust-src for the nightly toolchain and builds bpf-linker against rustc's LLVM."
        );
    }
    let package = aya_build::Package {
        name: "permtrace-ebpf",
        root_dir: ebpf_dir,
        ..Default::default()
    };
    aya_build::build_ebpf([package], aya_build::Toolchain::default()).context(
        "building the eBPF programs failed; `cargo xtask bootstrap` installs what it needs",
    )
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}
