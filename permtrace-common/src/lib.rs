//! Types shared by the kernel programs (`permtrace-ebpf`) and the userspace collector.
//!
//! Everything here is `#![no_std]`, `#[repr(C)]` and free of implicit padding, so the same
//! bytes mean the same thing on both sides. Userspace never transmutes these bytes: it reads
//! them field by field (see `permtrace::wire`).
#![no_std]

pub mod event;
pub mod limits;
pub mod maps;
pub mod syscalls;

#[cfg(test)]
extern crate std;
