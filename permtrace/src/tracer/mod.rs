//! The kernel edge: loads and attaches the eBPF programs, seeds the traced tree, and hands
//! out the ring buffer and counters. Dropping a [`Tracer`] detaches everything.

mod btf_offsets;
mod detach;
mod elf_symbols;
mod privileges;
mod probe_targets;
mod programs;
mod ring;
mod uprobes;

pub use btf_offsets::{VMLINUX_BTF, kernel_offsets};
pub use privileges::{PrivilegeError, check_privileges};
pub use probe_targets::{Probed, likely_node_binaries};
pub use ring::EventRing;
pub use uprobes::GETADDRINFO;

use anyhow::{Context as _, Result};
use aya::{
    Ebpf, EbpfLoader, include_bytes_aligned,
    maps::{HashMap, MapData, PerCpuArray},
};
use permtrace_common::{
    limits,
    maps::{self as names, Stat},
};

/// The eBPF object, built by build.rs for this very binary (so kernel and user side agree).
static OBJECT: &[u8] = include_bytes_aligned!(concat!(env!("OUT_DIR"), "/permtrace"));

#[derive(Clone, Debug)]
pub struct TracerOptions {
    /// Ring buffer size in bytes (a power of two, at least a page).
    pub ring_bytes: u32,
    /// Unread bytes in the ring before a producer wakes the reader.
    pub wakeup_bytes: u64,
}

impl Default for TracerOptions {
    fn default() -> Self {
        Self {
            ring_bytes: limits::DEFAULT_RING_BYTES,
            wakeup_bytes: limits::DEFAULT_WAKEUP_BYTES,
        }
    }
}

/// Counters kept by the kernel programs, summed over CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KernelStats {
    /// Events written to the ring buffer.
    pub emitted: u64,
    /// Events lost: ring buffer full.
    pub ring_full: u64,
    /// Syscalls lost: in-flight table full.
    pub inflight_full: u64,
    /// Processes not followed: tracked table full.
    pub tracked_full: u64,
    /// User memory that could not be read (events kept, with the field marked).
    pub read_faults: u64,
}

impl KernelStats {
    /// Events the kernel saw but could not deliver.
    pub fn dropped(&self) -> u64 {
        self.ring_full + self.inflight_full + self.tracked_full
    }
}

pub struct Tracer {
    // Keeps programs and links alive.
    ebpf: Ebpf,
    uprobes: uprobes::Uprobes,
    tracked: HashMap<MapData, u32, u32>,
    cgroups: HashMap<MapData, u64, u32>,
    stats: PerCpuArray<MapData, u64>,
    ring: Option<EventRing>,
}

impl Tracer {
    /// Loads and attaches every program. Fails with an actionable message when privileges,
    /// BTF or the verifier say no (the verifier's log is part of the error).
    pub fn start(opts: &TracerOptions, cgroup_mode: bool) -> Result<Tracer> {
        check_privileges()?;
        let vmlinux = btf_rs::Btf::from_file(VMLINUX_BTF)
            .with_context(|| format!("reading the kernel's BTF from {VMLINUX_BTF}"))?;
        let offsets = kernel_offsets(&vmlinux)?;
        let btf = aya::Btf::from_sys_fs().context("loading the kernel BTF for tp_btf programs")?;

        let self_tgid = std::process::id();
        let cgroup_mode = u32::from(cgroup_mode);
        let wakeup_bytes = wakeup_threshold(opts);
        let mut ebpf = EbpfLoader::new()
            .btf(Some(&btf))
            .map_max_entries(names::EVENTS, opts.ring_bytes)
            .override_global(names::GLOBAL_SELF_TGID, &self_tgid, true)
            .override_global(names::GLOBAL_OFFSETS, &offsets, true)
            .override_global(names::GLOBAL_WAKEUP_BYTES, &wakeup_bytes, true)
            .override_global(names::GLOBAL_CGROUP_MODE, &cgroup_mode, true)
            .load(OBJECT)
            .context("loading permtrace's eBPF object into the kernel")?;
        programs::attach_all(&mut ebpf, &btf)?;
        let mut uprobes = uprobes::Uprobes::load(&mut ebpf);
        // The host's libc is what `run` starts and most processes use; others (containers,
        // musl) are probed when a traced process opens them.
        if let Some(libc) = probe_targets::own_libc() {
            uprobes.probe_libc(&mut ebpf, &libc);
        }

        let tracked = take(&mut ebpf, names::TRACKED)?;
        let cgroups = take(&mut ebpf, names::CGROUPS)?;
        let stats = take(&mut ebpf, names::STATS)?;
        let ring = EventRing::new(
            ebpf.take_map(names::EVENTS)
                .context("the eBPF object has no PT_EVENTS map")?,
        )?;
        Ok(Tracer {
            ebpf,
            uprobes,
            tracked,
            cgroups,
            stats,
            ring: Some(ring),
        })
    }

    /// Follows `tgid` and, from now on, every process it creates.
    pub fn track(&mut self, tgid: u32, reason: u32) -> Result<()> {
        self.tracked
            .insert(tgid, reason, 0)
            .with_context(|| format!("adding pid {tgid} to the traced set"))
    }

    /// Follows every process in the cgroup (v2) with this id.
    pub fn track_cgroup(&mut self, cgroup_id: u64) -> Result<()> {
        self.cgroups
            .insert(cgroup_id, 1, 0)
            .with_context(|| format!("adding cgroup {cgroup_id} to the traced set"))
    }

    /// Stops following every process: empties the traced set and returns the tgids that were
    /// still in it (processes of the tree still alive). Afterwards the kernel only sends the
    /// results of syscalls that were already under way, so draining the ring terminates even
    /// when those processes keep running.
    pub fn untrack_all(&mut self) -> Result<Vec<u32>> {
        let mut removed = Vec::new();
        // A process forking while we delete adds a key behind the iterator: go again until
        // the map is empty (each round removes everything it saw).
        for _ in 0..16 {
            let keys: Vec<u32> = self.tracked.keys().filter_map(|k| k.ok()).collect();
            if keys.is_empty() {
                break;
            }
            for k in keys {
                if self.tracked.remove(&k).is_ok() {
                    removed.push(k);
                }
            }
        }
        removed.sort_unstable();
        removed.dedup();
        Ok(removed)
    }

    /// Whether `tgid` is currently in the traced set (it leaves when it exits).
    pub fn is_tracked(&self, tgid: u32) -> bool {
        self.tracked.get(&tgid, 0).is_ok()
    }

    /// Attaches the Node runtime-feature uprobes to a node binary before it runs (`run` does
    /// this for the command it starts, so even its first Worker is seen). Once per file.
    pub fn probe_node_binary(&mut self, path: &std::path::Path) -> crate::collector::ProbeReport {
        self.uprobes.probe_node(&mut self.ebpf, path)
    }

    /// Probes what an event shows a traced process is about to use (see
    /// [`uprobes::Uprobes::follow`]).
    pub fn follow_native(
        &mut self,
        ev: &crate::event::Event,
        resolved: &crate::resolve::Resolved,
    ) -> Option<Probed> {
        self.uprobes.follow(&mut self.ebpf, ev, resolved)
    }

    /// Probes a process found running when attaching (its node binary and C library), so its
    /// runtime features and lookups from now on are seen. Hand the results to
    /// `Collector::note_probes` (the node report with `library: None`).
    pub fn probe_process(
        &mut self,
        tgid: u32,
        exe: &crate::pathbytes::PathBytes,
    ) -> (Option<crate::collector::ProbeReport>, Vec<Probed>) {
        self.uprobes.probe_process(&mut self.ebpf, tgid, exe)
    }

    /// The ring buffer; taken once by the event loop.
    pub fn take_ring(&mut self) -> Option<EventRing> {
        self.ring.take()
    }

    pub fn stats(&self) -> Result<KernelStats> {
        let sum = |s: Stat| -> Result<u64> {
            Ok(self
                .stats
                .get(&(s as u32), 0)
                .context("reading PT_STATS")?
                .iter()
                .sum())
        };
        Ok(KernelStats {
            emitted: sum(Stat::Emitted)?,
            ring_full: sum(Stat::RingFull)?,
            inflight_full: sum(Stat::InflightFull)?,
            tracked_full: sum(Stat::TrackedFull)?,
            read_faults: sum(Stat::ReadFault)?,
        })
    }
}

/// When producers wake the reader. Waking it per event doubles the cost of an open, so they
/// only wake it once `wakeup_bytes` are waiting; but a ring not much larger than that would
/// fill up before anyone is woken (with a 64 KiB ring and the 64 KiB default, never: the
/// reader would only see events on its periodic drain and the ring would overflow in
/// between). A quarter of the ring keeps room for the reader to get scheduled.
fn wakeup_threshold(opts: &TracerOptions) -> u64 {
    opts.wakeup_bytes.min(u64::from(opts.ring_bytes) / 4).max(1)
}

fn take<T>(ebpf: &mut Ebpf, name: &str) -> Result<T>
where
    T: TryFrom<aya::maps::Map, Error = aya::maps::MapError>,
{
    let map = ebpf
        .take_map(name)
        .with_context(|| format!("the eBPF object has no {name} map"))?;
    T::try_from(map).with_context(|| format!("opening map {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_rings_wake_the_reader_before_they_fill() {
        let opts = |ring_bytes| TracerOptions {
            ring_bytes,
            ..Default::default()
        };
        assert_eq!(
            wakeup_threshold(&opts(limits::DEFAULT_RING_BYTES)),
            limits::DEFAULT_WAKEUP_BYTES
        );
        assert_eq!(wakeup_threshold(&opts(64 << 10)), 16 << 10);
        assert_eq!(wakeup_threshold(&opts(8 << 10)), 2 << 10);
        assert_eq!(wakeup_threshold(&opts(4 << 10)), 1 << 10);
    }
}
