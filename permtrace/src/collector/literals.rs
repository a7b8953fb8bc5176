//! IP address literals in a process's command line and environment.
//!
//! A process found running when permtrace attaches may connect to an address it resolved
//! before (a name permtrace never saw) or to one it was given as a literal. Neither Node nor
//! the kernel tells the two apart (`net.connect('10.0.0.5')` skips the lookup either way),
//! but an address spelled out in the process's argv or environment (`--db 10.0.0.5`,
//! `DATABASE_URL=postgres://10.0.0.5:5432/app`) is one it was handed as a literal.

use std::net::IpAddr;

/// The IP addresses written in `text` (canonical: an IPv4-mapped IPv6 address as IPv4).
pub fn ip_literals(text: &[u8]) -> Vec<IpAddr> {
    let mut out = Vec::new();
    let ip_char = |b: &u8| b.is_ascii_hexdigit() || *b == b'.' || *b == b':';
    for run in text.split(|b| !ip_char(b)) {
        let run = trim(run, b".:");
        if run.len() < 2 {
            continue;
        }
        // The whole run (an IPv6 address, or IPv4), else its pieces between colons
        // (`10.0.0.5:5432`, `host:10.0.0.5`).
        let whole = parse(run);
        let pieces = run.split(|&b| b == b':').filter_map(parse);
        for ip in whole.into_iter().chain(pieces) {
            let ip = ip.to_canonical();
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    out
}

fn parse(s: &[u8]) -> Option<IpAddr> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn trim<'a>(s: &'a [u8], chars: &[u8]) -> &'a [u8] {
    let start = s.iter().position(|b| !chars.contains(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !chars.contains(b))
        .map_or(start, |e| e + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<String> {
        ip_literals(text.as_bytes())
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn addresses_in_urls_options_and_lists_are_found() {
        assert_eq!(
            found("DATABASE_URL=postgres://app:pw@10.0.0.5:5432/db"),
            ["10.0.0.5"]
        );
        assert_eq!(found("--upstream=[2001:db8::7]:443"), ["2001:db8::7"]);
        assert_eq!(
            found("HOSTS=10.1.0.1,10.1.0.2 fe80::1."),
            ["10.1.0.1", "10.1.0.2", "fe80::1"]
        );
        assert_eq!(found("::ffff:192.0.2.1"), ["192.0.2.1"]);
    }

    #[test]
    fn versions_hex_words_and_ports_are_not_addresses() {
        assert!(found("node-v20.20.2 sha=deadbeefcafe 1.2.3 :8080 a:b:c").is_empty());
    }
}
