//! The fixed identity: user and group 1000 (as the initial stack's auxiliary vector says), no
//! supplementary groups, one process ([`PID`]) that is its own process group and session. Changing to
//! the same identity is allowed, to another one is EPERM (as for an unprivileged user).

use romain_protocol::World;
use syscalls::Errno;

use crate::context::Ctx;
use crate::stack::{GID, PID, UID};

/// "Unchanged" in the set*id calls (-1 as the 32-bit id).
const KEEP: u64 = 0xffff_ffff;

/// Whether every id is the one the program has (or `KEEP`).
fn same(ids: &[u64], own: u64) -> bool {
    ids.iter()
        .all(|&id| id as u32 as u64 == own || id as u32 as u64 == KEEP)
}

/// setuid, setreuid, setresuid (`ids`: the ones the call passes).
pub fn set_uid(ids: &[u64]) -> Result<u64, Errno> {
    if same(ids, UID) {
        Ok(0)
    } else {
        Err(Errno::EPERM)
    }
}

/// setgid, setregid, setresgid.
pub fn set_gid(ids: &[u64]) -> Result<u64, Errno> {
    if same(ids, GID) {
        Ok(0)
    } else {
        Err(Errno::EPERM)
    }
}

/// setfsuid, setfsgid: the previous one (which stays).
pub fn set_fs_id(own: u64) -> Result<u64, Errno> {
    Ok(own)
}

/// getresuid, getresgid: the real, effective and saved id, each at its pointer.
pub fn get_res<W: World>(
    cx: &mut Ctx<'_, '_, '_, W>,
    at: [u64; 3],
    own: u64,
) -> Result<u64, Errno> {
    for a in at {
        cx.write(a, &(own as u32).to_le_bytes())?;
    }
    Ok(0)
}

/// getgroups: no supplementary groups.
pub fn getgroups(size: u64) -> Result<u64, Errno> {
    if (size as i32) < 0 {
        Err(Errno::EINVAL)
    } else {
        Ok(0)
    }
}

/// setgroups: not allowed to an unprivileged user.
pub fn setgroups() -> Result<u64, Errno> {
    Err(Errno::EPERM)
}

/// getpgid, getsid: the process's group and session are the process ([`PID`]); another process is
/// ESRCH.
pub fn group_of(pid: u64) -> Result<u64, Errno> {
    if pid == 0 || pid == PID {
        Ok(PID)
    } else {
        Err(Errno::ESRCH)
    }
}

/// setpgid: only to the group it is in.
pub fn setpgid(pid: u64, pgid: u64) -> Result<u64, Errno> {
    group_of(pid)?;
    if pgid == 0 || pgid == PID {
        Ok(0)
    } else {
        Err(Errno::EPERM)
    }
}

/// setsid: the process leads its group already, which Linux refuses.
pub fn setsid() -> Result<u64, Errno> {
    Err(Errno::EPERM)
}
