//! Uprobes on the traced programs' own code: libc's `getaddrinfo` (names as the application
//! asked for them, and the window in which libc reads /etc/hosts on its behalf), and the
//! native entry points of Node runtime features in each node binary.
//!
//! A uprobe belongs to a file (inode), not to a process: attaching once per distinct binary
//! covers every process that maps it, and the kernel programs ignore untraced callers.
//! Which files to probe is decided in `probe_targets`.

use std::{
    collections::{BTreeMap, HashMap},
    os::unix::fs::MetadataExt as _,
    path::Path,
};

use anyhow::{Context as _, Result};
use aya::{
    Ebpf,
    programs::{
        UProbe,
        uprobe::{UProbeAttachLocation, UProbeAttachPoint, UProbeLink, UProbeScope},
    },
};

use super::elf_symbols::symbol_offsets;
use crate::{collector::ProbeReport, event::Feature};

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
