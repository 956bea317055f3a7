//! read, write and their vector and positioned forms, lseek, ioctl, fcntl, dup.

use alloc::vec::Vec;

use romain_protocol::World;
use syscalls::Errno;

use crate::context::{Ctx, MAX_IO};
use crate::fs::Node;
use crate::linux::Linux;

pub fn read<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    fd: u64,
    buf: u64,
    len: u64,
    at: Option<u64>,
) -> Result<u64, Errno> {
    if at.is_some_and(|a| (a as i64) < 0) {
        return Err(Errno::EINVAL);
    }
    let open = linux.fs.fd(fd)?;
    if at.is_some() && !matches!(open.node, Node::File(_)) {
        return Err(Errno::ESPIPE);
    }
    let len = len.min(MAX_IO);
    cx.writable(buf, len)?;
    let bytes: Vec<u8> = linux.fs.read(fd, len as usize, at)?.to_vec();
    cx.write(buf, &bytes)?;
    Ok(bytes.len() as u64)
}

pub fn write<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    fd: u64,
    buf: u64,
    len: u64,
    at: Option<u64>,
) -> Result<u64, Errno> {
    if at.is_some_and(|a| (a as i64) < 0) {
        return Err(Errno::EINVAL);
    }
    let open = linux.fs.fd(fd)?;
    if !open.writable {
        return Err(Errno::EBADF);
    }
    let console = open.node == Node::Console;
    if at.is_some() && console {
        return Err(Errno::ESPIPE);
    }
    let bytes = cx.read(buf, len.min(MAX_IO))?;
    if console {
        cx.calls.shell.print(&bytes);
        return Ok(bytes.len() as u64);
    }
    Ok(linux.fs.write(fd, &bytes, at)? as u64)
}

/// The (base, len) pairs of an iovec array.
fn iovecs<W: World>(
    cx: &mut Ctx<'_, '_, '_, W>,
    iov: u64,
    count: u64,
) -> Result<Vec<(u64, u64)>, Errno> {
    if count > 1024 {
        return Err(Errno::EINVAL);
    }
    let raw = cx.read(iov, 16 * count)?;
    Ok(raw
        .chunks_exact(16)
        .map(|e| {
            (
                u64::from_le_bytes(e[..8].try_into().expect("8")),
                u64::from_le_bytes(e[8..].try_into().expect("8")),
            )
        })
        .collect())
}

pub fn readv<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    fd: u64,
    iov: u64,
    count: u64,
) -> Result<u64, Errno> {
    let mut total = 0;
    for (base, len) in iovecs(cx, iov, count)? {
        let n = read(linux, cx, fd, base, len, None)?;
        total += n;
        if n < len {
            break;
        }
    }
    Ok(total)
}

pub fn writev<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    fd: u64,
    iov: u64,
    count: u64,
) -> Result<u64, Errno> {
    let mut total = 0;
    for (base, len) in iovecs(cx, iov, count)? {
        total += write(linux, cx, fd, base, len, None)?;
    }
    Ok(total)
}

pub fn lseek(linux: &mut Linux, fd: u64, offset: i64, whence: u64) -> Result<u64, Errno> {
    let open = linux.fs.fd(fd)?;
    if !matches!(open.node, Node::File(_)) {
        return Err(Errno::ESPIPE);
    }
    let size = linux.fs.size(&open.node) as i64;
    let base = match whence {
        0 => 0,
        1 => open.offset as i64,
        2 => size,
        _ => return Err(Errno::EINVAL),
    };
    let to = base.checked_add(offset).ok_or(Errno::EOVERFLOW)?;
    if to < 0 {
        return Err(Errno::EINVAL);
    }
    linux.fs.fd_mut(fd)?.offset = to as u64;
    Ok(to as u64)
}

/// No descriptor is a terminal: terminal queries (TCGETS, TIOCGWINSZ, ...) answer ENOTTY, as
/// they would for a pipe, and so does every other request.
pub fn ioctl(linux: &mut Linux, fd: u64) -> Result<u64, Errno> {
    linux.fs.fd(fd)?;
    Err(Errno::ENOTTY)
}

pub fn fcntl(linux: &mut Linux, fd: u64, cmd: u64, arg: u64) -> Result<u64, Errno> {
    const F_DUPFD: u64 = 0;
    const F_GETFD: u64 = 1;
    const F_SETFD: u64 = 2;
    const F_GETFL: u64 = 3;
    const F_SETFL: u64 = 4;
    const F_DUPFD_CLOEXEC: u64 = 1030;
    let open = linux.fs.fd(fd)?.clone();
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => linux.fs.install(open, arg.min(4096) as usize),
        F_GETFD | F_SETFD | F_SETFL => Ok(0),
        F_GETFL => Ok(match (open.readable, open.writable) {
            (true, true) => 2,
            (false, true) => 1,
            _ => 0,
        } | if open.append { 0o2000 } else { 0 }),
        _ => Err(Errno::EINVAL),
    }
}

pub fn dup(linux: &mut Linux, fd: u64) -> Result<u64, Errno> {
    let open = linux.fs.fd(fd)?.clone();
    linux.fs.install(open, 0)
}

/// dup3 (and dup2, which allows `fd == to`).
pub fn dup3(linux: &mut Linux, fd: u64, to: u64, flags: u64, dup2: bool) -> Result<u64, Errno> {
    let open = linux.fs.fd(fd)?.clone();
    if fd == to {
        return if dup2 { Ok(to) } else { Err(Errno::EINVAL) };
    }
    if flags & !0o2000000 != 0 {
        return Err(Errno::EINVAL);
    }
    linux.fs.install_at(open, to)
}
