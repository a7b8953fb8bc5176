//! What procfs says about a running process: its children, and the state the resolver needs
//! to make its later relative paths absolute (cwd, what its fds are), its program, and the
//! sockets it already listens on. The kernel edge of `attach`: everything here reads /proc.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::{IpAddr, SocketAddr},
    os::unix::{ffi::OsStrExt as _, fs::MetadataExt as _},
    path::Path,
};

use crate::{
    collector::{ProcessSeed, ip_literals},
    pathbytes::PathBytes,
    resolve::{FdTarget, ProcState, SocketInfo},
};

const O_CLOEXEC_OCTAL: u64 = 0o2000000;

/// Whether the process exists (a zombie still does: its exit was reported already).
pub fn is_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Whether the process runs and is not on its way out: not a zombie, not exiting
/// (`PF_EXITING` is set before the kernel's exit hook runs). A pid put in the traced set
/// after its exit hook ran would stay there, and name another process once reused.
pub fn is_live(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| parse_liveness(&stat))
        .unwrap_or(false)
}

const PF_EXITING: u64 = 0x4;

fn parse_liveness(stat: &[u8]) -> Option<bool> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    let mut f = rest.split_whitespace();
    let state = f.next()?;
    let flags: u64 = f.nth(5)?.parse().ok()?;
    Some(!matches!(state, "Z" | "X" | "x") && flags & PF_EXITING == 0)
}

/// The parent pid, from `/proc/P/stat`.
pub fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    parse_ppid(&stat)
}

/// `pid (comm) state ppid ...`; comm may hold spaces and parentheses, so parse after the
/// last `)`.
fn parse_ppid(stat: &[u8]) -> Option<u32> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Real uid of the process.
pub fn uid_of(pid: u32) -> Option<u32> {
    status_id(pid, "Uid:")
}

/// Real gid of the process.
pub fn gid_of(pid: u32) -> Option<u32> {
    status_id(pid, "Gid:")
}

fn status_id(pid: u32, field: &str) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The values of `names` in the process's environment (as it was at its exec).
pub fn env_of(pid: u32, names: &[&str]) -> BTreeMap<String, String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    environ
        .split(|&b| b == 0)
        .filter_map(|kv| {
            let kv = std::str::from_utf8(kv).ok()?;
            let (k, v) = kv.split_once('=')?;
            names.contains(&k).then(|| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// Children of every process in `parents`, as (child, parent). Reads
/// `/proc/P/task/T/children` where the kernel has it (CONFIG_PROC_CHILDREN), otherwise
/// every process's parent link.
pub fn children_of(parents: &HashSet<u32>) -> Vec<(u32, u32)> {
    if Path::new("/proc/self/task")
        .join(std::process::id().to_string())
        .join("children")
        .exists()
    {
        let mut out = Vec::new();
        for &p in parents {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
                continue;
            };
            for t in tasks.flatten() {
                let list = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
                out.extend(
                    list.split_whitespace()
                        .filter_map(|c| c.parse().ok())
                        .map(|c| (c, p)),
                );
            }
        }
        return out;
    }
    all_pids()
        .into_iter()
        .filter_map(|pid| Some((pid, parent_of(pid)?)))
        .filter(|(_, ppid)| parents.contains(ppid))
        .collect()
}

fn all_pids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// Everything the collector should know about a running process. `None` when it is gone.
/// `with_program: false` for a process about to be seen exec'ing (its exec names the
/// program).
pub fn process_seed(pid: u32, with_program: bool) -> Option<ProcessSeed> {
    let base = format!("/proc/{pid}");
    let cwd = std::fs::read_link(format!("{base}/cwd")).ok();
    if cwd.is_none() && !is_alive(pid) {
        return None;
    }
    let mut state = ProcState {
        cwd: cwd.map(|c| PathBytes::from(c.as_path())),
        fds: HashMap::new(),
    };
    let mut sockets: HashMap<u64, i32> = HashMap::new();
    if let Ok(fds) = std::fs::read_dir(format!("{base}/fd")) {
        for entry in fds.flatten() {
            let Some(fd) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            let Ok(target) = std::fs::read_link(entry.path()) else {
                continue;
            };
            let target = target.as_os_str().as_bytes();
            if target.first() == Some(&b'/') {
                let Some(path) = live_path(target) else {
                    continue;
                };
                let cloexec = fd_flags(pid, fd).is_some_and(|f| f & O_CLOEXEC_OCTAL != 0);
                state.fds.insert(
                    fd,
                    FdTarget::Path {
                        path: Some(path),
                        cloexec,
                    },
                );
            } else if let Some(inode) = socket_inode(target) {
                sockets.insert(inode, fd);
                state
                    .fds
                    .insert(fd, FdTarget::Socket(SocketInfo::default()));
            }
        }
    }
    let listening = if sockets.is_empty() {
        Vec::new()
    } else {
        describe_sockets(pid, &sockets, &mut state)
    };
    let program = if with_program { program_of(pid) } else { None };
    // Only a process that ran before (with_program) can connect to addresses whose lookup
    // was never seen.
    let literals = match &program {
        Some((_, argv)) => literals_of(pid, argv),
        None => Vec::new(),
    };
    Some(ProcessSeed {
        state,
        program,
        parent: parent_of(pid),
        listening,
        literals,
    })
}

/// The IP addresses written in the process's arguments and environment (as at its exec).
/// Only the addresses are kept, never the values they were found in.
fn literals_of(pid: u32, argv: &[PathBytes]) -> Vec<IpAddr> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    let mut out = Vec::new();
    for text in argv
        .iter()
        .map(PathBytes::as_bytes)
        .chain([environ.as_slice()])
    {
        for ip in ip_literals(text) {
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    out
}

/// A path from a `/proc` link, unless the file was deleted (it names nothing now).
fn live_path(target: &[u8]) -> Option<PathBytes> {
    (!target.ends_with(b" (deleted)")).then(|| PathBytes::new(target))
}

fn socket_inode(target: &[u8]) -> Option<u64> {
    let inner = target.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(inner).ok()?.parse().ok()
}

/// The `flags:` line of `/proc/P/fdinfo/FD` (octal; holds O_CLOEXEC for close-on-exec fds).
fn fd_flags(pid: u32, fd: i32) -> Option<u64> {
    let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    let v = info.lines().find_map(|l| l.strip_prefix("flags:"))?;
    u64::from_str_radix(v.trim(), 8).ok()
}

/// The executable and the arguments. `None` for kernel threads, which have neither.
///
/// The kernel's link names the file with symlinks resolved (`/usr/bin/dash`); an exec seen
/// in the stream names it as the program asked (`/bin/sh`). When an absolute argv[0] is the
/// very same file, that name is used, so the same program gets the same name either way.
pub fn program_of(pid: u32) -> Option<(PathBytes, Vec<PathBytes>)> {
    let link = format!("/proc/{pid}/exe");
    let exe = std::fs::read_link(&link).ok()?;
    let exe = exe.as_os_str().as_bytes();
    let mut exe = PathBytes::new(exe.strip_suffix(b" (deleted)").unwrap_or(exe));
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let mut argv: Vec<PathBytes> = cmdline.split(|&b| b == 0).map(PathBytes::new).collect();
    if argv.last().is_some_and(PathBytes::is_empty) {
        argv.pop();
    }
    if let (Some(arg0), Ok(real)) = (argv.first(), std::fs::metadata(&link)) {
        let same = |m: std::fs::Metadata| m.dev() == real.dev() && m.ino() == real.ino();
        if arg0.is_absolute() && std::fs::metadata(arg0.as_path()).is_ok_and(same) {
            exe = arg0.clone();
        }
    }
    Some((exe, argv))
}

/// Fills in the socket fds (family, type, bound address) from the process's own network
/// namespace tables; returns the fds that are listening (stream) or bound to receive
/// (datagram).
fn describe_sockets(pid: u32, sockets: &HashMap<u64, i32>, state: &mut ProcState) -> Vec<i32> {
    let mut listening = Vec::new();
    let mut set = |inode: u64, info: SocketInfo, listens: bool| {
        if let Some(&fd) = sockets.get(&inode) {
            state.fds.insert(fd, FdTarget::Socket(info));
            if listens {
                listening.push(fd);
            }
        }
    };
    if let Ok(p) = procfs::process::Process::new(pid as i32) {
        let tcp = p.tcp().unwrap_or_default().into_iter();
        for e in tcp.chain(p.tcp6().unwrap_or_default()) {
            let listens = e.state == procfs::net::TcpState::Listen;
            set(
                e.inode,
                inet_info(e.local_address, libc::SOCK_STREAM),
                listens,
            );
        }
        let udp = p.udp().unwrap_or_default().into_iter();
        for e in udp.chain(p.udp6().unwrap_or_default()) {
            // A receiving socket: bound, not connected (connected ones are clients, e.g.
            // a resolver's query socket).
            let receives = e.local_address.port() != 0 && e.remote_address.port() == 0;
            set(
                e.inode,
                inet_info(e.local_address, libc::SOCK_DGRAM),
                receives,
            );
        }
    }
    let unix = std::fs::read_to_string(format!("/proc/{pid}/net/unix")).unwrap_or_default();
    for line in unix.lines().skip(1) {
        if let Some((inode, info, listens)) = parse_unix_line(line) {
            set(inode, info, listens);
        }
    }
    listening.sort_unstable();
    listening
}

fn inet_info(addr: SocketAddr, sock_type: i32) -> SocketInfo {
    let (domain, raw) = match addr {
        SocketAddr::V4(a) => {
            let mut raw = (libc::AF_INET as u16).to_ne_bytes().to_vec();
            raw.extend_from_slice(&a.port().to_be_bytes());
            raw.extend_from_slice(&a.ip().octets());
            raw.extend_from_slice(&[0; 8]);
            (libc::AF_INET, raw)
        }
        SocketAddr::V6(a) => {
            let mut raw = (libc::AF_INET6 as u16).to_ne_bytes().to_vec();
            raw.extend_from_slice(&a.port().to_be_bytes());
            raw.extend_from_slice(&a.flowinfo().to_be_bytes());
            raw.extend_from_slice(&a.ip().octets());
            raw.extend_from_slice(&a.scope_id().to_ne_bytes());
            (libc::AF_INET6, raw)
        }
    };
    SocketInfo {
        domain: domain as u32,
        sock_type: sock_type as u32,
        bound: (addr.port() != 0).then_some(raw),
    }
}

/// One line of `/proc/net/unix`: `Num RefCount Protocol Flags Type St Inode [Path]`.
/// Flags 0x10000 (`__SO_ACCEPTCON`) marks a listening socket; an accepted connection
/// shows the listener's path too, so the path alone does not say.
fn parse_unix_line(line: &str) -> Option<(u64, SocketInfo, bool)> {
    let mut f = line.split_whitespace();
    let flags = u32::from_str_radix(f.nth(3)?, 16).ok()?;
    let sock_type = u32::from_str_radix(f.next()?, 16).ok()?;
    let inode: u64 = f.nth(1)?.parse().ok()?;
    let path = f.next();
    let bound = path.map(|p| {
        let mut raw = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        match p.strip_prefix('@') {
            Some(name) => {
                raw.push(0);
                raw.extend_from_slice(name.as_bytes());
            }
            None => raw.extend_from_slice(p.as_bytes()),
        }
        raw
    });
    let listening =
        flags & 0x10000 != 0 || (sock_type == libc::SOCK_DGRAM as u32 && bound.is_some());
    let info = SocketInfo {
        domain: libc::AF_UNIX as u32,
        sock_type,
        bound,
    };
    Some((inode, info, listening))
}

#[cfg(test)]
mod tests;
