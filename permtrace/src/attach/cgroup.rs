//! `attach --cgroup`: the cgroup v2 directory to follow, its id as the kernel programs see it
//! (`bpf_get_current_cgroup_id()` is the directory's inode number), its sub-cgroups and its
//! members. Works with a pure v2 `/sys/fs/cgroup` and with the hybrid layout, where v2 is
//! mounted at `/sys/fs/cgroup/unified`.

use std::{
    ffi::CString,
    os::unix::{ffi::OsStrExt as _, fs::MetadataExt as _},
    path::{Path, PathBuf},
};

use anyhow::{Result, bail};

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;

#[derive(Clone, Debug)]
pub struct Cgroup {
    /// The directory, absolute.
    pub dir: PathBuf,
}

impl Cgroup {
    /// Accepts the directory itself (`/sys/fs/cgroup/system.slice/api.service`) or a path
    /// inside the v2 hierarchy as `/proc/PID/cgroup` prints it (`/system.slice/api.service`).
    pub fn find(path: &Path) -> Result<Cgroup> {
        let mounts = cgroup2_mounts();
        if path.is_dir() {
            let dir = std::fs::canonicalize(path)?;
            return match fs_magic(&dir) {
                Some(CGROUP2_SUPER_MAGIC) => Ok(Cgroup { dir }),
                Some(CGROUP_SUPER_MAGIC) => bail!(
                    "{} is a cgroup v1 directory; permtrace follows cgroup v2 directories{}",
                    path.display(),
                    where_v2(&mounts)
                ),
                _ => bail!(
                    "{} is not a cgroup directory{}",
                    path.display(),
                    where_v2(&mounts)
                ),
            };
        }
        let rel = path.strip_prefix("/").unwrap_or(path);
        for m in &mounts {
            let dir = m.join(rel);
            if dir.is_dir() && fs_magic(&dir) == Some(CGROUP2_SUPER_MAGIC) {
                return Ok(Cgroup { dir });
            }
        }
        if mounts.is_empty() {
            bail!(
                "no cgroup v2 hierarchy is mounted (mount -t cgroup2 none /sys/fs/cgroup/unified)"
            );
        }
        bail!("no cgroup {}{}", path.display(), where_v2(&mounts))
    }

    /// This cgroup and every cgroup below it, with their ids.
    pub fn subtree(&self) -> Vec<(PathBuf, u64)> {
        let mut out = Vec::new();
        let mut todo = vec![self.dir.clone()];
        while let Some(dir) = todo.pop() {
            let Ok(meta) = std::fs::metadata(&dir) else {
                continue;
            };
            out.push((dir.clone(), meta.ino()));
            if let Ok(entries) = std::fs::read_dir(&dir) {
                todo.extend(
                    entries
                        .flatten()
                        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                        .map(|e| e.path()),
                );
            }
        }
        out
    }

    /// Processes in this cgroup and below it.
    pub fn members(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self
            .subtree()
            .iter()
            .flat_map(|(dir, _)| {
                std::fs::read_to_string(dir.join("cgroup.procs"))
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect::<Vec<u32>>()
            })
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    pub fn exists(&self) -> bool {
        self.dir.is_dir()
    }
}

fn where_v2(mounts: &[PathBuf]) -> String {
    match mounts.first() {
        Some(m) => format!(" (cgroup v2 is mounted at {} here)", m.display()),
        None => " (no cgroup v2 hierarchy is mounted here)".into(),
    }
}

/// Mount points of cgroup2 filesystems, from `/proc/self/mountinfo`.
pub fn cgroup2_mounts() -> Vec<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter_map(|line| {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPEROPTS
            let (left, right) = line.split_once(" - ")?;
            let mount_point = left.split_whitespace().nth(4)?;
            (right.split_whitespace().next()? == "cgroup2")
                .then(|| PathBuf::from(unescape_mount(mount_point)))
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape_mount(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let v = u8::from_str_radix(&s[i + 1..i + 4], 8).unwrap_or(b'?');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn fs_magic(path: &Path) -> Option<i64> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statfs is plain data; c is a valid NUL-terminated path.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some(st.f_type as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_unescaped() {
        assert_eq!(
            unescape_mount("/sys/fs/cgroup/unified"),
            "/sys/fs/cgroup/unified"
        );
        assert_eq!(unescape_mount("/mnt/my\\040dir"), "/mnt/my dir");
    }

    /// This machine mounts cgroup2 (hybrid or pure v2); the tests run where permtrace runs.
    #[test]
    fn finds_the_v2_root_by_its_path_and_by_its_name_and_refuses_other_directories() {
        let mounts = cgroup2_mounts();
        let root = mounts.first().expect("a cgroup2 mount");
        let cg = Cgroup::find(root).unwrap();
        assert_eq!(&cg.dir, root);
        assert!(cg.subtree().iter().any(|(d, id)| d == root && *id > 0));
        assert!(
            cg.members().contains(&std::process::id()),
            "the whole tree holds us"
        );
        let err = Cgroup::find(Path::new("/etc")).unwrap_err().to_string();
        assert!(err.contains("not a cgroup directory"), "{err}");
        let err = Cgroup::find(Path::new("/no/such/permtrace-cgroup"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no cgroup"), "{err}");
    }

    /// Hybrid layouts (this machine's) mount v1 controllers next to v2.
    #[test]
    fn a_v1_directory_is_refused_with_the_v2_location() {
        let v1 = Path::new("/sys/fs/cgroup/memory");
        if fs_magic(v1) != Some(CGROUP_SUPER_MAGIC) {
            // A pure v2 machine has no v1 directory to refuse.
            assert_eq!(
                fs_magic(Path::new("/sys/fs/cgroup")),
                Some(CGROUP2_SUPER_MAGIC)
            );
            return;
        }
        let err = Cgroup::find(v1).unwrap_err().to_string();
        assert!(
            err.contains("cgroup v1") && err.contains("mounted at"),
            "{err}"
        );
    }
}
