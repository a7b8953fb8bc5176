//! Names of the maps and globals userspace opens, kept here so the two sides cannot drift.

/// Ring buffer carrying every event.
pub const EVENTS: &str = "PT_EVENTS";
/// `HashMap<u32 tgid, u32 TrackReason>`: the traced process tree.
pub const TRACKED: &str = "PT_TRACKED";
/// `HashMap<u64 cgroup id, u32>`: cgroups whose members are traced (`attach --cgroup`).
pub const CGROUPS: &str = "PT_CGROUPS";
/// `PerCpuArray<u64>` of counters indexed by [`Stat`].
pub const STATS: &str = "PT_STATS";

/// Global: tgid of permtrace itself, which is never traced.
pub const GLOBAL_SELF_TGID: &str = "SELF_TGID";
/// Global: [`crate::event::KernelOffsets`] for the running kernel, computed from its BTF.
pub const GLOBAL_OFFSETS: &str = "OFFSETS";
/// Global: unread ring buffer bytes above which a producer wakes the reader.
pub const GLOBAL_WAKEUP_BYTES: &str = "WAKEUP_BYTES";
/// Global: non-zero when the cgroup filter (`PT_CGROUPS`) is in use.
pub const GLOBAL_CGROUP_MODE: &str = "CGROUP_MODE";

/// Why a tgid is in `PT_TRACKED` (its value).
pub mod track {
    /// Seeded by the tracer: the command `permtrace run` started, or an `attach --pid` target.
    pub const ROOT: u32 = 1;
    /// Inherited at fork from a tracked parent.
    pub const CHILD: u32 = 2;
    /// Added while it ran inside a traced cgroup.
    pub const CGROUP: u32 = 3;
}

/// Indices of the per-CPU counters in `PT_STATS`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    /// Events written to the ring buffer.
    Emitted = 0,
    /// Events lost because the ring buffer had no room.
    RingFull = 1,
    /// Syscalls lost because the in-flight argument table had no room.
    InflightFull = 2,
    /// Processes that could not be tracked because `PT_TRACKED` was full.
    TrackedFull = 3,
    /// User memory that could not be read (a path or address is missing from its event).
    ReadFault = 4,
}

impl Stat {
    pub const COUNT: u32 = 5;
    pub const ALL: [Stat; Stat::COUNT as usize] = [
        Stat::Emitted,
        Stat::RingFull,
        Stat::InflightFull,
        Stat::TrackedFull,
        Stat::ReadFault,
    ];
}
