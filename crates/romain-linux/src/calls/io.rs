//! read, write and their vector and positioned forms, lseek, ioctl, fcntl, dup.

use alloc::vec::Vec;

use romain_protocol::World;
use syscalls::Errno;

use crate::context::{Ctx, MAX_IO};
use crate::fs::Node;
use crate::linux::Linux;

/// Largest position (and end of a transfer) a file may have: Linux's `loff_t` is signed.
const MAX_OFFSET: u64 = i64::MAX as u64;

pub fn read<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    fd: u64,
    buf: u64,
    len: u64,
    at: Option<u64>,
) -> Result<u64, Errno> {
    if at.is_some_and(|a| a > MAX_OFFSET) {
        return Err(Errno::EINVAL);
    }
    let open = linux.fs.fd(fd)?;
    if !open.readable {
        return Err(Errno::EBADF);
    }
    if at.is_some() && !matches!(open.node, Node::File(_)) {
        return Err(Errno::ESPIPE);
    }
    let len = len.min(MAX_IO);
    cx.writable(buf, len)?;
    // Straight from the file's bytes into the replicas' memory, piece by piece.
    let mut done = 0;
    for piece in linux.fs.read(fd, len as usize, at)? {
        // Within the buffer checked above.
        cx.write(buf + done, piece)?;
        done += piece.len() as u64;
    }
    Ok(done)
}

/// Bytes the program gave (at most [`MAX_IO`]) written to `fd`: printed once for the console,
/// into the file otherwise (at `at`, or the offset).
fn put<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    fd: u64,
    bytes: &[u8],
    at: Option<u64>,
) -> Result<u64, Errno> {
    if linux.fs.fd(fd)?.node == Node::Console {
        cx.calls.shell.print(bytes);
        return Ok(bytes.len() as u64);
    }
    Ok(linux.fs.write(fd, bytes, at)? as u64)
}

/// write's and writev's checks before the bytes are read: the descriptor, positioned writes.
fn writable_fd(linux: &Linux, fd: u64, at: Option<u64>) -> Result<(), Errno> {
    if at.is_some_and(|a| a > MAX_OFFSET) {
        return Err(Errno::EINVAL);
    }
    let open = linux.fs.fd(fd)?;
    if !open.writable {
        return Err(Errno::EBADF);
    }
    if at.is_some() && !matches!(open.node, Node::File(_)) {
        return Err(Errno::ESPIPE);
    }
    Ok(())
}

pub fn write<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    fd: u64,
    buf: u64,
    len: u64,
    at: Option<u64>,
) -> Result<u64, Errno> {
    writable_fd(linux, fd, at)?;
    let bytes = cx.read(buf, len.min(MAX_IO))?;
    put(linux, cx, fd, &bytes, at)
}

/// readv: one read spread over the buffers, [`MAX_IO`] bytes at most in all (the entries as
/// `context::iovecs` cuts them). Every buffer is checked before anything is read: one that
/// cannot be written is EFAULT and the file's offset stays.
pub fn readv<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    fd: u64,
    iov: u64,
    count: u64,
) -> Result<u64, Errno> {
    if !linux.fs.fd(fd)?.readable {
        return Err(Errno::EBADF);
    }
    let list = cx.iovecs(iov, count)?;
    for &(base, len) in &list {
        cx.writable(base, len)?;
    }
    let mut total = 0;
    for (base, len) in list {
        match read(linux, cx, fd, base, len, None) {
            Ok(n) if n < len => return Ok(total + n),
            Ok(n) => total += n,
            Err(_) if total > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

/// writev: the buffers gathered ([`MAX_IO`] bytes at most in all) and written as one write.
/// A buffer that cannot be read ends the gathering: the bytes before it are written, or
/// EFAULT if there are none.
pub fn writev<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    fd: u64,
    iov: u64,
    count: u64,
) -> Result<u64, Errno> {
    writable_fd(linux, fd, None)?;
    let list = cx.iovecs(iov, count)?;
    // At most MAX_IO in all (iovecs cut them so).
    let total: u64 = list.iter().map(|&(_, len)| len).sum();
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(total as usize)
        .map_err(|_| Errno::ENOMEM)?;
    for (base, len) in list {
        let at = bytes.len();
        bytes.resize(at + len as usize, 0);
        if let Err(e) = cx.read_into(base, &mut bytes[at..]) {
            bytes.truncate(at);
            if bytes.is_empty() {
                return Err(e);
            }
            break;
        }
    }
    if bytes.is_empty() {
        return Ok(0);
    }
    put(linux, cx, fd, &bytes, None)
}

/// ftruncate: the file made `len` bytes long (EINVAL for a negative length, as Linux checks
/// before the descriptor).
pub fn ftruncate(linux: &mut Linux, fd: u64, len: u64) -> Result<u64, Errno> {
    linux.fs.ftruncate(fd, len)
}

pub fn lseek(linux: &mut Linux, fd: u64, offset: i64, whence: u64) -> Result<u64, Errno> {
    let open = linux.fs.fd(fd)?;
    if !matches!(open.node, Node::File(_)) {
        return Err(Errno::ESPIPE);
    }
    let size = i64::try_from(linux.fs.size(&open.node)).map_err(|_| Errno::EOVERFLOW)?;
    let base = match whence {
        0 => 0,
        1 => i64::try_from(open.offset).map_err(|_| Errno::EOVERFLOW)?,
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
