//! The pipeline's review items on synthetic captures: what is worth a human's time, and
//! what is not.

use super::*;

#[test]
fn only_walks_node_does_not_make_at_every_start_are_noted() {
    // The entry's realpath walk stats /srv; a data file's directory stat could be the
    // application's own (statSync before reading), and no grant covers it.
    let mut c = capture("26.10.0");
    file(&mut c, "/srv/app/package.json", Access::Read, &[0], true);
    file(&mut c, "/srv/app/lib.js", Access::Read, &[0], true);
    file(&mut c, "/srv", Access::Stat, &[0], true);
    file(&mut c, "/srv/data/in.json", Access::Read, &[0], true);
    file(&mut c, "/srv/data", Access::Stat, &[0], true);
    // A package outside the project (a monorepo's symlinked workspace): its realpath walk.
    file(
        &mut c,
        "/opt/ws/shared/package.json",
        Access::Read,
        &[0],
        true,
    );
    file(&mut c, "/opt/ws/shared/index.js", Access::Read, &[0], true);
    file(&mut c, "/opt/ws", Access::Stat, &[0], true);
    let p = draft_for(&c);
    let notes: Vec<&model::Review> = p
        .review
        .iter()
        .filter(|r| r.topic == "ancestor-stat")
        .collect();
    assert_eq!(notes.len(), 1, "{:?}", p.review);
    assert_eq!(notes[0].paths, [PathBytes::from("/srv/data")]);
    // An existsSync (access()) of it is the application's: granted, not a walk.
    file(&mut c, "/srv/data", Access::Access, &[0], true);
    let p = draft_for(&c);
    assert!(
        read_flags(&p).contains(&"/srv/data/*".to_string()),
        "{:?}",
        read_flags(&p)
    );
}

#[test]
fn an_etc_hosts_read_outside_a_watched_resolver_is_granted_without_a_question() {
    let mut c = capture("26.10.0");
    file(&mut c, "/srv/app/package.json", Access::Read, &[0], true);
    let mut hosts = stats(&[0], 2, 2);
    hosts.in_resolver = 1;
    let mut root = stats(&[0], 1, 1);
    root.in_resolver = 1;
    for (path, access, s) in [
        ("/etc/hosts", Access::Read, hosts),
        ("/", Access::Stat, root),
    ] {
        c.files.push(FileRecord {
            path: PathBytes::from(path),
            unresolved: None,
            access: BTreeMap::from([(access, s)]),
            seen_in: vec![],
        });
    }
    let ambiguous = |p: &Policy| p.review.iter().any(|r| r.topic == "ambiguous-read");
    // Without uprobes nothing tells the reads apart.
    let p = draft_for(&c);
    assert!(read_flags(&p).contains(&"/etc/hosts".to_string()));
    assert!(ambiguous(&p));
    c.runtime.observed = true;
    let p = draft_for(&c);
    assert!(read_flags(&p).contains(&"/etc/hosts".to_string()));
    assert!(!ambiguous(&p), "{:?}", p.review);
    // getaddrinfo's stat of `/` is its own.
    assert!(
        p.dropped
            .iter()
            .any(|d| d.path.as_bytes() == b"/" && d.category == "libc resolver")
    );
    assert!(
        p.review.iter().all(|r| r.topic != "ancestor-stat"),
        "{:?}",
        p.review
    );
}
