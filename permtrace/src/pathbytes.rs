//! Paths as the kernel saw them: bytes, not UTF-8. Linux paths may hold any byte but NUL,
//! and a policy built from lossily decoded names would grant the wrong file.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::{fmt, os::unix::ffi::OsStrExt as _, path::Path};

/// An owned path in raw bytes. Serialized as a JSON string when it is UTF-8, otherwise as
/// `{"hex": "..."}` so that no byte is lost.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathBytes(Vec<u8>);

impl PathBytes {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn as_path(&self) -> &Path {
        Path::new(std::ffi::OsStr::from_bytes(&self.0))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_absolute(&self) -> bool {
        self.0.first() == Some(&b'/')
    }

    /// The path as text, with invalid UTF-8 shown as U+FFFD (for humans only).
    pub fn lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// The last component (`"/a/b.js"` -> `"b.js"`).
    pub fn file_name(&self) -> &[u8] {
        match self.0.iter().rposition(|&b| b == b'/') {
            Some(i) => &self.0[i + 1..],
            None => &self.0,
        }
    }

    /// The parent directory of an absolute, normalized path (`"/a/b"` -> `"/a"`, `"/a"` -> `"/"`).
    pub fn parent(&self) -> Option<PathBytes> {
        if self.0 == b"/" || self.0.is_empty() {
            return None;
        }
        let i = self.0.iter().rposition(|&b| b == b'/')?;
        Some(PathBytes(if i == 0 {
            b"/".to_vec()
        } else {
            self.0[..i].to_vec()
        }))
    }

    /// Whether `self` is `other` or lies under it, component-wise (`/a/b` is under `/a`,
    /// `/ab` is not). Both must be absolute and normalized.
    pub fn starts_with_dir(&self, dir: &PathBytes) -> bool {
        let (s, d) = (&self.0, &dir.0);
        if d.as_slice() == b"/" {
            return self.is_absolute();
        }
        s.starts_with(d) && (s.len() == d.len() || s[d.len()] == b'/')
    }

    /// `self` joined with a relative component.
    pub fn join(&self, name: &[u8]) -> PathBytes {
        let mut v = self.0.clone();
        if v.last() != Some(&b'/') {
            v.push(b'/');
        }
        v.extend_from_slice(name);
        PathBytes(v)
    }
}

impl From<&str> for PathBytes {
    fn from(s: &str) -> Self {
        Self(s.as_bytes().to_vec())
    }
}

impl From<&Path> for PathBytes {
    fn from(p: &Path) -> Self {
        Self(p.as_os_str().as_bytes().to_vec())
    }
}

impl fmt::Debug for PathBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.lossy())
    }
}

impl fmt::Display for PathBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lossy())
    }
}

impl Serialize for PathBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => {
                use serde::ser::SerializeMap as _;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("hex", &hex(&self.0))?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for PathBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Text(String),
            Hex { hex: String },
        }
        match Repr::deserialize(d)? {
            Repr::Text(t) => Ok(PathBytes(t.into_bytes())),
            Repr::Hex { hex } => unhex(&hex)
                .map(PathBytes)
                .ok_or_else(|| serde::de::Error::custom("invalid hex path")),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Resolves `path` against `base` the way Node's `path.resolve` does: purely lexically,
/// collapsing `.` and `..` and repeated slashes, never following symlinks (Node's permission
/// checks see the path as given, not its target). `base` must be absolute.
pub fn resolve_lexically(base: &PathBytes, path: &[u8]) -> PathBytes {
    let mut parts: Vec<&[u8]> = Vec::new();
    let joined: Vec<&[u8]> = if path.first() == Some(&b'/') {
        path.split(|&b| b == b'/').collect()
    } else {
        base.0
            .split(|&b| b == b'/')
            .chain(path.split(|&b| b == b'/'))
            .collect()
    };
    for part in joined {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let mut out = Vec::with_capacity(path.len() + base.0.len() + 1);
    for p in parts {
        out.push(b'/');
        out.extend_from_slice(p);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    PathBytes(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(base: &str, p: &str) -> String {
        resolve_lexically(&PathBytes::from(base), p.as_bytes()).to_string()
    }

    #[test]
    fn resolves_like_node_path_resolve() {
        assert_eq!(r("/srv/app", "data/x.json"), "/srv/app/data/x.json");
        assert_eq!(r("/srv/app", "./data/../cfg//y"), "/srv/app/cfg/y");
        assert_eq!(r("/srv/app", "/etc/hosts"), "/etc/hosts");
        assert_eq!(r("/srv/app", "../../../.."), "/");
        assert_eq!(r("/", "a/"), "/a");
        assert_eq!(r("/srv", ""), "/srv");
        assert_eq!(r("/srv/app", "."), "/srv/app");
    }

    #[test]
    fn dir_prefix_is_component_wise() {
        let d = PathBytes::from("/t/data");
        assert!(PathBytes::from("/t/data").starts_with_dir(&d));
        assert!(PathBytes::from("/t/data/f").starts_with_dir(&d));
        assert!(!PathBytes::from("/t/database.txt").starts_with_dir(&d));
        assert!(PathBytes::from("/x").starts_with_dir(&PathBytes::from("/")));
    }

    #[test]
    fn non_utf8_paths_survive_json() {
        let p = PathBytes::new(vec![b'/', b't', 0xff, b'x']);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"hex":"2f74ff78"}"#);
        assert_eq!(serde_json::from_str::<PathBytes>(&json).unwrap(), p);
        let text = PathBytes::from("/etc/hosts");
        assert_eq!(serde_json::to_string(&text).unwrap(), r#""/etc/hosts""#);
    }

    #[test]
    fn parents_and_names() {
        assert_eq!(PathBytes::from("/a/b.js").file_name(), b"b.js");
        assert_eq!(PathBytes::from("/a/b").parent().unwrap().to_string(), "/a");
        assert_eq!(PathBytes::from("/a").parent().unwrap().to_string(), "/");
        assert!(PathBytes::from("/").parent().is_none());
    }
}
