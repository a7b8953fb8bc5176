//! Who the traced command runs as. permtrace needs root; the program it traces must not get
//! it: under sudo it runs as the invoking user (SUDO_UID/SUDO_GID), or as `--user NAME`.

use anyhow::{Context as _, Result, anyhow, bail};
use std::ffi::{CStr, CString};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetUser {
    pub uid: u32,
    pub gid: u32,
    pub name: CString,
    pub home: Option<CString>,
}

/// The user to run the command as: `--user` wins, then sudo's invoking user. `None` means
/// "stay who we are" (permtrace was started by root directly, or with capabilities).
pub fn resolve_user(explicit: Option<&str>) -> Result<Option<TargetUser>> {
    if let Some(name) = explicit {
        return lookup(Lookup::Name(name)).map(Some);
    }
    let Ok(uid) = std::env::var("SUDO_UID") else {
        return Ok(None);
    };
    let uid: u32 = uid
        .parse()
        .with_context(|| format!("SUDO_UID={uid} is not a number"))?;
    if uid == 0 {
        return Ok(None);
    }
    let mut user = lookup(Lookup::Uid(uid))?;
    if let Ok(gid) = std::env::var("SUDO_GID") {
        user.gid = gid
            .parse()
            .with_context(|| format!("SUDO_GID={gid} is not a number"))?;
    }
    Ok(Some(user))
}

/// The account of a uid (attach: the owner of a running process); `None` when no account
/// has it (a container's user, say).
pub fn user_by_uid(uid: u32) -> Option<TargetUser> {
    lookup(Lookup::Uid(uid)).ok()
}

enum Lookup<'a> {
    Name(&'a str),
    Uid(u32),
}

fn lookup(what: Lookup<'_>) -> Result<TargetUser> {
    let mut pwd: libc::passwd = unsafe_zeroed();
    let mut buf = vec![0 as libc::c_char; 16384];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let rc = match &what {
        Lookup::Name(name) => {
            let c = CString::new(*name).map_err(|_| anyhow!("user name contains a NUL byte"))?;
            // SAFETY: all pointers are valid for the call; buf outlives the use of pwd below.
            unsafe {
                libc::getpwnam_r(
                    c.as_ptr(),
                    &mut pwd,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut result,
                )
            }
        }
        // SAFETY: as above.
        Lookup::Uid(uid) => unsafe {
            libc::getpwuid_r(*uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result)
        },
    };
    if rc != 0 || result.is_null() {
        match what {
            Lookup::Name(n) => bail!("no such user: {n}"),
            Lookup::Uid(u) => bail!("no user with uid {u} (from SUDO_UID)"),
        }
    }
    // SAFETY: getpwnam_r succeeded, so the strings point into buf, which is still alive.
    let (name, home) = unsafe {
        (
            CStr::from_ptr(pwd.pw_name).to_owned(),
            (!pwd.pw_dir.is_null()).then(|| CStr::from_ptr(pwd.pw_dir).to_owned()),
        )
    };
    Ok(TargetUser {
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
        name,
        home,
    })
}

fn unsafe_zeroed() -> libc::passwd {
    // SAFETY: passwd is a plain C struct of integers and pointers; all-zero is valid.
    unsafe { std::mem::zeroed() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_real_users_and_rejects_unknown_ones() {
        let root = lookup(Lookup::Name("root")).unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert_eq!(
            lookup(Lookup::Uid(0)).unwrap().name.to_str().unwrap(),
            "root"
        );
        let err = lookup(Lookup::Name("no-such-user-permtrace")).unwrap_err();
        assert!(err.to_string().contains("no such user"), "{err}");
    }
}
