//! Node's prefix bug, end to end on the real kernel and every Node line: an ES-module app in
//! `srv/app` (package.json `"type": "module"`) that lists and stats its own directory and
//! reads `srv/app-data/x.json`. Granting `srv/app/*` and `srv/app-data/x.json` together leaves
//! `srv/app` itself ungranted, which silently turns the app into CommonJS and denies the
//! readdir and stat; the drafts must not. With `srv` protected the draft grants the string
//! prefix `srv/app*`; without, their parent `srv/*`.

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use common::{all_nodes, permtrace, require_kernel, trace::Trace};
use serde_json::{Value, json};

const APP: &str = r#"const fs = process.getBuiltinModule('fs');
const dir = process.argv[1].slice(0, process.argv[1].lastIndexOf('/'));
const attempt = (f) => { try { return f(); } catch (e) { return e.code || String(e); } };
const out = {
  module: typeof require === 'undefined' ? 'esm' : 'cjs',
  data: attempt(() => JSON.parse(fs.readFileSync(dir + '-data/x.json', 'utf8')).v),
  list: attempt(() => fs.readdirSync(dir).sort().join(',')),
  stat: attempt(() => fs.statSync(dir).isDirectory()),
};
if (process.env.PROBE_OUTSIDE) {
  out.outside = attempt(() => fs.readFileSync(process.env.PROBE_OUTSIDE) && 'read');
}
console.log(JSON.stringify(out));
"#;

struct Layout {
    _tmp: tempfile::TempDir,
    srv: PathBuf,
    app: PathBuf,
    data: PathBuf,
}

fn layout() -> Layout {
    let tmp = tempfile::tempdir().unwrap();
    let srv = tmp.path().join("srv");
    let app = srv.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::create_dir_all(srv.join("app-data")).unwrap();
    std::fs::write(app.join("package.json"), r#"{"type":"module"}"#).unwrap();
    std::fs::write(app.join("index.js"), APP).unwrap();
    let data = srv.join("app-data/x.json");
    std::fs::write(&data, r#"{"v":42}"#).unwrap();
    Layout {
        _tmp: tmp,
        srv,
        app,
        data,
    }
}

/// Runs the app under `args` and returns what it printed (with /etc/hostname as the read
/// that must stay denied).
fn run_app(node: &Path, args: &[String], app: &Path, what: &str) -> Value {
    let out = Command::new(node)
        .args(args)
        .arg(app.join("index.js"))
        .env("PROBE_OUTSIDE", "/etc/hostname")
        .current_dir("/")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{what}: exit {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{what}: {e}: {stdout}"))
}

fn flags(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("node-flags.txt"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// The app runs as designed under the drafts in `dir` (flags, and config file if any).
fn works_under(node: &Path, dir: &Path, app: &Path, what: &str) {
    let want = json!({
        "module": "esm", "data": 42, "list": "index.js,package.json", "stat": true,
        "outside": "ERR_ACCESS_DENIED",
    });
    let got = run_app(node, &flags(dir), app, &format!("{what}, flags"));
    assert_eq!(got, want, "{what}, flags {:?}", flags(dir));
    let config = dir.join("node.config.json");
    if config.exists() {
        let arg = format!("--experimental-config-file={}", config.display());
        let got = run_app(node, &[arg], app, &format!("{what}, config"));
        assert_eq!(got, want, "{what}, config");
    }
}

#[test]
fn the_directory_itself_stays_granted_next_to_a_sibling_with_its_name_as_prefix() {
    require_kernel();
    for (version, node) in all_nodes() {
        let l = layout();
        let (app, srv) = (l.app.display().to_string(), l.srv.display().to_string());
        let enable = if version == "20" {
            "--experimental-permission"
        } else {
            "--permission"
        };

        // The exact pair is the trap this guards against, on this version too.
        let exact = [
            enable.to_string(),
            format!("--allow-fs-read={app}/*"),
            format!("--allow-fs-read={}", l.data.display()),
        ];
        let trapped = run_app(&node, &exact, &l.app, &format!("{version}, exact pair"));
        assert_eq!(
            (&trapped["module"], &trapped["list"], &trapped["data"]),
            (&json!("cjs"), &json!("ERR_ACCESS_DENIED"), &json!(42)),
            "Node {version} no longer has the prefix bug: {trapped}"
        );

        // Traced with its parent protected: the string prefix.
        let traced = Trace::new()
            .no_event_log()
            .opt("--protect")
            .opt(&srv)
            .run(&[node.to_str().unwrap(), &format!("{app}/index.js")]);
        traced.expect_code(0);
        let out = traced.dir.path().join("out");
        let f = flags(&out);
        assert!(f.contains(&format!("--allow-fs-read={app}*")), "{f:?}");
        assert!(!f.iter().any(|x| x.contains("app-data")), "{f:?}");
        works_under(&node, &out, &l.app, &format!("{version}, string prefix"));

        // The same capture with the parent allowed: merged into it.
        let merged = traced.dir.path().join("merged");
        let res = Command::new(permtrace())
            .arg("policy")
            .arg(out.join("capture.json"))
            .arg("-o")
            .arg(&merged)
            .output()
            .unwrap();
        assert!(res.status.success(), "{res:?}");
        let f = flags(&merged);
        assert!(f.contains(&format!("--allow-fs-read={srv}/*")), "{f:?}");
        works_under(&node, &merged, &l.app, &format!("{version}, parent"));
    }
}
