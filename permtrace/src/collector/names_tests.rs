//! Name joins and resolver windows.

use super::test_events::*;

#[test]
fn a_connect_gets_the_names_its_tree_resolved_and_only_those() {
    let mut c = node_collector(false);
    c.ingest(&ev(100, 100, Body::Fork { child: 101 }));
    // The child resolves (on a threadpool thread), the parent connects: same tree.
    resolve(&mut c, 101, 1011, "svc.test", &[[127, 0, 0, 5]]);
    resolve(&mut c, 101, 1011, "alias.test", &[[127, 0, 0, 5]]);
    connect(&mut c, 100, [127, 0, 0, 5], 8080);
    // An unrelated tree connecting to the same address learns nothing from it.
    c.seed(200, ProcessSeed::default(), 0);
    connect(&mut c, 200, [127, 0, 0, 5], 9090);
    // A literal address nobody resolved.
    connect(&mut c, 100, [127, 0, 0, 9], 8080);

    let cap = c.snapshot(Default::default(), 0);
    let named = endpoint(&cap, "127.0.0.5", 8080);
    assert_eq!(named.hostnames, ["alias.test", "svc.test"]);
    assert!(!named.name_unknown);
    assert!(endpoint(&cap, "127.0.0.5", 9090).hostnames.is_empty());
    let literal = endpoint(&cap, "127.0.0.9", 8080);
    assert!(literal.hostnames.is_empty() && !literal.name_unknown);

    let svc = cap.names.iter().find(|n| n.name == "svc.test").unwrap();
    assert_eq!(
        (svc.via.as_str(), svc.addresses.as_slice()),
        ("getaddrinfo", &["127.0.0.5".to_string()][..])
    );
    assert_eq!((svc.stats.count, svc.stats.ok), (1, 1));
}

#[test]
fn failed_lookups_are_counted_with_their_eai_code_and_literals_are_not_names() {
    let mut c = node_collector(false);
    c.ingest(&wire(7, encode::lookup(100, true, "nope.test", 0, &[])));
    c.ingest(&wire(7, encode::lookup(100, false, "nope.test", -2, &[])));
    resolve(&mut c, 100, 7, "10.1.2.3", &[[10, 1, 2, 3]]);
    let cap = c.snapshot(Default::default(), 0);
    assert_eq!(cap.names.len(), 1);
    let nope = &cap.names[0];
    assert_eq!((nope.stats.count, nope.stats.ok), (1, 0));
    assert_eq!(nope.stats.errors["EAI_NONAME"], 1);
}

#[test]
fn attach_marks_addresses_that_may_come_from_lookups_before_it() {
    let mut c = node_collector(true);
    connect(&mut c, 100, [10, 0, 0, 1], 443);
    resolve(&mut c, 100, 100, "db.internal", &[[10, 0, 0, 2]]);
    connect(&mut c, 100, [10, 0, 0, 2], 5432);
    // Name servers come from resolv.conf, never from a lookup.
    connect(&mut c, 100, [10, 0, 0, 53], 53);
    // A fork shares the parent's memory: still blind. An exec starts from nothing.
    c.ingest(&ev(100, 100, Body::Fork { child: 101 }));
    connect(&mut c, 101, [10, 0, 0, 3], 443);
    c.ingest(&ev(100, 100, Body::Fork { child: 102 }));
    c.ingest(&ev(
        102,
        102,
        Body::Exec(ExecCall {
            ret: 0,
            nr: nr::EXECVE,
            filename: RawPath::new("/usr/bin/curl"),
            argv: vec!["curl".into()],
            argv_truncated: false,
            dirfd: AT_FDCWD,
            at_flags: 0,
        }),
    ));
    connect(&mut c, 102, [10, 0, 0, 4], 443);

    let cap = c.snapshot(Default::default(), 0);
    assert!(endpoint(&cap, "10.0.0.1", 443).name_unknown);
    let db = endpoint(&cap, "10.0.0.2", 5432);
    assert_eq!(
        (db.hostnames.as_slice(), db.name_unknown),
        (&["db.internal".to_string()][..], false)
    );
    assert!(!endpoint(&cap, "10.0.0.53", 53).name_unknown);
    assert!(endpoint(&cap, "10.0.0.3", 443).name_unknown);
    assert!(
        !endpoint(&cap, "10.0.0.4", 443).name_unknown,
        "a literal address after exec"
    );
}

fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut m = [id, 0x0100, 1, 0, 0, 0]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect::<Vec<u8>>();
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    m
}

fn dns_answer(id: u16, name: &str, ip: [u8; 4]) -> Vec<u8> {
    let mut m = dns_query(id, name);
    m[2..4].copy_from_slice(&0x8180u16.to_be_bytes());
    m[6..8].copy_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
    m.extend_from_slice(&ip);
    m
}

#[test]
fn dns_answers_name_addresses_but_libc_internal_queries_do_not() {
    let mut c = node_collector(false);
    let ns = inet([127, 53, 0, 1], 53);
    // c-ares on the main thread: dns.resolve4('other.test').
    c.ingest(&wire(
        100,
        encode::dns(100, 20, true, &[], &dns_query(1, "other.test")),
    ));
    c.ingest(&wire(
        100,
        encode::dns(
            100,
            20,
            false,
            &ns,
            &dns_answer(1, "other.test", [127, 0, 0, 7]),
        ),
    ));
    // libc inside getaddrinfo('svc') tries a search domain first.
    c.ingest(&wire(300, encode::lookup(100, true, "svc", 0, &[])));
    c.ingest(&wire(
        300,
        encode::dns(100, 21, true, &[], &dns_query(2, "svc.corp.example")),
    ));
    c.ingest(&wire(
        300,
        encode::dns(
            100,
            21,
            false,
            &ns,
            &dns_answer(2, "svc.corp.example", [10, 9, 9, 9]),
        ),
    ));
    c.ingest(&wire(
        300,
        encode::lookup(
            100,
            false,
            "svc",
            0,
            &[(libc::AF_INET as u32, &[10, 9, 9, 9])],
        ),
    ));
    // Port 53 traffic that is not DNS names nothing.
    c.ingest(&wire(100, encode::dns(100, 20, false, &ns, b"garbage")));
    connect(&mut c, 100, [127, 0, 0, 7], 80);
    connect(&mut c, 100, [10, 9, 9, 9], 80);

    let cap = c.snapshot(Default::default(), 0);
    let other = cap.names.iter().find(|n| n.name == "other.test").unwrap();
    assert_eq!(
        (other.via.as_str(), other.stats.count, other.stats.ok),
        ("dns", 1, 1)
    );
    assert_eq!(other.addresses, ["127.0.0.7"]);
    assert_eq!(endpoint(&cap, "127.0.0.7", 80).hostnames, ["other.test"]);
    let search = cap
        .names
        .iter()
        .find(|n| n.name == "svc.corp.example")
        .unwrap();
    assert_eq!(search.stats.in_resolver, 1);
    assert_eq!(
        endpoint(&cap, "10.9.9.9", 80).hostnames,
        ["svc"],
        "the name the app asked for"
    );
}

#[test]
fn opens_inside_getaddrinfo_are_marked_in_resolver_per_thread() {
    let mut c = node_collector(false);
    let open = |tid: u32| {
        wire(
            tid,
            encode::path(100, nr::OPENAT, AT_FDCWD, "/etc/hosts", None, 0, 20),
        )
    };
    c.ingest(&wire(300, encode::lookup(100, true, "localhost", 0, &[])));
    c.ingest(&open(300));
    // The main thread reads the same file through fs meanwhile.
    c.ingest(&open(100));
    c.ingest(&wire(
        300,
        encode::lookup(
            100,
            false,
            "localhost",
            0,
            &[(libc::AF_INET as u32, &[127, 0, 0, 1])],
        ),
    ));
    c.ingest(&open(300));
    let cap = c.snapshot(Default::default(), 0);
    let hosts = &cap
        .files
        .iter()
        .find(|f| f.path.to_string() == "/etc/hosts")
        .unwrap()
        .access[&Access::Read];
    assert_eq!((hosts.count, hosts.in_resolver), (3, 1));
}

#[test]
fn resume_keeps_names_and_joins_later_connects_to_them() {
    let mut c = node_collector(false);
    resolve(&mut c, 100, 100, "api.test", &[[10, 0, 0, 8]]);
    let first = c.snapshot(Default::default(), 0);
    let mut c2 = Collector::resume(&first, Clock::default());
    c2.seed(
        100,
        ProcessSeed {
            state: ProcState::with_cwd("/srv".into()),
            program: Some(("/usr/bin/node".into(), vec!["node".into()])),
        },
        0,
    );
    connect(&mut c2, 100, [10, 0, 0, 8], 443);
    let cap = c2.snapshot(Default::default(), 0);
    assert_eq!(cap.names.len(), 1);
    let api = endpoint(&cap, "10.0.0.8", 443);
    assert_eq!(
        (api.hostnames.as_slice(), api.name_unknown),
        (&["api.test".to_string()][..], false)
    );
}
