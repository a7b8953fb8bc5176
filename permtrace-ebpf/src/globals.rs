//! Values userspace sets before load (`EbpfLoader::set_global`).

use aya_ebpf::Global;
use permtrace_common::event::KernelOffsets;

/// permtrace's own tgid: never traced, whatever the tree or cgroup says.
#[unsafe(no_mangle)]
pub static SELF_TGID: Global<u32> = Global::new(0);

/// Field offsets in this kernel's task_struct, mm_struct and linux_binprm (from its BTF).
#[unsafe(no_mangle)]
pub static OFFSETS: Global<KernelOffsets> = Global::new(KernelOffsets {
    task_pid: 0,
    task_tgid: 0,
    task_mm: 0,
    task_exit_code: 0,
    mm_arg_start: 0,
    mm_arg_end: 0,
    bprm_filename: 0,
    exit_has_group_dead: 0,
});

/// Unread ring buffer bytes above which a producer wakes the reader.
#[unsafe(no_mangle)]
pub static WAKEUP_BYTES: Global<u64> = Global::new(64 << 10);

/// Non-zero when processes in `PT_CGROUPS` are traced too.
#[unsafe(no_mangle)]
pub static CGROUP_MODE: Global<u32> = Global::new(0);
