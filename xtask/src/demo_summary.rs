//! A short reading of capture.json for the demo, for builds whose permtrace does not render
//! drafts yet. Reads the JSON generically: xtask does not depend on the permtrace crate.

use std::{collections::BTreeMap, path::Path};

use anyhow::{Context as _, Result};
use serde_json::Value;

pub fn print(capture: &Path) -> Result<()> {
    let text = std::fs::read_to_string(capture)
        .with_context(|| format!("reading {}", capture.display()))?;
    let cap: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", capture.display()))?;

    let node = &cap["target"]["node"];
    let entry = cap["target"]["entry"].as_str().unwrap_or("?");
    println!(
        "\n==== capture summary ====\nnode {} ({}), entry script {entry}",
        node["version"].as_str().unwrap_or("?"),
        node["exe"].as_str().unwrap_or("?")
    );
    let stats = &cap["stats"];
    let kernel = &stats["kernel"];
    let dropped: u64 = ["ring_full", "inflight_full", "tracked_full"]
        .iter()
        .map(|k| kernel[k].as_u64().unwrap_or(0))
        .sum::<u64>()
        + stats["decode_errors"].as_u64().unwrap_or(0);
    let files = cap["files"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    println!(
        "{} events, {} processes, {} unique paths, {dropped} events dropped",
        stats["events"],
        stats["processes"],
        files.len()
    );

    let app_dir = Path::new(entry)
        .parent()
        .map(|d| format!("{}/", d.display()));
    let mut outside: BTreeMap<String, usize> = BTreeMap::new();
    println!(
        "files in the app's directory ({}):",
        app_dir.as_deref().unwrap_or("?")
    );
    for file in files {
        let path = file["path"].as_str().unwrap_or("?");
        match app_dir.as_deref().and_then(|d| path.strip_prefix(d)) {
            Some(rel) => println!("  {:<18} {rel}", access_kinds(&file["access"])),
            None => *outside.entry(top_dir(path)).or_default() += 1,
        }
    }
    let outside = outside
        .iter()
        .map(|(dir, n)| format!("{dir} ({n})"))
        .collect::<Vec<_>>()
        .join(", ");
    println!("other files, by top directory: {outside}");

    println!("network:");
    for net in cap["network"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        println!(
            "  {:<8} {}:{} ({} {})",
            net["op"].as_str().unwrap_or("?"),
            net["address"].as_str().unwrap_or("?"),
            net["port"],
            net["family"].as_str().unwrap_or("?"),
            net["protocol"].as_str().unwrap_or("?")
        );
    }
    println!("programs run:");
    for program in cap["programs"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let argv: Vec<&str> = program["argv"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        println!(
            "  {:<18} {}",
            program["exe"].as_str().unwrap_or("?"),
            argv.join(" ")
        );
    }
    Ok(())
}

fn access_kinds(access: &Value) -> String {
    access
        .as_object()
        .map(|kinds| {
            kinds
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// `/usr/lib/x86_64-linux-gnu/libc.so.6` -> `/usr`.
fn top_dir(path: &str) -> String {
    match path.trim_start_matches('/').split('/').next() {
        Some(first) if !first.is_empty() => format!("/{first}"),
        _ => path.to_string(),
    }
}
