//! The draft permtrace wrote (node-flags.txt, node.config.json, report.txt), and the checks
//! that need no Node run: the shape rules of node-permission.md sections 4 and 6 that, when
//! broken, make Node misbehave quietly rather than fail loudly.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

use serde_json::Value;

use super::{runs::clip, workspace::Workspace};

pub struct Draft {
    pub dir: PathBuf,
    pub flags: Vec<String>,
    pub config_path: PathBuf,
    pub config: String,
    pub report: String,
}

impl Draft {
    pub fn read(dir: &Path) -> Result<Draft, String> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).map_err(|e| {
                format!(
                    "permtrace wrote no readable {name} in {}: {e}",
                    dir.display()
                )
            })
        };
        let flags_text = read("node-flags.txt")?;
        Ok(Draft {
            dir: dir.to_path_buf(),
            flags: flags_text.lines().map(str::to_string).collect(),
            config_path: dir.join("node.config.json"),
            config: read("node.config.json")?,
            report: read("report.txt")?,
        })
    }

    /// The flags for `--permission-audit` instead of enforcement.
    pub fn audit_flags(&self) -> Vec<String> {
        self.flags
            .iter()
            .map(|f| match f.as_str() {
                "--permission" => "--permission-audit".to_string(),
                _ => f.clone(),
            })
            .collect()
    }

    /// `(flag name, path)` of every `--allow-fs-read=`/`--allow-fs-write=` line.
    pub fn fs_grants(&self) -> Vec<(&str, &str)> {
        self.flags
            .iter()
            .filter_map(|f| f.split_once('='))
            .filter(|(k, _)| matches!(*k, "--allow-fs-read" | "--allow-fs-write"))
            .collect()
    }

    /// The whole draft, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "--- {}/node-flags.txt ---\n{}\n--- node.config.json ---\n{}\n--- report.txt ---\n{}",
            self.dir.display(),
            self.flags.join("\n"),
            clip(&self.config),
            clip(&self.report)
        )
    }
}

/// Problems with the draft's form for Node `major`, given where the app lives.
pub fn shape_problems(d: &Draft, major: u32, ws: &Workspace) -> Vec<String> {
    let mut problems = Vec::new();
    for f in &d.flags {
        if !f.starts_with("--") || f.trim() != f {
            problems.push(format!("node-flags.txt line {f:?} is not a single flag"));
        }
    }
    let unique: BTreeSet<&String> = d.flags.iter().collect();
    if unique.len() != d.flags.len() {
        problems.push("node-flags.txt repeats a line".into());
    }
    if !d.flags.iter().any(|f| f == "--permission") {
        problems.push(format!(
            "no --permission line (Node {major} needs it to enable the model)"
        ));
    }
    if major < 25 && d.flags.iter().any(|f| f.starts_with("--allow-net")) {
        problems.push(format!("--allow-net is a bad option on Node {major}"));
    }
    for f in &d.flags {
        let name = f.split('=').next().unwrap_or(f);
        if name != "--permission"
            && !name.starts_with("--allow-fs-")
            && !ws.app.uses.contains(&name)
        {
            problems.push(format!("{f}: the app does not need it (an over-grant)"));
        }
    }
    for (flag, path) in d.fs_grants() {
        problems.extend(grant_problems(flag, path, ws));
    }
    problems.extend(overlap_problems(&d.fs_grants()));
    problems.extend(config_problems(d, major));
    problems
}

/// One grant: absolute, no comma list, `*` only as a trailing `/*`, never `/` or a directory
/// holding the app's root, and inside the root unless the app needs that path.
fn grant_problems(flag: &str, path: &str, ws: &Workspace) -> Vec<String> {
    let mut out = Vec::new();
    let bad = |why: &str| format!("{flag}={path}: {why}");
    if !path.starts_with('/') {
        out.push(bad("not absolute (Node resolves it against the cwd)"));
    }
    if path.contains(',') {
        out.push(bad("a comma list (Node takes it as one literal path)"));
    }
    let bare = path.strip_suffix("/*").unwrap_or(path);
    if bare.contains('*') {
        out.push(bad(
            "`*` is a raw string prefix anywhere but after a trailing `/`",
        ));
    }
    let bare = Path::new(bare.trim_end_matches('/'));
    let root = &ws.root;
    if bare.as_os_str().is_empty() || ws.base.starts_with(bare) {
        out.push(bad(&format!(
            "grants a directory holding the app's root {} (the draft must stay this side of it)",
            root.display()
        )));
    } else if !bare.starts_with(root) && !ws.app.outside_grants.iter().any(|g| bare.starts_with(g))
    {
        out.push(bad(&format!(
            "outside the app's root {} and not among the paths it uses there ({:?})",
            root.display(),
            ws.app.outside_grants
        )));
    }
    out
}

/// Node's radix tree un-grants a directory when another grant's path string extends it
/// (`/a/b` with `/a/b/c` or `/a/bc`): never emit such pairs (node-permission.md 4.2).
fn overlap_problems(grants: &[(&str, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, (fa, a)) in grants.iter().enumerate() {
        for (fb, b) in &grants[i + 1..] {
            let (a, b) = (a.trim_end_matches("/*"), b.trim_end_matches("/*"));
            if fa == fb && (a.starts_with(b) || b.starts_with(a)) {
                out.push(format!(
                    "{fa}={a} and {fb}={b} overlap as strings: Node then denies the shorter one itself"
                ));
            }
        }
    }
    out
}

/// node.config.json: valid JSON with `$schema`, in a shape this version honours, granting the
/// same fs paths as the flags.
fn config_problems(d: &Draft, major: u32) -> Vec<String> {
    let mut out = Vec::new();
    let cfg: Value = match serde_json::from_str(&d.config) {
        Ok(v) => v,
        Err(e) => return vec![format!("node.config.json is not JSON: {e}")],
    };
    if !cfg.get("$schema").is_some_and(Value::is_string) {
        out.push("node.config.json has no \"$schema\"".into());
    }
    if major == 22 && cfg.get("permission").is_some() {
        out.push(
            "node.config.json has a \"permission\" namespace, which Node 22 silently ignores"
                .into(),
        );
    }
    let from_config = |key: &str| -> BTreeSet<String> {
        ["nodeOptions", "permission"]
            .iter()
            .filter_map(|ns| cfg.get(ns)?.get(key))
            .flat_map(|v| match v {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a
                    .iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect(),
                _ => vec![],
            })
            .collect()
    };
    for (key, flag) in [
        ("allow-fs-read", "--allow-fs-read"),
        ("allow-fs-write", "--allow-fs-write"),
    ] {
        let flags: BTreeSet<String> = d
            .fs_grants()
            .into_iter()
            .filter(|(f, _)| *f == flag)
            .map(|(_, p)| p.to_string())
            .collect();
        let config = from_config(key);
        if flags != config {
            out.push(format!(
                "node.config.json {key} {config:?} differs from node-flags.txt {flags:?}"
            ));
        }
    }
    out
}

/// `22` from `22.23.3`.
pub fn major(version: &str) -> u32 {
    version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .expect("a version like 22.23.3")
}
