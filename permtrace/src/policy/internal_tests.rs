use super::*;

fn stats(count: u64, ok: u64, before_main: u64, in_resolver: u64) -> AccessStats {
    AccessStats {
        count,
        ok,
        before_main,
        in_resolver,
        by: vec![0],
        ..Default::default()
    }
}

fn one(access: Access, s: AccessStats) -> BTreeMap<Access, AccessStats> {
    BTreeMap::from([(access, s)])
}

fn read_ok() -> BTreeMap<Access, AccessStats> {
    one(Access::Read, stats(1, 1, 0, 0))
}

fn verdict(path: &str, acc: &BTreeMap<Access, AccessStats>, ctx: &Context) -> Verdict {
    classify(&PathBytes::from(path), acc, ctx)
}

fn category(v: Verdict) -> &'static str {
    match v {
        Verdict::Drop { category, .. } => category,
        Verdict::Keep => "keep",
        Verdict::Ambiguous(_) => "ambiguous",
        Verdict::Addon => "addon",
    }
}

fn ctx() -> Context {
    Context {
        node_exes: BTreeSet::from([PathBytes::from("/opt/node/bin/node")]),
        ca_files: vec![PathBytes::from("/etc/ssl/certs/ca-certificates.crt")],
        ca_dirs: vec![PathBytes::from("/etc/ssl/certs")],
        startup_files: vec![PathBytes::from("/srv/app/.env")],
        ..Default::default()
    }
}

#[test]
fn loader_binary_openssl_ca_and_timezone_are_dropped() {
    let c = ctx();
    for (path, cat) in [
        ("/etc/ld.so.cache", "dynamic loader"),
        ("/etc/ld.so.preload", "dynamic loader"),
        ("/lib/x86_64-linux-gnu/libc.so.6", "dynamic loader"),
        (
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30",
            "dynamic loader",
        ),
        ("/opt/node/bin/node", "node binary"),
        ("/proc/self/exe", "node binary"),
        ("/etc/ssl/openssl.cnf", "OpenSSL"),
        ("/usr/lib/ssl/openssl.cnf", "OpenSSL"),
        ("/etc/ssl/certs/ca-certificates.crt", "CA certificates"),
        ("/etc/ssl/certs/ISRG_Root_X1.pem", "CA certificates"),
        ("/etc/localtime", "timezone"),
        ("/usr/share/zoneinfo/Europe/Paris", "timezone"),
        ("/etc/resolv.conf", "libc resolver"),
        ("/etc/nsswitch.conf", "libc resolver"),
        ("/etc/gai.conf", "libc resolver"),
        ("/srv/app/.env", "start-up"),
    ] {
        assert_eq!(category(verdict(path, &read_ok(), &c)), cat, "{path}");
    }
}

#[test]
fn loader_probes_fail_under_lib_dirs_but_node_modules_there_is_kept() {
    let c = ctx();
    let enoent = one(Access::Read, stats(1, 0, 1, 0));
    let probe = verdict(
        "/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libm.so.6",
        &enoent,
        &c,
    );
    assert_eq!(category(probe), "dynamic loader");
    let tls = verdict("/usr/lib/x86_64-linux-gnu/tls/haswell", &enoent, &c);
    assert_eq!(category(tls), "dynamic loader");
    let global = verdict("/usr/lib/node_modules/tool/index.js", &read_ok(), &c);
    assert_eq!(category(global), "keep");
}

#[test]
fn hosts_and_passwd_are_granted_unless_only_the_resolver_read_them() {
    let c = ctx();
    // The acceptance app reads /etc/hosts through fs: it must stay granted.
    assert_eq!(category(verdict("/etc/hosts", &read_ok(), &c)), "ambiguous");
    let resolver = one(Access::Read, stats(3, 3, 0, 3));
    assert_eq!(
        category(verdict("/etc/hosts", &resolver, &c)),
        "libc resolver"
    );
    let mixed = one(Access::Read, stats(3, 3, 0, 2));
    assert_eq!(category(verdict("/etc/hosts", &mixed, &c)), "ambiguous");
    assert_eq!(
        category(verdict("/etc/passwd", &read_ok(), &c)),
        "ambiguous"
    );
    // With getaddrinfo watched, a read of /etc/hosts outside it is the application's: no
    // question left. /etc/passwd stays a question (os.userInfo reads it natively too).
    let watched = Context {
        resolver_watched: true,
        ..ctx()
    };
    assert_eq!(category(verdict("/etc/hosts", &mixed, &watched)), "keep");
    assert_eq!(
        category(verdict("/etc/hosts", &read_ok(), &watched)),
        "keep"
    );
    assert_eq!(
        category(verdict("/etc/hosts", &resolver, &watched)),
        "libc resolver"
    );
    assert_eq!(
        category(verdict("/etc/passwd", &read_ok(), &watched)),
        "ambiguous"
    );
    // Anything made only inside the resolver is its own: getaddrinfo stats `/`.
    let stat_in_resolver = one(Access::Stat, stats(1, 1, 0, 1));
    assert_eq!(
        category(verdict("/", &stat_in_resolver, &c)),
        "libc resolver"
    );
    // /etc/hostname is not a resolver file: an app reading it needs the grant.
    assert_eq!(category(verdict("/etc/hostname", &read_ok(), &c)), "keep");
}

#[test]
fn proc_and_sys_drop_at_start_up_or_when_known_to_the_runtime() {
    let c = ctx();
    let startup = one(Access::Read, stats(2, 2, 2, 0));
    let later = read_ok();
    assert_eq!(
        category(verdict("/proc/self/status", &startup, &c)),
        "runtime /proc and /sys"
    );
    // Read by the application after start-up: Node checks it.
    assert_eq!(category(verdict("/proc/self/status", &later, &c)), "keep");
    assert_eq!(
        category(verdict("/proc/loadavg", &later, &c)),
        "runtime /proc and /sys"
    );
    let cg = "/sys/fs/cgroup/memory/x/memory.limit_in_bytes";
    assert_eq!(category(verdict(cg, &later, &c)), "runtime /proc and /sys");
    // glibc malloc reads it late, when a Worker's heap is freed.
    assert_eq!(
        category(verdict("/proc/sys/vm/overcommit_memory", &later, &c)),
        "runtime /proc and /sys"
    );
    assert_eq!(category(verdict("/dev/urandom", &startup, &c)), "start-up");
    assert_eq!(category(verdict("/dev/urandom", &later, &c)), "keep");
}

#[test]
fn dev_null_read_only_is_libuvs_and_read_write_only_when_node_spawned_children() {
    let mut c = ctx();
    let rd = one(Access::Read, stats(1, 1, 0, 0));
    assert_eq!(category(verdict("/dev/null", &rd, &c)), "libuv");
    let rw = one(Access::ReadWrite, stats(1, 1, 0, 0));
    assert_eq!(category(verdict("/dev/null", &rw, &c)), "keep");
    let w = one(Access::Write, stats(1, 1, 0, 0));
    assert_eq!(category(verdict("/dev/null", &w, &c)), "keep");
    c.spawned = true;
    assert_eq!(category(verdict("/dev/null", &rw, &c)), "libuv");
}

#[test]
fn addons_need_the_addon_flag_not_a_read_grant() {
    let c = ctx();
    assert_eq!(
        category(verdict("/srv/app/build/Release/x.node", &read_ok(), &c)),
        "addon"
    );
    let probe = one(Access::Stat, stats(1, 0, 0, 0));
    let v = verdict("/srv/app/node_modules/dep.node", &probe, &c);
    assert_eq!(category(v), "module resolution");
}

#[test]
fn module_resolution_stats_and_package_json_probes_are_dropped() {
    let mut c = ctx();
    c.read_ok.insert(PathBytes::from("/srv/lib/util.js"));
    c.walk_targets = ["/srv/app/index.js", "/srv/lib/util.js"]
        .into_iter()
        .map(PathBytes::from)
        .collect();
    let enoent_stat = one(Access::Stat, stats(1, 0, 0, 0));
    let ok_stat = one(Access::Stat, stats(2, 2, 1, 0));
    // Extension probe of a module that was then read.
    assert_eq!(
        category(verdict("/srv/lib/util", &enoent_stat, &c)),
        "module resolution probe"
    );
    assert_eq!(
        category(verdict("/srv/lib/util.json", &enoent_stat, &c)),
        "module resolution probe"
    );
    // An optional config file that does not exist: existsSync is checked, keep it.
    assert_eq!(
        category(verdict("/srv/lib/x.json", &enoent_stat, &c)),
        "keep"
    );
    // The realpath chain of the entry: ancestors of recorded paths.
    assert_eq!(category(verdict("/srv", &ok_stat, &c)), "path walk");
    assert_eq!(category(verdict("/srv/app", &ok_stat, &c)), "path walk");
    let enoent_read = one(Access::Read, stats(1, 0, 0, 0));
    assert_eq!(
        category(verdict("/srv/package.json", &enoent_read, &c)),
        "module resolution probe"
    );
    // A read package.json is checked (bare-specifier resolution on 22+).
    assert_eq!(
        category(verdict("/srv/app/package.json", &read_ok(), &c)),
        "keep"
    );
    // existsSync of a missing config file is checked (it throws when denied).
    assert_eq!(
        category(verdict("/etc/myapp.conf", &enoent_stat, &c)),
        "keep"
    );
    // A stat of a leaf directory nothing else was recorded under is the application's, and
    // so is a stat of the directory of a file it writes (Node does not walk to those).
    assert_eq!(category(verdict("/var/data", &ok_stat, &c)), "keep");
    c.walk_targets
        .insert(PathBytes::from("/usr/share/zoneinfo/Etc/UTC"));
    assert_eq!(category(verdict("/usr/share", &ok_stat, &c)), "path walk");
    assert_eq!(category(verdict("/var/log/app", &ok_stat, &c)), "keep");
    // access() is no part of a walk: existsSync/accessSync of an ancestor is checked.
    let exists = one(Access::Access, stats(1, 1, 0, 0));
    assert_eq!(category(verdict("/srv/app", &exists, &c)), "keep");
    let readlink = one(Access::Readlink, stats(1, 0, 0, 0));
    assert_eq!(category(verdict("/usr/share", &readlink, &c)), "path walk");
}

#[test]
fn writes_are_always_kept() {
    let c = ctx();
    let w = one(Access::Write, stats(1, 1, 0, 0));
    assert_eq!(category(verdict("/etc/ld.so.cache", &w, &c)), "keep");
    assert_eq!(
        category(verdict("/proc/self/oom_score_adj", &w, &c)),
        "keep"
    );
}
