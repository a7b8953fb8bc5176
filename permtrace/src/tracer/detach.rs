//! Detaching perf-event-based probes (uprobes) without making permtrace's exit wait.
//!
//! Closing the last reference to a uprobe's perf event runs `tracepoint_synchronize_unregister`
//! under the kernel's `event_mutex`: ~70 ms per link here, strictly one after another (closing
//! them from parallel threads did not help). A capture with two node binaries holds ~16 links,
//! over a second of exit delay after the output is already written. So the slow part is handed
//! to a helper process: it is forked holding a copy of every open file, permtrace drops its own
//! references (instantly, since they are no longer the last), exits, and the helper closes
//! everything and disappears. The probes stay attached meanwhile; their programs only see
//! processes in the traced set, whose events nobody reads any more.

/// Runs `release` (which drops the links) so that the kernel's detach work happens in a
/// detached helper process. Falls back to doing it here when no helper can be started.
pub fn release_in_background(release: impl FnOnce()) {
    let mut pipe = [0i32; 2];
    // SAFETY: pipe2 writes two fds into the array it is given.
    if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        release();
        return;
    }
    let [read_end, write_end] = pipe;
    // SAFETY: the child only makes async-signal-safe calls (close, fork, read, close_range,
    // _exit) before it exits, as fork in a multi-threaded process requires.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: see above; raw syscalls on fds this process owns.
        unsafe {
            // Whoever waits for permtrace's output must not wait for the helper.
            libc::close(0);
            libc::close(1);
            libc::close(2);
            // A grandchild, so the helper is never a zombie of a still-running permtrace.
            if libc::fork() != 0 {
                libc::_exit(0);
            }
            libc::close(write_end);
            // EOF once permtrace has dropped its references (or is gone).
            let mut byte = 0u8;
            libc::read(read_end, (&raw mut byte).cast(), 1);
            libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32);
            libc::_exit(0);
        }
    }
    if pid > 0 {
        let mut status = 0;
        // SAFETY: waits for the intermediate child forked above, which exits at once.
        unsafe { libc::waitpid(pid, &mut status, 0) };
    }
    release();
    // SAFETY: closing the pipe fds this function created.
    unsafe {
        libc::close(write_end);
        libc::close(read_end);
    }
}
