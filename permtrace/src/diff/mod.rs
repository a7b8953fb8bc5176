//! What a new capture needs that an old one did not, for review before a deploy
//! (`permtrace diff` exits 1 when there is anything).
//!
//! Both captures are drafted with the same policy settings (and the same Node version) and
//! the permission models are compared: a new temp file under a directory the old draft
//! already grants is not a difference, a grant that widened or a new capability is. When a
//! capture cannot be drafted (no Node process, unknown version), the captures are compared
//! record by record instead, and the result says so. Pure: captures in, differences out.

mod grants;
mod records;
#[cfg(test)]
mod tests;
mod text;

pub use text::render_text;

use serde::Serialize;

use crate::{
    capture::{Capture, Program},
    pathbytes::PathBytes,
    policy::{Settings, draft},
};

#[derive(Debug, Default, Serialize)]
pub struct Diff {
    pub basis: Basis,
    /// File system grants (or, compared record by record, path + access kind).
    pub fs: Vec<NewFs>,
    pub network: Vec<NewEndpoint>,
    pub spawns: Vec<NewSpawn>,
    /// Node permission flags the new capture needs and the old did not.
    pub flags: Vec<NewFlag>,
    /// Why the answer may be incomplete (lost events, start not seen, versions).
    pub notes: Vec<String>,
}

/// What was compared.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Basis {
    /// The drafted permission models, both for this Node version.
    PermissionModel { node_version: String },
    /// The captures' records: no draft could be made.
    Records { why: String },
}

impl Default for Basis {
    fn default() -> Self {
        Basis::Records { why: String::new() }
    }
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct NewFs {
    /// "read" or "write" for grants; the access kind ("read", "stat", …) for records.
    pub scope: String,
    pub path: PathBytes,
    /// A directory grant (everything under `path`).
    pub directory: bool,
    pub count: u64,
    /// Calls that succeeded (a failed one still needs the grant: Node checks first).
    pub ok: u64,
    /// The programs that made the accesses.
    pub by: Vec<String>,
    /// Why the grant has this shape, or what is special about the record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct NewEndpoint {
    pub op: String,
    pub protocol: String,
    pub address: String,
    pub port: Option<u16>,
    pub count: u64,
    pub by: Vec<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct NewSpawn {
    /// The program that spawned.
    pub parent: String,
    pub filename: PathBytes,
    pub count: u64,
    pub ok: u64,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct NewFlag {
    pub flag: String,
    pub why: String,
}

impl Diff {
    pub fn len(&self) -> usize {
        self.fs.len() + self.network.len() + self.spawns.len() + self.flags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Compares the drafts of both captures, made with `settings`; without a Node version in
/// `settings`, both are drafted for NEW's.
pub fn diff(old: &Capture, new: &Capture, settings: &Settings) -> Diff {
    let mut settings = settings.clone();
    if settings.node_version.is_none() {
        settings.node_version = new.target.node.as_ref().and_then(|n| n.version.clone());
    }
    let mut d = match (draft(old, &settings), draft(new, &settings)) {
        (Ok(o), Ok(n)) => grants::diff(&o, &n),
        (Err(e), _) | (_, Err(e)) => {
            let mut d = records::diff(old, new);
            d.basis = Basis::Records {
                why: format!("{e:#}"),
            };
            d
        }
    };
    d.notes
        .extend(notes(old, "OLD").into_iter().chain(notes(new, "NEW")));
    let versions = |c: &Capture| c.target.node.as_ref().and_then(|n| n.version.clone());
    if let (Some(o), Some(n)) = (versions(old), versions(new))
        && o != n
    {
        d.notes.push(format!("OLD ran Node.js {o}, NEW ran {n}"));
    }
    d
}

fn notes(cap: &Capture, which: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lost = cap.stats.lost();
    if lost > 0 {
        out.push(format!(
            "{which} lost {lost} events: it is incomplete, so this comparison may be too"
        ));
    }
    if !cap.window.saw_start {
        out.push(format!(
            "{which} joined running processes: their start-up is not in it"
        ));
    }
    out
}

/// `node server.js`, `sh -c "git status"` (shortened).
fn describe(exe: &PathBytes, argv: &[PathBytes]) -> String {
    let name = String::from_utf8_lossy(exe.file_name()).into_owned();
    let args: Vec<String> = argv
        .iter()
        .skip(1)
        .map(|a| a.lossy().into_owned())
        .collect();
    let mut s = if args.is_empty() {
        name
    } else {
        format!("{name} {}", args.join(" "))
    };
    if s.chars().count() > 60 {
        s = s.chars().take(59).collect::<String>() + "…";
    }
    s
}

fn describe_program(p: &Program) -> String {
    describe(&p.exe, &p.argv)
}
