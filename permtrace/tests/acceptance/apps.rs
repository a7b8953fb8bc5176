//! The sample apps under `tests/apps/<name>/`, and how each is started. Every app checks its
//! own work, prints `<name>: OK` and exits 0 on success, or prints `<name>: FAIL <why>` and
//! exits 1; none needs npm (their node_modules are small, hand-written and checked in).

pub struct App {
    /// Directory under `tests/apps/`, and the prefix of the app's success line.
    pub name: &'static str,
    /// Where the app is started, relative to its root (empty: the root itself).
    pub workdir: &'static str,
    /// Node's arguments from the first option to the entry script, relative to `workdir`
    /// (exactly what a user would type after `node`).
    pub args: &'static [&'static str],
    /// Absolute paths outside the app's root that the draft may legitimately grant.
    pub outside_grants: &'static [&'static str],
    /// The capability flags (beyond fs grants) the app needs; anything else in a draft is an
    /// over-grant. `--allow-net` only exists on Node 25+, so it is expected only there.
    pub uses: &'static [&'static str],
}

impl App {
    pub fn success_line(&self) -> String {
        format!("{}: OK", self.name)
    }

    /// The app starts worker threads (see `audit::benign`).
    pub fn starts_workers(&self) -> bool {
        self.uses.contains(&WORKER)
    }
}

pub const CHILD_PROCESS: &str = "--allow-child-process";
pub const WORKER: &str = "--allow-worker";
pub const NET: &str = "--allow-net";

const fn app(name: &'static str, args: &'static [&'static str]) -> App {
    App {
        name,
        workdir: "",
        args,
        outside_grants: &[],
        uses: &[],
    }
}

/// CommonJS: local modules in subdirectories, a bare dependency with package.json "main", a
/// scoped one with a nested dependency, a JSON config read by require and by fs.
pub const CJS_MODULES: App = app("cjs-modules", &["main.js"]);

/// `"type": "module"`: static imports, `#imports`, a package with an `exports` map, a dynamic
/// `import()`, and a file whose format only package.json "type" decides.
pub const ESM: App = app("esm", &["main.js"]);

/// Logs appended and rotated under its own logs/, temp files and a mkdtemp directory with
/// generated names under its own tmp/, unlink/rmdir/rm -r. logs/ and tmp/ do not exist when it
/// starts, and Node treats a grant of a path missing at startup as a file grant: children of
/// `--allow-fs-write=<root>/logs` are then denied; only `<root>/logs/*` covers them.
pub const LOGS_AND_TEMP: App = app("logs-and-temp", &["main.js"]);

/// execFileSync of /bin/sh, spawnSync of node itself (a script reading a file), and a
/// worker_threads Worker from a separate script file that reads a file.
pub const CHILD_AND_WORKER: App = App {
    uses: &[CHILD_PROCESS, WORKER],
    ..app("child-and-worker", &["main.js"])
};

/// An HTTP server on 127.0.0.1:0 serving its public/ directory to http.get and fetch clients
/// in the same process, then closing.
pub const HTTP_SERVER: App = App {
    uses: &[NET],
    ..app("http-server", &["main.js"])
};

/// `fs.readFileSync('/etc/hosts')` (checked by Node) and `dns.lookup('localhost')` (libc
/// reads /etc/hosts natively, unchecked).
pub const ETC_HOSTS_READER: App = App {
    outside_grants: &["/etc/hosts"],
    uses: &[NET],
    ..app("etc-hosts-reader", &["main.js"])
};

/// A pnpm workspace: dependencies are symlinks into `.pnpm/` and to a workspace package
/// outside the app's directory; modules load at their real paths.
pub const MONOREPO_SYMLINKS: App = App {
    workdir: "apps/api",
    ..app("monorepo-symlinks", &["main.js"])
};

/// `process.chdir` into a subdirectory, then relative reads, readdir, `..` and writes.
pub const CHDIR_RELATIVE: App = app("chdir-relative", &["main.js"]);

/// A `--require` preload that requires another module; existsSync/statSync/accessSync of
/// present and absent files of its own; fs.watch on its state/ directory.
pub const PRELOAD_WATCH: App = app(
    "preload-watch",
    &["-r", "./preload/instrument.js", "main.js"],
);
