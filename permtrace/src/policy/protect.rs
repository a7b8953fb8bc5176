//! Places a draft never collapses a grant to (or above): a directory grant there would hand
//! the service the whole system, other users' files or secrets. Paths that were accessed
//! there are still granted exactly. Tunable with `--protect` and `--unprotect`.
//!
//! Pattern forms: `/a/b` protects `/a/b` and every ancestor (a grant of `/a` would cover it);
//! a `*` component matches any one name (`/home/*`: every home directory); a leading `**/`
//! protects every directory with that name anywhere and everything inside it (`**/.ssh`); a
//! trailing `/**` also protects everything inside the place (`/proc/**`).

use crate::pathbytes::PathBytes;

/// The default list. Shared temp directories are separate (see [`TEMP_DIRS`]).
pub const DEFAULT_PROTECTED: &[&str] = &[
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/etc/ssh",
    "/etc/ssl",
    "/etc/ssl/private/**",
    "/etc/pki",
    "/etc/sudoers.d",
    "/home",
    "/home/*",
    "/lib",
    "/lib32",
    "/lib64",
    "/media",
    "/mnt",
    "/opt",
    "/proc/**",
    "/root",
    "/run",
    "/run/secrets/**",
    "/sbin",
    "/snap",
    "/srv",
    "/sys/**",
    "/usr",
    "/usr/*",
    "/var",
    "/var/*",
    "/var/run/secrets/**",
    "**/.ssh",
    "**/.gnupg",
    "**/.aws",
    "**/.azure",
    "**/.kube",
    "**/.docker",
    "**/.config",
];

/// Shared temp directories: protected, except that names generated there (which no exact
/// grant could match next time) may be collapsed to them, with a review warning.
pub const TEMP_DIRS: &[&str] = &["/tmp", "/var/tmp", "/dev/shm"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// A shared temp directory.
    Temp,
    /// Protected by this pattern.
    Protected(String),
}

#[derive(Clone, Debug)]
pub struct Protected {
    patterns: Vec<String>,
    temp: Vec<String>,
}

impl Default for Protected {
    fn default() -> Self {
        Protected::new(&[], &[])
    }
}

impl Protected {
    /// The default list plus `add`, minus exactly the entries in `remove`. A temp directory
    /// given in `add` becomes fully protected.
    pub fn new(add: &[String], remove: &[String]) -> Protected {
        let norm = |s: &str| {
            let t = s.trim_end_matches('/');
            if t.is_empty() {
                "/".to_string()
            } else {
                t.to_string()
            }
        };
        let remove: Vec<String> = remove.iter().map(|s| norm(s)).collect();
        let mut patterns: Vec<String> = DEFAULT_PROTECTED
            .iter()
            .map(|s| s.to_string())
            .filter(|p| !remove.contains(p))
            .collect();
        for a in add {
            let a = norm(a);
            if !patterns.contains(&a) {
                patterns.push(a);
            }
        }
        let temp = TEMP_DIRS
            .iter()
            .map(|s| s.to_string())
            .filter(|t| !remove.contains(t) && !patterns.contains(t))
            .collect();
        Protected { patterns, temp }
    }

    /// The effective list, for the report.
    pub fn describe(&self) -> Vec<String> {
        let mut v = self.patterns.clone();
        v.extend(
            self.temp
                .iter()
                .map(|t| format!("{t} (generated names only)")),
        );
        v
    }

    /// Whether `dir` may become a directory grant.
    pub fn check(&self, dir: &PathBytes) -> Verdict {
        let comps = components(dir);
        if self.temp.iter().any(|t| components_str(t) == comps) {
            return Verdict::Temp;
        }
        for p in &self.patterns {
            if blocks(p, &comps) {
                return Verdict::Protected(p.clone());
            }
        }
        // A temp dir is still protected from grants above it.
        for t in &self.temp {
            if is_prefix(&comps, &components_str(t)) {
                return Verdict::Protected(t.clone());
            }
        }
        Verdict::Allowed
    }

    /// The secret place `path` is in (an entry with `**/` or `/**`), if any: even an exact
    /// grant there deserves a look.
    pub fn secret_place(&self, path: &PathBytes) -> Option<&str> {
        let comps = components(path);
        self.patterns
            .iter()
            .find(|p| (p.starts_with("**/") || p.ends_with("/**")) && blocks(p, &comps))
            .map(String::as_str)
    }

    pub fn allows(&self, dir: &PathBytes) -> bool {
        self.check(dir) == Verdict::Allowed
    }

    /// The protected place (a pattern, or a shared temp directory) that the raw string
    /// prefix `dir*` would reach outside `dir` itself: a sibling of `dir` whose name starts
    /// with `dir`'s name (`/etc/s*` reaches `/etc/ssl`, `/home/al*` reaches `/home/*`).
    pub fn reached_by_prefix(&self, dir: &PathBytes) -> Option<String> {
        let d = components(dir);
        let (last, head) = d.split_last()?;
        let sibling = |name: &[u8]| name == b"*" || (name.starts_with(last) && name != last);
        self.patterns
            .iter()
            .chain(&self.temp)
            .find(|p| {
                if let Some(rest) = p.strip_prefix("**/") {
                    // A directory with that name anywhere, so also next to `dir`.
                    return components_str(rest).first().is_some_and(|n| sibling(n));
                }
                let pat = components_str(p.strip_suffix("/**").unwrap_or(p));
                pat.len() >= d.len()
                    && head
                        .iter()
                        .zip(&pat)
                        .all(|(a, b)| b.as_slice() == b"*" || a == b)
                    && sibling(&pat[d.len() - 1])
            })
            .cloned()
    }
}

fn components(p: &PathBytes) -> Vec<Vec<u8>> {
    p.as_bytes()
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn components_str(p: &str) -> Vec<Vec<u8>> {
    components(&PathBytes::from(p))
}

fn is_prefix(short: &[Vec<u8>], long: &[Vec<u8>]) -> bool {
    short.len() <= long.len() && short.iter().zip(long).all(|(a, b)| a == b)
}

fn blocks(pattern: &str, dir: &[Vec<u8>]) -> bool {
    if let Some(rest) = pattern.strip_prefix("**/") {
        // Any directory that is, or is inside, a place with this (possibly multi-part) name.
        let name = components_str(rest);
        return dir.windows(name.len().max(1)).any(|w| w == name.as_slice());
    }
    if let Some(base) = pattern.strip_suffix("/**") {
        let base = components_str(base);
        return is_prefix(dir, &base) || is_prefix(&base, dir);
    }
    let pat = components_str(pattern);
    // `dir` is the protected place or an ancestor of it: its components are a prefix.
    dir.len() <= pat.len()
        && dir
            .iter()
            .zip(&pat)
            .all(|(d, p)| p.as_slice() == b"*" || d == p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(p: &Protected, dir: &str) -> Verdict {
        p.check(&PathBytes::from(dir))
    }

    #[test]
    fn never_to_or_above_protected_places() {
        let p = Protected::default();
        for dir in [
            "/",
            "/etc",
            "/home",
            "/home/alice",
            "/root",
            "/usr/lib",
            "/var/log",
            "/srv",
            "/etc/ssl",
            "/etc/ssl/private",
            "/home/alice/.ssh",
            "/srv/app/.ssh/keys",
            "/home/bob/.config/gcloud",
            "/proc",
            "/home/alice/.config",
        ] {
            assert!(matches!(check(&p, dir), Verdict::Protected(_)), "{dir}");
        }
        for dir in [
            "/srv/app",
            "/home/alice/app",
            "/etc/nginx",
            "/usr/lib/node_modules",
            "/var/lib/myapp",
            "/opt/svc",
            "/root/app",
            "/work/x",
        ] {
            assert_eq!(check(&p, dir), Verdict::Allowed, "{dir}");
        }
    }

    #[test]
    fn temp_dirs_are_only_for_generated_names_and_shield_their_ancestors() {
        let p = Protected::default();
        assert_eq!(check(&p, "/tmp"), Verdict::Temp);
        assert_eq!(check(&p, "/var/tmp"), Verdict::Temp);
        assert_eq!(check(&p, "/dev/shm"), Verdict::Temp);
        assert_eq!(check(&p, "/tmp/app"), Verdict::Allowed);
        assert!(matches!(check(&p, "/dev"), Verdict::Protected(_)));
    }

    #[test]
    fn secret_places_are_recognised_for_exact_grants() {
        let p = Protected::default();
        let secret = |s: &str| p.secret_place(&PathBytes::from(s)).map(str::to_string);
        assert_eq!(
            secret("/home/a/.ssh/known_hosts").as_deref(),
            Some("**/.ssh")
        );
        assert_eq!(secret("/proc/self/status").as_deref(), Some("/proc/**"));
        assert_eq!(secret("/etc/hosts"), None);
        assert_eq!(secret("/srv/app/index.js"), None);
    }

    #[test]
    fn a_string_prefix_reaching_a_protected_sibling_is_recognised() {
        let p = Protected::default();
        let reached = |s: &str| p.reached_by_prefix(&PathBytes::from(s));
        assert_eq!(reached("/srv/app"), None);
        assert_eq!(reached("/home/alice/svc"), None);
        assert_eq!(reached("/etc/nginx"), None);
        assert_eq!(reached("/etc/s").as_deref(), Some("/etc/ssh"));
        assert_eq!(
            reached("/etc/ssl/priv").as_deref(),
            Some("/etc/ssl/private/**")
        );
        assert_eq!(reached("/home/al").as_deref(), Some("/home/*"));
        assert_eq!(reached("/t").as_deref(), Some("/tmp"));
        assert_eq!(reached("/srv/app/.s").as_deref(), Some("**/.ssh"));
        assert_eq!(reached("/"), None);
    }

    #[test]
    fn the_list_is_tunable() {
        let p = Protected::new(&["/work/".into(), "/tmp".into()], &["/srv".into()]);
        assert_eq!(check(&p, "/srv"), Verdict::Allowed);
        assert!(matches!(check(&p, "/work"), Verdict::Protected(_)));
        assert!(matches!(check(&p, "/tmp"), Verdict::Protected(_)));
        // Removing a leaf does not unprotect what other entries still cover.
        let p = Protected::new(&[], &["/etc/ssl".into()]);
        assert_eq!(
            check(&p, "/etc/ssl"),
            Verdict::Protected("/etc/ssl/private/**".into())
        );
        assert_eq!(check(&p, "/etc/ssl/certs"), Verdict::Allowed);
    }
}
