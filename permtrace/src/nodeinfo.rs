//! Which Node.js version a traced binary is: asked from the binary itself (`--version`), run
//! as the traced user, never as root.

use std::{
    os::unix::process::CommandExt as _,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::{pathbytes::PathBytes, target::TargetUser};

/// `"22.23.3"` for a binary printing `v22.23.3`; `None` when it cannot be run or says
/// something else.
pub fn detect_node_version(exe: &PathBytes, user: Option<&TargetUser>) -> Option<String> {
    let mut cmd = Command::new(exe.as_path());
    cmd.arg("--version")
        .env_remove("NODE_OPTIONS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(u) = user {
        cmd.uid(u.uid).gid(u.gid);
    }
    let mut child = cmd.spawn().ok()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    parse_version(&String::from_utf8_lossy(&out.stdout))
}

pub fn parse_version(text: &str) -> Option<String> {
    let v = text.trim().strip_prefix('v')?;
    let mut parts = v.split('.');
    let ok = (0..3).all(|_| {
        parts
            .next()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    });
    (ok && parts.next().is_none()).then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_node_version_output() {
        assert_eq!(parse_version("v22.23.3\n").as_deref(), Some("22.23.3"));
        assert_eq!(parse_version("22.1.0"), None);
        assert_eq!(parse_version("v22.1"), None);
        assert_eq!(parse_version("Python 3.11"), None);
    }

    /// Runs the real node on PATH (the machine has one; CI installs the same kind).
    #[test]
    fn asks_the_real_node_binary() {
        let v = detect_node_version(&PathBytes::from("/usr/bin/node"), None).expect("node");
        assert!(v.split('.').count() == 3, "{v}");
    }
}
