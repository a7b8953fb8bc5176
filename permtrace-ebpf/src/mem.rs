//! The only `unsafe` of the kernel side: reads of user and kernel memory, direct loads from
//! BTF-typed pointers, and the per-CPU scratch record. Everything else calls these safe
//! wrappers.

use aya_ebpf::helpers::generated::{
    bpf_get_attach_cookie, bpf_probe_read_kernel, bpf_probe_read_kernel_str, bpf_probe_read_user,
    bpf_probe_read_user_str,
};
use core::ffi::c_void;

use crate::maps::{SCRATCH, Scratch};

/// The per-CPU record being built. A program runs to completion on one CPU without being
/// preempted by another BPF program of this object, so nothing else writes it meanwhile.
#[inline(always)]
pub fn scratch() -> Option<&'static mut Scratch> {
    let ptr = SCRATCH.get_ptr_mut(0)?;
    // SAFETY: the map value lives as long as the program and is exclusive to this CPU for
    // the duration of this program run (see above).
    Some(unsafe { &mut *ptr })
}

/// Writes `value` at byte `off` of `buf`. `off + size_of::<T>()` must fit: callers pass
/// constant offsets the compiler checks against the buffer's fixed size.
#[inline(always)]
pub fn put<T: Copy>(buf: &mut [u8], off: usize, value: T) {
    let end = off + core::mem::size_of::<T>();
    if end <= buf.len() {
        // SAFETY: bounds checked just above; write_unaligned has no alignment requirement.
        unsafe { core::ptr::write_unaligned(buf.as_mut_ptr().add(off).cast::<T>(), value) }
    }
}

/// Copies a NUL-terminated string from user memory into `dst`; the length without the NUL,
/// or `None` when the memory could not be read.
#[inline(always)]
pub fn user_str(src: u64, dst: &mut [u8]) -> Option<usize> {
    if src == 0 {
        return None;
    }
    // SAFETY: the helper writes at most dst.len() bytes into dst and checks src itself.
    let n = unsafe {
        bpf_probe_read_user_str(
            dst.as_mut_ptr().cast::<c_void>(),
            dst.len() as u32,
            src as *const c_void,
        )
    };
    if n <= 0 {
        None
    } else {
        Some((n as usize - 1).min(dst.len()))
    }
}

/// Whether a string of which [`user_str`] copied `len` bytes into a buffer of `cap` bytes is
/// longer than that. A string that filled the buffer may end exactly there (a 4095-byte
/// path is valid with PATH_MAX 4096), so look at the next byte instead of guessing; when
/// it cannot be read, say truncated.
#[inline(always)]
pub fn user_str_truncated(src: u64, len: usize, cap: usize) -> bool {
    len + 1 >= cap && user::<u8>(src + len as u64) != Some(0)
}

/// [`user_str_truncated`] for a string in kernel memory.
#[inline(always)]
pub fn kernel_str_truncated(src: u64, len: usize, cap: usize) -> bool {
    len + 1 >= cap && kernel::<u8>(src, len as u32) != Some(0)
}

/// Like [`user_str`], for a string in kernel memory.
#[inline(always)]
pub fn kernel_str(src: u64, dst: &mut [u8]) -> Option<usize> {
    if src == 0 {
        return None;
    }
    // SAFETY: as for user_str.
    let n = unsafe {
        bpf_probe_read_kernel_str(
            dst.as_mut_ptr().cast::<c_void>(),
            dst.len() as u32,
            src as *const c_void,
        )
    };
    if n <= 0 {
        None
    } else {
        Some((n as usize - 1).min(dst.len()))
    }
}

/// Copies exactly `dst.len()` bytes of user memory; false on a fault.
#[inline(always)]
pub fn user_bytes(src: u64, dst: &mut [u8]) -> bool {
    if src == 0 || dst.is_empty() {
        return false;
    }
    // SAFETY: the helper writes exactly dst.len() bytes into dst and checks src itself.
    unsafe {
        bpf_probe_read_user(
            dst.as_mut_ptr().cast::<c_void>(),
            dst.len() as u32,
            src as *const c_void,
        ) == 0
    }
}

/// Reads a `T` from user memory.
#[inline(always)]
pub fn user<T: Copy + Default>(src: u64) -> Option<T> {
    let mut v = T::default();
    // SAFETY: writes size_of::<T>() bytes into v, a plain-data T; src is checked by the helper.
    let rc = unsafe {
        bpf_probe_read_user(
            (&raw mut v).cast::<c_void>(),
            core::mem::size_of::<T>() as u32,
            src as *const c_void,
        )
    };
    (rc == 0).then_some(v)
}

/// Reads a `T` from kernel memory at `base + off`.
#[inline(always)]
pub fn kernel<T: Copy + Default>(base: u64, off: u32) -> Option<T> {
    if base == 0 {
        return None;
    }
    let mut v = T::default();
    // SAFETY: as for `user`, against kernel memory.
    let rc = unsafe {
        bpf_probe_read_kernel(
            (&raw mut v).cast::<c_void>(),
            core::mem::size_of::<T>() as u32,
            (base + off as u64) as *const c_void,
        )
    };
    (rc == 0).then_some(v)
}

/// Word `index` of the `struct pt_regs` a `tp_btf` syscall tracepoint receives. The verifier
/// types that pointer (PTR_TO_BTF_ID), so a direct load at a constant offset is allowed and
/// cheaper than a probe-read helper on the path every syscall of the machine takes.
#[inline(always)]
pub fn regs_word(regs: *const u64, index: usize) -> u64 {
    // SAFETY: `regs` is the kernel's pt_regs for this syscall and index < 21 (its size in
    // words); callers use the constants in `syscalls::regs`.
    unsafe { core::ptr::read_volatile(regs.add(index)) }
}

/// Copies a value out of a map slot returned by `get_ptr`.
#[inline(always)]
pub fn copy_value<T: Copy>(slot: *const T) -> T {
    // SAFETY: `get_ptr` returned a non-null pointer to a live, aligned map value of type T.
    unsafe { *slot }
}

/// The cookie userspace gave the attachment that is running (`bpf_get_attach_cookie`).
#[inline(always)]
pub fn attach_cookie(ctx: *mut c_void) -> u64 {
    // SAFETY: `ctx` is the program's own context pointer, which is what the helper expects.
    unsafe { bpf_get_attach_cookie(ctx) }
}
