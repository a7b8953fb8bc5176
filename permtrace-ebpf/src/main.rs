//! permtrace's kernel programs.
//!
//! Four `tp_btf` programs see every syscall entry and exit and the scheduler's fork, exec and
//! exit events. They keep the traced process tree in `PT_TRACKED` (seeded by userspace before
//! the target's first instruction), stash the arguments of interesting syscalls at entry, and
//! at exit, when the kernel has faulted the user strings in, copy paths and socket addresses
//! into one combined event with the result. Everything not in the tree returns at once.
#![no_std]
#![no_main]

mod dns;
mod emit;
mod exec;
mod files;
mod globals;
mod maps;
mod mem;
mod process;
mod sockets;
mod syscalls;
mod tree;
mod uprobes;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // The verifier rejects any program that can reach this loop, so it is never taken.
    loop {}
}

// GPL is required for bpf_probe_read_user_str and friends.
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
