//! A small DNS message parser (RFC 1035): enough to read the question of a query and the
//! addresses an answer gives for it. Hand-written because only the header, the question and
//! A/AAAA/CNAME answers matter, and the input is untrusted bytes copied by the kernel, often
//! cut short: every read is bounds-checked, compression pointers are followed a bounded
//! number of times, and a cut-off answer section yields the records that fit.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Record types permtrace reads.
pub mod rtype {
    pub const A: u16 = 1;
    pub const CNAME: u16 = 5;
    pub const AAAA: u16 = 28;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub id: u16,
    /// A response (QR bit), not a query.
    pub response: bool,
    /// Response code (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, ...).
    pub rcode: u8,
    /// The first question: the name asked for (lowercase, no trailing dot) and its type.
    pub name: String,
    pub qtype: u16,
    /// A and AAAA addresses of `name`, following the CNAME chain the answer gives.
    pub addresses: Vec<IpAddr>,
    /// The answer section ended early (payload cut by the copy limit or malformed).
    pub incomplete: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DnsError {
    #[error("shorter than a DNS header")]
    Short,
    #[error("no question")]
    NoQuestion,
    #[error("malformed name")]
    BadName,
}

/// The name of a response code, for reports.
pub fn rcode_name(rcode: u8) -> String {
    match rcode {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        n => format!("RCODE{n}"),
    }
}

/// Strips the 2-byte length prefix DNS over TCP puts before each message.
pub fn strip_tcp_length(payload: &[u8]) -> &[u8] {
    payload.get(2..).unwrap_or(&[])
}

/// Whether `payload` looks like a TCP-framed DNS message: a length prefix that matches what
/// follows (or exceeds it, when the copy was cut short).
pub fn looks_tcp_framed(payload: &[u8], cut_short: bool) -> bool {
    if payload.len() < 2 + 12 {
        return false;
    }
    let len = u16::from_be_bytes([payload[0], payload[1]]) as usize;
    len == payload.len() - 2 || (cut_short && len > payload.len() - 2)
}

pub fn parse(msg: &[u8]) -> Result<Message, DnsError> {
    if msg.len() < 12 {
        return Err(DnsError::Short);
    }
    let u16_at = |o: usize| u16::from_be_bytes([msg[o], msg[o + 1]]);
    let id = u16_at(0);
    let flags = u16_at(2);
    let qdcount = u16_at(4);
    let ancount = u16_at(6);
    if qdcount == 0 {
        return Err(DnsError::NoQuestion);
    }
    let (name, mut at) = read_name(msg, 12).ok_or(DnsError::BadName)?;
    let qtype = read_u16(msg, at).ok_or(DnsError::BadName)?;
    at += 4;
    // Further questions are unusual; skip them to reach the answers.
    let mut incomplete = false;
    for _ in 1..qdcount {
        match read_name(msg, at) {
            Some((_, next)) => at = next + 4,
            None => {
                incomplete = true;
                break;
            }
        }
    }

    let mut records = Vec::new();
    if !incomplete {
        for _ in 0..ancount {
            match read_record(msg, at) {
                Some((rec, next)) => {
                    records.push(rec);
                    at = next;
                }
                None => {
                    incomplete = true;
                    break;
                }
            }
        }
    }

    Ok(Message {
        id,
        response: flags & 0x8000 != 0,
        rcode: (flags & 0xf) as u8,
        addresses: addresses_of(&name, &records),
        name,
        qtype,
        incomplete,
    })
}

struct Record {
    owner: String,
    data: RecordData,
}

enum RecordData {
    Addr(IpAddr),
    Cname(String),
    Other,
}

/// Addresses reachable from `name` through the CNAME records of the answer, in answer order.
fn addresses_of(name: &str, records: &[Record]) -> Vec<IpAddr> {
    let mut chain = vec![name.to_string()];
    // Each pass can only extend the chain; a chain longer than the records is a loop.
    for _ in 0..records.len() {
        let before = chain.len();
        for r in records {
            if let RecordData::Cname(target) = &r.data
                && chain.contains(&r.owner)
                && !chain.contains(target)
            {
                chain.push(target.clone());
            }
        }
        if chain.len() == before {
            break;
        }
    }
    let mut out = Vec::new();
    for r in records {
        if let RecordData::Addr(ip) = r.data
            && chain.contains(&r.owner)
            && !out.contains(&ip)
        {
            out.push(ip);
        }
    }
    out
}

fn read_u16(msg: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*msg.get(at)?, *msg.get(at + 1)?]))
}

fn read_record(msg: &[u8], at: usize) -> Option<(Record, usize)> {
    let (owner, at) = read_name(msg, at)?;
    let rtype = read_u16(msg, at)?;
    let rdlen = read_u16(msg, at + 8)? as usize;
    let rdata_at = at + 10;
    let rdata = msg.get(rdata_at..rdata_at + rdlen)?;
    let data = match (rtype, rdlen) {
        (rtype::A, 4) => RecordData::Addr(IpAddr::V4(Ipv4Addr::new(
            rdata[0], rdata[1], rdata[2], rdata[3],
        ))),
        (rtype::AAAA, 16) => RecordData::Addr(IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(rdata).ok()?,
        ))),
        (rtype::CNAME, _) => RecordData::Cname(read_name(msg, rdata_at)?.0),
        _ => RecordData::Other,
    };
    Some((Record { owner, data }, rdata_at + rdlen))
}

/// Reads a possibly compressed name at `at`; returns it (lowercase, dot-separated) and the
/// offset just after it in the original position.
fn read_name(msg: &[u8], mut at: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut end = None;
    // Pointers can only be followed this often: a loop of pointers would otherwise never end.
    let mut jumps = 0;
    loop {
        let len = *msg.get(at)? as usize;
        match len & 0xc0 {
            0x00 if len == 0 => {
                return Some((name, end.unwrap_or(at + 1)));
            }
            0x00 => {
                let label = msg.get(at + 1..at + 1 + len)?;
                if !name.is_empty() {
                    name.push('.');
                }
                for &b in label {
                    name.push(b.to_ascii_lowercase() as char);
                }
                if name.len() > 255 {
                    return None;
                }
                at += 1 + len;
            }
            0xc0 => {
                let target = ((len & 0x3f) << 8) | *msg.get(at + 1)? as usize;
                end.get_or_insert(at + 2);
                jumps += 1;
                if jumps > 32 {
                    return None;
                }
                at = target;
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> Vec<u8> {
        let mut v = Vec::new();
        for l in n.split('.') {
            v.push(l.len() as u8);
            v.extend_from_slice(l.as_bytes());
        }
        v.push(0);
        v
    }

    fn header(id: u16, flags: u16, qd: u16, an: u16) -> Vec<u8> {
        [id, flags, qd, an, 0, 0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect()
    }

    fn rr(owner: &[u8], ty: u16, data: &[u8]) -> Vec<u8> {
        let mut v = owner.to_vec();
        v.extend_from_slice(&ty.to_be_bytes());
        v.extend_from_slice(&1u16.to_be_bytes());
        v.extend_from_slice(&60u32.to_be_bytes());
        v.extend_from_slice(&(data.len() as u16).to_be_bytes());
        v.extend_from_slice(data);
        v
    }

    fn query(id: u16, q: &str, qtype: u16) -> Vec<u8> {
        let mut m = header(id, 0x0100, 1, 0);
        m.extend(name(q));
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m
    }

    #[test]
    fn a_query_gives_its_name_and_type() {
        // The exact bytes node's c-ares sent for dns.resolve4('other.test') (strace).
        let m = parse(b"\x05\xe1\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05other\x04test\x00\x00\x01\x00\x01").unwrap();
        assert_eq!(
            (m.id, m.response, m.name.as_str(), m.qtype),
            (0x05e1, false, "other.test", rtype::A)
        );
        assert!(m.addresses.is_empty());
    }

    #[test]
    fn answer_addresses_follow_the_cname_chain_and_keep_the_query_name() {
        let mut m = header(7, 0x8180, 1, 4);
        m.extend(name("API.Example.com"));
        m.extend_from_slice(&[0, 1, 0, 1]);
        // api.example.com CNAME edge.cdn.net; the target's owner names point at the rdata.
        let edge_at = (m.len() + 12) as u8;
        m.extend(rr(&[0xc0, 12], rtype::CNAME, &name("edge.cdn.net")));
        m.extend(rr(&[0xc0, edge_at], rtype::A, &[93, 184, 216, 34]));
        let v6 = "2001:db8::1".parse::<Ipv6Addr>().unwrap().octets();
        m.extend(rr(&[0xc0, edge_at], rtype::AAAA, &v6));
        // An address of an unrelated owner is not an answer to the question.
        m.extend(rr(&name("other.org"), rtype::A, &[10, 0, 0, 1]));
        let p = parse(&m).unwrap();
        assert_eq!(p.name, "api.example.com");
        assert!(p.response && p.rcode == 0 && !p.incomplete);
        assert_eq!(
            p.addresses,
            vec![
                "93.184.216.34".parse::<IpAddr>().unwrap(),
                "2001:db8::1".parse().unwrap()
            ]
        );
    }

    #[test]
    fn nxdomain_and_cut_off_answers() {
        let mut nx = query(9, "nope.test", rtype::A);
        nx[2..4].copy_from_slice(&0x8183u16.to_be_bytes());
        let p = parse(&nx).unwrap();
        assert_eq!(
            (p.response, rcode_name(p.rcode).as_str()),
            (true, "NXDOMAIN")
        );

        let mut m = header(1, 0x8180, 1, 2);
        m.extend(name("a.test"));
        m.extend_from_slice(&[0, 1, 0, 1]);
        m.extend(rr(&[0xc0, 12], rtype::A, &[127, 0, 0, 5]));
        m.extend(rr(&[0xc0, 12], rtype::A, &[127, 0, 0, 6]));
        let cut = &m[..m.len() - 3];
        let p = parse(cut).unwrap();
        assert!(p.incomplete);
        assert_eq!(p.addresses, vec!["127.0.0.5".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert_eq!(parse(&[0; 5]), Err(DnsError::Short));
        assert_eq!(parse(&header(1, 0, 0, 0)), Err(DnsError::NoQuestion));
        // A compression pointer to itself.
        let mut m = header(1, 0, 1, 0);
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(parse(&m), Err(DnsError::BadName));
        // Every prefix of a valid answer parses or fails cleanly.
        let mut full = query(3, "x.test", rtype::A);
        full[6..8].copy_from_slice(&1u16.to_be_bytes());
        full.extend(rr(&[0xc0, 12], rtype::A, &[1, 2, 3, 4]));
        for n in 0..full.len() {
            let _ = parse(&full[..n]);
        }
    }

    #[test]
    fn tcp_framing_is_recognised() {
        let q = query(5, "big.test", rtype::A);
        let mut framed = (q.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&q);
        assert!(looks_tcp_framed(&framed, false));
        assert!(!looks_tcp_framed(&q, false));
        assert_eq!(parse(strip_tcp_length(&framed)).unwrap().name, "big.test");
    }
}
