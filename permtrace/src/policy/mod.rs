//! The draft permission config: a capture becomes one [`Policy`] (the internal model), which
//! each renderer turns into an output: Node flags, node.config.json, Deno flags and
//! deno.json, the human report, and the model as JSON.
//!
//! Pipeline (`draft`): which programs Node restricts (`actors`) → which of their file accesses
//! Node checks (`fsuse`, `internal`) → the fewest grants that cover them (`collapse`, with
//! `names` and `protect`) → capabilities and network (`caps`) → [`Policy`].

mod actors;
mod caps;
mod collapse;
mod draft;
mod evidence;
mod fsuse;
mod internal;
pub mod model;
mod names;
pub mod protect;
pub mod render;
mod review;
pub mod target;
mod trap;
mod write;

pub use draft::draft;
pub use model::Policy;
pub use write::{DRAFT_FILES, Drafts, emit_drafts, write_drafts};

use crate::cli::PolicyArgs;

/// Default of `--collapse-threshold`: this many distinct names under one directory become a
/// grant of the directory.
pub const DEFAULT_COLLAPSE_THRESHOLD: usize = 5;

/// How a draft is made (from the command line).
#[derive(Clone, Debug)]
pub struct Settings {
    pub node_version: Option<String>,
    pub keep_internal: bool,
    pub collapse_threshold: usize,
    pub protect: protect::Protected,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            node_version: None,
            keep_internal: false,
            collapse_threshold: DEFAULT_COLLAPSE_THRESHOLD,
            protect: protect::Protected::default(),
        }
    }
}

impl Settings {
    pub fn from_args(args: &PolicyArgs) -> Settings {
        Settings {
            node_version: args.node_version.clone(),
            keep_internal: args.keep_internal,
            collapse_threshold: args.collapse_threshold,
            protect: protect::Protected::new(&args.protect, &args.unprotect),
        }
    }
}
