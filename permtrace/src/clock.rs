//! The one place that reads the system clocks, to convert kernel timestamps.

use crate::collector::Clock;

fn now_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out pointer.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}

/// Offset from `CLOCK_BOOTTIME` (the kernel programs' timestamps) to Unix time.
pub fn system_clock() -> Clock {
    Clock {
        boot_to_unix_ns: now_ns(libc::CLOCK_REALTIME) - now_ns(libc::CLOCK_BOOTTIME),
    }
}

/// `CLOCK_BOOTTIME` now, in nanoseconds.
pub fn boot_ns() -> u64 {
    now_ns(libc::CLOCK_BOOTTIME) as u64
}

/// Unix time now, in milliseconds.
pub fn unix_ms() -> u64 {
    (now_ns(libc::CLOCK_REALTIME) / 1_000_000) as u64
}
