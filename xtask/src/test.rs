//! `cargo xtask test`, the README's test command and what `.ci/run` calls: every test of the
//! workspace's default members, as root, with the Node.js binaries fetched up front, then the
//! bundled example traced end to end. Kernel tests never skip, so neither does this: without
//! root it fails before building anything.

use std::{
    io::{BufRead as _, BufReader},
    process::Stdio,
    time::Instant,
};

use anyhow::{Context as _, Result, bail};

use crate::{bootstrap, cmd, demo, nodes, workspace};

pub fn run() -> Result<()> {
    if !workspace::is_root()? {
        bail!(
            "the tests must run as root: the kernel tests load eBPF programs and never skip, so \
             without root they would all fail. Run it as root, e.g. \
             `sudo -E env \"PATH=$PATH\" cargo xtask test`."
        );
    }
    let started = Instant::now();
    let env = bootstrap::run()?;
    nodes::ensure_test_versions(&env)?;

    // Never `--workspace`: the eBPF crate is not a host crate. The default members are.
    let mut test = env.cargo();
    test.args(["test", "--no-fail-fast"])
        .current_dir(workspace::root())
        .stdout(Stdio::piped());
    println!("$ {}", cmd::display(&test));
    let mut child = test.spawn().context("starting cargo test")?;
    let mut tally = Tally::default();
    let stdout = child.stdout.take().context("cargo test's stdout")?;
    // Test output is not always UTF-8; read it as bytes so one odd line cannot stop the tally.
    for line in BufReader::new(stdout).split(b'\n') {
        let line = line.context("reading cargo test's output")?;
        let line = String::from_utf8_lossy(&line);
        println!("{line}");
        tally.read(&line);
    }
    let status = child.wait().context("waiting for cargo test")?;

    // The binary cargo test built for the integration tests. `cargo build -p permtrace` would
    // unify features differently from `cargo test` and rebuild half the tree, nested eBPF
    // build included, for nothing.
    println!("\ntest: tracing the bundled example app end to end (what `cargo xtask demo` does)");
    let demo = demo::trace_example(&env, &workspace::target_dir().join("debug/permtrace"));

    println!(
        "\n==== test summary ====\ncargo test: {} passed, {} failed, {} ignored in {} test \
         suites ({})\nexample app traced end to end: {}\ntook {}",
        tally.passed,
        tally.failed.len(),
        tally.ignored,
        tally.suites,
        if status.success() {
            "ok".to_string()
        } else {
            format!("cargo {status}")
        },
        match &demo {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("FAILED: {e:#}"),
        },
        cmd::minutes(started.elapsed())
    );
    for name in &tally.failed {
        println!("FAILED: {name}");
    }
    if !status.success() || !tally.failed.is_empty() {
        bail!("tests failed");
    }
    if tally.suites == 0 || tally.passed == 0 {
        bail!("cargo test ran no tests; that is not a pass");
    }
    if tally.ignored > 0 {
        bail!(
            "{} tests are marked ignored: CI never runs them, so they count as failures here; \
             remove the attribute",
            tally.ignored
        );
    }
    demo.context("the example app")?;
    Ok(())
}

/// What the libtest output of every suite adds up to.
#[derive(Debug, Default)]
struct Tally {
    suites: u32,
    passed: u64,
    ignored: u64,
    failed: Vec<String>,
}

impl Tally {
    fn read(&mut self, line: &str) {
        if let Some(result) = line.strip_prefix("test result: ") {
            self.suites += 1;
            self.passed += count(result, "passed");
            self.ignored += count(result, "ignored");
        } else if let Some(name) = line
            .strip_prefix("test ")
            .and_then(|l| l.strip_suffix(" ... FAILED"))
        {
            self.failed.push(name.to_string());
        }
    }
}

/// `N` from the `N <what>` item of a libtest result line.
fn count(result: &str, what: &str) -> u64 {
    result
        .split([';', '.'])
        .filter_map(|item| item.trim().strip_suffix(what))
        .find_map(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::Tally;

    #[test]
    fn result_lines_add_up() {
        let mut t = Tally::default();
        for line in [
            "test wire::tests::decodes ... ok",
            "test run_exit::signal ... FAILED",
            "test result: FAILED. 12 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; \
             finished in 3.20s",
            "test result: ok. 3 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; \
             finished in 0.00s",
        ] {
            t.read(line);
        }
        assert_eq!((t.suites, t.passed, t.ignored), (2, 15, 2));
        assert_eq!(t.failed, vec!["run_exit::signal".to_string()]);
    }
}
