//! Names a program makes up at run time (temp files, pid files, UUIDs, content hashes,
//! mkstemp/mkdtemp suffixes, timestamps): the next run uses different ones, so granting the
//! observed name exactly would fail next time. Their directory is granted instead.

/// How the program treated a name: the weak mkstemp-suffix rule needs evidence that the
/// name was made by the program.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lifecycle {
    /// Created by the program (opened for writing, mkdir, rename target).
    pub created: bool,
    /// Also removed (unlink, rmdir, renamed away) during the capture: a temporary.
    pub removed: bool,
}

/// Whether a file name looks generated.
pub fn is_generated(name: &[u8], life: Lifecycle) -> bool {
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
        // mkstemp/mkdtemp append six random [A-Za-z0-9] (after a separator here). A created
        // name mixing character classes is taken as one; a temporary (created and removed)
        // with any six-character tail too, since one in a hundred random tails is one class.
        let six = tok.len() == 6 && tok.iter().all(u8::is_ascii_alphanumeric);
        if life.created && i > 0 && six && (life.removed || mixes_classes(tok)) {
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

fn mixes_classes(tok: &[u8]) -> bool {
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

    const MADE: Lifecycle = Lifecycle {
        created: true,
        removed: false,
    };
    const TEMP: Lifecycle = Lifecycle {
        created: true,
        removed: true,
    };
    const SEEN: Lifecycle = Lifecycle {
        created: false,
        removed: false,
    };

    #[test]
    fn generated_names_are_recognised() {
        for (name, life) in [
            ("upload-3f2a9c1e-77d4-4b21-9a0e-1c2d3e4f5a6b.bin", SEEN),
            ("3f2a9c1e-77d4-4b21-9a0e-1c2d3e4f5a6b", SEEN),
            ("app.12345.pid", SEEN),
            ("worker-98231.sock", SEEN),
            ("config.json.2837465823", SEEN),
            ("main.4f9c2ab17e.js", SEEN),
            ("2024-01-31.log", SEEN),
            ("tmp-SFYGgt", MADE),
            ("sess_a1b2c3", MADE),
            ("cache-d41d8cd98f00b204e9800998ecf8427e", SEEN),
            // An mkdtemp tail that happens to be one character class, removed again.
            ("job-qwerty", TEMP),
        ] {
            assert!(is_generated(name.as_bytes(), life), "{name}");
        }
    }

    #[test]
    fn ordinary_names_are_not() {
        for (name, life) in [
            ("index.js", MADE),
            ("package.json", MADE),
            ("config", MADE),
            ("node22", MADE),
            ("server-1.log", MADE),
            ("deadbeef.txt", SEEN),
            ("backup", MADE),
            ("util.js", MADE),
            ("v8.log", MADE),
            ("README.md", MADE),
            ("app.lock", TEMP),
            ("cache-images", MADE),
            // Six mixed characters, but not created by the program: kept exact.
            ("tmp-SFYGgt", SEEN),
            ("", MADE),
        ] {
            assert!(!is_generated(name.as_bytes(), life), "{name}");
        }
    }
}
