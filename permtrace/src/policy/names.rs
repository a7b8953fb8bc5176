//! Names a program makes up at run time (temp files, pid files, UUIDs, content hashes,
//! mkstemp/mkdtemp suffixes, timestamps): the next run uses different ones, so granting the
//! observed name exactly would fail next time. Their directory is granted instead.

/// Whether a file name looks generated. `created` says the program created it (open for
/// writing, mkdir, rename target): the weak mkstemp-suffix rule only applies then.
pub fn is_generated(name: &[u8], created: bool) -> bool {
    if name.is_empty() {
        return false;
    }
    if has_uuid(name) {
        return true;
    }
    let tokens: Vec<&[u8]> = name
        .split(|b| matches!(b, b'-' | b'_' | b'.' | b'+' | b'~' | b'@' | b',' | b' '))
        .filter(|t| !t.is_empty())
        .collect();
    for (i, tok) in tokens.iter().enumerate() {
        if is_number(tok) || is_hash(tok) {
            return true;
        }
        // mkstemp/mkdtemp append six random [A-Za-z0-9]: after a separator, mixing classes.
        if created && i > 0 && tok.len() == 6 && is_random_six(tok) {
            return true;
        }
    }
    false
}

/// Four or more digits: pids, timestamps, counters, dates.
fn is_number(tok: &[u8]) -> bool {
    tok.len() >= 4 && tok.iter().all(u8::is_ascii_digit)
}

/// Hex of eight or more with both digits and letters (content hashes, random ids).
fn is_hash(tok: &[u8]) -> bool {
    tok.len() >= 8
        && tok.iter().all(u8::is_ascii_hexdigit)
        && tok.iter().filter(|b| b.is_ascii_digit()).count() >= 2
        && tok.iter().filter(|b| b.is_ascii_alphabetic()).count() >= 2
}

fn is_random_six(tok: &[u8]) -> bool {
    if !tok.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let classes = [
        tok.iter().any(u8::is_ascii_digit),
        tok.iter().any(u8::is_ascii_lowercase),
        tok.iter().any(u8::is_ascii_uppercase),
    ];
    classes.iter().filter(|c| **c).count() >= 2
}

/// 8-4-4-4-12 hex digits anywhere in the name.
fn has_uuid(name: &[u8]) -> bool {
    const SHAPE: [usize; 5] = [8, 4, 4, 4, 12];
    let len = 36;
    name.windows(len).any(|w| {
        let mut at = 0;
        for (i, n) in SHAPE.iter().enumerate() {
            if !w[at..at + n].iter().all(u8::is_ascii_hexdigit) {
                return false;
            }
            at += n;
            if i < SHAPE.len() - 1 {
                if w[at] != b'-' {
                    return false;
                }
                at += 1;
            }
        }
        true
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_are_recognised() {
        for (name, created) in [
            ("upload-3f2a9c1e-77d4-4b21-9a0e-1c2d3e4f5a6b.bin", false),
            ("3f2a9c1e-77d4-4b21-9a0e-1c2d3e4f5a6b", false),
            ("app.12345.pid", false),
            ("worker-98231.sock", false),
            ("config.json.2837465823", false),
            ("main.4f9c2ab17e.js", false),
            ("2024-01-31.log", false),
            ("tmp-SFYGgt", true),
            ("sess_a1b2c3", true),
            ("cache-d41d8cd98f00b204e9800998ecf8427e", false),
        ] {
            assert!(is_generated(name.as_bytes(), created), "{name}");
        }
    }

    #[test]
    fn ordinary_names_are_not() {
        for (name, created) in [
            ("index.js", true),
            ("package.json", true),
            ("config", true),
            ("node22", true),
            ("server-1.log", true),
            ("deadbeef.txt", false),
            ("backup", true),
            ("util.js", true),
            ("v8.log", true),
            ("README.md", true),
            // Six mixed characters, but not created by the program: kept exact.
            ("tmp-SFYGgt", false),
            ("", true),
        ] {
            assert!(!is_generated(name.as_bytes(), created), "{name}");
        }
    }
}
