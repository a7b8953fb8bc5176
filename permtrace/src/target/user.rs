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
    /// Supplementary groups, looked up here (NSS: /etc/group, nscd, systemd...) and not in
    /// the forked child: there they would be traced as if the program had made them, and
    /// NSS is not async-signal-safe. The child only calls setgroups.
    pub groups: Vec<u32>,
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
        user.groups = supplementary_groups(&user.name, user.gid)?;
    }
    Ok(Some(user))
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
    let groups = supplementary_groups(&name, pwd.pw_gid)?;
    Ok(TargetUser {
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
        name,
        home,
        groups,
    })
}

/// The groups `initgroups(name, gid)` would set: `gid` and every group listing the user.
fn supplementary_groups(name: &CStr, gid: u32) -> Result<Vec<u32>> {
    let mut capacity: libc::c_int = 32;
    loop {
        let mut groups = vec![0 as libc::gid_t; capacity as usize];
        let mut count = capacity;
        // SAFETY: groups has room for `count` entries; getgrouplist writes at most that many
        // and reports the number it needs in `count`.
        let rc = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        if rc >= 0 {
            groups.truncate(count.max(0) as usize);
            return Ok(groups);
        }
        if count <= capacity || capacity >= 65536 {
            bail!("cannot list the groups of user {}", name.to_string_lossy());
        }
        capacity = count;
    }
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
        // The primary group is always among the groups set for the user.
        assert!(root.groups.contains(&0), "{:?}", root.groups);
        let nobody = lookup(Lookup::Name("nobody")).unwrap();
        assert!(nobody.groups.contains(&nobody.gid));
        assert!(!nobody.groups.contains(&0), "{:?}", nobody.groups);
        let err = lookup(Lookup::Name("no-such-user-permtrace")).unwrap_err();
        assert!(err.to_string().contains("no such user"), "{err}");
    }
}
