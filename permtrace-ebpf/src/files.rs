//! Events for syscalls on paths and on directory fds.

use permtrace_common::{
    event::{EventKind, FdEvent, PathEvent, flags},
    limits::PATH_CAP,
    maps::Stat,
    syscalls::{AT_EMPTY_PATH, AT_FDCWD, NO_ARG, PathArgs, nr},
};

use crate::{
    emit::{bump, header, send},
    mem::{put, scratch, user, user_str, user_str_truncated},
    syscalls::arg,
};

const TAIL: usize = PathEvent::TAIL;

#[inline(always)]
pub fn path_exit(nr: u32, a: PathArgs, args: &[u64; 6], ret: i64) {
    let ev_flags = if a.flags == NO_ARG {
        0
    } else {
        arg(args, a.flags)
    };
    let mode = if a.mode == NO_ARG {
        0
    } else {
        arg(args, a.mode) as u32
    };
    let dirfd = if a.dirfd == NO_ARG {
        AT_FDCWD
    } else {
        arg(args, a.dirfd) as i32
    };
    let dirfd2 = if a.dirfd2 == NO_ARG {
        AT_FDCWD
    } else {
        arg(args, a.dirfd2) as i32
    };
    let path2 = if a.path2 == NO_ARG {
        0
    } else {
        arg(args, a.path2)
    };
    emit_path(
        nr,
        ret,
        dirfd,
        arg(args, a.path),
        dirfd2,
        path2,
        ev_flags,
        mode,
    );
}

/// `openat2(dfd, path, struct open_how *how, size)`: flags and mode come from `how`.
#[inline(always)]
pub fn openat2_exit(args: &[u64; 6], ret: i64) {
    let open_flags = user::<u64>(args[2]).unwrap_or(0);
    let mode = user::<u64>(args[2] + 8).unwrap_or(0) as u32;
    emit_path(
        nr::OPENAT2,
        ret,
        args[0] as i32,
        args[1],
        AT_FDCWD,
        0,
        open_flags,
        mode,
    );
}

#[inline(always)]
#[expect(
    clippy::too_many_arguments,
    reason = "one flat record, built in one place"
)]
fn emit_path(
    nr: u32,
    ret: i64,
    dirfd: i32,
    path: u64,
    dirfd2: i32,
    path2: u64,
    ev_flags: u64,
    mode: u32,
) {
    let Some(s) = scratch() else { return };
    let buf = &mut s.buf;
    let mut hdr = header(EventKind::Path, nr, ret);

    let path_len = match user_str(path, &mut buf[TAIL..TAIL + PATH_CAP]) {
        Some(n) => {
            if user_str_truncated(path, n, PATH_CAP) {
                hdr.flags |= flags::PATH_TRUNCATED;
            }
            n
        }
        None => {
            hdr.flags |= flags::PATH_FAULT;
            bump(Stat::ReadFault);
            0
        }
    };
    // An fd operation that slipped past the entry filter (its path was not resident then).
    if path_len == 0 && hdr.flags & flags::PATH_FAULT == 0 && ev_flags & AT_EMPTY_PATH != 0 {
        return;
    }

    let mut path2_len = 0;
    let mut size = TAIL + path_len;
    if path2 != 0 {
        // Right after the first path, so a rename costs its two names, not two PATH_MAX
        // windows. The mask only bounds the offset for the verifier (path_len < PATH_CAP).
        let at = TAIL + (path_len & (PATH_CAP - 1));
        hdr.flags |= flags::HAS_PATH2;
        match user_str(path2, &mut buf[at..at + PATH_CAP]) {
            Some(n) => {
                if user_str_truncated(path2, n, PATH_CAP) {
                    hdr.flags |= flags::PATH2_TRUNCATED;
                }
                path2_len = n;
            }
            None => {
                hdr.flags |= flags::PATH2_FAULT;
                bump(Stat::ReadFault);
            }
        }
        size = at + path2_len;
    }

    hdr.size = size as u32;
    let ev = PathEvent {
        hdr,
        flags: ev_flags,
        dirfd,
        dirfd2,
        mode,
        path_len: path_len as u16,
        path2_len: path2_len as u16,
    };
    put(buf, 0, ev);
    send(buf, size);
}

/// fchdir(fd), the dup family and close-on-exec changes. Failed calls change nothing and
/// are not reported, except fchdir (a failed chdir is an access attempt).
#[inline(always)]
pub fn fd_exit(nr: u32, args: &[u64; 6], ret: i64) {
    if ret < 0 && nr != nr::FCHDIR {
        return;
    }
    let Some(s) = scratch() else { return };
    let mut hdr = header(EventKind::Fd, nr, ret);
    hdr.size = core::mem::size_of::<FdEvent>() as u32;
    let ev = FdEvent {
        hdr,
        a: args[0] as i64,
        b: args[1] as i64,
        c: args[2] as i64,
    };
    put(&mut s.buf, 0, ev);
    send(&s.buf, hdr.size as usize);
}
