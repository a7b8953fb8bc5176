//! Socket addresses from the raw `struct sockaddr` bytes the kernel copied.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// Address family of a socket address or socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Inet,
    Inet6,
    Unix,
    Netlink,
    Other,
}

impl Family {
    pub fn from_domain(domain: u32) -> Family {
        match domain as i32 {
            libc::AF_INET => Family::Inet,
            libc::AF_INET6 => Family::Inet6,
            libc::AF_UNIX => Family::Unix,
            libc::AF_NETLINK => Family::Netlink,
            _ => Family::Other,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SockAddr {
    Inet {
        ip: Ipv4Addr,
        port: u16,
    },
    Inet6 {
        ip: Ipv6Addr,
        port: u16,
    },
    /// A filesystem socket path.
    Unix(Vec<u8>),
    /// An abstract socket (leading NUL); the name without it.
    UnixAbstract(Vec<u8>),
    /// An unnamed unix socket (autobind or socketpair peer).
    UnixUnnamed,
    /// `AF_UNSPEC` (a UDP "disconnect") or a family permtrace does not decode.
    Other(u16),
}

impl SockAddr {
    pub fn parse(raw: &[u8]) -> Option<SockAddr> {
        let family = u16::from_ne_bytes(raw.get(..2)?.try_into().ok()?);
        let port = |r: &[u8]| u16::from_be_bytes([r[2], r[3]]);
        Some(match family as i32 {
            libc::AF_INET if raw.len() >= 8 => SockAddr::Inet {
                ip: Ipv4Addr::new(raw[4], raw[5], raw[6], raw[7]),
                port: port(raw),
            },
            libc::AF_INET6 if raw.len() >= 24 => {
                let mut b = [0u8; 16];
                b.copy_from_slice(&raw[8..24]);
                SockAddr::Inet6 {
                    ip: Ipv6Addr::from(b),
                    port: port(raw),
                }
            }
            libc::AF_UNIX => {
                let path = &raw[2..];
                match path.first() {
                    None => SockAddr::UnixUnnamed,
                    Some(0) if path.len() > 1 => SockAddr::UnixAbstract(trim_nul(&path[1..])),
                    Some(0) => SockAddr::UnixUnnamed,
                    Some(_) => SockAddr::Unix(trim_nul(path)),
                }
            }
            _ => SockAddr::Other(family),
        })
    }

    pub fn family(&self) -> Family {
        match self {
            SockAddr::Inet { .. } => Family::Inet,
            SockAddr::Inet6 { .. } => Family::Inet6,
            SockAddr::Unix(_) | SockAddr::UnixAbstract(_) | SockAddr::UnixUnnamed => Family::Unix,
            SockAddr::Other(_) => Family::Other,
        }
    }

    pub fn port(&self) -> Option<u16> {
        match self {
            SockAddr::Inet { port, .. } | SockAddr::Inet6 { port, .. } => Some(*port),
            _ => None,
        }
    }

    /// The host part as text: an IP, a socket path, `@name` for an abstract socket.
    pub fn host(&self) -> String {
        match self {
            SockAddr::Inet { ip, .. } => ip.to_string(),
            SockAddr::Inet6 { ip, .. } => match ip.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => ip.to_string(),
            },
            SockAddr::Unix(p) => String::from_utf8_lossy(p).into_owned(),
            SockAddr::UnixAbstract(n) => format!("@{}", String::from_utf8_lossy(n)),
            SockAddr::UnixUnnamed => "(unnamed)".into(),
            SockAddr::Other(f) => format!("(family {f})"),
        }
    }

    /// The IP address (an IPv4-mapped IPv6 address as IPv4), for inet families.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            SockAddr::Inet { ip, .. } => Some(IpAddr::V4(*ip)),
            SockAddr::Inet6 { ip, .. } => Some(match ip.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(*ip),
            }),
            _ => None,
        }
    }

    pub fn is_loopback(&self) -> bool {
        match self {
            SockAddr::Inet { ip, .. } => ip.is_loopback(),
            SockAddr::Inet6 { ip, .. } => {
                ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
            _ => false,
        }
    }
}

fn trim_nul(b: &[u8]) -> Vec<u8> {
    match b.iter().position(|&c| c == 0) {
        Some(i) => b[..i].to_vec(),
        None => b.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inet(ip: [u8; 4], port: u16) -> Vec<u8> {
        let mut v = (libc::AF_INET as u16).to_ne_bytes().to_vec();
        v.extend_from_slice(&port.to_be_bytes());
        v.extend_from_slice(&ip);
        v.extend_from_slice(&[0; 8]);
        v
    }

    #[test]
    fn decodes_inet_inet6_and_unix() {
        let a = SockAddr::parse(&inet([127, 0, 0, 1], 8080)).unwrap();
        assert_eq!(
            (a.host(), a.port(), a.is_loopback()),
            ("127.0.0.1".into(), Some(8080), true)
        );

        let mut v6 = (libc::AF_INET6 as u16).to_ne_bytes().to_vec();
        v6.extend_from_slice(&443u16.to_be_bytes());
        v6.extend_from_slice(&[0; 4]);
        v6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        v6.extend_from_slice(&[0; 4]);
        let a = SockAddr::parse(&v6).unwrap();
        assert_eq!((a.host(), a.port()), ("::1".into(), Some(443)));

        let mut un = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        un.extend_from_slice(b"/run/x.sock\0\0\0");
        assert_eq!(
            SockAddr::parse(&un).unwrap(),
            SockAddr::Unix(b"/run/x.sock".to_vec())
        );

        let mut abs = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        abs.extend_from_slice(b"\0name");
        assert_eq!(SockAddr::parse(&abs).unwrap().host(), "@name");
        assert!(SockAddr::parse(&[1]).is_none());
    }
}
