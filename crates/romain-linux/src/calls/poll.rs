//! poll, ppoll, select, pselect6: which descriptors are ready. Files, directories and devices
//! are always ready both ways, the console for writing; a pipe's read end when it holds bytes
//! (or its write end is closed: end of file, POLLHUP), its write end while it has room.
//! Nothing here becomes ready later (a single thread, no outside input), so a call with
//! nothing ready returns 0 at once, whatever its timeout, as sleeps return at once.

use alloc::vec::Vec;

use romain_protocol::World;
use syscalls::Errno;

use crate::context::Ctx;
use crate::fs::{MAX_FDS, Ready};
use crate::linux::Linux;

const POLLIN: u16 = 0x1;
const POLLOUT: u16 = 0x4;
const POLLERR: u16 = 0x8;
const POLLHUP: u16 = 0x10;
const POLLNVAL: u16 = 0x20;
const POLLRDNORM: u16 = 0x40;
const POLLWRNORM: u16 = 0x100;

/// Bytes of one `struct pollfd` (int fd; short events; short revents).
pub const POLLFD_SIZE: u64 = 8;
/// Bits of an `fd_set` (FD_SETSIZE): select looks at no more descriptors.
pub const FD_SETSIZE: u64 = 1024;

/// Bytes of the `fd_set`s select reads for `nfds` (whole longs, as Linux copies them).
pub fn fdset_bytes(nfds: u64) -> u64 {
    nfds.min(FD_SETSIZE).div_ceil(64) * 8
}

/// Bytes of the pollfd array poll reads for `nfds` (past the descriptor limit the call is EINVAL
/// and reads nothing).
pub fn pollfd_bytes(nfds: u64) -> u64 {
    if nfds > MAX_FDS as u64 {
        0
    } else {
        nfds * POLLFD_SIZE
    }
}

/// The events descriptor `fd` has now (POLLNVAL when it is not open).
fn events(linux: &Linux, fd: u64) -> u16 {
    let Ok(open) = linux.fs.fd(fd) else {
        return POLLNVAL;
    };
    let Ready {
        read,
        write,
        hangup,
        error,
    } = linux.fs.ready(open);
    let mut e = 0;
    if read {
        e |= POLLIN | POLLRDNORM;
    }
    if write {
        e |= POLLOUT | POLLWRNORM;
    }
    if hangup {
        e |= POLLHUP;
    }
    if error {
        e |= POLLERR;
    }
    e
}

/// poll and ppoll: every entry's `revents` set, the number of entries with some.
pub fn poll<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    fds: u64,
    nfds: u64,
) -> Result<u64, Errno> {
    if nfds > MAX_FDS as u64 {
        return Err(Errno::EINVAL);
    }
    let mut list = cx.read(fds, pollfd_bytes(nfds))?;
    let mut ready = 0;
    for entry in list.chunks_exact_mut(POLLFD_SIZE as usize) {
        let fd = i32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
        let wanted = u16::from_le_bytes([entry[4], entry[5]]);
        let revents = match u64::try_from(fd) {
            // A negative descriptor is skipped.
            Err(_) => 0,
            Ok(fd) => {
                let e = events(linux, fd);
                if e == POLLNVAL {
                    e
                } else {
                    e & (wanted | POLLERR | POLLHUP)
                }
            }
        };
        entry[6..8].copy_from_slice(&revents.to_le_bytes());
        if revents != 0 {
            ready += 1;
        }
    }
    cx.write(fds, &list)?;
    Ok(ready)
}

/// select and pselect6: the three sets replaced by the descriptors ready for reading, for
/// writing, and with an exception (none here); EBADF for a descriptor in a set that is not
/// open. `timeout` (select's timeval) is set to 0 when nothing is ready, as Linux leaves it.
pub fn select<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    nfds: u64,
    sets: [u64; 3],
    timeout: Option<u64>,
) -> Result<u64, Errno> {
    if (nfds as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let n = nfds.min(FD_SETSIZE);
    let len = fdset_bytes(n);
    let mut read = |addr: u64| -> Result<Vec<u8>, Errno> {
        if addr == 0 {
            Ok(alloc::vec![0; len as usize])
        } else {
            cx.read(addr, len)
        }
    };
    let (r, w, e) = (read(sets[0])?, read(sets[1])?, read(sets[2])?);
    let bit = |set: &[u8], fd: u64| set[(fd / 8) as usize] & (1 << (fd % 8)) != 0;
    let mut out = [
        alloc::vec![0u8; len as usize],
        alloc::vec![0u8; len as usize],
        alloc::vec![0u8; len as usize],
    ];
    let mut ready = 0;
    for fd in 0..n {
        let (want_r, want_w, want_e) = (bit(&r, fd), bit(&w, fd), bit(&e, fd));
        if !(want_r || want_w || want_e) {
            continue;
        }
        let ev = events(linux, fd);
        if ev == POLLNVAL {
            return Err(Errno::EBADF);
        }
        let set = |out: &mut Vec<u8>| out[(fd / 8) as usize] |= 1 << (fd % 8);
        if want_r && ev & (POLLIN | POLLHUP | POLLERR) != 0 {
            set(&mut out[0]);
            ready += 1;
        }
        if want_w && ev & (POLLOUT | POLLERR) != 0 {
            set(&mut out[1]);
            ready += 1;
        }
    }
    for (addr, set) in sets.iter().zip(&out) {
        if *addr != 0 {
            cx.write(*addr, set)?;
        }
    }
    if ready == 0
        && let Some(t) = timeout.filter(|&t| t != 0)
    {
        cx.write(t, &[0; 16])?;
    }
    Ok(ready)
}
