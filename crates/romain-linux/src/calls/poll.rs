//! poll, ppoll, select, pselect6 and the epoll calls: which descriptors are ready. Files, directories and devices
//! are always ready both ways, the console for writing; a pipe's read end when it holds bytes
//! (or its write end is closed: end of file, POLLHUP), its write end while it has room.
//! Nothing here becomes ready later (a single thread, no outside input), so a call with
//! nothing ready returns 0 at once, whatever its timeout, as sleeps return at once.

use alloc::vec::Vec;

use romain_protocol::World;
use syscalls::Errno;

use romain_core::regs::Arch;

use crate::context::Ctx;
use crate::fs::event::Interest;
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
fn events_of(linux: &Linux, fd: u64) -> u16 {
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
                let e = events_of(linux, fd);
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
        let ev = events_of(linux, fd);
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

/// Bytes of one `struct epoll_event`: packed on x86_64 (events, then data at 4), aligned on
/// aarch64 (data at 8).
pub fn epoll_event_size(arch: Arch) -> u64 {
    match arch {
        Arch::X86_64 => 12,
        Arch::Aarch64 => 16,
    }
}

/// epoll_create1 (epoll_create, whose size must be positive): a new instance. O_CLOEXEC is the
/// one flag.
pub fn epoll_create(linux: &mut Linux, flags: u64) -> Result<u64, Errno> {
    if flags & !0o2000000 != 0 {
        return Err(Errno::EINVAL);
    }
    linux.fs.epoll()
}

/// epoll_ctl: the event structure is read for ADD and MOD (EFAULT where it cannot be).
pub fn epoll_ctl<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    (epfd, op, fd): (u64, u64, u64),
    event: u64,
) -> Result<u64, Errno> {
    const DEL: u64 = 2;
    let interest = if op == DEL {
        None
    } else {
        let size = epoll_event_size(linux.arch) as usize;
        let mut b = [0u8; 16];
        match cx.read_into(event, &mut b[..size]) {
            Ok(()) => {
                let data_at = size - 8;
                Some(Interest {
                    events: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                    data: u64::from_le_bytes(b[data_at..data_at + 8].try_into().unwrap_or([0; 8])),
                })
            }
            Err(_) => None,
        }
    };
    linux.fs.epoll_ctl(epfd, op, fd, interest)
}

/// epoll_wait, epoll_pwait, epoll_pwait2: the ready entries of the interest list in descriptor
/// order, `maxevents` at most (EINVAL for none or a negative count); 0 at once when none is
/// ready, whatever the timeout.
pub fn epoll_wait<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    epfd: u64,
    events: u64,
    maxevents: u64,
) -> Result<u64, Errno> {
    const ONESHOT: u32 = 1 << 30;
    let max = maxevents as i32;
    if max <= 0 {
        return Err(Errno::EINVAL);
    }
    let interests: Vec<(u64, Interest)> = linux
        .fs
        .interests(epfd)?
        .iter()
        .map(|(fd, i)| (*fd, *i))
        .collect();
    let size = epoll_event_size(linux.arch) as usize;
    let mut out = Vec::new();
    let mut reported = Vec::new();
    for (fd, interest) in interests {
        if reported.len() == max as usize {
            break;
        }
        // A one-shot entry already reported waits for its next MOD.
        if interest.events == ONESHOT {
            continue;
        }
        let ready =
            u32::from(events_of(linux, fd)) & (interest.events | u32::from(POLLERR | POLLHUP));
        if ready == 0 {
            continue;
        }
        let at = out.len();
        out.resize(at + size, 0);
        out[at..at + 4].copy_from_slice(&ready.to_le_bytes());
        out[at + size - 8..at + size].copy_from_slice(&interest.data.to_le_bytes());
        reported.push(fd);
    }
    cx.write(events, &out)?;
    for fd in &reported {
        linux.fs.epoll_reported(epfd, *fd);
    }
    Ok(reported.len() as u64)
}
