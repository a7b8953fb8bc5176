//! Acceptance 5: a burst of 200k opens. Every open reaches userspace or is counted as
//! dropped by the kernel, exactly; with the default ring nothing is dropped.

mod common;

use std::sync::Mutex;

use common::{
    require_kernel,
    trace::{Trace, Traced, str_of},
};

const OPENS: u64 = 200_000;

/// `node -e BURST <file> <count> <pause ms>`: pauses, opens and closes <file> <count> times
/// in a tight loop, pauses again. The pauses (Atomics.wait: a futex, not traced) let the
/// reader drain what start-up and exit produce, so that with a tiny ring only the loop's own
/// opens can be dropped and the count below is exact.
const BURST: &str = r#"
const fs = require('fs');
const [file, n, ms] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const pause = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
pause();
for (let i = 0; i < n; i++) fs.closeSync(fs.openSync(file, 'r'));
pause();
"#;

/// The burst tests measure the consumer keeping up; running them side by side on a
/// two-core machine would measure them competing with each other instead.
static SERIAL: Mutex<()> = Mutex::new(());

fn burst(trace: Trace, pause_ms: u32) -> (Traced, String) {
    let file = trace.dir().join("burst.txt");
    std::fs::write(&file, "x").unwrap();
    let file = file.to_str().unwrap().to_owned();
    let t = trace.run(&[
        "/usr/bin/node",
        "-e",
        BURST,
        &file,
        &OPENS.to_string(),
        &pause_ms.to_string(),
    ]);
    t.expect_code(0);
    (t, file)
}

fn opens_in_capture(t: &Traced, file: &str) -> u64 {
    let read = &t.file(file).expect("the burst file is in the capture")["access"]["read"];
    assert_eq!(
        read["count"], read["ok"],
        "failed opens in the burst: {read}"
    );
    read["count"].as_u64().unwrap()
}

#[test]
fn default_ring_loses_none_of_200k_opens() {
    require_kernel();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (t, file) = burst(Trace::new().no_event_log(), 0);
    assert_eq!(t.dropped(), 0, "kernel counters: {}", t.capture["stats"]);
    assert_eq!(opens_in_capture(&t, &file), OPENS);
    t.assert_complete();
    assert!(!t.stderr.contains("INCOMPLETE"), "{}", t.stderr);
}

/// The same with the event log on: the consumer also formats and writes 200k lines.
#[test]
fn default_ring_loses_none_of_200k_opens_while_logging_them() {
    require_kernel();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let trace = Trace::new().no_event_log();
    let log = trace.dir().join("burst.jsonl");
    let trace = trace.opt("--events").opt(&log);
    let (t, file) = burst(trace, 0);
    assert_eq!(t.dropped(), 0, "kernel counters: {}", t.capture["stats"]);
    assert_eq!(opens_in_capture(&t, &file), OPENS);
    t.assert_complete();
    // Count the log's lines for the file without parsing 200k JSON values; one parsed line
    // checks the shape.
    let text = std::fs::read_to_string(&log).unwrap();
    let needle = format!(r#""path":"{file}""#);
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(&needle)).collect();
    assert_eq!(lines.len() as u64, OPENS);
    let one: serde_json::Value = serde_json::from_str(lines[OPENS as usize / 2]).unwrap();
    assert_eq!(str_of(&one, "syscall"), Some("openat"));
    assert!(one["result"].as_i64().unwrap() >= 0);
    assert_eq!(
        text.lines().count() as u64,
        t.capture["stats"]["events"].as_u64().unwrap()
    );
}

/// With a deliberately tiny ring the kernel drops most of the burst, and says exactly how
/// many: received + dropped == generated.
fn tiny_ring_drops_are_counted_exactly_and_reported(ring: &str) {
    require_kernel();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // The equation is exact only if nothing but the burst's opens happens while the ring is
    // full. One thing does in Node: glibc reads /proc/sys/vm/overcommit_memory the first time
    // it shrinks a worker thread's malloc arena (check_may_shrink_heap), at a moment of its
    // choosing, often mid-loop. With one arena there is no such shrink.
    let trace = Trace::new()
        .opt("--ring-bytes")
        .opt(ring)
        .env("MALLOC_ARENA_MAX", "1");
    let (t, file) = burst(trace, 300);
    let received = t
        .events
        .iter()
        .filter(|e| {
            str_of(e, "path") == Some(file.as_str()) && str_of(e, "syscall") == Some("openat")
        })
        .count() as u64;
    let dropped = t.dropped();
    assert!(dropped > 0, "a {ring} ring kept up with 200k opens?");
    assert_eq!(
        received + dropped,
        OPENS,
        "received {received} + dropped {dropped}; stats {}",
        t.capture["stats"]
    );
    assert_eq!(t.kernel_stat("ring_full"), dropped);
    assert_eq!(opens_in_capture(&t, &file), received);
    // Userspace lost nothing of what it was sent.
    assert_eq!(
        t.kernel_stat("emitted"),
        t.capture["stats"]["events"].as_u64().unwrap()
    );
    assert_eq!(t.events.len() as u64, t.kernel_stat("emitted"));
    // Start-up made it through: the exec and the loader's first open.
    let root = t.root_pid();
    assert!(t.of_pid(root).any(|e| str_of(e, "event") == Some("exec")));
    assert!(
        t.of_pid(root)
            .any(|e| str_of(e, "path") == Some("/etc/ld.so.cache"))
    );
    // And the user is told.
    assert!(
        t.stderr.contains(&format!("{dropped} events were lost"))
            && t.stderr.contains("INCOMPLETE"),
        "no warning about the drops:\n{}",
        t.stderr
    );
}

#[test]
fn ring_of_8k_drops_are_counted_exactly_and_reported() {
    tiny_ring_drops_are_counted_exactly_and_reported("8K");
}

/// The smallest ring accepted (one page) still carries every kind of record, exec included.
#[test]
fn ring_of_4k_drops_are_counted_exactly_and_reported() {
    tiny_ring_drops_are_counted_exactly_and_reported("4K");
}
