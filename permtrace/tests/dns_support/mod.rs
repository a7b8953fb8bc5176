//! Shared by the name tests: running permtrace, reading its capture, and a DNS server the
//! test owns on 127.53.x.y:53 (no internet, nothing shared with other tests).
#![allow(dead_code)]

use std::{
    io::{Read as _, Write as _},
    net::{Ipv4Addr, TcpListener, UdpSocket},
    path::Path,
    process::Command,
    sync::atomic::{AtomicU8, Ordering},
};

use serde_json::Value;

use crate::common::permtrace;

mod hosts;
#[allow(unused_imports)]
pub use hosts::*;

/// Runs `permtrace run -o <dir> -- <cmd>`; returns the capture and the command's stdout.
pub fn trace(dir: &Path, cmd: &[&str]) -> (Value, String) {
    let out = Command::new(permtrace())
        .arg("run")
        .arg("-o")
        .arg(dir)
        .arg("--")
        .args(cmd)
        .output()
        .expect("running permtrace");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "permtrace run failed: {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read(dir.join("capture.json")).expect("capture.json");
    (serde_json::from_slice(&text).expect("capture JSON"), stdout)
}

pub fn connect<'a>(cap: &'a Value, address: &str, port: u16) -> &'a Value {
    cap["network"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["op"] == "connect" && n["address"] == address && n["port"] == port)
        .unwrap_or_else(|| panic!("no connect to {address}:{port} in {:#}", cap["network"]))
}

pub fn hostnames(rec: &Value) -> Vec<&str> {
    rec["hostnames"]
        .as_array()
        .map(|a| a.iter().map(|h| h.as_str().unwrap()).collect())
        .unwrap_or_default()
}

pub fn names_of<'a>(cap: &'a Value, name: &str, via: &str) -> &'a Value {
    cap["names"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == name && n["via"] == via)
        .unwrap_or_else(|| panic!("no {name} via {via} among {:#}", cap["names"]))
}

/// The port a test app printed as `PORT <n>`.
pub fn port_from(stdout: &str) -> u16 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("PORT "))
        .unwrap_or_else(|| panic!("the app printed no port: {stdout:?}"))
        .trim()
        .parse()
        .unwrap()
}

/// How the test DNS server answers over UDP.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Udp {
    /// The full answer.
    Answer,
    /// An empty answer with the TC bit: the client must retry over TCP (served too).
    Truncate,
}

/// A DNS server on a fresh 127.53.x.y:53 answering A queries for `name` with `ip` (NOERROR
/// without records for other types, NXDOMAIN for other names).
pub fn dns_server(name: &'static str, ip: Ipv4Addr, udp: Udp) -> Ipv4Addr {
    static NEXT: AtomicU8 = AtomicU8::new(1);
    let (socket, tcp) = loop {
        let host = Ipv4Addr::new(
            127,
            53,
            (std::process::id() % 250) as u8,
            NEXT.fetch_add(1, Ordering::Relaxed),
        );
        let bound =
            UdpSocket::bind((host, 53)).and_then(|u| Ok((u, TcpListener::bind((host, 53))?)));
        match bound {
            Ok(pair) => break pair,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(e) => panic!("binding a DNS server on {host}:53: {e}"),
        }
    };
    let addr = match socket.local_addr().unwrap().ip() {
        std::net::IpAddr::V4(v4) => v4,
        other => panic!("{other}"),
    };
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            if let Some(r) = answer(&buf[..n], name, ip, udp == Udp::Truncate) {
                let _ = socket.send_to(&r, from);
            }
        }
    });
    std::thread::spawn(move || {
        for mut conn in tcp.incoming().flatten() {
            let mut len = [0u8; 2];
            if conn.read_exact(&mut len).is_err() {
                continue;
            }
            let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
            if conn.read_exact(&mut q).is_err() {
                continue;
            }
            if let Some(r) = answer(&q, name, ip, false) {
                let mut framed = (r.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&r);
                let _ = conn.write_all(&framed);
            }
        }
    });
    addr
}

fn answer(q: &[u8], name: &str, ip: Ipv4Addr, truncate: bool) -> Option<Vec<u8>> {
    let end = question_end(q)?;
    let asked = qname(&q[12..end - 4]);
    let qtype = u16::from_be_bytes([q[end - 4], q[end - 3]]);
    let hit = asked.eq_ignore_ascii_case(name);
    let mut r = q[..end].to_vec();
    r[2] = if truncate { 0x83 } else { 0x81 };
    r[3] = if hit { 0x80 } else { 0x83 };
    r[6..12].copy_from_slice(&[0, 0, 0, 0, 0, 0]);
    if hit && qtype == 1 && !truncate {
        r[7] = 1;
        r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        r.extend_from_slice(&ip.octets());
    }
    Some(r)
}

fn question_end(q: &[u8]) -> Option<usize> {
    let mut at = 12;
    while *q.get(at)? != 0 {
        at += 1 + q[at] as usize;
    }
    (at + 5 <= q.len()).then_some(at + 5)
}

fn qname(labels: &[u8]) -> String {
    let mut out = Vec::new();
    let mut at = 0;
    while at < labels.len() && labels[at] != 0 {
        let len = labels[at] as usize;
        if !out.is_empty() {
            out.push(b'.');
        }
        out.extend_from_slice(&labels[at + 1..(at + 1 + len).min(labels.len())]);
        at += 1 + len;
    }
    String::from_utf8_lossy(&out).into_owned()
}
