//! Where an app runs: a fresh copy at a fixed path per test. Grants are paths, so the trace and
//! every re-run under the draft must see the app at the same place; each run gets a pristine
//! copy so files one run writes cannot help the next.
//!
//! The location is `$TMPDIR/permtrace-accept-<app>-<random>/<app>` (normally under /tmp),
//! canonicalized so the paths the loader reads modules at (real paths) are the paths the app
//! was started with. It is deliberately two levels below /tmp: the app's root is an ordinary
//! project directory, not a protected place the draft would refuse to grant; and its parent
//! holds the things that must stay outside the grants (the drafts, the audit subscriber, the
//! "secret" files the denial probe tries).

use std::{
    fs,
    io::ErrorKind,
    os::unix::fs::symlink,
    path::{Path, PathBuf},
};

use super::apps::App;

pub struct Workspace {
    /// Keeps the directory alive; removed on drop unless PERMTRACE_KEEP_ACCEPTANCE is set.
    _dir: Option<tempfile::TempDir>,
    /// The parent of the app's root.
    pub base: PathBuf,
    /// The app's copy.
    pub root: PathBuf,
    source: PathBuf,
    pub app: &'static App,
}

impl Workspace {
    pub fn new(app: &'static App) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("permtrace-accept-{}-", app.name))
            .tempdir()
            .expect("creating the test's temp dir");
        let base = dir
            .path()
            .canonicalize()
            .expect("canonicalizing the temp dir");
        let keep = std::env::var_os("PERMTRACE_KEEP_ACCEPTANCE").is_some();
        if keep {
            eprintln!("keeping {} (PERMTRACE_KEEP_ACCEPTANCE)", base.display());
        }
        Workspace {
            _dir: if keep {
                let _ = dir.keep();
                None
            } else {
                Some(dir)
            },
            root: base.join(app.name),
            source: Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/apps")
                .join(app.name),
            base,
            app,
        }
    }

    /// Replaces the app's copy with a pristine one, at the same path.
    pub fn fresh_copy(&self) {
        match fs::remove_dir_all(&self.root) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => panic!("removing {}: {e}", self.root.display()),
        }
        copy_tree(&self.source, &self.root);
    }

    /// Where the app is started.
    pub fn workdir(&self) -> PathBuf {
        self.root.join(self.app.workdir)
    }

    /// A path next to (outside) the app's root.
    pub fn beside(&self, name: &str) -> PathBuf {
        self.base.join(name)
    }
}

/// Copies a directory tree, recreating symlinks as symlinks (pnpm layouts must stay links).
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("creating {}: {e}", to.display()));
    let entries = fs::read_dir(from).unwrap_or_else(|e| panic!("listing {}: {e}", from.display()));
    for entry in entries {
        let entry = entry.expect("reading a directory entry");
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().expect("file type");
        if kind.is_symlink() {
            let target = fs::read_link(&src).expect("readlink");
            symlink(&target, &dst).unwrap_or_else(|e| panic!("symlink {}: {e}", dst.display()));
        } else if kind.is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap_or_else(|e| panic!("copying {}: {e}", src.display()));
        }
    }
}
