//! Path arguments as the kernel saw them: bytes that are not UTF-8, paths longer than the
//! copy buffer, openat2's flags in a struct, and calls that name two paths.

mod common;

use common::{
    require_kernel,
    trace::{Trace, compile_c, str_of},
};
use serde_json::{Value, json};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn non_utf8_path_survives_end_to_end_as_hex() {
    require_kernel();
    let trace = Trace::new();
    let dir = trace.dir().to_str().unwrap().to_owned();
    let t = trace.run(&[
        "/usr/bin/python3",
        "-c",
        "import os, sys\n\
         p = os.fsencode(sys.argv[1]) + b'/caf\\xe9-\\xff.txt'\n\
         os.close(os.open(p, os.O_WRONLY | os.O_CREAT, 0o600))\n",
        &dir,
    ]);
    t.expect_code(0);
    t.assert_complete();
    let mut name = format!("{dir}/caf").into_bytes();
    name.extend_from_slice(b"\xe9-\xff.txt");
    let as_json = json!({ "hex": hex(&name) });
    let open = t
        .events
        .iter()
        .find(|e| e["path"] == as_json)
        .expect("the open of the non-UTF-8 name, as hex");
    assert_eq!(open["raw_path"], as_json);
    assert_eq!(str_of(open, "access"), Some("write"));
    assert!(open["result"].as_i64().unwrap() >= 0);
    assert_eq!(str_of(open, "mode"), Some("0600"));
    let rec = t.capture["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == as_json)
        .expect("the capture keeps the exact bytes");
    assert_eq!(rec["access"]["write"]["ok"], 1);
}

/// Makes `/<dir>/a/a/.../x` exactly `len` bytes long.
fn path_of_len(dir: &str, len: usize) -> String {
    let mut p = format!("{dir}/");
    while p.len() + 2 <= len {
        p.push_str("a/");
    }
    while p.len() < len {
        p.push('x');
    }
    assert_eq!(p.len(), len);
    p
}

/// The copy buffer is PATH_MAX (4096 with the NUL). A 4095-byte path fits exactly and is
/// kept whole; a longer one is flagged truncated and left unresolved, never stored as if
/// the first 4095 bytes were the path.
#[test]
fn path_longer_than_the_buffer_is_flagged_and_one_that_fits_is_not() {
    require_kernel();
    let trace = Trace::new();
    let dir = trace.dir().to_str().unwrap().to_owned();
    let fits = path_of_len(&dir, 4095);
    let too_long = path_of_len(&dir, 6000);
    let t = trace.run(&[
        "/usr/bin/python3",
        "-c",
        "import os, sys\n\
         for p in sys.argv[1:]:\n\
         \x20   try: os.open(p, os.O_RDONLY)\n\
         \x20   except OSError as e: print(e.errno)\n",
        &fits,
        &too_long,
    ]);
    t.expect_code(0);
    t.assert_complete();
    let fit = t
        .with("raw_path", &fits)
        .next()
        .expect("the 4095-byte open, whole");
    assert!(fit.get("truncated").is_none(), "{fit}");
    assert_eq!(str_of(fit, "error"), Some("ENOENT"));
    assert!(str_of(fit, "path").is_some());

    let prefix = &too_long[..4095];
    let long = t
        .with("raw_path", prefix)
        .next()
        .expect("the 6000-byte open, cut at 4095 bytes");
    assert_eq!(long["truncated"], true);
    assert_eq!(str_of(long, "unresolved"), Some("truncated"));
    assert!(long.get("path").is_none());
    assert_eq!(str_of(long, "error"), Some("ENAMETOOLONG"));
    let rec = t.capture["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == prefix)
        .expect("kept in the capture");
    assert_eq!(rec["unresolved"], "truncated");
    assert!(t.capture["stats"]["unresolved_paths"].as_u64().unwrap() >= 1);
    assert!(
        t.stderr.contains("could not be made absolute"),
        "{}",
        t.stderr
    );
}

const OPENAT2: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int dir = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct open_how how = { .flags = O_WRONLY | O_CREAT | O_CLOEXEC, .mode = 0640,
                            .resolve = RESOLVE_NO_SYMLINKS };
    long fd = syscall(SYS_openat2, dir, "made-by-openat2", &how, sizeof how);
    if (fd < 0) { perror("openat2"); return 1; }
    struct open_how ro = { .flags = O_RDONLY };
    long bad = syscall(SYS_openat2, AT_FDCWD, "missing-relative", &ro, sizeof ro);
    return bad < 0 ? 0 : 2;
}
"#;

#[test]
fn openat2_records_path_flags_mode_and_result() {
    require_kernel();
    let trace = Trace::new();
    let bin = compile_c(trace.dir(), "openat2", OPENAT2);
    let dir = trace.dir().to_str().unwrap().to_owned();
    let t = trace.run(&[bin.to_str().unwrap(), &dir]);
    t.expect_code(0);
    t.assert_complete();
    let calls: Vec<&Value> = t.with("syscall", "openat2").collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    let made = calls[0];
    assert_eq!(str_of(made, "raw_path"), Some("made-by-openat2"));
    assert_eq!(
        str_of(made, "path"),
        Some(format!("{dir}/made-by-openat2").as_str())
    );
    assert_eq!(str_of(made, "flags"), Some("O_WRONLY|O_CREAT|O_CLOEXEC"));
    assert_eq!(str_of(made, "mode"), Some("0640"));
    assert_eq!(str_of(made, "access"), Some("write"));
    assert!(made["result"].as_i64().unwrap() >= 0);
    let missing = calls[1];
    assert_eq!(
        str_of(missing, "path"),
        Some(format!("{dir}/missing-relative").as_str())
    );
    assert_eq!(str_of(missing, "error"), Some("ENOENT"));
    assert_eq!(str_of(missing, "flags"), Some("O_RDONLY"));
}

#[test]
fn rename_link_symlink_unlink_mkdir_rmdir_record_their_paths() {
    require_kernel();
    let trace = Trace::new();
    let dir = trace.dir().to_str().unwrap().to_owned();
    let t = trace.run(&[
        "/usr/bin/python3",
        "-c",
        "import os, sys\n\
         os.chdir(sys.argv[1])\n\
         os.mkdir('sub', 0o750)\n\
         open('sub/a', 'w').close()\n\
         os.rename('sub/a', 'b')\n\
         os.link('b', 'c')\n\
         os.symlink('target-text', 'sub/link')\n\
         os.unlink('b')\n\
         os.unlink('c')\n\
         os.unlink('sub/link')\n\
         os.rmdir('sub')\n",
        &dir,
    ]);
    t.expect_code(0);
    t.assert_complete();
    let p = |name: &str| format!("{dir}/{name}");
    let one = |syscalls: &[&str], path: &str| -> Value {
        t.events
            .iter()
            .find(|e| {
                str_of(e, "syscall").is_some_and(|s| syscalls.contains(&s))
                    && str_of(e, "path").or(str_of(e, "path2")) == Some(path)
            })
            .unwrap_or_else(|| panic!("no {syscalls:?} of {path}"))
            .clone()
    };
    let mkdir = one(&["mkdir", "mkdirat"], &p("sub"));
    assert_eq!(str_of(&mkdir, "access"), Some("mkdir"));
    assert_eq!(str_of(&mkdir, "mode"), Some("0750"));

    let rename = one(&["rename", "renameat", "renameat2"], &p("sub/a"));
    assert_eq!(str_of(&rename, "access"), Some("rename_from"));
    assert_eq!(str_of(&rename, "path2"), Some(p("b").as_str()));
    assert_eq!(str_of(&rename, "access2"), Some("rename_to"));
    assert_eq!(rename["result"], 0);

    let link = one(&["link", "linkat"], &p("b"));
    assert_eq!(str_of(&link, "path2"), Some(p("c").as_str()));
    assert_eq!(str_of(&link, "access2"), Some("link_to"));

    // A symlink's target is text, not a lookup: kept raw, only the link path is resolved.
    let symlink = one(&["symlink", "symlinkat"], &p("sub/link"));
    assert_eq!(str_of(&symlink, "raw_path"), Some("target-text"));
    assert!(symlink.get("path").is_none());

    for name in ["b", "c", "sub/link"] {
        let unlink = one(&["unlink", "unlinkat"], &p(name));
        assert_eq!(str_of(&unlink, "access"), Some("unlink"));
        assert_eq!(unlink["result"], 0);
    }
    let rmdir = one(&["rmdir", "unlinkat"], &p("sub"));
    assert_eq!(str_of(&rmdir, "access"), Some("rmdir"));

    // In the capture, each path carries each kind of access it got.
    let kinds = |name: &str| -> Vec<String> {
        let rec = t
            .file(&p(name))
            .unwrap_or_else(|| panic!("{name} not captured"));
        rec["access"].as_object().unwrap().keys().cloned().collect()
    };
    assert!(kinds("sub/a").contains(&"rename_from".to_string()));
    assert!(kinds("b").contains(&"rename_to".to_string()));
    assert!(kinds("b").contains(&"link_from".to_string()));
    assert!(kinds("b").contains(&"unlink".to_string()));
    assert!(kinds("sub").contains(&"mkdir".to_string()));
    assert!(kinds("sub").contains(&"rmdir".to_string()));
}
