//! Names from a test-owned /etc/hosts: a command runs with a private copy bind-mounted over
//! /etc/hosts in a mount namespace of its own, so nothing outside the test is affected and
//! no DNS server is needed.

use std::path::Path;

/// `argv` wrapped to run with `hosts_file` as its /etc/hosts (`unshare -m`, bind mount). The
/// wrapper execs `argv`, so the process keeps the pid it was started with.
pub fn with_private_hosts(hosts_file: &Path, argv: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = argv
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let shell = format!(
        "mount --bind '{}' /etc/hosts && exec {}",
        hosts_file.display(),
        quoted.join(" ")
    );
    ["unshare", "-m", "sh", "-c", &shell]
        .iter()
        .map(|s| s.to_string())
        .collect()
}
