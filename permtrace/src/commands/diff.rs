//! `permtrace diff OLD NEW`: what NEW needs that OLD did not, for review before a deploy.
//!
//! Exit status, so CI can tell the cases apart: 0 nothing new, 1 NEW needs more, 2 the
//! comparison could not be made (unreadable or corrupt capture; clap's usage errors are 2
//! too).

use std::io::Write as _;

use anyhow::Result;

use crate::{
    capture::load_capture,
    cli::DiffArgs,
    diff::{diff as compare, render_text},
    policy::Settings,
};

pub const NOTHING_NEW: i32 = 0;
pub const NEEDS_MORE: i32 = 1;
pub const CANNOT_COMPARE: i32 = 2;

pub fn diff(args: DiffArgs) -> Result<i32> {
    let loaded = load_capture(&args.old).and_then(|old| Ok((old, load_capture(&args.new)?)));
    let (old, new) = match loaded {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("permtrace: error: {e:#}");
            return Ok(CANNOT_COMPARE);
        }
    };
    let d = compare(&old, &new, &Settings::from_args(&args.policy));
    let mut stdout = std::io::stdout().lock();
    let written = if args.json {
        serde_json::to_writer_pretty(&mut stdout, &d)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(stdout))
    } else {
        let (o, n) = (args.old.display(), args.new.display());
        write!(
            stdout,
            "{}",
            render_text(&d, &o.to_string(), &n.to_string())
        )
    };
    if let Err(e) = written.and_then(|()| stdout.flush()) {
        eprintln!("permtrace: error: writing the differences: {e}");
        return Ok(CANNOT_COMPARE);
    }
    Ok(if d.is_empty() {
        NOTHING_NEW
    } else {
        NEEDS_MORE
    })
}
