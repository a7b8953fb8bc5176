//! permtrace: a kernel-side inventory of what a Node.js service touches, and the minimal
//! Node permission config that follows from it.
//!
//! Data flows one way: the [`tracer`] (kernel edge) yields raw records, [`wire`] decodes them
//! into [`event::Event`]s, the [`collector`] (pure) resolves and aggregates them into a
//! [`capture::Capture`], and the policy renders drafts from a capture.

pub mod access;
pub mod capture;
pub mod cli;
pub mod clock;
pub mod collector;
pub mod commands;
pub mod dnsmsg;
pub mod event;
pub mod eventlog;
pub mod node_args;
pub mod nodeinfo;
pub mod output;
pub mod pathbytes;
pub mod policy;
pub mod resolve;
pub mod session;
pub mod sockaddr;
pub mod target;
pub mod tracer;
pub mod wire;
