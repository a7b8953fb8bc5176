//! The one internal permission model. Every output (Node flags, node.config.json, Deno,
//! the report, `--format json`) renders a [`Policy`]; none of them looks at the capture.

use std::collections::BTreeMap;

use serde::Serialize;

use super::target::{AuditMode, ConfigShape, NodeTarget};
use crate::{access::Access, capture::Mode, pathbytes::PathBytes};

pub const SCHEMA: &str = "permtrace.policy/1";

#[derive(Clone, Debug, Serialize)]
pub struct Policy {
    pub schema: String,
    pub node: NodeTarget,
    /// What the target version accepts and checks (derived from `node`).
    pub node_facts: NodeFacts,
    pub capture: CaptureSummary,
    pub fs: FsPolicy,
    /// Boolean capabilities (`--allow-child-process`, …), each with its evidence.
    pub capabilities: Vec<CapabilityUse>,
    pub network: NetworkUse,
    /// Programs Node processes started (for the report and Deno's `--allow-run`).
    pub spawned: Vec<SpawnUse>,
    /// Paths Node grants by itself on this version (entry script, preloads).
    pub implicit: Vec<Implicit>,
    /// Accesses Node never checks, left out of the grants (kept with `--keep-internal`).
    pub dropped: Vec<Dropped>,
    /// Accesses by processes Node does not restrict (other programs; Node children on 20).
    pub outside: Vec<OutsideUse>,
    pub review: Vec<Review>,
    pub completeness: Completeness,
    pub settings: SettingsUsed,
    /// Programs referred to by id anywhere above.
    pub programs: Vec<ProgramRef>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NodeFacts {
    pub enable_flag: String,
    pub config_file: Option<ConfigShape>,
    pub config_schema: Option<String>,
    pub implicit_entry: bool,
    pub children_restricted: bool,
    pub checks_net: bool,
    pub allow_inspector: bool,
    pub permission_audit: AuditMode,
}

impl NodeFacts {
    pub fn of(n: &NodeTarget) -> NodeFacts {
        NodeFacts {
            enable_flag: n.enable_flag().into(),
            config_file: n.config_shape(),
            config_schema: n.config_shape().map(|_| n.config_schema_url()),
            implicit_entry: n.implicit_entry(),
            children_restricted: n.children_restricted(),
            checks_net: n.checks_net(),
            allow_inspector: n.has_allow_inspector(),
            permission_audit: n.audit(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct CaptureSummary {
    pub mode: Mode,
    pub command: Vec<PathBytes>,
    pub cwd: Option<PathBytes>,
    pub entry: Option<PathBytes>,
    pub node_exe: Option<PathBytes>,
    pub started_at_ms: u64,
    pub ended_at_ms: u64,
    pub ended_by: String,
    pub events: u64,
    /// Captures this one was merged from.
    pub sources: usize,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct FsPolicy {
    pub read: Vec<Grant>,
    pub write: Vec<Grant>,
    /// Set when Node needs full fs access (`*`) for read and write: it only allows
    /// `fs.symlink` then. The narrow grants above are what would suffice otherwise.
    pub all: Option<FullAccess>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FullAccess {
    pub why: String,
    pub evidence: Vec<Covered>,
}

/// One `--allow-fs-read`/`--allow-fs-write` value.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Grant {
    pub path: PathBytes,
    /// A directory grant (recursive). Rendered as `path/*` for Node so that it also covers
    /// a directory that does not exist yet when Node starts.
    pub directory: bool,
    /// Rendered for Node as the raw string prefix `path*`: `path` and everything under it,
    /// and also every path whose string starts with `path` (see [`GrantReason::SharedPrefix`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub string_prefix: bool,
    pub reason: GrantReason,
    /// Every observed path this grant covers, sorted.
    pub covers: Vec<Covered>,
    pub count: u64,
    pub first_seen_ms: u64,
    pub last_seen_ms: u64,
    /// Program ids that made the covered accesses.
    pub programs: Vec<u32>,
}

impl Grant {
    /// Whether Node grants `path` through this grant.
    pub fn reaches(&self, path: &PathBytes) -> bool {
        match (self.string_prefix, self.directory) {
            (true, _) => path.as_bytes().starts_with(self.path.as_bytes()),
            (false, true) => path.starts_with_dir(&self.path),
            (false, false) => *path == self.path,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GrantReason {
    /// The path itself was accessed.
    Exact,
    /// Node 20 does not grant the entry script implicitly.
    Entry,
    /// Node 20 does not grant `--require` preloads implicitly.
    Preload,
    /// The entry script's project: the nearest directory with a package.json Node read
    /// (or the entry's directory). Covers modules, package.json and the "type" lookup.
    Project { package_json: bool },
    /// A package outside the project whose modules Node loaded.
    Package,
    /// Many distinct names were touched in this directory.
    Collapsed { distinct: usize, threshold: usize },
    /// Names in it are generated (temp files, pids, UUIDs, hashes, mkdtemp suffixes).
    Generated { examples: Vec<String> },
    /// Two grants were merged into their parent to avoid Node's prefix bug (the directory
    /// `with` shares a string prefix and would make this directory itself ungranted).
    MergedSiblings { with: Vec<PathBytes> },
    /// As for `MergedSiblings`, but the parent is protected: the directory is granted as the
    /// raw string prefix `path*`, which stands for the grants in `with` (rendered one by one
    /// where there are no string prefixes, e.g. Deno).
    SharedPrefix { with: Vec<PathBytes> },
    /// Node never checks it, but `--keep-internal` asked to keep it.
    KeptInternal { why: String },
}

/// One observed path and how it was accessed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Covered {
    pub path: PathBytes,
    /// Calls per access kind.
    pub accesses: BTreeMap<Access, u64>,
    pub ok: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, u64>,
    pub programs: Vec<u32>,
    pub first_seen_ms: u64,
    pub last_seen_ms: u64,
}

impl Covered {
    pub fn count(&self) -> u64 {
        self.accesses.values().sum()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    ChildProcess,
    Worker,
    Addons,
    Wasi,
    Inspector,
    Net,
}

impl Capability {
    pub fn flag(self) -> &'static str {
        match self {
            Capability::ChildProcess => "--allow-child-process",
            Capability::Worker => "--allow-worker",
            Capability::Addons => "--allow-addons",
            Capability::Wasi => "--allow-wasi",
            Capability::Inspector => "--allow-inspector",
            Capability::Net => "--allow-net",
        }
    }

    /// The key in node.config.json.
    pub fn config_key(self) -> &'static str {
        &self.flag()[2..]
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct CapabilityUse {
    pub capability: Capability,
    /// Whether this Node version has the flag (the inspector cannot be granted before 24.12,
    /// the network is not checked before 25). When false nothing is emitted.
    pub grantable: bool,
    pub evidence: Vec<String>,
    pub programs: Vec<u32>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct NetworkUse {
    /// Whether this Node version checks the network at all (25+).
    pub checked_by_node: bool,
    /// Endpoints Node processes used (netlink and unnamed unix sockets left out).
    pub endpoints: Vec<Endpoint>,
    /// Host names Node processes resolved.
    pub names: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// "connect", "bind", "listen", "send_to".
    pub op: String,
    /// "tcp", "udp", "unix", …
    pub protocol: String,
    pub address: String,
    pub port: Option<u16>,
    pub hostnames: Vec<String>,
    /// No name was seen, and the process ran before permtrace attached: it may have
    /// resolved the address before (see `capture.network[].name_unknown`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub name_unknown: bool,
    pub loopback: bool,
    /// Only libc's resolver used it (a DNS server): not an application endpoint.
    pub resolver_only: bool,
    pub count: u64,
    pub ok: u64,
    pub programs: Vec<u32>,
    pub first_seen_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpawnUse {
    /// What the program was asked to run as (argv[0] when it has no slash, else the path).
    pub program: String,
    /// The file that was executed (resolved), or attempted.
    pub path: PathBytes,
    pub count: u64,
    pub ok: u64,
    /// Program id of the Node process that spawned it.
    pub by: u32,
    /// Program id it became, for a successful exec.
    pub became: Option<u32>,
    /// A failed step of a PATH search (`spawn("ls")` tries every PATH directory).
    pub path_search: bool,
    pub first_seen_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Implicit {
    pub path: PathBytes,
    pub why: String,
    pub covers: Option<Covered>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dropped {
    pub path: PathBytes,
    /// Short category ("dynamic loader", "module resolution probe", …).
    pub category: String,
    /// Why Node does not check it.
    pub why: String,
    pub access: Covered,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutsideUse {
    /// Program id.
    pub program: u32,
    /// Why Node's model does not apply to it.
    pub why: String,
    pub paths: Vec<Covered>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The draft may fail or grant far more than intended unless someone decides.
    Warning,
    /// Worth a look; the draft works as is.
    Note,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Review {
    pub severity: Severity,
    /// Stable short id ("ambiguous-read", "sibling-prefix", …).
    pub topic: String,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<PathBytes>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Completeness {
    /// The capture missed events: the draft may lack grants.
    pub incomplete: bool,
    pub reasons: Vec<String>,
    pub lost_events: u64,
    pub decode_errors: u64,
    pub unresolved_paths: u64,
    pub saw_start: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct SettingsUsed {
    pub collapse_threshold: usize,
    pub keep_internal: bool,
    pub protected: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProgramRef {
    pub id: u32,
    pub exe: PathBytes,
    pub argv: Vec<PathBytes>,
    pub pids: Vec<u32>,
    pub is_node: bool,
    /// Restricted by Node's permission model on the target version.
    pub restricted: bool,
}
