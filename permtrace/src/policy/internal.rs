//! Accesses a Node process makes that Node's permission model never checks
//! (node-permission.md section 10.1): the dynamic loader, the node binary, OpenSSL and CA
//! files, libc's DNS/NSS files, start-up reads of /proc and /sys, timezone data, addons
//! (`--allow-addons` instead), module-resolution stats and package.json probes. Granting them
//! would only widen the draft; each drop is listed in the report with its reason.

use std::collections::{BTreeMap, BTreeSet};

use crate::{access::Access, capture::AccessStats, pathbytes::PathBytes};

/// What the filter decided for one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Node checks it: grant it.
    Keep,
    /// Could be Node-internal or the application's own fs call: grant it, flag it.
    Ambiguous(String),
    /// Node never checks it.
    Drop { category: &'static str, why: String },
    /// A native addon Node loaded (dlopen is not fs-checked; `--allow-addons` is needed).
    Addon,
}

/// Facts about the whole capture the rules need.
#[derive(Debug, Default)]
pub struct Context {
    /// Executables of every Node program.
    pub node_exes: BTreeSet<PathBytes>,
    /// Files named by NODE_EXTRA_CA_CERTS / SSL_CERT_FILE.
    pub ca_files: Vec<PathBytes>,
    /// Directories named by SSL_CERT_DIR (read natively with --use-openssl-ca/-system-ca).
    pub ca_dirs: Vec<PathBytes>,
    /// Files Node reads before permissions apply (--env-file, the config file).
    pub startup_files: Vec<PathBytes>,
    /// A Node process started a child (libuv opens /dev/null read-write for its ignored
    /// stdio).
    pub spawned: bool,
    /// Paths Node itself walks to: module files it read and timezone data. The stats and
    /// readlinks of their ancestors are its own (the loader's realpath chain, ICU's zone
    /// lookup), unlike a stat of, say, the directory of a log file.
    pub walk_targets: BTreeSet<PathBytes>,
    /// Paths Node opened successfully for reading (to recognise extension probes).
    pub read_ok: BTreeSet<PathBytes>,
    /// libc's getaddrinfo was watched (uprobes) in every process: a read made outside it was
    /// not made by the resolver.
    pub resolver_watched: bool,
}

const DNS_FILES: &[&str] = &[
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/netsvc.conf",
    "/etc/svc.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/networks",
];

/// Read by libc for the application's DNS or user lookups, but just as likely by the
/// application itself through fs: granted unless only libc's resolver read them.
const AMBIGUOUS_FILES: &[&str] = &["/etc/hosts", "/etc/passwd", "/etc/group"];

/// /proc and /sys files libuv and V8 read for heap sizing, CPU counts and os.* APIs.
const RUNTIME_PROC: &[&str] = &[
    "/proc/self/exe",
    "/proc/self/maps",
    "/proc/self/cgroup",
    "/proc/self/mountinfo",
    "/proc/self/stat",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/cpuinfo",
    "/proc/loadavg",
    "/proc/uptime",
    "/proc/version_signature",
    "/proc/sys/kernel/osrelease",
    // glibc's malloc, when it shrinks a thread arena's heap (a Worker's isolate teardown).
    "/proc/sys/vm/overcommit_memory",
];
const RUNTIME_SYS_DIRS: &[&str] = &["/sys/fs/cgroup", "/sys/devices/system/cpu"];

const LIB_DIRS: &[&str] = &[
    "/lib",
    "/lib64",
    "/lib32",
    "/usr/lib",
    "/usr/lib64",
    "/usr/lib32",
    "/usr/local/lib",
];

pub const MODULE_EXTS: &[&str] = &[".js", ".json", ".node", ".mjs", ".cjs"];

/// Whether Node may have walked to `path` by itself: a module file (read) or timezone data.
pub fn is_walk_target(path: &PathBytes) -> bool {
    let name = path.file_name();
    MODULE_EXTS.iter().any(|e| name.ends_with(e.as_bytes()))
        || path.starts_with_dir(&PathBytes::from("/usr/share/zoneinfo"))
        || path.as_bytes() == b"/etc/localtime"
}

pub fn classify(
    path: &PathBytes,
    accesses: &BTreeMap<Access, AccessStats>,
    ctx: &Context,
) -> Verdict {
    let p = path.as_bytes();
    let name = path.file_name();
    let count: u64 = accesses.values().map(|s| s.count).sum();
    let ok: u64 = accesses.values().map(|s| s.ok).sum();
    let failed_only = ok == 0;
    let before_main: u64 = accesses.values().map(|s| s.before_main).sum();
    let in_resolver: u64 = accesses.values().map(|s| s.in_resolver).sum();
    let metadata_only = accesses.keys().all(|a| a.is_metadata());
    let read_only = accesses.keys().all(|a| !a.needs_write());
    let drop = |category, why: &str| Verdict::Drop {
        category,
        why: why.to_string(),
    };
    let under = |dirs: &[&str]| {
        dirs.iter()
            .any(|d| path.starts_with_dir(&PathBytes::from(*d)))
    };

    // libuv opens /dev/null read-only by itself, once per event loop: the spare descriptor
    // it gives up to shed connections when accept() hits EMFILE (uv__stream_init, run for
    // the first pipe, TTY or socket: every process whose stdout is a pipe). Found by the
    // acceptance matrix, where every app's draft granted /dev/null. For a child's ignored
    // stdio it also opens it read-write.
    if p == b"/dev/null" && (read_only || ctx.spawned) {
        return drop(
            "libuv",
            "opened by libuv itself: the spare descriptor it keeps for accept() under \
             EMFILE, and a child's ignored stdio",
        );
    }
    if !read_only {
        // Node checks every write it makes; none of the native readers below writes.
        return Verdict::Keep;
    }
    if ctx.node_exes.contains(path) || p == b"/proc/self/exe" {
        return drop(
            "node binary",
            "the node executable, read by the kernel and Node/V8 at start-up",
        );
    }
    if p.starts_with(b"/etc/ld.so.") || is_shared_library(name) {
        return drop(
            "dynamic loader",
            "the dynamic loader and the shared libraries it maps before Node starts",
        );
    }
    if under(LIB_DIRS) && failed_only && !has_component(p, b"node_modules") {
        return drop(
            "dynamic loader",
            "a library search-path probe of the dynamic loader",
        );
    }
    if under(&[
        "/usr/lib/locale",
        "/usr/share/locale",
        "/usr/lib/x86_64-linux-gnu/gconv",
    ]) {
        return drop("libc locale data", "locale data libc loads natively");
    }
    if name == b"openssl.cnf" {
        return drop(
            "OpenSSL",
            "OpenSSL's configuration, read natively at start-up",
        );
    }
    if ctx.ca_files.contains(path) {
        return drop(
            "CA certificates",
            "the CA bundle named by NODE_EXTRA_CA_CERTS/SSL_CERT_FILE, which Node loads natively \
             (if the application also reads it with fs, use --keep-internal)",
        );
    }
    if ctx.ca_dirs.iter().any(|d| path.starts_with_dir(d)) {
        return drop(
            "CA certificates",
            "the certificate directory named by SSL_CERT_DIR, which OpenSSL reads natively",
        );
    }
    if DNS_FILES.iter().any(|f| p == f.as_bytes()) || p.starts_with(b"/var/run/nscd/") {
        return drop(
            "libc resolver",
            "read by libc's resolver/NSS (getaddrinfo, c-ares, os.userInfo), never fs-checked",
        );
    }
    if in_resolver > 0 && in_resolver == count {
        // Only libc's getaddrinfo or c-ares's set-up made these calls (the `/` getaddrinfo
        // stats, /etc/hosts, the nscd socket path): no fs call of the application runs on
        // that thread in that window.
        return drop(
            "libc resolver",
            "made only inside libc's getaddrinfo or c-ares's set-up, which Node never checks",
        );
    }
    if AMBIGUOUS_FILES.iter().any(|f| p == f.as_bytes()) {
        if p == b"/etc/hosts" && ctx.resolver_watched {
            // getaddrinfo, its only native reader in Node, was watched and did not make
            // these reads (the ones it made are counted apart): the application's fs did.
            return Verdict::Keep;
        }
        return Verdict::Ambiguous(format!(
            "{path} may have been read by libc (getaddrinfo, os.userInfo: unchecked) or by the \
             application through fs (checked); it is granted so an fs read keeps working"
        ));
    }
    if p == b"/etc/localtime" || p == b"/etc/timezone" || under(&["/usr/share/zoneinfo"]) {
        return drop("timezone", "timezone data ICU/V8 reads natively");
    }
    if RUNTIME_PROC.iter().any(|f| p == f.as_bytes()) || under(RUNTIME_SYS_DIRS) {
        return drop(
            "runtime /proc and /sys",
            "read by libuv/V8 for heap sizing, CPU counts and os.* APIs, never fs-checked",
        );
    }
    let all_before_main = count > 0 && before_main == count;
    if (p.starts_with(b"/proc/") || p.starts_with(b"/sys/")) && all_before_main {
        return drop(
            "runtime /proc and /sys",
            "read at start-up, before any JavaScript ran",
        );
    }
    if (p == b"/dev/urandom" || p == b"/dev/random") && all_before_main {
        return drop("start-up", "entropy read natively at start-up");
    }
    if ctx.startup_files.contains(path) {
        return drop(
            "start-up",
            "read before permissions apply (--env-file, the config file)",
        );
    }
    if name.ends_with(b".node") && !failed_only {
        return Verdict::Addon;
    }
    if name == b"package.json" && failed_only {
        return drop(
            "module resolution probe",
            "a package.json lookup that found nothing (unchecked, or checked silently)",
        );
    }
    if metadata_only {
        if has_component(p, b"node_modules") {
            return drop(
                "module resolution",
                "a stat on the module search path (Node's internalModuleStat is unchecked)",
            );
        }
        if failed_only && is_module_probe(path, ctx) {
            return drop(
                "module resolution probe",
                "an extension/index probe of the module loader (unchecked)",
            );
        }
        // The realpath walk lstat()s and readlink()s, ICU's zone lookup readlink()s; an
        // access() is the application's existsSync/accessSync, which Node checks.
        let walk_like = accesses
            .keys()
            .all(|a| matches!(a, Access::Stat | Access::Readlink));
        if walk_like && is_ancestor_of_walk_target(path, ctx) {
            return drop(
                "path walk",
                "a stat/readlink of a directory on the way to other paths (module realpath, \
                 timezone lookup): unchecked",
            );
        }
    }
    Verdict::Keep
}

fn is_shared_library(name: &[u8]) -> bool {
    name.ends_with(b".so") || name.windows(4).any(|w| w == b".so.")
}

fn has_component(p: &[u8], comp: &[u8]) -> bool {
    p.split(|&b| b == b'/').any(|c| c == comp)
}

/// A failed stat next to a module Node then found: `lib/util` or `lib/util.json` when
/// `lib/util.js` was read, `lib.js` when `lib/index.js` was. A failed stat of a name with no
/// such neighbour is the application's (`existsSync`), and checked.
fn is_module_probe(path: &PathBytes, ctx: &Context) -> bool {
    let p = path.as_bytes();
    let base = MODULE_EXTS
        .iter()
        .find_map(|e| p.strip_suffix(e.as_bytes()))
        .unwrap_or(p);
    let found = |suffix: &str| {
        let mut b = base.to_vec();
        b.extend_from_slice(suffix.as_bytes());
        b != p && ctx.read_ok.contains(&PathBytes::new(b))
    };
    MODULE_EXTS.iter().any(|e| found(e))
        || ["/index.js", "/index.json", "/index.node", "/package.json"]
            .iter()
            .any(|s| found(s))
}

fn is_ancestor_of_walk_target(path: &PathBytes, ctx: &Context) -> bool {
    let mut lo = path.as_bytes().to_vec();
    if lo != b"/" {
        lo.push(b'/');
    }
    ctx.walk_targets
        .range(PathBytes::new(lo.clone())..)
        .next()
        .is_some_and(|q| q.as_bytes().starts_with(&lo))
}

#[cfg(test)]
#[path = "internal_tests.rs"]
mod tests;
