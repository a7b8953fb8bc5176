//! `--events FILE`: every event as one JSON object per line, with its resolved path(s).

use std::io::Write;

use serde::Serialize;

use crate::{
    access::{Access, classify, open_flags_text},
    dnsmsg,
    event::{Body, Event, eai_name, errno_name, syscall_name},
    pathbytes::PathBytes,
    resolve::{Resolution, Resolved, Unresolved},
    sockaddr::SockAddr,
};
use permtrace_common::syscalls::nr;

pub const EVENT_SCHEMA: &str = "permtrace.event/1";

/// One line of the event log. Fields that do not apply to an event are left out.
#[derive(Serialize, Default)]
pub struct LogLine<'a> {
    pub schema: &'static str,
    /// Unix time in milliseconds (fractional).
    pub time_ms: f64,
    pub pid: u32,
    pub tid: u32,
    /// file, exec, exec_failed, socket, connect, bind, listen, sendto, fd, fork, exit, dns,
    /// lookup (getaddrinfo), runtime (a Node runtime feature's native entry point)
    pub event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syscall: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<Access>,
    /// The absolute path Node would check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<&'a PathBytes>,
    /// The path exactly as the program passed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_path: Option<&'a PathBytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unresolved: Option<Unresolved>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access2: Option<Access>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path2: Option<&'a PathBytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_path2: Option<&'a PathBytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unresolved2: Option<Unresolved>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dirfd: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<String>,
    /// Permission bits, octal, for calls that create or chmod (open with O_CREAT, mkdir...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argv: Option<&'a [PathBytes]>,
    /// A failed exec that was one step of execvp's PATH search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_search: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fd: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fd2: Option<i64>,
    /// fd events: whether the resulting (or changed) descriptor is closed on exec.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloexec: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u32>,
    /// lookup, dns: the host name asked for (a DNS message's question).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// lookup, dns: the addresses it resolved to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<String>>,
    /// lookup, runtime: "enter" or "return"; dns: "query" or "answer".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<&'static str>,
    /// runtime: worker, wasi, addon, inspector_open, inspector_connect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<&'static str>,
    /// The syscall's return value when it succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<i64>,
    /// The errno name when it failed (`EINPROGRESS` for a non-blocking connect attempt).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn split(res: Option<&Resolution>) -> (Option<&PathBytes>, Option<Unresolved>) {
    match res {
        Some(Resolution::Absolute(p)) => (Some(p), None),
        Some(Resolution::Unresolved(u)) => (None, Some(*u)),
        None => (None, None),
    }
}

pub fn line<'a>(ev: &'a Event, resolved: &'a Resolved, unix_ms: f64) -> LogLine<'a> {
    let mut l = LogLine {
        schema: EVENT_SCHEMA,
        time_ms: unix_ms,
        pid: ev.tgid,
        tid: ev.tid,
        ..Default::default()
    };
    let set_ret = |l: &mut LogLine<'a>, ret: i64| {
        if ret < 0 {
            l.error = Some(errno_name(-ret));
        } else {
            l.result = Some(ret);
        }
    };
    match &ev.body {
        Body::Path(call) => {
            let (a1, a2) = classify(call);
            l.event = "file";
            l.syscall = Some(syscall_name(call.nr));
            (l.path, l.unresolved) = split(resolved.path.as_ref());
            if matches!(call.nr, nr::SYMLINK | nr::SYMLINKAT) {
                l.access = None;
            } else {
                l.access = Some(a1);
            }
            l.raw_path = Some(&call.path.bytes);
            if let Some(p2) = &call.path2 {
                (l.path2, l.unresolved2) = split(resolved.path2.as_ref());
                l.raw_path2 = Some(&p2.bytes);
                l.access2 = a2;
            }
            l.dirfd = Some(call.dirfd);
            if matches!(call.nr, nr::OPEN | nr::OPENAT | nr::OPENAT2) {
                l.flags = Some(open_flags_text(call.flags));
            } else if call.flags != 0 {
                l.flags = Some(format!("{:#x}", call.flags));
            }
            if has_mode(call) {
                l.mode = Some(format!("{:04o}", call.mode));
            }
            if call.path.truncated || call.path.fault {
                l.truncated = Some(true);
            }
            set_ret(&mut l, call.ret);
        }
        Body::Exec(exec) => {
            l.event = if exec.ret == 0 { "exec" } else { "exec_failed" };
            l.syscall = Some(syscall_name(if exec.nr == 0 {
                nr::EXECVE
            } else {
                exec.nr
            }));
            (l.path, l.unresolved) = split(resolved.path.as_ref());
            l.raw_path = Some(&exec.filename.bytes);
            l.argv = Some(&exec.argv);
            if exec.argv_truncated {
                l.truncated = Some(true);
            }
            if exec.ret < 0 {
                let filename = l.path.unwrap_or(&exec.filename.bytes);
                l.path_search = Some(crate::collector::is_path_search_step(filename, &exec.argv));
            }
            set_ret(&mut l, exec.ret);
        }
        Body::Sock(call) => {
            l.event = match call.nr {
                nr::SOCKET => "socket",
                nr::CONNECT => "connect",
                nr::BIND => "bind",
                nr::LISTEN => "listen",
                _ => "sendto",
            };
            l.syscall = Some(syscall_name(call.nr));
            l.fd = Some(i64::from(call.fd));
            if call.nr == nr::SOCKET {
                l.family = Some(
                    format!("{:?}", crate::sockaddr::Family::from_domain(call.domain))
                        .to_lowercase(),
                );
            }
            if let Some(a) = SockAddr::parse(&call.addr) {
                l.family = Some(format!("{:?}", a.family()).to_lowercase());
                l.address = Some(a.host());
                l.port = a.port();
            }
            set_ret(&mut l, call.ret);
        }
        Body::Fd(call) => {
            l.event = "fd";
            l.syscall = Some(syscall_name(call.nr));
            l.fd = Some(call.a);
            if matches!(call.nr, nr::DUP2 | nr::DUP3) {
                l.fd2 = Some(call.b);
            }
            l.cloexec = fd_cloexec(call);
            set_ret(&mut l, call.ret);
        }
        Body::Fork { child } => {
            l.event = "fork";
            l.child = Some(*child);
        }
        Body::Exit { status } => {
            l.event = "exit";
            l.status = Some(*status);
        }
        Body::Dns(msg) => {
            l.event = "dns";
            l.fd = Some(i64::from(msg.fd));
            if let Some(a) = SockAddr::parse(&msg.peer) {
                l.address = Some(a.host());
                l.port = a.port();
            }
            l.phase = Some(if msg.sent { "query" } else { "answer" });
            if msg.truncated {
                l.truncated = Some(true);
            }
            let framed = dnsmsg::looks_tcp_framed(&msg.payload, msg.truncated);
            let bytes = if framed {
                dnsmsg::strip_tcp_length(&msg.payload)
            } else {
                &msg.payload
            };
            match dnsmsg::parse(bytes) {
                Ok(m) => {
                    l.name = Some(m.name);
                    if m.response {
                        l.addresses = Some(m.addresses.iter().map(|a| a.to_string()).collect());
                        if m.rcode != 0 {
                            l.error = Some(dnsmsg::rcode_name(m.rcode));
                        }
                    }
                }
                Err(e) => l.error = Some(format!("not a DNS message: {e}")),
            }
        }
        Body::Lookup(lk) => {
            l.event = "lookup";
            l.name = Some(lk.name.clone());
            l.phase = Some(if lk.enter { "enter" } else { "return" });
            if !lk.enter {
                l.addresses = Some(lk.addrs.iter().map(|a| a.to_string()).collect());
                if lk.ret != 0 {
                    l.error = Some(eai_name(lk.ret));
                }
            }
            if lk.name_truncated || lk.addrs_truncated {
                l.truncated = Some(true);
            }
        }
        Body::Runtime(call) => {
            l.event = "runtime";
            l.feature = Some(call.feature.name());
            l.phase = Some(if call.enter { "enter" } else { "return" });
        }
    }
    l
}

/// Whether the call's mode argument means something: it creates a file or directory, or
/// changes permissions.
fn has_mode(call: &crate::event::PathCall) -> bool {
    let creating = (libc::O_CREAT | (libc::O_TMPFILE & !libc::O_DIRECTORY)) as u64;
    match call.nr {
        nr::OPEN | nr::OPENAT | nr::OPENAT2 => call.flags & creating != 0,
        nr::CREAT | nr::MKDIR | nr::MKDIRAT | nr::CHMOD | nr::FCHMODAT | nr::FCHMODAT2 => true,
        _ => false,
    }
}

/// The close-on-exec bit an fd event leaves on its descriptor (`None` for fchdir).
fn fd_cloexec(call: &crate::event::FdCall) -> Option<bool> {
    use permtrace_common::syscalls::{
        F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD, FD_CLOEXEC, FIOCLEX, FIONCLEX, O_CLOEXEC,
    };
    match (call.nr, call.b as u64) {
        (nr::DUP | nr::DUP2, _) | (nr::FCNTL, F_DUPFD) | (nr::IOCTL, FIONCLEX) => Some(false),
        (nr::FCNTL, F_DUPFD_CLOEXEC) | (nr::IOCTL, FIOCLEX) => Some(true),
        (nr::FCNTL, F_SETFD) => Some(call.c as u64 & FD_CLOEXEC != 0),
        (nr::DUP3, _) => Some(call.c as u64 & O_CLOEXEC != 0),
        _ => None,
    }
}

/// Writes event lines to a file or stdout.
pub struct EventLog {
    out: Box<dyn Write + Send>,
    pub lines: u64,
}

impl EventLog {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Self { out, lines: 0 }
    }

    pub fn write(&mut self, line: &LogLine<'_>) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, line)?;
        self.out.write_all(b"\n")?;
        self.lines += 1;
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
