//! `--events` over days: the log starts a new file when it reaches `--events-max-bytes`,
//! keeping the last `--events-keep` ones as FILE.1 (newest) … FILE.N. Files are only ever
//! switched between lines, so every file is valid JSON lines.

use std::{
    ffi::OsString,
    fs::File,
    io::{self, BufWriter, Write},
    path::{Path, PathBuf},
};

use anyhow::Result;

use crate::output::create_no_follow;

pub struct RotatingLog {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    owner: Option<(u32, u32)>,
    out: BufWriter<File>,
    written: u64,
}

impl RotatingLog {
    /// Creates (truncates) `path`; never writes through a symlink.
    pub fn create(
        path: &Path,
        max_bytes: u64,
        keep: u32,
        owner: Option<(u32, u32)>,
    ) -> Result<Self> {
        Ok(Self {
            path: path.to_path_buf(),
            max_bytes,
            keep,
            owner,
            out: BufWriter::with_capacity(1 << 16, create_no_follow(path, owner)?),
            written: 0,
        })
    }

    fn numbered(&self, n: u32) -> PathBuf {
        let mut name = OsString::from(self.path.as_os_str());
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.out.flush()?;
        // rename() moves a planted symlink itself; it never writes through it.
        if self.keep > 0 {
            for n in (1..self.keep).rev() {
                match std::fs::rename(self.numbered(n), self.numbered(n + 1)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            std::fs::rename(&self.path, self.numbered(1))?;
        }
        let file = create_no_follow(&self.path, self.owner).map_err(io::Error::other)?;
        self.out = BufWriter::with_capacity(1 << 16, file);
        self.written = 0;
        Ok(())
    }
}

impl Write for RotatingLog {
    /// The event log writes each line's end as its own `"\n"`: a write ending in a newline
    /// ends a line (JSON strings never hold a raw newline), the only place to switch files.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.written += n as u64;
        if n == buf.len() && buf.ends_with(b"\n") && self.written >= self.max_bytes {
            self.rotate()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(p: &Path) -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn rotates_between_lines_and_keeps_the_newest_files() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("events.jsonl");
        let mut log = RotatingLog::create(&path, 20, 2, None).unwrap();
        for i in 0..10 {
            // Two writes per line, as the event log does.
            write!(log, "{{\"n\":{i},\"pad\":\"xx\"}}").unwrap();
            log.write_all(b"\n").unwrap();
        }
        log.flush().unwrap();
        // Each line is 19 bytes: a file is full after its second line.
        let line = |n: u32| format!("{{\"n\":{n},\"pad\":\"xx\"}}");
        assert_eq!(lines(&path), Vec::<String>::new());
        assert_eq!(
            lines(&tmp.path().join("events.jsonl.1")),
            [line(8), line(9)]
        );
        assert_eq!(
            lines(&tmp.path().join("events.jsonl.2")),
            [line(6), line(7)]
        );
        assert!(!tmp.path().join("events.jsonl.3").exists());
    }

    #[test]
    fn keeps_lines_together_below_the_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("e.jsonl");
        let mut log = RotatingLog::create(&path, 1000, 3, None).unwrap();
        for i in 0..5 {
            writeln!(log, "{{\"n\":{i}}}").unwrap();
        }
        log.flush().unwrap();
        assert_eq!(lines(&path).len(), 5);
        assert!(!tmp.path().join("e.jsonl.1").exists());
    }

    #[test]
    fn a_planted_symlink_is_never_written_through() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let path = tmp.path().join("e.jsonl");
        let mut log = RotatingLog::create(&path, 5, 1, None).unwrap();
        writeln!(log, "first line").unwrap();
        // Someone swaps the next file name for a link while the log runs.
        std::fs::remove_file(&path).ok();
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        writeln!(log, "second").unwrap_or(());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }
}
