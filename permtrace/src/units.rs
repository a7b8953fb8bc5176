//! Durations and sizes as people type them on the command line (`90s`, `30m`, `48h`, `1h30m`,
//! `2d`; `512M`, `1G`), and durations as a status line shows them.

use std::time::Duration;

/// Parses a duration: one or more `<number><unit>` with units `ms`, `s`, `m`, `h`, `d`
/// (`1h30m`, `90s`). A unit is required: `--duration 48` could mean anything.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let text: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if text.is_empty() {
        return Err("empty duration (use e.g. 90s, 30m, 48h, 1h30m)".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit_len = rest[digits..]
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len() - digits);
        let (num, unit) = (&rest[..digits], &rest[digits..digits + unit_len]);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("{s:?} is not a duration (use e.g. 90s, 30m, 48h, 1h30m)"))?;
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" | "sec" => Duration::from_secs(n),
            "m" | "min" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "d" => Duration::from_secs(n.saturating_mul(86400)),
            "" => return Err(format!("{s:?}: give a unit (ms, s, m, h or d), e.g. {n}s")),
            other => {
                return Err(format!(
                    "{s:?}: unknown unit {other:?} (use ms, s, m, h or d)"
                ));
            }
        };
        total = total.saturating_add(part);
        rest = &rest[digits + unit_len..];
    }
    if total.is_zero() {
        return Err(format!("{s:?}: the duration must be longer than zero"));
    }
    Ok(total)
}

/// `45s`, `3m05s`, `2h03m`, `1d04h`: two units are enough to read progress at a glance.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

/// Parses a size: a number with an optional `K`, `M` or `G` (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..split]
        .parse()
        .map_err(|_| format!("{s:?} is not a size (use e.g. 512M or 1G)"))?;
    let mult: u64 = match t[split..].to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        other => {
            return Err(format!(
                "{s:?}: unknown size unit {other:?} (use K, M or G)"
            ));
        }
    };
    n.checked_mul(mult)
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("{s:?}: the size must be more than zero and fit in 64 bits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_people_type() {
        let h = |n: u64| Duration::from_secs(n * 3600);
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("48h"), Ok(h(48)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(h(48)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("48").unwrap_err().contains("give a unit"));
        assert!(
            parse_duration("3 weeks")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn durations_shown() {
        assert_eq!(format_duration(Duration::from_secs(45)), "45s");
        assert_eq!(format_duration(Duration::from_secs(185)), "3m05s");
        assert_eq!(format_duration(Duration::from_secs(7380)), "2h03m");
        assert_eq!(format_duration(Duration::from_secs(100_800)), "1d04h");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3T").is_err());
    }
}
