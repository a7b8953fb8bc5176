//! Which files to probe: the node binary a traced process exec'd, the C library it loaded,
//! what a command line will run, what an attached process already runs. Files are reached
//! through `/proc/<pid>/exe` and `/proc/<pid>/root`, so processes in another mount namespace
//! (a container) are probed in their own files.

use std::path::{Path, PathBuf};

use aya::Ebpf;
use permtrace_common::syscalls::nr;

use super::uprobes::Uprobes;
use crate::{
    collector::ProbeReport,
    event::{Body, Event},
    node_args::is_node_exe,
    pathbytes::PathBytes,
    resolve::Resolved,
};

/// The C library this process runs on (the host's), from its own memory map.
pub fn own_libc() -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| is_c_library(p.rsplit('/').next().unwrap_or(p).as_bytes()))
        .map(PathBuf::from)
}

/// Whether a file name is a C library that implements getaddrinfo (glibc, musl).
pub fn is_c_library(file_name: &[u8]) -> bool {
    file_name == b"libc.so.6"
        || file_name.starts_with(b"ld-musl-")
        || file_name.starts_with(b"libc.musl-")
}

/// What probing after an event achieved: for the node binary the process now runs
/// (`library: None`), or for a C library it loaded.
pub struct Probed {
    pub library: Option<PathBytes>,
    pub report: ProbeReport,
}

impl Uprobes {
    /// Probes what an event shows a traced process is about to use: the node binary it
    /// exec'd (reported, so the capture knows which binaries were watched), or a C library it
    /// opened (reported only when getaddrinfo could not be probed in it).
    pub fn follow(&mut self, ebpf: &mut Ebpf, ev: &Event, resolved: &Resolved) -> Option<Probed> {
        let path = resolved.path.as_ref().and_then(|r| r.path());
        match &ev.body {
            Body::Exec(exec) if exec.ret == 0 => {
                let exe = path.cloned().unwrap_or_else(|| exec.filename.bytes.clone());
                if !is_node_exe(&exe) {
                    return None;
                }
                let report = self.probe_node(ebpf, &in_process(ev.tgid, "exe", None, &exe));
                Some(Probed {
                    library: None,
                    report,
                })
            }
            Body::Path(call)
                if call.ret >= 0 && matches!(call.nr, nr::OPEN | nr::OPENAT | nr::OPENAT2) =>
            {
                let lib = path?;
                if !is_c_library(lib.file_name()) {
                    return None;
                }
                let report = self.probe_libc(ebpf, &in_process(ev.tgid, "root", Some(lib), lib));
                (!report.is_complete()).then(|| Probed {
                    library: Some(lib.clone()),
                    report,
                })
            }
            _ => None,
        }
    }
}

/// A file as process `tgid` sees it: through `/proc/<tgid>/<link>` (its exe, or its root
/// directory joined with `path`), which works across mount namespaces; the plain path when
/// the process is already gone.
fn in_process(tgid: u32, link: &str, path: Option<&PathBytes>, fallback: &PathBytes) -> PathBuf {
    let mut p = PathBuf::from(format!("/proc/{tgid}/{link}"));
    if let Some(path) = path {
        let relative = path.as_path().strip_prefix("/").unwrap_or(path.as_path());
        p.push(relative);
    }
    if p.exists() {
        p
    } else {
        fallback.as_path().to_path_buf()
    }
}

/// The node binaries a command line is likely to run: its program when that is node, and
/// the `node` the PATH finds (what `npm start` or a shell script would run). Probing them
/// before the command starts leaves no window in which a Worker could start unseen.
pub fn likely_node_binaries(program: &std::ffi::OsStr, cwd: &Path) -> Vec<PathBuf> {
    let search = |name: &std::ffi::OsStr| -> Option<PathBuf> {
        let name = Path::new(name);
        if name.components().count() > 1 {
            return Some(cwd.join(name));
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    };
    let mut out = Vec::new();
    for name in [program, std::ffi::OsStr::new("node")] {
        if let Some(p) = search(name)
            && is_node_exe(&PathBytes::from(p.as_path()))
            && p.is_file()
            && !out.contains(&p)
        {
            out.push(p);
        }
    }
    out
}

impl Uprobes {
    /// Probes a process that was running before the capture (attach): its node binary, and
    /// the C library it has mapped. Returns the node binary's report (None when the process
    /// does not run node) and the libraries that could not be probed.
    pub fn probe_process(
        &mut self,
        ebpf: &mut Ebpf,
        tgid: u32,
        exe: &PathBytes,
    ) -> (Option<ProbeReport>, Vec<Probed>) {
        let node =
            is_node_exe(exe).then(|| self.probe_node(ebpf, &in_process(tgid, "exe", None, exe)));
        let mut gaps = Vec::new();
        let maps = std::fs::read_to_string(format!("/proc/{tgid}/maps")).unwrap_or_default();
        let mut seen = Vec::new();
        for path in maps.lines().filter_map(|l| l.split_whitespace().nth(5)) {
            let lib = PathBytes::from(path);
            if !is_c_library(lib.file_name()) || seen.contains(&lib) {
                continue;
            }
            let report = self.probe_libc(ebpf, &in_process(tgid, "root", Some(&lib), &lib));
            if !report.is_complete() {
                gaps.push(Probed {
                    library: Some(lib.clone()),
                    report,
                });
            }
            seen.push(lib);
        }
        (node, gaps)
    }
}
