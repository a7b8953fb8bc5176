//! The product end to end, on the real kernel and real Node 20, 22, 24, 25 and 26: trace a
//! small app with `permtrace run`, then run the app again under the permission model with the
//! drafted node-flags.txt and node.config.json. It must succeed with no ERR_ACCESS_DENIED, and
//! a read outside the draft must still be denied.
//!
//! The app loads a local module and a node_modules dependency, creates its log directory and
//! appends to a log, makes and removes an mkdtemp directory under its own tmp/, lists a data
//! directory, reads /etc/hosts through fs, runs /bin/true, and serves and fetches one HTTP
//! request on 127.0.0.1 (the network is checked on 25+).

mod common;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use common::{node_binary, permtrace, require_kernel};

const INDEX: &str = r#"
const fs = require('fs'), path = require('path');
const { twice } = require('./lib/util');
const dep = require('dep');
const here = __dirname;
fs.mkdirSync(path.join(here, 'logs'), { recursive: true });
fs.appendFileSync(path.join(here, 'logs', 'app.log'), `start ${process.pid}\n`);
const job = fs.mkdtempSync(path.join(here, 'tmp', 'job-'));
fs.writeFileSync(path.join(job, 'part'), 'x');
fs.rmSync(job, { recursive: true });
const names = fs.readdirSync(path.join(here, 'data'));
const hosts = fs.readFileSync('/etc/hosts', 'utf8');
require('child_process').execFileSync('/bin/true');
const http = require('http');
const server = http.createServer((req, res) => res.end('pong'));
server.listen(0, '127.0.0.1', () => {
  http.get({ host: '127.0.0.1', port: server.address().port, path: '/' }, res => {
    let body = '';
    res.on('data', d => body += d);
    res.on('end', () => {
      server.close();
      console.log(JSON.stringify({ twice: twice(21), dep: dep(), names, hosts: hosts.length > 0, body }));
    });
  });
});
"#;

const EXPECTED: &str =
    r#"{"twice":42,"dep":"dep","names":["a.txt","b.txt"],"hosts":true,"body":"pong"}"#;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn make_app(root: &Path) -> PathBuf {
    let app = root.join("app");
    write(
        &app.join("package.json"),
        r#"{"name":"e2e","version":"1.0.0","type":"commonjs"}"#,
    );
    write(&app.join("index.js"), INDEX);
    write(&app.join("lib/util.js"), "exports.twice = x => x * 2;\n");
    write(
        &app.join("node_modules/dep/package.json"),
        r#"{"name":"dep","main":"main.js"}"#,
    );
    write(
        &app.join("node_modules/dep/main.js"),
        "module.exports = () => 'dep';\n",
    );
    write(&app.join("data/a.txt"), "a");
    write(&app.join("data/b.txt"), "b");
    std::fs::create_dir_all(app.join("tmp")).unwrap();
    write(&root.join("secret.txt"), "not for the app");
    app
}

fn run_node(node: &Path, args: &[String]) -> Output {
    Command::new(node)
        .args(args)
        .current_dir("/")
        .output()
        .expect("running node")
}

fn assert_app_ran(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == EXPECTED,
        "{what}: exit {:?}\nstdout: {}\nstderr: {stderr}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!stderr.contains("ERR_ACCESS_DENIED"), "{what}: {stderr}");
}

#[test]
fn a_traced_app_runs_under_its_draft_on_every_node_version() {
    require_kernel();
    let versions: Vec<(&str, PathBuf)> = vec![
        ("20", "/usr/bin/node".into()),
        ("22", node_binary("22.23.3")),
        ("24", node_binary("24.21.0")),
        ("25", node_binary("25.9.0")),
        ("26", node_binary("26.10.0")),
    ];
    for (label, node) in versions {
        let tmp = tempfile::tempdir().unwrap();
        let app = make_app(tmp.path());
        let entry = app.join("index.js").display().to_string();
        let out_dir = tmp.path().join("out");

        let traced = Command::new(permtrace())
            .arg("run")
            .arg("-o")
            .arg(&out_dir)
            .arg("--")
            .arg(&node)
            .arg(&entry)
            .output()
            .expect("running permtrace");
        assert!(
            traced.status.success(),
            "{label}: tracing failed: {}",
            String::from_utf8_lossy(&traced.stderr)
        );
        assert!(String::from_utf8_lossy(&traced.stderr).contains("node-flags.txt"));

        let flags: Vec<String> = std::fs::read_to_string(out_dir.join("node-flags.txt"))
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        let enable = if label == "20" {
            "--experimental-permission"
        } else {
            "--permission"
        };
        assert_eq!(flags[0], enable, "{label}: {flags:?}");
        assert!(
            !flags.iter().any(|f| f.contains(',')),
            "{label}: comma list in {flags:?}"
        );
        assert_eq!(
            flags.contains(&"--allow-net".to_string()),
            label >= "25",
            "{label}: {flags:?}"
        );

        // The log directory is gone on the next start: the grant must still cover it.
        std::fs::remove_dir_all(app.join("logs")).unwrap();
        let mut args = flags.clone();
        args.push(entry.clone());
        assert_app_ran(
            &run_node(&node, &args),
            &format!("{label} with node-flags.txt"),
        );

        let config = out_dir.join("node.config.json");
        if label == "20" {
            assert!(!config.exists(), "Node 20 has no config file support");
        } else {
            let args = vec![
                format!("--experimental-config-file={}", config.display()),
                entry.clone(),
            ];
            assert_app_ran(
                &run_node(&node, &args),
                &format!("{label} with node.config.json"),
            );
        }

        // The draft is not `*`: a file outside it stays denied.
        let mut args = flags.clone();
        let secret = tmp.path().join("secret.txt").display().to_string();
        args.extend([
            "-e".into(),
            format!("require('fs').readFileSync({secret:?})"),
        ]);
        let denied = run_node(&node, &args);
        assert!(
            !denied.status.success()
                && String::from_utf8_lossy(&denied.stderr).contains("ERR_ACCESS_DENIED"),
            "{label}: reading {secret} was not denied: {}",
            String::from_utf8_lossy(&denied.stderr)
        );
    }
}
