//! Writing results safely while running as root: files appear atomically (temp file, fsync,
//! rename), and no symlink planted in or as the output directory is ever followed.

use std::{
    ffi::CString,
    io::{self, Write as _},
    os::{
        fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
        unix::ffi::OsStrExt as _,
    },
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result, bail};

/// An output directory opened once, by file descriptor: later writes are relative to it, so
/// swapping the path for a symlink afterwards cannot redirect them.
pub struct OutputDir {
    fd: OwnedFd,
    path: PathBuf,
    /// Give created files to this uid/gid (the invoking user under sudo).
    owner: Option<(u32, u32)>,
}

impl OutputDir {
    /// Creates `path` (and missing parents) and opens it. Refuses when `path` itself is a
    /// symlink.
    pub fn create(path: &Path, owner: Option<(u32, u32)>) -> Result<OutputDir> {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if meta.file_type().is_symlink() {
                bail!(
                    "output directory {} is a symlink; refusing to write through it",
                    path.display()
                );
            }
            if !meta.is_dir() {
                bail!(
                    "output path {} exists and is not a directory",
                    path.display()
                );
            }
        } else {
            std::fs::create_dir_all(path)
                .with_context(|| format!("cannot create output directory {}", path.display()))?;
            if let Some((uid, gid)) = owner {
                let c = cstr(path)?;
                // SAFETY: c is a valid NUL-terminated path.
                unsafe { libc::lchown(c.as_ptr(), uid, gid) };
            }
        }
        let c = cstr(path)?;
        // SAFETY: c is a valid path; the returned fd is checked below.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_RDONLY,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error())
                .with_context(|| format!("cannot open output directory {}", path.display()));
        }
        // SAFETY: fresh fd, owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(OutputDir {
            fd,
            path: path.to_path_buf(),
            owner,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `name` in the directory atomically: readers see the old file or the new one,
    /// never a half-written one, even after a crash.
    pub fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        if name.contains('/') || name.starts_with('.') || name.is_empty() {
            bail!("invalid output file name {name:?}");
        }
        let tmp_name = format!(".{name}.tmp-{}", std::process::id());
        let tmp = CString::new(tmp_name.as_bytes())?;
        let dst = CString::new(name.as_bytes())?;
        let dir = self.fd.as_raw_fd();
        // A stale temp file of ours (same pid after a crash is unlikely, but cheap to handle).
        // SAFETY: valid fd and path.
        unsafe { libc::unlinkat(dir, tmp.as_ptr(), 0) };
        // SAFETY: valid fd and path; O_EXCL|O_NOFOLLOW never opens an existing file or link.
        let fd = unsafe {
            libc::openat(
                dir,
                tmp.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o644,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error())
                .with_context(|| format!("cannot create {}", self.path.join(&tmp_name).display()));
        }
        // SAFETY: fresh fd.
        let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        let result = (|| -> Result<()> {
            let mut w = io::BufWriter::new(&file);
            w.write_all(bytes)?;
            w.flush()?;
            drop(w);
            file.sync_all()?;
            if let Some((uid, gid)) = self.owner {
                // SAFETY: valid fd.
                unsafe { libc::fchown(file.as_raw_fd(), uid, gid) };
            }
            // rename() replaces a symlink at the destination instead of following it.
            // SAFETY: valid fds and paths.
            if unsafe { libc::renameat(dir, tmp.as_ptr(), dir, dst.as_ptr()) } != 0 {
                return Err(io::Error::last_os_error().into());
            }
            // SAFETY: valid fd.
            unsafe { libc::fsync(dir) };
            Ok(())
        })();
        if let Err(e) = result {
            // SAFETY: valid fd and path.
            unsafe { libc::unlinkat(dir, tmp.as_ptr(), 0) };
            return Err(e).with_context(|| format!("writing {}", self.path.join(name).display()));
        }
        Ok(self.path.join(name))
    }

    /// Removes `name` from the directory if it is there (a stale output of an earlier run).
    pub fn remove(&self, name: &str) -> Result<()> {
        if name.contains('/') || name.is_empty() {
            bail!("invalid output file name {name:?}");
        }
        let c = CString::new(name)?;
        // SAFETY: valid fd and path; unlinkat never follows a symlink at the final component.
        if unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), 0) } != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ENOENT) {
                return Err(e)
                    .with_context(|| format!("removing {}", self.path.join(name).display()));
            }
        }
        Ok(())
    }

    /// Opens `name` in the directory for streaming (the event log), never through a symlink.
    pub fn open_stream(&self, name: &str) -> Result<std::fs::File> {
        open_no_follow(self.fd.as_raw_fd(), name, self.owner)
            .with_context(|| format!("cannot create {}", self.path.join(name).display()))
    }
}

/// Opens a file for writing (created or truncated) without following a symlink at its
/// final component.
pub fn create_no_follow(path: &Path, owner: Option<(u32, u32)>) -> Result<std::fs::File> {
    let c = cstr(path)?;
    // SAFETY: valid path.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o644,
        )
    };
    if fd < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ELOOP) {
            bail!(
                "{} is a symlink; refusing to write through it",
                path.display()
            );
        }
        return Err(e).with_context(|| format!("cannot create {}", path.display()));
    }
    // SAFETY: fresh fd.
    let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    if let Some((uid, gid)) = owner {
        // SAFETY: valid fd.
        unsafe { libc::fchown(file.as_raw_fd(), uid, gid) };
    }
    Ok(file)
}

fn open_no_follow(dir: i32, name: &str, owner: Option<(u32, u32)>) -> Result<std::fs::File> {
    if name.contains('/') {
        bail!("invalid file name {name:?}");
    }
    let c = CString::new(name)?;
    // SAFETY: valid fd and path.
    let fd = unsafe {
        libc::openat(
            dir,
            c.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o644,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error().into());
    }
    // SAFETY: fresh fd.
    let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    if let Some((uid, gid)) = owner {
        // SAFETY: valid fd.
        unsafe { libc::fchown(file.as_raw_fd(), uid, gid) };
    }
    Ok(file)
}

fn cstr(p: &Path) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes()).context("path contains a NUL byte")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_atomically_and_replaces_a_planted_symlink_instead_of_following_it() {
        let tmp = tempfile::tempdir().unwrap();
        let out = OutputDir::create(&tmp.path().join("out"), None).unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, tmp.path().join("out/capture.json")).unwrap();
        out.write_atomic("capture.json", b"{}").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let written = tmp.path().join("out/capture.json");
        assert!(
            !std::fs::symlink_metadata(&written)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(written).unwrap(), "{}");
    }

    #[test]
    fn refuses_a_symlinked_output_dir_and_symlinked_streams() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("real")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("real"), tmp.path().join("link")).unwrap();
        let err = OutputDir::create(&tmp.path().join("link"), None)
            .err()
            .unwrap();
        assert!(err.to_string().contains("symlink"), "{err}");

        std::fs::write(tmp.path().join("target"), "keep").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("target"), tmp.path().join("ev.jsonl")).unwrap();
        let err = create_no_follow(&tmp.path().join("ev.jsonl"), None).unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("target")).unwrap(),
            "keep"
        );
    }
}
