//! The bench table: medians per workload and configuration, as ratios against the untraced
//! runs of the same bench run.

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use anyhow::Result;

use super::runs::{Config, Sample, Workload};
use crate::cmd::{self, Env};

#[derive(Default)]
pub struct Results {
    samples: BTreeMap<(Workload, Config), Vec<Sample>>,
}

impl Results {
    pub fn add(&mut self, workload: Workload, config: Config, sample: Sample) {
        self.samples
            .entry((workload, config))
            .or_default()
            .push(sample);
    }

    pub fn markdown(&self, machine: &str, repeat: u32) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "{machine}\n");
        let _ = writeln!(
            md,
            "Median of {repeat} runs per row; configurations interleaved. loop = time inside the \
             workload's loop, measured by node (range: fastest and slowest run); wall = the \
             whole command (tracer start-up and teardown included). × = ratio to the untraced \
             median of the same bench run. dropped = events the kernel could not deliver (max over runs).\n"
        );
        let _ = writeln!(
            md,
            "| workload | configuration | loop ms | loop range | × loop | wall ms | × wall | events \
             | dropped |"
        );
        let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
        let mut workloads: Vec<Workload> = self.samples.keys().map(|(w, _)| *w).collect();
        workloads.dedup();
        for workload in &workloads {
            let base = self.medians(*workload, Config::Untraced);
            for ((w, config), samples) in &self.samples {
                if w != workload {
                    continue;
                }
                let (loop_ms, wall_ms) = self.medians(*w, *config).unwrap_or_default();
                let ratio = |v: f64, b: Option<f64>| match b {
                    Some(b) if b > 0.0 => format!("{:.2}", v / b),
                    _ => "–".into(),
                };
                let events = median_u64(samples.iter().filter_map(|s| s.kernel.map(|k| k.events)));
                let dropped = samples
                    .iter()
                    .filter_map(|s| s.kernel.map(|k| k.dropped))
                    .max();
                let (lo, hi) = samples.iter().fold((f64::MAX, 0.0f64), |(lo, hi), s| {
                    (lo.min(s.loop_ms), hi.max(s.loop_ms))
                });
                let _ = writeln!(
                    md,
                    "| {} | {} | {loop_ms:.0} | {lo:.0}–{hi:.0} | {} | {wall_ms:.0} | {} | {} \
                     | {} |",
                    w.name(),
                    config.name(),
                    ratio(loop_ms, base.map(|b| b.0)),
                    ratio(wall_ms, base.map(|b| b.1)),
                    events.map_or("–".into(), |e| e.to_string()),
                    dropped.map_or("–".into(), |d| d.to_string()),
                );
            }
        }
        let _ = writeln!(md, "\nWorkloads (scripts in `xtask/bench/`):");
        for w in &workloads {
            let _ = writeln!(md, "- {}: {}", w.name(), w.describe());
        }
        let mut configs: Vec<Config> = self.samples.keys().map(|(_, c)| *c).collect();
        configs.sort();
        configs.dedup();
        let _ = writeln!(md, "\nConfigurations:");
        for c in configs {
            let _ = writeln!(md, "- {}: {}", c.name(), c.describe());
        }
        md
    }

    fn medians(&self, workload: Workload, config: Config) -> Option<(f64, f64)> {
        let samples = self.samples.get(&(workload, config))?;
        Some((
            median(samples.iter().map(|s| s.loop_ms))?,
            median(samples.iter().map(|s| s.wall_ms))?,
        ))
    }
}

fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

fn median_u64(values: impl Iterator<Item = u64>) -> Option<u64> {
    median(values.map(|v| v as f64)).map(|m| m.round() as u64)
}

/// One line naming the machine, the date and the Node.js version.
pub fn machine(env: &Env, node: &Path) -> Result<String> {
    let date = cmd::output(env.command("date").args(["-u", "+%Y-%m-%d"]))?;
    let kernel = cmd::output(env.command("uname").arg("-r"))?;
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let node_version = cmd::output(std::process::Command::new(node).arg("--version"))?;
    // Ratios are only as good as the machine is quiet: say how busy it was.
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| {
            let mut f = l.split_whitespace();
            Some(format!("{} (1 min), {} (5 min)", f.next()?, f.next()?))
        })
        .unwrap_or_else(|| "unknown".into());
    Ok(format!(
        "Measured {date} by `cargo xtask bench` on {cores} cores ({cpu}), kernel {kernel}, \
         node {node_version}; load average at the end: {load}."
    ))
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median([3.0, 1.0, 2.0].into_iter()), Some(2.0));
        assert_eq!(median([4.0, 1.0, 2.0, 3.0].into_iter()), Some(2.5));
        assert_eq!(median(std::iter::empty()), None);
    }
}
