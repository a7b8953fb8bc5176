//! The capture: everything permtrace observed about a workload, aggregated. It is the input
//! of every policy renderer, the unit of checkpoints, merges and diffs, and the file users
//! keep (`capture.json`). Versioned by [`SCHEMA`]; documented in the README.
//!
//! Long captures write this without building it (`Collector::write_json`): a field added
//! here must be added to its view in `collector/stream.rs` too (a test compares the two).

mod io;

pub use io::{load_capture, parse_capture};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    access::Access, pathbytes::PathBytes, resolve::Unresolved, sockaddr::Family,
    tracer::KernelStats,
};

pub const SCHEMA: &str = "permtrace.capture/1";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Capture {
    pub schema: String,
    pub tool: ToolInfo,
    pub target: Target,
    pub window: Window,
    pub stats: CaptureStats,
    /// Distinct programs (exe + argv) that ran in the traced tree; referenced by id.
    pub programs: Vec<Program>,
    /// Every path touched, sorted by path.
    pub files: Vec<FileRecord>,
    /// Every socket endpoint connected to, bound, listened on or sent to.
    pub network: Vec<NetRecord>,
    /// Every exec by a traced process (successful or not), by parent program.
    pub spawns: Vec<SpawnRecord>,
    /// Node runtime features seen (workers, WASI, addons, inspector).
    #[serde(default)]
    pub runtime: RuntimeUse,
    /// Name resolutions seen (getaddrinfo and DNS messages).
    #[serde(default)]
    pub names: Vec<NameRecord>,
    /// Captures this one was merged from (empty for a single capture).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceInfo>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Run,
    Attach,
    Merged,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub mode: Mode,
    /// `run`: the command as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<PathBytes>,
    /// Directory the root process started in (run) or was in when attached.
    pub cwd: Option<PathBytes>,
    /// User the traced command ran as.
    pub user: Option<UserInfo>,
    /// The Node.js binary that ran (the first node program in the tree).
    pub node: Option<NodeInfo>,
    /// The main script, absolute (Node grants it implicitly on 22+).
    pub entry: Option<PathBytes>,
    /// Files preloaded with --require/-r (implicitly granted on 22+).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preloads: Vec<PathBytes>,
    /// Node options given before the script (e.g. --preserve-symlinks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_options: Vec<String>,
    /// Environment variables that make Node read files on its own (NODE_EXTRA_CA_CERTS,
    /// SSL_CERT_FILE, SSL_CERT_DIR) or change its options (NODE_OPTIONS).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// `attach`: the pids attached to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attached_pids: Vec<u32>,
    /// `attach --cgroup`: the cgroup followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub uid: u32,
    pub gid: u32,
    pub name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub exe: PathBytes,
    /// As `node --version` prints it, without the `v` (e.g. "22.23.3"). `None` when it
    /// could not be determined; `permtrace policy --node-version` then must say.
    pub version: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Unix time in milliseconds.
    pub started_at_ms: u64,
    pub ended_at_ms: u64,
    /// Whether the capture saw the traced processes from their first syscall (`run`), or
    /// joined them mid-life (`attach`): then earlier accesses are missing.
    pub saw_start: bool,
    /// How the capture ended: "exit", "signal", "duration", "detached", "checkpoint".
    pub ended_by: String,
    /// Periods inside the window when nothing was traced: permtrace was stopped (killed,
    /// machine restarted) and the capture was continued later with `attach --resume`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<Gap>,
}

/// Unix milliseconds from the last checkpoint before an interruption to the resumed start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    pub from_ms: u64,
    pub to_ms: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureStats {
    /// Events received from the kernel.
    pub events: u64,
    /// Kernel-side counters, including what it could not deliver.
    pub kernel: KernelStats,
    /// Records that could not be decoded (counted, never silently skipped).
    pub decode_errors: u64,
    /// Path arguments that could not be resolved to an absolute path.
    pub unresolved_paths: u64,
    /// Processes seen in the tree.
    pub processes: u64,
    /// Processes of the tree still running when tracing stopped (`run`: when the command
    /// exited, or at a second Ctrl-C). What they did afterwards is not in the capture.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub still_running: u64,
}

impl CaptureStats {
    /// Events that happened but are not in this capture.
    pub fn lost(&self) -> u64 {
        self.kernel.dropped() + self.decode_errors
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    pub id: u32,
    pub exe: PathBytes,
    #[serde(default)]
    pub argv: Vec<PathBytes>,
    /// A Node.js binary (its accesses are subject to the permission model).
    pub is_node: bool,
    /// Program id of the parent of the first process running this program.
    pub parent: Option<u32>,
    /// Processes that ran it.
    pub processes: u64,
    /// A few of their pids.
    pub pids: Vec<u32>,
    pub first_seen_ms: u64,
}

/// Counts of one kind of access (to one path, or one endpoint).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessStats {
    pub count: u64,
    /// Calls that succeeded.
    pub ok: u64,
    /// Failed calls by errno name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, u64>,
    /// Programs (ids) that did it; at most [`MAX_BY`], see `by_more`.
    pub by: Vec<u32>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub by_more: u64,
    /// Calls a Node process made during its native start-up: before it read its entry script
    /// or any JavaScript/JSON module. Never counted for a process with no script file (`-e`,
    /// `-p`, stdin) or one found running.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub before_main: u64,
    /// Calls made inside a resolver, which Node never checks: libc's getaddrinfo (reading
    /// /etc/hosts, resolv.conf, nsswitch.conf for `dns.lookup`), or c-ares reading its
    /// configuration when Node's `dns` module sets it up.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub in_resolver: u64,
    pub first_seen_ms: u64,
    pub last_seen_ms: u64,
}

pub const MAX_BY: usize = 16;

fn is_zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Absolute and lexically resolved; as given by the program when `unresolved` is set.
    pub path: PathBytes,
    /// Why the path could not be made absolute (it is then kept as given, never guessed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unresolved: Option<Unresolved>,
    pub access: BTreeMap<Access, AccessStats>,
    /// Captures (indices into `sources`) that saw this path; empty for a single capture.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen_in: Vec<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetOp {
    Connect,
    Bind,
    Listen,
    SendTo,
    /// Connections accepted on a listening socket; the record's address is the listening
    /// endpoint (`accept4` as libuv calls it does not name the peer).
    Accept,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Tcp,
    Udp,
    Stream,
    Datagram,
    Unknown,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetRecord {
    pub op: Option<NetOp>,
    pub family: Option<Family>,
    pub protocol: Option<Protocol>,
    /// IP address, unix socket path, or `@name` for an abstract socket.
    pub address: String,
    pub port: Option<u16>,
    pub loopback: bool,
    /// Host names the application resolved to this address (see `names`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
    /// Set when the address could have come from a resolution permtrace did not see.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub name_unknown: bool,
    /// Found open when permtrace attached (listening or bound sockets, read from procfs):
    /// the process created it before the capture began.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub before_attach: bool,
    pub stats: AccessStats,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen_in: Vec<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpawnRecord {
    /// Program id of the process that called exec.
    pub parent: u32,
    /// What it asked to run, resolved against its cwd.
    pub filename: PathBytes,
    /// Program id it became, for a successful exec.
    pub program: Option<u32>,
    /// The attempt was one step of a PATH search that found nothing at this location.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub path_search: bool,
    pub stats: AccessStats,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen_in: Vec<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeUse {
    /// Worker threads started (`--allow-worker`).
    #[serde(default)]
    pub workers: u64,
    /// WASI instances created (`--allow-wasi`).
    #[serde(default)]
    pub wasi: u64,
    /// Native addons loaded (`--allow-addons`), by path.
    #[serde(default)]
    pub addons: Vec<PathBytes>,
    /// Inspector sessions opened (`--allow-inspector`).
    #[serde(default)]
    pub inspector: u64,
    /// Whether these were observed directly (uprobes on the node binary) or inferred.
    /// `true` only when every Node binary that ran had every feature probe attached; then a
    /// zero above means the feature was not used.
    #[serde(default)]
    pub observed: bool,
    /// What could not be watched, and why: a zero count then proves nothing for that binary.
    /// Also lists C libraries whose `getaddrinfo` could not be probed (feature
    /// "getaddrinfo"): host names those processes looked up are then missing from `names`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unobserved: Vec<ProbeGap>,
}

/// A binary in which some uprobes could not be attached.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeGap {
    /// The executable (as the traced process ran it) or library.
    pub binary: PathBytes,
    /// Features not watched: worker, wasi, addon, inspector_open, inspector_connect,
    /// getaddrinfo.
    pub features: Vec<String>,
    /// Why, e.g. "symbol not found (stripped binary?)".
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameRecord {
    /// The name the application asked for (for DNS messages, the question's name: never a
    /// name from the CNAME chain).
    pub name: String,
    /// Addresses it resolved to.
    pub addresses: Vec<String>,
    /// "getaddrinfo" (libc, Node's `dns.lookup`, used by http, net and fetch) or "dns" (a DNS
    /// message on port 53: c-ares for `dns.resolve*`, or a resolver that bypasses libc).
    pub via: String,
    /// `count`: lookups (getaddrinfo calls, DNS queries sent); `ok`/`errors`: their outcomes
    /// (errors by `EAI_*` or DNS response code). `in_resolver`: DNS messages libc's
    /// getaddrinfo sent itself (their name may carry a search domain the app never used).
    pub stats: AccessStats,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub label: String,
    pub window: Window,
    pub node: Option<NodeInfo>,
}
