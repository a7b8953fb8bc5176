//! Can this process load the tracer at all? Checked before anything is started, so the
//! user gets one clear message instead of an EPERM from deep inside the loader.

use std::path::Path;

use super::VMLINUX_BTF;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PrivilegeError {
    #[error(
        "permtrace needs root (or the CAP_BPF and CAP_PERFMON capabilities) to load its eBPF \
         programs; run it with sudo"
    )]
    NotPrivileged,
    #[error(
        "this kernel exposes no BTF at {VMLINUX_BTF}; permtrace needs a kernel built with \
         CONFIG_DEBUG_INFO_BTF=y (5.8 or newer)"
    )]
    NoBtf,
}

const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

pub fn check_privileges() -> Result<(), PrivilegeError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if !root && !has_caps(&[CAP_BPF, CAP_PERFMON]) {
        return Err(PrivilegeError::NotPrivileged);
    }
    if !Path::new(VMLINUX_BTF).exists() {
        return Err(PrivilegeError::NoBtf);
    }
    Ok(())
}

/// Whether the effective capability set (`CapEff` in /proc/self/status) holds all `caps`.
fn has_caps(caps: &[u32]) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    let Some(eff) = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    else {
        return false;
    };
    caps.iter().all(|&c| eff & (1 << c) != 0)
}
