//! `-q`: the end-of-run summary is left out, the outputs are still written, and a warning
//! about lost events is printed regardless (on the real kernel).

mod common;

use std::process::Command;

use common::{permtrace, require_kernel, trace::Trace};

#[test]
fn quiet_run_and_policy_print_nothing_but_still_write_the_drafts() {
    require_kernel();
    let loud = Trace::new()
        .no_event_log()
        .run(&["/usr/bin/node", "-e", "0"]);
    loud.expect_code(0);
    assert!(
        loud.stderr.contains("permtrace: traced") && loud.stderr.contains("drafts for"),
        "{}",
        loud.stderr
    );

    let quiet = Trace::new()
        .no_event_log()
        .opt("-q")
        .run(&["/usr/bin/node", "-e", "0"]);
    quiet.expect_code(0);
    assert_eq!(quiet.stderr, "", "-q printed something");
    let out = quiet.dir.path().join("out");
    for file in ["capture.json", "node-flags.txt", "report.txt"] {
        assert!(out.join(file).exists(), "{file} not written under -q");
    }

    let again = quiet.dir.path().join("again");
    let res = Command::new(permtrace())
        .args(["-q", "policy"])
        .arg(out.join("capture.json"))
        .arg("-o")
        .arg(&again)
        .output()
        .unwrap();
    assert!(res.status.success(), "{res:?}");
    assert_eq!(String::from_utf8_lossy(&res.stderr), "");
    assert!(again.join("node-flags.txt").exists());
}

#[test]
fn quiet_still_warns_about_lost_events() {
    require_kernel();
    // 100k opens through a one-page ring: most are dropped.
    let burst = "const fs = require('fs'); const f = process.argv[1]; \
                 for (let i = 0; i < 100000; i++) fs.closeSync(fs.openSync(f, 'r'));";
    let t = Trace::new()
        .no_event_log()
        .opt("-q")
        .opt("--ring-bytes")
        .opt("4K");
    let file = t.dir().join("burst.txt");
    std::fs::write(&file, "x").unwrap();
    let t = t.run(&["/usr/bin/node", "-e", burst, file.to_str().unwrap()]);
    t.expect_code(0);
    assert!(t.dropped() > 0, "a 4K ring kept up with 100k opens?");
    assert!(
        t.stderr
            .contains(&format!("WARNING: {} events were lost", t.dropped()))
            && t.stderr.contains("INCOMPLETE"),
        "no lost-events warning under -q:\n{}",
        t.stderr
    );
    assert!(
        !t.stderr.contains("permtrace: traced") && !t.stderr.contains("drafts for"),
        "-q printed the summary:\n{}",
        t.stderr
    );
}
