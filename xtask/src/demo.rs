//! `cargo xtask demo`, the main job: bootstrap, build permtrace, trace the bundled example
//! app (examples/demo) with the real tracer, print the draft permission config, and show the
//! app running under it.

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::{Context as _, Result, bail};

use crate::{
    bootstrap,
    cmd::{self, Env},
    workspace,
};

/// What `permtrace run -o DIR` writes besides capture.json, and what each one is for.
const DRAFTS: &[(&str, &str)] = &[
    ("node-flags.txt", "the flags to start Node with"),
    ("node.config.json", "the same as a Node config file"),
    ("report.txt", "what was granted and why"),
];

pub fn run() -> Result<()> {
    let started = Instant::now();
    let env = bootstrap::run()?;
    println!("demo: building permtrace (release)");
    let permtrace = build_release(&env)?;
    trace_example(&env, &permtrace)?;
    println!("demo: done in {}", cmd::minutes(started.elapsed()));
    Ok(())
}

/// `cargo build --release -p permtrace`; returns the binary.
pub fn build_release(env: &Env) -> Result<PathBuf> {
    cmd::run(
        env.cargo()
            .args(["build", "--release", "--package", "permtrace"])
            .current_dir(workspace::root()),
    )?;
    Ok(workspace::target_dir().join("release/permtrace"))
}

/// Traces the example app with `permtrace`, prints the draft it wrote and runs the app again
/// under it. Fails when the app or permtrace fails, when there is no draft, or when the app
/// does not run under its draft.
pub fn trace_example(env: &Env, permtrace: &Path) -> Result<()> {
    let app = workspace::root().join("examples/demo");
    let out = workspace::target_dir().join("demo");
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("removing {}", out.display()))?;
    }
    let node = env
        .which("node")
        .context("node is not on PATH (the example app is a Node.js service)")?;

    // Loading eBPF programs needs root. Under sudo, permtrace itself runs the app as the
    // user who ran sudo, so the app never runs as root.
    let mut trace = if workspace::is_root()? {
        env.command(permtrace)
    } else {
        if env.which("sudo").is_none() {
            bail!(
                "permtrace needs root (or CAP_BPF and CAP_PERFMON) to load its eBPF programs, \
                 and sudo is not installed: run `cargo xtask demo` as root"
            );
        }
        println!("demo: permtrace needs root to load its eBPF programs: running it with sudo");
        let mut sudo = env.command("sudo");
        sudo.arg("--").arg(permtrace);
        sudo
    };
    trace
        .arg("run")
        .arg("-o")
        .arg(&out)
        .arg("--")
        .arg(&node)
        .arg("server.js")
        .current_dir(&app);
    println!(
        "demo: tracing the example app ({}) from its directory",
        app.display()
    );
    cmd::run(&mut trace).context("tracing the example app failed")?;
    print_outputs(&out)?;
    run_under_draft(env, &app, &node, &out.join(DRAFTS[0].0))
}

/// The promise of the draft, checked: the app runs under `node --permission` with exactly
/// the drafted flags, to the end, and Node denies it nothing.
fn run_under_draft(env: &Env, app: &Path, node: &Path, flags_file: &Path) -> Result<()> {
    let text = std::fs::read_to_string(flags_file)
        .with_context(|| format!("reading {}", flags_file.display()))?;
    let flags: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    // Under sudo the app runs as the user who ran sudo, as it did when traced: a run as root
    // would also leave a root-owned log file in their checkout.
    let invoker = std::env::var("SUDO_UID")
        .ok()
        .zip(std::env::var("SUDO_GID").ok())
        .filter(|(uid, _)| uid != "0");
    let mut rerun = match (workspace::is_root()?, invoker) {
        (true, Some((uid, gid))) => {
            let mut sudo = env.command("sudo");
            sudo.arg("-u")
                .arg(format!("#{uid}"))
                .arg("-g")
                .arg(format!("#{gid}"))
                .arg("--");
            sudo.arg(node);
            sudo
        }
        _ => env.command(node),
    };
    rerun.args(&flags).arg("server.js").current_dir(app);
    println!("\ndemo: running the example app again, under its draft");
    let shown = cmd::display(&rerun);
    println!("$ {shown}");
    let output = rerun
        .output()
        .with_context(|| format!("could not start `{shown}`"))?;
    print!("{}", String::from_utf8_lossy(&output.stdout));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let denied = stderr.matches("ERR_ACCESS_DENIED").count();
    if !output.status.success() || denied > 0 {
        bail!(
            "the example app does not run under its draft ({}, {denied} \
             ERR_ACCESS_DENIED):\n{stderr}",
            output.status
        );
    }
    println!("demo: the app ran to the end under its draft: exit 0, no ERR_ACCESS_DENIED");
    Ok(())
}

fn print_outputs(out: &Path) -> Result<()> {
    let (flags, _) = DRAFTS[0];
    if !out.join(flags).exists() {
        bail!(
            "permtrace wrote no {flags} to {}: every `permtrace run` must leave a draft",
            out.display()
        );
    }
    for (name, what) in DRAFTS {
        let path = out.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                println!("\n==== {} ({what}) ====", path.display());
                print!("{text}");
                if !text.ends_with('\n') {
                    println!();
                }
            }
            // Node 20 has no config file, so there is no node.config.json for it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                println!("\n==== no {name} for this Node.js version ====")
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
    println!(
        "\ndemo: the capture is {}",
        out.join("capture.json").display()
    );
    Ok(())
}
