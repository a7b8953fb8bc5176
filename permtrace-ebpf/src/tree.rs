//! Which processes are traced: the tree seeded by userspace, inherited on fork.

use aya_ebpf::helpers::generated::bpf_get_current_cgroup_id;

use crate::{
    globals::{CGROUP_MODE, SELF_TGID},
    maps::{PT_CGROUPS, PT_TRACKED},
};

#[inline(always)]
pub fn is_tracked(tgid: u32) -> bool {
    if tgid == SELF_TGID.load() {
        return false;
    }
    if PT_TRACKED.get_ptr(tgid).is_some() {
        return true;
    }
    // SAFETY: no arguments, no memory access.
    CGROUP_MODE.load() != 0
        && PT_CGROUPS
            .get_ptr(unsafe { bpf_get_current_cgroup_id() })
            .is_some()
}
