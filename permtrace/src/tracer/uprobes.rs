//! Uprobes on the traced programs' own code: libc's `getaddrinfo` (names as the application
//! asked for them, and the window in which libc reads /etc/hosts on its behalf), and the
//! native entry points of Node runtime features in each node binary.
//!
//! A uprobe belongs to a file (inode), not to a process: attaching once per distinct binary
//! covers every process that maps it, and the kernel programs ignore untraced callers.
//! Binaries are opened through `/proc/<pid>/exe` and `/proc/<pid>/root`, so a process in
//! another mount namespace (a container) is probed in its own files.

use std::{
    collections::{BTreeMap, HashMap},
    os::unix::fs::MetadataExt as _,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result};
use aya::{
    Ebpf,
    programs::{
        UProbe,
        uprobe::{UProbeAttachLocation, UProbeAttachPoint, UProbeLink, UProbeScope},
    },
};

use permtrace_common::syscalls::nr;

use super::elf_symbols::symbol_offsets;
use crate::{
    collector::ProbeReport,
    event::{Body, Event, Feature},
    node_args::is_node_exe,
    pathbytes::PathBytes,
    resolve::Resolved,
};

const GETADDRINFO_ENTER: &str = "getaddrinfo_enter";
const GETADDRINFO_RETURN: &str = "getaddrinfo_return";
const FEATURE_ENTER: &str = "node_feature";
const FEATURE_RETURN: &str = "node_feature_return";
const PROGRAMS: [&str; 4] = [
    GETADDRINFO_ENTER,
    GETADDRINFO_RETURN,
    FEATURE_ENTER,
    FEATURE_RETURN,
];

/// The capture name of the getaddrinfo probe in [`ProbeReport`]s.
pub const GETADDRINFO: &str = "getaddrinfo";

/// Where each Node runtime feature is checked by Node's permission model: the native
/// function behind the JavaScript API, by mangled name. The same names in Node 20 to 26.
fn feature_symbols(f: Feature) -> &'static [&'static str] {
    match f {
        // node::worker::Worker::StartThread (new Worker() starts its thread here)
        Feature::Worker => {
            &["_ZN4node6worker6Worker11StartThreadERKN2v820FunctionCallbackInfoINS2_5ValueEEE"]
        }
        // node::wasi::WASI::New (new WASI())
        Feature::Wasi => &["_ZN4node4wasi4WASI3NewERKN2v820FunctionCallbackInfoINS2_5ValueEEE"],
        // node::binding::DLOpen (process.dlopen, require of a .node file)
        Feature::Addon => &["_ZN4node7binding6DLOpenERKN2v820FunctionCallbackInfoINS1_5ValueEEE"],
        // node::inspector::(anonymous)::Open (inspector.open(): "StartIoThread")
        Feature::InspectorOpen => {
            &["_ZN4node9inspector12_GLOBAL__N_14OpenERKN2v820FunctionCallbackInfoINS2_5ValueEEE"]
        }
        // JSBindingsConnection<LocalConnection|MainThreadConnection>::New (Session.connect()
        // and connectToMainThread(): "Connect"). Local symbols: only in unstripped binaries.
        Feature::InspectorConnect => &[
            "_ZN4node9inspector12_GLOBAL__N_120JSBindingsConnectionINS1_15LocalConnectionEE3NewERKN2v820FunctionCallbackInfoINS5_5ValueEEE",
            "_ZN4node9inspector12_GLOBAL__N_120JSBindingsConnectionINS1_20MainThreadConnectionEE3NewERKN2v820FunctionCallbackInfoINS5_5ValueEEE",
        ],
        // c-ares (exported C symbols): where it reads resolv.conf and nsswitch.conf.
        Feature::ResolverInit => &["ares_init_options", "ares_reinit"],
    }
}

pub struct Uprobes {
    /// Why no uprobe can be attached at all (the programs did not load), if so.
    disabled: Option<String>,
    /// Binaries handled, by (device, inode), with what was achieved.
    done: HashMap<(u64, u64), ProbeReport>,
    /// Owned here rather than by the programs so they can be detached off the exit path.
    links: Vec<UProbeLink>,
}

impl Drop for Uprobes {
    /// Each link takes ~70 ms to detach in the kernel (see `detach`): not on our exit path.
    fn drop(&mut self) {
        let links = std::mem::take(&mut self.links);
        if !links.is_empty() {
            super::detach::release_in_background(move || drop(links));
        }
    }
}

impl Uprobes {
    /// Loads the uprobe programs. A kernel that refuses them leaves tracing working without
    /// names from getaddrinfo and without runtime features; every report then says why.
    pub fn load(ebpf: &mut Ebpf) -> Uprobes {
        let disabled = PROGRAMS
            .iter()
            .find_map(|name| load_one(ebpf, name).err())
            .map(|e| {
                let why = shorten(&format!("{e:#}"));
                log::warn!("uprobes unavailable: {why}");
                format!("uprobes could not be loaded: {why}")
            });
        Uprobes {
            disabled,
            done: HashMap::new(),
            links: Vec::new(),
        }
    }

    /// Attaches the runtime-feature probes to the node binary at `path` (once per file).
    pub fn probe_node(&mut self, ebpf: &mut Ebpf, path: &Path) -> ProbeReport {
        let names = Feature::ALL.map(|f| f.name());
        self.probe(path, &names, |ebpf_path| {
            let wanted: Vec<&str> = Feature::ALL
                .iter()
                .flat_map(|f| feature_symbols(*f).iter().copied())
                .collect();
            let offsets = symbol_offsets(ebpf_path, &wanted)?;
            let mut missing = BTreeMap::new();
            let mut links = Vec::new();
            for f in Feature::ALL {
                let found: Vec<u64> = feature_symbols(f)
                    .iter()
                    .filter_map(|s| offsets.get(*s).copied())
                    .collect();
                if found.is_empty() {
                    missing.insert(
                        f.name().to_string(),
                        "its function is not in the binary's symbol table (a stripped or \
                         custom build)"
                            .to_string(),
                    );
                    continue;
                }
                let ret = matches!(f, Feature::Addon | Feature::ResolverInit);
                for off in found {
                    match attach_at(ebpf, ebpf_path, off, Some(f.id()), ret) {
                        Ok(l) => links.extend(l),
                        Err(e) => {
                            missing.insert(f.name().to_string(), format!("{e:#}"));
                        }
                    }
                }
            }
            Ok((ProbeReport { missing }, links))
        })
    }

    /// Attaches the getaddrinfo probes to the C library at `path` (once per file).
    pub fn probe_libc(&mut self, ebpf: &mut Ebpf, path: &Path) -> ProbeReport {
        self.probe(path, &[GETADDRINFO], |ebpf_path| {
            let offsets = symbol_offsets(ebpf_path, &[GETADDRINFO])?;
            let Some(&off) = offsets.get(GETADDRINFO) else {
                let why = "the library exports no getaddrinfo";
                return Ok((ProbeReport::all_missing([GETADDRINFO], why), Vec::new()));
            };
            let links = attach_at(ebpf, ebpf_path, off, None, true)?;
            Ok((ProbeReport::default(), links))
        })
    }

    fn probe(
        &mut self,
        path: &Path,
        features: &[&str],
        attach: impl FnOnce(&Path) -> Result<(ProbeReport, Vec<UProbeLink>)>,
    ) -> ProbeReport {
        if let Some(why) = &self.disabled {
            return ProbeReport::all_missing(features.iter().copied(), why);
        }
        let key = match std::fs::metadata(path) {
            Ok(m) => (m.dev(), m.ino()),
            Err(e) => {
                return ProbeReport::all_missing(
                    features.iter().copied(),
                    &format!("could not open {}: {e}", path.display()),
                );
            }
        };
        if let Some(done) = self.done.get(&key) {
            return done.clone();
        }
        let report = match attach(path) {
            Ok((report, links)) => {
                self.links.extend(links);
                report
            }
            Err(e) => ProbeReport::all_missing(features.iter().copied(), &format!("{e:#}")),
        };
        if !report.is_complete() {
            log::warn!("uprobes on {}: {:?}", path.display(), report.missing);
        }
        self.done.insert(key, report.clone());
        report
    }
}

fn load_one(ebpf: &mut Ebpf, name: &str) -> Result<()> {
    let program: &mut UProbe = ebpf
        .program_mut(name)
        .with_context(|| format!("the eBPF object has no program {name}"))?
        .try_into()
        .with_context(|| format!("program {name} is not a uprobe"))?;
    program
        .load()
        .with_context(|| format!("the kernel refused uprobe program {name}"))
}

/// Attaches the entry program (and, with `ret`, the return program) at file offset `off`.
fn attach_at(
    ebpf: &mut Ebpf,
    path: &Path,
    off: u64,
    cookie: Option<u32>,
    ret: bool,
) -> Result<Vec<UProbeLink>> {
    let (enter, exit) = match cookie {
        Some(_) => (FEATURE_ENTER, FEATURE_RETURN),
        None => (GETADDRINFO_ENTER, GETADDRINFO_RETURN),
    };
    let names: &[&str] = if ret { &[enter, exit] } else { &[enter] };
    let mut links = Vec::new();
    for name in names {
        let program: &mut UProbe = ebpf
            .program_mut(name)
            .with_context(|| format!("the eBPF object has no program {name}"))?
            .try_into()
            .with_context(|| format!("program {name} is not a uprobe"))?;
        let point = UProbeAttachPoint {
            location: UProbeAttachLocation::AbsoluteOffset(off),
            cookie: cookie.map(u64::from),
        };
        let id = program
            .attach(point, path, UProbeScope::AllProcesses)
            .with_context(|| format!("attaching {name} to {}+{off:#x}", path.display()))?;
        links.push(program.take_link(id)?);
    }
    Ok(links)
}

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
        if let Some(p) = search(name) {
            if is_node_exe(&PathBytes::from(p.as_path())) && p.is_file() && !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// A verifier log can run to thousands of lines; its head and tail say what went wrong.
fn shorten(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= 30 {
        return text.to_string();
    }
    let mut out = lines[..5].join("\n");
    out.push_str(&format!("\n    ... ({} lines) ...\n", lines.len() - 25));
    out.push_str(&lines[lines.len() - 20..].join("\n"));
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
