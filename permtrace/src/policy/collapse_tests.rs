use super::*;

fn rules(p: &Protected) -> Rules<'_> {
    Rules {
        threshold: 5,
        protect: p,
    }
}

fn needs(paths: &[&str]) -> Vec<Need> {
    paths.iter().map(|p| Need::new(p)).collect()
}

fn created(paths: &[&str]) -> Vec<Need> {
    paths
        .iter()
        .map(|p| Need {
            created: true,
            ..Need::new(p)
        })
        .collect()
}

/// The grants as Node would see them: `path/*` for directories, `path*` for string prefixes.
fn rendered(plan: &Plan) -> Vec<String> {
    plan.grants
        .iter()
        .map(|g| match (g.string_prefix, g.directory) {
            (true, _) => format!("{}*", g.path),
            (false, true) => format!("{}/*", g.path),
            (false, false) => g.path.to_string(),
        })
        .collect()
}

fn seed(p: &str) -> Vec<(PathBytes, GrantReason)> {
    vec![(
        PathBytes::from(p),
        GrantReason::Project { package_json: true },
    )]
}

#[test]
fn few_distinct_files_stay_exact_and_every_need_is_covered() {
    let p = Protected::default();
    let n = needs(&["/etc/app/a.conf", "/etc/app/b.conf", "/var/lib/app/db.json"]);
    let plan = plan(&n, vec![], rules(&p));
    assert_eq!(
        rendered(&plan),
        ["/etc/app/a.conf", "/etc/app/b.conf", "/var/lib/app/db.json"]
    );
    assert!(plan.grants.iter().all(|g| g.covers.len() == 1));
}

#[test]
fn a_directory_with_many_distinct_names_collapses_at_the_threshold() {
    let p = Protected::default();
    let four = needs(&["/data/in/a", "/data/in/b", "/data/in/c", "/data/in/d"]);
    assert_eq!(plan(&four, vec![], rules(&p)).grants.len(), 4);
    let five = needs(&[
        "/data/in/a",
        "/data/in/b",
        "/data/in/c",
        "/data/in/d",
        "/data/in/e",
    ]);
    let plan5 = plan(&five, vec![], rules(&p));
    assert_eq!(rendered(&plan5), ["/data/in/*"]);
    assert_eq!(plan5.grants[0].covers.len(), 5);
    assert_eq!(
        plan5.grants[0].reason,
        GrantReason::Collapsed {
            distinct: 5,
            threshold: 5
        }
    );
    // Threshold 0 turns collapsing off.
    let off = Rules {
        threshold: 0,
        protect: &p,
    };
    assert_eq!(plan(&five, vec![], off).grants.len(), 5);
}

#[test]
fn never_collapses_to_or_above_a_protected_place() {
    let p = Protected::default();
    let n = needs(&["/etc/a", "/etc/b", "/etc/c", "/etc/d", "/etc/e", "/etc/f"]);
    let plan = plan(&n, vec![], rules(&p));
    assert_eq!(plan.grants.len(), 6, "{:?}", rendered(&plan));
    let homes = needs(&[
        "/home/u/.ssh/id_rsa",
        "/home/u/.ssh/id_ed25519",
        "/home/u/.ssh/config",
        "/home/u/.ssh/known_hosts",
        "/home/u/.ssh/authorized_keys",
    ]);
    let plan = super::plan(&homes, vec![], rules(&p));
    assert!(plan.grants.iter().all(|g| !g.directory));
}

#[test]
fn generated_names_grant_their_directory() {
    let p = Protected::default();
    let n = created(&[
        "/srv/app/tmp/upload-3f2a9c1e-77d4-4b21-9a0e-1c2d3e4f5a6b",
        "/srv/app/run/app.48213.pid",
    ]);
    let plan = plan(&n, vec![], rules(&p));
    assert_eq!(rendered(&plan), ["/srv/app/run/*", "/srv/app/tmp/*"]);
    assert!(matches!(
        plan.grants[1].reason,
        GrantReason::Generated { .. }
    ));
}

#[test]
fn mkdtemp_directories_grant_the_parent_which_covers_the_xxxxxx_check() {
    // fs.mkdtemp(prefix) is checked on `prefix + "XXXXXX"`, then on the created names.
    let p = Protected::default();
    let n = created(&[
        "/srv/app/work/job-SFYGgt",
        "/srv/app/work/job-SFYGgt/out.txt",
    ]);
    let plan = plan(&n, vec![], rules(&p));
    assert_eq!(rendered(&plan), ["/srv/app/work/*"]);
    let check = PathBytes::from("/srv/app/work/job-XXXXXX");
    assert!(check.starts_with_dir(&plan.grants[0].path));
}

#[test]
fn generated_names_in_tmp_grant_tmp_with_a_warning_and_protected_dirs_stay_exact() {
    let p = Protected::default();
    let n = created(&["/tmp/upload-48213.bin"]);
    let plan1 = plan(&n, vec![], rules(&p));
    assert_eq!(rendered(&plan1), ["/tmp/*"]);
    assert_eq!(plan1.review[0].topic, "shared-temp-dir");
    let strict = Protected::new(&["/tmp".into()], &[]);
    let plan2 = plan(&n, vec![], rules(&strict));
    assert_eq!(rendered(&plan2), ["/tmp/upload-48213.bin"]);
    assert_eq!(plan2.review[0].topic, "generated-in-protected-dir");
}

#[test]
fn seeds_cover_what_is_under_them_and_nothing_nested_is_emitted() {
    let p = Protected::default();
    let n = needs(&[
        "/srv/app/index.js",
        "/srv/app/lib/util.js",
        "/srv/app/node_modules/dep/main.js",
        "/srv/app",
        "/etc/hosts",
    ]);
    let plan = plan(&n, seed("/srv/app"), rules(&p));
    assert_eq!(rendered(&plan), ["/etc/hosts", "/srv/app/*"]);
    assert_eq!(plan.grants[1].covers.len(), 4);
}

#[test]
fn a_parent_and_a_child_are_never_both_granted() {
    let p = Protected::default();
    let mut n = needs(&["/srv/data", "/srv/data/f.txt"]);
    n[0].directory = true;
    let plan = plan(&n, vec![], rules(&p));
    assert_eq!(rendered(&plan), ["/srv/data/*"]);
    assert_eq!(plan.grants[0].covers, [0, 1]);
}

#[test]
fn sibling_prefix_merges_into_the_parent_when_the_directory_itself_is_used() {
    let p = Protected::new(&[], &["/srv".into()]);
    let n = needs(&["/srv/app/index.js", "/srv/app-data/x.json"]);
    let plan = plan(&n, seed("/srv/app"), rules(&p));
    assert_eq!(rendered(&plan), ["/srv/*"]);
    assert!(matches!(
        plan.grants[0].reason,
        GrantReason::MergedSiblings { .. }
    ));
}

#[test]
fn sibling_prefix_under_a_protected_parent_becomes_a_string_prefix_with_a_warning() {
    // `/srv/app/*` with `/srv/app-data/x.json` leaves /srv/app itself ungranted on every Node
    // version (tests/policy_prefix.rs measures it); `/srv/app*` alone does not.
    let p = Protected::default();
    let n = needs(&["/srv/app/index.js", "/srv/app-data/x.json"]);
    let plan = plan(&n, seed("/srv/app"), rules(&p));
    assert_eq!(rendered(&plan), ["/srv/app*"]);
    assert_eq!(
        plan.grants[0].reason,
        GrantReason::SharedPrefix {
            with: vec!["/srv/app".into(), "/srv/app-data/x.json".into()]
        }
    );
    assert_eq!(plan.grants[0].covers, [0, 1]);
    assert_eq!(plan.review.len(), 1);
    let r = &plan.review[0];
    assert_eq!(
        (r.topic.as_str(), r.severity),
        ("string-prefix-grant", Severity::Warning)
    );
    assert!(r.message.contains("--unprotect /srv"), "{}", r.message);
}

#[test]
fn a_string_prefix_absorbs_every_sibling_it_reaches() {
    let p = Protected::default();
    let mut n = needs(&[
        "/srv/app",
        "/srv/app-data/x.json",
        "/srv/app2/y.json",
        "/srv/apple/z",
        "/srv/other/w",
    ]);
    n[0].directory = true;
    let plan = plan(&n, vec![], rules(&p));
    assert_eq!(rendered(&plan), ["/srv/app*", "/srv/other/w"]);
    let GrantReason::SharedPrefix { with } = &plan.grants[0].reason else {
        panic!("{:?}", plan.grants[0].reason)
    };
    let with: Vec<String> = with.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        with,
        [
            "/srv/app",
            "/srv/app-data/x.json",
            "/srv/app2/y.json",
            "/srv/apple/z"
        ]
    );
    assert_eq!(plan.grants[0].covers, [0, 1, 2, 3]);
}

#[test]
fn a_string_prefix_absorbed_by_a_shorter_one_passes_on_what_it_stood_for() {
    // /srv/app* is made first; then /srv/a (used itself) traps against it and becomes
    // /srv/a*, which must still stand for /srv/app-data/x.json (Deno renders the list).
    let p = Protected::default();
    let mut n = needs(&["/srv/app", "/srv/app-data/x.json", "/srv/a", "/srv/a/k"]);
    n[0].directory = true;
    n[2].directory = true;
    let plan = plan(&n, vec![], rules(&p));
    assert_eq!(rendered(&plan), ["/srv/a*"]);
    let GrantReason::SharedPrefix { with } = &plan.grants[0].reason else {
        panic!("{:?}", plan.grants[0].reason)
    };
    let mut with: Vec<String> = with.iter().map(|w| w.to_string()).collect();
    with.sort();
    assert_eq!(with, ["/srv/a", "/srv/app", "/srv/app-data/x.json"]);
    assert_eq!(plan.grants[0].covers, [0, 1, 2, 3]);
}

#[test]
fn a_string_prefix_that_would_reach_a_protected_place_is_not_used() {
    // `/etc/s*` would also grant /etc/ssh and /etc/ssl: the exact grants stay, with a warning.
    let p = Protected::default();
    let n = needs(&["/etc/s/index.js", "/etc/s-data/x.json"]);
    let plan = plan(&n, seed("/etc/s"), rules(&p));
    assert_eq!(rendered(&plan), ["/etc/s/*", "/etc/s-data/x.json"]);
    let r = &plan.review[0];
    assert_eq!(
        (r.topic.as_str(), r.severity),
        ("sibling-prefix", Severity::Warning)
    );
    assert!(r.message.contains("/etc/ssh"), "{}", r.message);
}

#[test]
fn sibling_prefix_of_an_unused_directory_is_only_a_note() {
    let p = Protected::default();
    let n = needs(&[
        "/data/in/a",
        "/data/in/b",
        "/data/in/c",
        "/data/in/d",
        "/data/in/e",
        "/data/inbox",
    ]);
    let plan = plan(&n, vec![], rules(&p));
    assert_eq!(rendered(&plan), ["/data/in/*", "/data/inbox"]);
    assert_eq!(plan.review[0].severity, Severity::Note);
    // Files with a common prefix are no trap (only directory grants are): a.txt + a.txt.bak.
    let files = needs(&["/data/a.txt", "/data/a.txt.bak"]);
    assert!(super::plan(&files, vec![], rules(&p)).review.is_empty());
}
