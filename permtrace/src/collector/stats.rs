//! Updating [`AccessStats`] counters, shared by files, endpoints and spawns.

use crate::{
    capture::{AccessStats, MAX_BY},
    event::errno_name,
};

/// Who did an access, and in which phase of its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// Program id of the process, if known.
    pub program: Option<u32>,
    /// A Node process that has not loaded any JavaScript file yet.
    pub before_main: bool,
    /// Inside libc's resolver (getaddrinfo).
    pub in_resolver: bool,
}

/// Counts one call with result `ret` (negative errno on failure). `EINPROGRESS` counts as
/// success: a non-blocking connect was attempted, which is what a policy must allow.
pub fn record_access(s: &mut AccessStats, ret: i64, ctx: Context, now_ms: u64) {
    record_attempt(s, ctx, now_ms);
    let error = (ret < 0 && ret != -(libc::EINPROGRESS as i64)).then(|| errno_name(-ret));
    record_result(s, error);
}

/// Counts one attempt (who, when, in which phase) without its outcome; see [`record_result`].
pub fn record_attempt(s: &mut AccessStats, ctx: Context, now_ms: u64) {
    if s.count == 0 || now_ms < s.first_seen_ms {
        s.first_seen_ms = now_ms;
    }
    s.last_seen_ms = s.last_seen_ms.max(now_ms);
    s.count += 1;
    if ctx.before_main {
        s.before_main += 1;
    }
    if ctx.in_resolver {
        s.in_resolver += 1;
    }
    if let Some(p) = ctx.program
        && !s.by.contains(&p)
    {
        if s.by.len() < MAX_BY {
            s.by.push(p);
        } else {
            s.by_more += 1;
        }
    }
}

/// Counts the outcome of an attempt: success, or the name of what went wrong.
pub fn record_result(s: &mut AccessStats, error: Option<String>) {
    match error {
        None => s.ok += 1,
        Some(e) => *s.errors.entry(e).or_default() += 1,
    }
}

/// Adds `other` into `s` (resume and merge).
pub fn merge_stats(s: &mut AccessStats, other: &AccessStats) {
    if s.count == 0 || (other.count > 0 && other.first_seen_ms < s.first_seen_ms) {
        s.first_seen_ms = other.first_seen_ms;
    }
    s.last_seen_ms = s.last_seen_ms.max(other.last_seen_ms);
    s.count += other.count;
    s.ok += other.ok;
    for (k, v) in &other.errors {
        *s.errors.entry(k.clone()).or_default() += v;
    }
    s.before_main += other.before_main;
    s.in_resolver += other.in_resolver;
    s.by_more += other.by_more;
    for p in &other.by {
        if !s.by.contains(p) {
            if s.by.len() < MAX_BY {
                s.by.push(*p);
            } else {
                s.by_more += 1;
            }
        }
    }
}
