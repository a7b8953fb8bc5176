//! `permtrace attach` against the real kernel and a real Node HTTP server started by the
//! test: following a running tree, checkpoints, kill -9 and --resume, --duration, the end
//! of the followed processes, and cgroups.

mod common;

use std::{
    io::{BufRead as _, BufReader, Read as _, Write as _},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{attach::Attach, signal};
use permtrace::{
    access::Access,
    capture::{Capture, NetOp, load_capture},
};

/// A Node server whose handler reads the file named by `?f=` (relative to its cwd) and, on
/// `/spawn`, runs `cat after.txt`. At start it forks a shell loop that keeps reading
/// `before.txt`: a process forked before permtrace attaches.
const SERVER: &str = r#"
const http = require('http');
const fs = require('fs');
const { execFileSync, spawn } = require('child_process');
const loop = spawn('/bin/sh', ['-c', 'while :; do cat before.txt >/dev/null; sleep 0.1; done'],
                   { stdio: 'ignore' });
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  let body = fs.readFileSync(url.searchParams.get('f') || 'data.txt', 'utf8');
  if (url.pathname === '/spawn') body += execFileSync('/bin/cat', ['after.txt'], { encoding: 'utf8' });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.on('SIGTERM', () => { loop.kill(); process.exit(0); });
"#;

struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Server {
    fn start(dir: &Path) -> Server {
        std::fs::write(dir.join("server.js"), SERVER).unwrap();
        for (name, text) in [
            ("data.txt", "data\n"),
            ("after.txt", "after\n"),
            ("before.txt", "before\n"),
            ("phase1.txt", "one\n"),
            ("gap.txt", "gap\n"),
            ("phase2.txt", "two\n"),
        ] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let mut child = Command::new("/usr/bin/node")
            .arg("server.js")
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting node");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the server prints its port");
        Server {
            child,
            port,
            dir: dir.canonicalize().unwrap(),
        }
    }

    fn get(&self, path: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("server reachable");
        write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        reply.split("\r\n\r\n").nth(1).unwrap_or("").to_string()
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        signal(self.child.id(), libc::SIGTERM);
        let _ = self.child.wait();
    }
}

fn reads(cap: &Capture, path: &str) -> u64 {
    cap.files
        .iter()
        .find(|f| f.path.to_string() == path)
        .and_then(|f| f.access.get(&Access::Read))
        .map_or(0, |s| s.ok)
}

fn endpoint(cap: &Capture, op: NetOp, port: u16) -> Option<&permtrace::capture::NetRecord> {
    cap.network
        .iter()
        .find(|n| n.op == Some(op) && n.port == Some(port))
}

#[test]
fn follows_a_running_server_and_its_children_and_leaves_it_unharmed() {
    common::require_kernel();
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path());
    let out = tmp.path().join("out");
    let events = tmp.path().join("events.jsonl");
    let pid = server.pid().to_string();
    let attach = Attach::start(&[
        "--pid",
        &pid,
        "-o",
        out.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
        "--events-max-bytes",
        "8K",
        "--events-keep",
        "2",
    ]);
    for _ in 0..3 {
        assert_eq!(server.get("/"), "data\n");
    }
    assert_eq!(server.get("/spawn"), "data\nafter\n");
    // The shell loop forked before attaching reads before.txt every 0.1 s.
    std::thread::sleep(Duration::from_millis(500));
    attach.signal(libc::SIGTERM);
    let (code, said) = attach.finish(Duration::from_secs(30));
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains("keep running") && said.contains("is not in this capture"),
        "{said}"
    );

    let cap = load_capture(&out.join("capture.json")).expect("a capture");
    assert!(!cap.window.saw_start);
    assert_eq!(cap.window.ended_by, "signal");
    assert_eq!(cap.target.attached_pids, [server.pid()]);
    assert_eq!(
        cap.target.entry.as_ref().map(|e| e.to_string()),
        Some(server.path("server.js"))
    );
    assert!(cap.target.node.as_ref().unwrap().version.is_some());
    // The server's own relative reads, resolved against the cwd read from procfs.
    assert!(
        reads(&cap, &server.path("data.txt")) >= 4,
        "{:#?}",
        cap.files
    );
    // A child forked after attach (cat) and one forked before (the loop's cats).
    assert!(reads(&cap, &server.path("after.txt")) >= 1);
    assert!(reads(&cap, &server.path("before.txt")) >= 1);
    let node = cap
        .programs
        .iter()
        .find(|p| p.is_node)
        .expect("the node program");
    let spawn = (cap.spawns.iter())
        .find(|s| s.filename.to_string() == "/bin/cat" && s.parent == node.id)
        .expect("the spawn of cat");
    assert!(spawn.stats.ok >= 1);
    // The listening socket (from procfs) and the clients' connections as the server saw them.
    let listen = endpoint(&cap, NetOp::Listen, server.port).expect("the listening socket");
    assert!(listen.before_attach && listen.loopback);
    let accepted = endpoint(&cap, NetOp::Accept, server.port).expect("accepted connections");
    assert!(accepted.stats.ok >= 4, "{accepted:?}");

    // The drafts are next to the capture, and the report says what attaching cannot see.
    assert!(out.join("node-flags.txt").exists(), "{said}");
    let report = std::fs::read_to_string(out.join("report.txt")).expect("report.txt");
    assert!(report.contains("did not see their start"), "{report}");

    // The event log rotated by size and every file holds whole lines.
    let rotated = PathBuf::from(format!("{}.1", events.display()));
    assert!(rotated.exists(), "events.jsonl.1 was written");
    assert!(!tmp.path().join("events.jsonl.3").exists());
    for f in [&events, &rotated] {
        common::read_events(f);
    }

    // Detached: the server serves on.
    assert_eq!(server.get("/spawn"), "data\nafter\n");
}

#[test]
fn a_killed_capture_keeps_its_checkpoint_and_resume_continues_it() {
    common::require_kernel();
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path());
    let out = tmp.path().join("out");
    let out_s = out.to_str().unwrap();
    let pid = server.pid().to_string();
    let mut attach = Attach::start(&["--pid", &pid, "-o", out_s, "--checkpoint-every", "1s"]);
    assert_eq!(server.get("/?f=phase1.txt"), "one\n");
    // The one written on attaching, then two more: the last certainly holds the request.
    attach.checkpoints(3);
    attach.signal(libc::SIGKILL);
    // A killed process still has the kernel tear down its uprobes as it exits, and removing a
    // libc uprobe touches every process that maps libc: under load (other tests attaching and
    // detaching at the same time) that has taken longer than 10 s.
    let (code, _) = attach.finish(Duration::from_secs(60));
    assert_eq!(code, -1, "killed");

    let checkpoint = load_capture(&out.join("capture.json")).expect("the checkpoint parses");
    assert_eq!(checkpoint.window.ended_by, "checkpoint");
    assert_eq!(reads(&checkpoint, &server.path("phase1.txt")), 1);
    assert!(endpoint(&checkpoint, NetOp::Listen, server.port).is_some());

    // Not traced: permtrace is not running.
    assert_eq!(server.get("/?f=gap.txt"), "gap\n");

    // Starting over would throw the capture away: refused.
    let refused = common::run_permtrace(&["attach", "--pid", &pid, "-o", out_s]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--resume"));

    // --resume without --pid follows the capture's own pids.
    let attach = Attach::start(&["--resume", "-o", out_s, "--checkpoint-every", "1s"]);
    assert_eq!(server.get("/?f=phase2.txt"), "two\n");
    attach.signal(libc::SIGINT);
    let (code, said) = attach.finish(Duration::from_secs(30));
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("interrupted 1 time"), "{said}");

    let cap = load_capture(&out.join("capture.json")).unwrap();
    assert_eq!(
        reads(&cap, &server.path("phase1.txt")),
        1,
        "from before the kill"
    );
    assert_eq!(
        reads(&cap, &server.path("phase2.txt")),
        1,
        "from after the resume"
    );
    assert_eq!(
        reads(&cap, &server.path("gap.txt")),
        0,
        "nothing was traced in between"
    );
    assert_eq!(cap.window.gaps.len(), 1);
    let gap = cap.window.gaps[0];
    assert_eq!(gap.from_ms, checkpoint.window.ended_at_ms);
    assert!(gap.to_ms > gap.from_ms);
    assert_eq!(cap.window.started_at_ms, checkpoint.window.started_at_ms);
    assert!(cap.stats.events > checkpoint.stats.events);
    let listen = endpoint(&cap, NetOp::Listen, server.port).unwrap();
    assert_eq!(
        listen.stats.count, 1,
        "the same listening socket, found twice"
    );
    assert!(endpoint(&cap, NetOp::Accept, server.port).unwrap().stats.ok >= 2);
    assert_eq!(cap.window.ended_by, "signal");
}

#[test]
fn duration_ends_the_capture_on_time() {
    common::require_kernel();
    let tmp = tempfile::tempdir().unwrap();
    let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
    let out = tmp.path().join("out");
    let started = Instant::now();
    let pid = sleeper.id().to_string();
    let attach = Attach::start(&[
        "--pid",
        &pid,
        "--duration",
        "3s",
        "-o",
        out.to_str().unwrap(),
    ]);
    let (code, said) = attach.finish(Duration::from_secs(30));
    let took = started.elapsed();
    assert_eq!(code, 0, "{said}");
    assert!(took >= Duration::from_secs(3), "ended after {took:?}");
    assert!(took < Duration::from_secs(20), "ended after {took:?}");
    let cap = load_capture(&out.join("capture.json")).unwrap();
    assert_eq!(cap.window.ended_by, "duration");
    assert!(cap.window.ended_at_ms - cap.window.started_at_ms >= 3000);
    assert!(
        sleeper.try_wait().unwrap().is_none(),
        "the followed process was not touched"
    );
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
}

#[test]
fn the_capture_ends_when_every_followed_process_has_exited() {
    common::require_kernel();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("late.txt"), "x").unwrap();
    // It reads late.txt and exits once the test says go, which is after permtrace follows it.
    let mut sh = Command::new("/bin/sh")
        .args([
            "-c",
            "while [ ! -e go ]; do sleep 0.05; done; cat late.txt > /dev/null",
        ])
        .current_dir(tmp.path())
        .spawn()
        .unwrap();
    let out = tmp.path().join("out");
    let pid = sh.id().to_string();
    let attach = Attach::start(&["--pid", &pid, "-o", out.to_str().unwrap()]);
    std::fs::write(tmp.path().join("go"), "").unwrap();
    let (code, said) = attach.finish(Duration::from_secs(30));
    assert_eq!(code, 0, "{said}");
    assert!(sh.wait().unwrap().success());
    let cap = load_capture(&out.join("capture.json")).unwrap();
    assert_eq!(cap.window.ended_by, "exit");
    let late = tmp.path().canonicalize().unwrap().join("late.txt");
    assert_eq!(
        reads(&cap, &late.display().to_string()),
        1,
        "{:#?}",
        cap.files
    );
}
