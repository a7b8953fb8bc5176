//! Reading a `node` command line the way Node does: which arguments are Node's own options,
//! which is the main script, and which files it preloads.

use crate::pathbytes::{PathBytes, resolve_lexically};

/// What a node command line asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeCommand {
    /// The main script as given (not resolved); `None` for `-e`, `-p`, the REPL or stdin.
    pub script: Option<PathBytes>,
    /// `--require`/`-r` files as given.
    pub requires: Vec<PathBytes>,
    /// `--import` specifiers as given.
    pub imports: Vec<PathBytes>,
    /// Node's own options (before the script), verbatim.
    pub options: Vec<String>,
    /// Code given with `-e`/`-p` instead of a script.
    pub eval: bool,
}

/// Options that take their value from the next argument when given without `=`.
const TAKES_VALUE: &[&str] = &[
    "-r",
    "--require",
    "--import",
    "-e",
    "--eval",
    "-p",
    "--print",
    "--loader",
    "--experimental-loader",
    "-C",
    "--conditions",
    "--input-type",
    "--title",
    "--env-file",
    "--env-file-if-exists",
    "--experimental-config-file",
    "--inspect-port",
    "--debug-port",
    "--disable-warning",
    "--watch-path",
    "--test-reporter",
    "--test-reporter-destination",
    "--test-name-pattern",
    "--redirect-warnings",
    "--icu-data-dir",
    "--openssl-config",
    "--tls-cipher-list",
    "--unhandled-rejections",
    "--dns-result-order",
    "--diagnostic-dir",
    "--report-dir",
    "--report-directory",
    "--report-filename",
    "--report-signal",
    "--heapsnapshot-signal",
    "--secure-heap",
    "--secure-heap-min",
    "--stack-trace-limit",
    "--localstorage-file",
];

/// Parses `argv` (with `argv[0]` the node binary). Stops at the script: the rest belongs to
/// the application.
pub fn parse_node_argv(argv: &[PathBytes]) -> NodeCommand {
    let mut cmd = NodeCommand::default();
    let mut i = 1;
    while i < argv.len() {
        let arg = argv[i].lossy().into_owned();
        if arg == "--" {
            cmd.script = argv.get(i + 1).cloned();
            break;
        }
        if !arg.starts_with('-') || arg == "-" {
            if arg != "-" {
                cmd.script = Some(argv[i].clone());
            }
            break;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let value = match (&inline, TAKES_VALUE.contains(&name.as_str())) {
            (Some(v), _) => Some(PathBytes::from(v.as_str())),
            (None, true) => {
                i += 1;
                argv.get(i).cloned()
            }
            (None, false) => None,
        };
        match name.as_str() {
            "-r" | "--require" => cmd.requires.extend(value.clone()),
            "--import" => cmd.imports.extend(value.clone()),
            "-e" | "--eval" | "-p" | "--print" | "-pe" => cmd.eval = true,
            _ => {}
        }
        cmd.options.push(arg);
        if inline.is_none() && value.is_some() {
            cmd.options
                .push(value.map(|v| v.to_string()).unwrap_or_default());
        }
        if cmd.eval && matches!(name.as_str(), "-e" | "--eval" | "-p" | "--print") {
            // With -e the remaining arguments are the script's, not Node's.
            break;
        }
        i += 1;
    }
    cmd
}

impl NodeCommand {
    /// The main script made absolute against `cwd` (Node grants `path.resolve(argv[1])`).
    pub fn entry(&self, cwd: &PathBytes) -> Option<PathBytes> {
        self.script
            .as_ref()
            .map(|s| resolve_lexically(cwd, s.as_bytes()))
    }

    /// `--require` files that are paths (not package names), made absolute.
    pub fn preload_paths(&self, cwd: &PathBytes) -> Vec<PathBytes> {
        self.requires
            .iter()
            .filter(|r| {
                let b = r.as_bytes();
                b.starts_with(b"/") || b.starts_with(b"./") || b.starts_with(b"../")
            })
            .map(|r| resolve_lexically(cwd, r.as_bytes()))
            .collect()
    }
}

/// Whether an executable is a Node.js binary, by its file name (`node`, `nodejs`, `node22`).
pub fn is_node_exe(exe: &PathBytes) -> bool {
    let name = exe.file_name();
    let rest = if let Some(r) = name.strip_prefix(b"nodejs") {
        r
    } else if let Some(r) = name.strip_prefix(b"node") {
        r
    } else {
        return false;
    };
    rest.iter()
        .all(|b| b.is_ascii_digit() || *b == b'.' || *b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<PathBytes> {
        a.iter().map(|s| PathBytes::from(*s)).collect()
    }

    #[test]
    fn finds_script_preloads_and_options() {
        let c = parse_node_argv(&argv(&[
            "node",
            "--require",
            "./pre.js",
            "-r=dotenv/config",
            "--max-old-space-size=512",
            "app.js",
            "--port",
            "80",
        ]));
        assert_eq!(c.script.unwrap().to_string(), "app.js");
        assert_eq!(c.requires.len(), 2);
        assert!(c.options.contains(&"--max-old-space-size=512".to_string()));
        assert!(!c.options.contains(&"--port".to_string()));
    }

    #[test]
    fn eval_has_no_script_and_stops_parsing() {
        let c = parse_node_argv(&argv(&["node", "-e", "console.log(1)", "x.js"]));
        assert!(c.eval && c.script.is_none());
    }

    #[test]
    fn entry_and_preloads_resolve_against_cwd() {
        let c = parse_node_argv(&argv(&[
            "node",
            "-r",
            "./pre.cjs",
            "-r",
            "pkg",
            "../srv/a.js",
        ]));
        let cwd = PathBytes::from("/home/u/app");
        assert_eq!(c.entry(&cwd).unwrap().to_string(), "/home/u/srv/a.js");
        let pre: Vec<String> = c
            .preload_paths(&cwd)
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(pre, ["/home/u/app/pre.cjs"]);
    }

    #[test]
    fn node_binaries_are_recognised_by_name() {
        for yes in ["/usr/bin/node", "/opt/n/bin/node22", "/usr/bin/nodejs"] {
            assert!(is_node_exe(&PathBytes::from(yes)), "{yes}");
        }
        for no in ["/bin/sh", "/usr/bin/nodemon", "/x/node_exporter"] {
            assert!(!is_node_exe(&PathBytes::from(no)), "{no}");
        }
    }
}
