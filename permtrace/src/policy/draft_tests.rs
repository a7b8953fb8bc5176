//! The rules of the whole pipeline on small synthetic captures.

use std::collections::BTreeMap;

use super::*;
use crate::policy::{model, render};
use crate::{
    access::Access,
    capture::{
        AccessStats, FileRecord, NameRecord, NetOp, NetRecord, NodeInfo, Program, Protocol,
        SpawnRecord, Window,
    },
    sockaddr::Family,
};

fn stats(by: &[u32], count: u64, ok: u64) -> AccessStats {
    AccessStats {
        count,
        ok,
        by: by.to_vec(),
        ..Default::default()
    }
}

fn prog(id: u32, exe: &str, argv: &[&str], parent: Option<u32>) -> Program {
    Program {
        id,
        exe: PathBytes::from(exe),
        argv: argv.iter().map(|a| PathBytes::from(*a)).collect(),
        is_node: exe.ends_with("/node"),
        parent,
        processes: 1,
        pids: vec![100 + id],
        first_seen_ms: 0,
    }
}

/// A run of `node /srv/app/index.js` in /srv/app by Node `version`.
fn capture(version: &str) -> Capture {
    let mut c = Capture {
        schema: crate::capture::SCHEMA.into(),
        window: Window {
            saw_start: true,
            ended_by: "exit".into(),
            ..Default::default()
        },
        programs: vec![prog(0, "/usr/bin/node", &["node", "index.js"], None)],
        ..Default::default()
    };
    c.target.cwd = Some(PathBytes::from("/srv/app"));
    c.target.entry = Some(PathBytes::from("/srv/app/index.js"));
    c.target.node = Some(NodeInfo {
        exe: PathBytes::from("/usr/bin/node"),
        version: Some(version.into()),
    });
    c
}

fn file(c: &mut Capture, path: &str, access: Access, by: &[u32], ok: bool) {
    let s = stats(by, 1, u64::from(ok));
    match c.files.iter_mut().find(|f| f.path.to_string() == path) {
        Some(f) => {
            f.access.insert(access, s);
        }
        None => c.files.push(FileRecord {
            path: PathBytes::from(path),
            unresolved: None,
            access: BTreeMap::from([(access, s)]),
            seen_in: vec![],
        }),
    }
}

fn read_flags(p: &Policy) -> Vec<String> {
    p.fs.read.iter().map(render::node_value).collect()
}

fn write_flags(p: &Policy) -> Vec<String> {
    p.fs.write.iter().map(render::node_value).collect()
}

fn has_cap(p: &Policy, c: model::Capability) -> bool {
    p.capabilities
        .iter()
        .any(|u| u.capability == c && u.grantable)
}

fn draft_for(c: &Capture) -> Policy {
    draft(c, &Settings::default()).unwrap()
}

#[test]
fn the_project_directory_is_the_nearest_read_package_json_and_covers_modules() {
    let mut c = capture("22.23.3");
    file(&mut c, "/srv/app/index.js", Access::Read, &[0], true);
    file(&mut c, "/srv/app/package.json", Access::Read, &[0], true);
    file(&mut c, "/srv/app/src/lib/a.js", Access::Read, &[0], true);
    file(
        &mut c,
        "/srv/app/node_modules/x/index.js",
        Access::Read,
        &[0],
        true,
    );
    let p = draft_for(&c);
    assert_eq!(read_flags(&p), ["/srv/app/*"]);
    assert!(matches!(
        p.fs.read[0].reason,
        GrantReason::Project { package_json: true }
    ));
}

#[test]
fn the_timezone_lookup_and_libuvs_dev_null_are_not_the_applications() {
    // What an HTTP server's first Date header makes ICU do (seen on 22, 24 and 26): read
    // /etc/localtime, then readlink every component of its target, each failing with EINVAL
    // (not a symlink); and the /dev/null libuv opens for its first stream.
    let mut c = capture("26.10.0");
    file(&mut c, "/srv/app/package.json", Access::Read, &[0], true);
    file(&mut c, "/srv/app/lib.js", Access::Read, &[0], true);
    file(&mut c, "/etc/localtime", Access::Read, &[0], true);
    file(&mut c, "/dev/null", Access::Read, &[0], true);
    for dir in [
        "/etc",
        "/usr",
        "/usr/share",
        "/usr/share/zoneinfo",
        "/usr/share/zoneinfo/Etc",
        "/usr/share/zoneinfo/Etc/UTC",
    ] {
        let mut s = stats(&[0], 1, 0);
        s.errors.insert("EINVAL".into(), 1);
        c.files.push(FileRecord {
            path: PathBytes::from(dir),
            unresolved: None,
            access: BTreeMap::from([(Access::Readlink, s)]),
            seen_in: vec![],
        });
    }
    let p = draft_for(&c);
    assert_eq!(read_flags(&p), ["/srv/app/*"]);
    // Nor is there anything to review about them.
    assert!(
        p.review.iter().all(|r| r.topic != "ancestor-stat"),
        "{:?}",
        p.review
    );
}

#[test]
fn without_package_json_the_entry_directory_is_granted_only_if_more_is_read_there() {
    let mut c = capture("22.23.3");
    file(&mut c, "/srv/app/index.js", Access::Read, &[0], true);
    // Only the entry: it is implicit on 22, nothing to grant.
    assert!(draft_for(&c).fs.read.is_empty());
    file(&mut c, "/srv/app/lib.js", Access::Read, &[0], true);
    let p = draft_for(&c);
    assert_eq!(read_flags(&p), ["/srv/app/*"]);
    assert!(matches!(
        p.fs.read[0].reason,
        GrantReason::Project {
            package_json: false
        }
    ));
}

#[test]
fn node_20_needs_the_entry_and_preloads_granted_even_if_not_seen() {
    let mut c = capture("20.20.2");
    c.target.entry = Some(PathBytes::from("/tmp/job.js"));
    c.target.preloads = vec![PathBytes::from("/tmp/pre.cjs")];
    c.window.saw_start = false;
    let p = draft_for(&c);
    assert_eq!(read_flags(&p), ["/tmp/job.js", "/tmp/pre.cjs"]);
    assert_eq!(p.fs.read[0].reason, GrantReason::Entry);
    assert_eq!(p.fs.read[1].reason, GrantReason::Preload);
    // On 22 both are implicit.
    let mut c22 = c.clone();
    c22.target.node.as_mut().unwrap().version = Some("22.23.3".into());
    assert!(draft_for(&c22).fs.read.is_empty());
}

#[test]
fn the_implicit_entry_grant_is_per_program() {
    let mut c = capture("24.21.0");
    c.programs.push(prog(
        1,
        "/usr/bin/node",
        &["node", "/work/child.js"],
        Some(0),
    ));
    // The child's own entry: implicit for it; the parent reading it needs a grant.
    file(&mut c, "/work/child.js", Access::Read, &[1], true);
    assert!(draft_for(&c).fs.read.is_empty());
    file(&mut c, "/work/child.js", Access::Read, &[0, 1], true);
    assert_eq!(read_flags(&draft_for(&c)), ["/work/child.js"]);
}

#[test]
fn other_programs_and_node_children_on_20_are_outside_the_model() {
    let mut c = capture("22.23.3");
    c.programs
        .push(prog(1, "/bin/sh", &["sh", "-c", "x"], Some(0)));
    c.programs
        .push(prog(2, "/usr/bin/node", &["node", "/w/child.js"], Some(1)));
    file(&mut c, "/etc/shadow-like", Access::Read, &[1], true);
    file(&mut c, "/data/child-input", Access::Read, &[2], true);
    let p22 = draft_for(&c);
    assert_eq!(read_flags(&p22), ["/data/child-input"]);
    assert_eq!(p22.outside.len(), 1);
    assert_eq!(p22.outside[0].program, 1);
    c.target.node.as_mut().unwrap().version = Some("20.20.2".into());
    c.target.entry = None;
    let p20 = draft_for(&c);
    assert!(p20.fs.read.is_empty(), "{:?}", read_flags(&p20));
    assert_eq!(p20.outside.len(), 2);
}

#[test]
fn read_and_write_are_classified_as_node_checks_them() {
    let mut c = capture("22.23.3");
    c.target.entry = None;
    file(&mut c, "/data/rw.db", Access::ReadWrite, &[0], true);
    file(&mut c, "/data/src.txt", Access::RenameFrom, &[0], true);
    file(&mut c, "/data/dst.txt", Access::RenameTo, &[0], true);
    file(&mut c, "/data/hard", Access::LinkFrom, &[0], true);
    file(&mut c, "/data/out.log", Access::Write, &[0], true);
    let no_collapse = Settings {
        collapse_threshold: 0,
        ..Default::default()
    };
    let p = draft(&c, &no_collapse).unwrap();
    assert_eq!(
        read_flags(&p),
        ["/data/hard", "/data/rw.db", "/data/src.txt"]
    );
    assert_eq!(
        write_flags(&p),
        [
            "/data/dst.txt",
            "/data/hard",
            "/data/out.log",
            "/data/rw.db",
            "/data/src.txt"
        ]
    );
}

#[test]
fn creating_a_symlink_needs_full_access_with_a_warning() {
    let mut c = capture("26.10.0");
    file(&mut c, "/data/link", Access::Symlink, &[0], true);
    file(&mut c, "/data/in.txt", Access::Read, &[0], true);
    let p = draft_for(&c);
    assert!(p.fs.all.is_some());
    assert_eq!(
        read_flags(&p),
        ["/data/in.txt"],
        "the narrow grants are kept for the report"
    );
    let flags = render::node_flags(&p);
    assert!(flags.contains("--allow-fs-read=*\n") && flags.contains("--allow-fs-write=*\n"));
    assert!(!flags.contains("/data/in.txt"));
    assert!(p.review.iter().any(|r| r.topic == "symlink"));
}

#[test]
fn addons_are_inferred_from_node_opening_dot_node_files() {
    let mut c = capture("22.23.3");
    file(&mut c, "/srv/app/build/x.node", Access::Read, &[0], true);
    let p = draft_for(&c);
    assert!(has_cap(&p, model::Capability::Addons));
    assert!(p.fs.read.is_empty(), "dlopen is not fs-checked");
}

fn endpoint(family: Family, address: &str, port: Option<u16>, by: &[u32]) -> NetRecord {
    NetRecord {
        op: Some(NetOp::Connect),
        family: Some(family),
        protocol: Some(Protocol::Tcp),
        address: address.into(),
        port,
        stats: stats(by, 1, 1),
        ..Default::default()
    }
}

#[test]
fn allow_net_only_on_25_and_only_for_real_endpoints_or_names() {
    let mut c = capture("26.10.0");
    c.network = vec![
        endpoint(Family::Netlink, "(family 16)", None, &[0]),
        endpoint(Family::Unix, "(unnamed)", None, &[0]),
    ];
    assert!(
        !has_cap(&draft_for(&c), model::Capability::Net),
        "noise only"
    );
    c.names.push(NameRecord {
        name: "example.com".into(),
        stats: stats(&[0], 1, 1),
        ..Default::default()
    });
    assert!(
        has_cap(&draft_for(&c), model::Capability::Net),
        "a DNS name"
    );
    c.names.clear();
    c.network
        .push(endpoint(Family::Inet, "10.0.0.1", Some(80), &[0]));
    assert!(has_cap(&draft_for(&c), model::Capability::Net));
    c.target.node.as_mut().unwrap().version = Some("24.21.0".into());
    let p24 = draft_for(&c);
    assert!(!has_cap(&p24, model::Capability::Net));
    assert!(!render::node_flags(&p24).contains("--allow-net"));
}

#[test]
fn child_process_counts_failed_attempts_by_node_but_not_by_its_children() {
    let mut c = capture("22.23.3");
    c.programs.push(prog(1, "/bin/sh", &["sh"], Some(0)));
    c.spawns.push(SpawnRecord {
        parent: 1,
        filename: PathBytes::from("/usr/bin/git"),
        program: None,
        path_search: false,
        stats: stats(&[1], 1, 1),
        seen_in: vec![],
    });
    assert!(!has_cap(&draft_for(&c), model::Capability::ChildProcess));
    c.spawns.push(SpawnRecord {
        parent: 0,
        filename: PathBytes::from("/usr/local/bin/missing"),
        program: None,
        path_search: true,
        stats: stats(&[0], 1, 0),
        seen_in: vec![],
    });
    assert!(has_cap(&draft_for(&c), model::Capability::ChildProcess));
}

#[test]
fn drops_are_kept_as_grants_with_keep_internal() {
    let mut c = capture("22.23.3");
    file(&mut c, "/etc/ssl/openssl.cnf", Access::Read, &[0], true);
    let p = draft_for(&c);
    assert!(p.fs.read.is_empty());
    assert_eq!(p.dropped[0].category, "OpenSSL");
    let s = Settings {
        keep_internal: true,
        ..Default::default()
    };
    let kept = draft(&c, &s).unwrap();
    assert_eq!(read_flags(&kept), ["/etc/ssl/openssl.cnf"]);
    assert!(matches!(
        kept.fs.read[0].reason,
        GrantReason::KeptInternal { .. }
    ));
}

#[test]
fn paths_node_cannot_name_exactly_are_left_out_with_a_warning() {
    let mut c = capture("22.23.3");
    file(&mut c, "/data/a*b", Access::Read, &[0], true);
    file(&mut c, "/data/line\nbreak", Access::Read, &[0], true);
    let p = draft_for(&c);
    assert!(p.fs.read.is_empty(), "{:?}", read_flags(&p));
    assert!(p.review.iter().any(|r| r.topic == "unrepresentable-path"));
}

#[test]
fn a_listed_protected_directory_is_granted_but_flagged() {
    let mut c = capture("22.23.3");
    file(&mut c, "/etc", Access::List, &[0], true);
    let p = draft_for(&c);
    assert_eq!(read_flags(&p), ["/etc/*"]);
    assert!(p.review.iter().any(|r| r.topic == "protected-dir-granted"));
}

#[test]
fn lost_events_and_attach_make_the_draft_say_it_is_incomplete() {
    let mut c = capture("22.23.3");
    assert!(!draft_for(&c).completeness.incomplete);
    c.stats.kernel.ring_full = 5;
    let p = draft_for(&c);
    assert!(p.completeness.incomplete && p.completeness.lost_events == 5);
    let mut a = capture("22.23.3");
    a.window.saw_start = false;
    assert!(draft_for(&a).completeness.incomplete);
    let mut daemon = capture("22.23.3");
    daemon.stats.still_running = 1;
    assert!(draft_for(&daemon).completeness.incomplete);
}

#[path = "draft_review_tests.rs"]
mod review;
