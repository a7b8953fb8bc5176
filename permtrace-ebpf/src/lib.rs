//! Empty: this crate's product is the `permtrace` eBPF object built from `main.rs`. The
//! library target only lets the userspace crate name it as a build dependency.
#![no_std]
