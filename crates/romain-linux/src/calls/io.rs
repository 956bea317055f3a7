//! read, write and their vector and positioned forms, lseek, ioctl, fcntl, dup, pipe2,
//! sendfile, the sync calls. What a descriptor reads and writes depends on its node: a file's
//! bytes, the console (written once for all replicas), a device, a pipe.

use alloc::vec::Vec;

use romain_protocol::World;
use syscalls::Errno;

use crate::context::{Ctx, MAX_IO};
use crate::fs::{Device, Node};
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
    let node = open.node;
    if at.is_some() && !matches!(node, Node::File(_) | Node::Device(_)) {
        return Err(Errno::ESPIPE);
    }
    let len = len.min(MAX_IO);
    match node {
        Node::Device(Device::Zero | Device::Full) => return cx.fill(buf, len, |_| 0),
        Node::Device(Device::Random) => return cx.fill(buf, len, |cx| cx.calls.shell.random()),
        Node::Pipe(end) => return read_pipe(linux, cx, end, buf, len),
        Node::EventFd(id) => {
            // The counter as 8 bytes: a shorter buffer is EINVAL.
            if len < 8 {
                return Err(Errno::EINVAL);
            }
            cx.writable(buf, 8)?;
            let value = linux.fs.counter_read(id)?;
            cx.write(buf, &value.to_le_bytes())?;
            return Ok(8);
        }
        Node::Epoll(_) => return Err(Errno::EINVAL),
        _ => {}
    }
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
    match linux.fs.fd(fd)?.node {
        Node::Console => {
            cx.calls.shell.print(bytes);
            Ok(bytes.len() as u64)
        }
        Node::Device(Device::Full) => Err(Errno::ENOSPC),
        Node::Device(_) => Ok(bytes.len() as u64),
        Node::Pipe(end) => Ok(linux.fs.pipe_write(end, bytes)? as u64),
        Node::EventFd(id) => {
            let add: [u8; 8] = bytes
                .get(..8)
                .ok_or(Errno::EINVAL)?
                .try_into()
                .map_err(|_| Errno::EINVAL)?;
            linux.fs.counter_write(id, u64::from_le_bytes(add))?;
            Ok(8)
        }
        Node::Epoll(_) => Err(Errno::EINVAL),
        _ => Ok(linux.fs.write(fd, bytes, at)? as u64),
    }
}

/// A pipe's bytes into the program's buffer: what there is, up to `len`; EAGAIN for an empty
/// pipe whose write end is open (nothing else could ever fill it), 0 when none is.
fn read_pipe<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    end: crate::fs::pipe::End,
    buf: u64,
    len: u64,
) -> Result<u64, Errno> {
    cx.writable(buf, len)?;
    if linux.fs.pipe_would_block(end) {
        return Err(Errno::EAGAIN);
    }
    let Some(pipe) = linux.fs.pipe_of(end) else {
        return Ok(0);
    };
    let (a, b) = pipe.front(len as usize);
    // Within the buffer checked above.
    cx.write(buf, a)?;
    cx.write(buf + a.len() as u64, b)?;
    let n = a.len() + b.len();
    linux.fs.pipe_consume(end, n);
    Ok(n as u64)
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
    if at.is_some() && !matches!(open.node, Node::File(_) | Node::Device(_)) {
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

/// readv (preadv at `at`): one read spread over the buffers, [`MAX_IO`] bytes at most in all
/// (the entries as `context::iovecs` cuts them). Every buffer is checked before anything is
/// read: one that cannot be written is EFAULT and the file's offset stays.
pub fn readv<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    fd: u64,
    iov: u64,
    count: u64,
    at: Option<u64>,
) -> Result<u64, Errno> {
    if at.is_some_and(|a| a > MAX_OFFSET) {
        return Err(Errno::EINVAL);
    }
    if !linux.fs.fd(fd)?.readable {
        return Err(Errno::EBADF);
    }
    let list = cx.iovecs(iov, count)?;
    for &(base, len) in &list {
        cx.writable(base, len)?;
    }
    let mut total = 0;
    for (base, len) in list {
        match read(linux, cx, fd, base, len, at.map(|a| a + total)) {
            Ok(n) if n < len => return Ok(total + n),
            Ok(n) => total += n,
            Err(_) if total > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

/// writev (pwritev at `at`): the buffers gathered ([`MAX_IO`] bytes at most in all) and written
/// as one write. A buffer that cannot be read ends the gathering: the bytes before it are
/// written, or EFAULT if there are none.
pub fn writev<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    fd: u64,
    iov: u64,
    count: u64,
    at: Option<u64>,
) -> Result<u64, Errno> {
    writable_fd(linux, fd, at)?;
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
    put(linux, cx, fd, &bytes, at)
}

/// The position preadv2 and pwritev2 take: -1 is the descriptor's own (as readv and writev),
/// another negative one EINVAL; their flags (RWF_*) change nothing here, unknown ones are
/// EOPNOTSUPP.
pub fn position2(offset: u64, flags: u64) -> Result<Option<u64>, Errno> {
    if flags & !0x1f != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    match offset as i64 {
        -1 => Ok(None),
        o if o < 0 => Err(Errno::EINVAL),
        o => Ok(Some(o as u64)),
    }
}

/// ftruncate: the file made `len` bytes long (EINVAL for a negative length, as Linux checks
/// before the descriptor).
pub fn ftruncate(linux: &mut Linux, fd: u64, len: u64) -> Result<u64, Errno> {
    linux.fs.ftruncate(fd, len)
}

/// lseek: a file's position (past the end too); a directory's position is an entry's index
/// (rewinddir, seekdir with what telldir gave); a device stays at 0, as /dev/null does.
pub fn lseek(linux: &mut Linux, fd: u64, offset: i64, whence: u64) -> Result<u64, Errno> {
    let open = linux.fs.fd(fd)?;
    match open.node {
        Node::File(_) => {}
        Node::Dir => {
            let to = match whence {
                0 => offset,
                1 => i64::try_from(open.offset).map_or(-1, |o| o.saturating_add(offset)),
                _ => -1,
            };
            let to = u64::try_from(to).map_err(|_| Errno::EINVAL)?;
            linux.fs.fd_mut(fd)?.offset = to;
            return Ok(to);
        }
        Node::Device(_) if whence <= 2 => return Ok(0),
        Node::Device(_) => return Err(Errno::EINVAL),
        Node::Console | Node::Pipe(_) | Node::EventFd(_) | Node::Epoll(_) => {
            return Err(Errno::ESPIPE);
        }
    }
    let size = i64::try_from(linux.fs.size(&open.node)).map_err(|_| Errno::EOVERFLOW)?;
    let base = match whence {
        0 => 0,
        1 => i64::try_from(open.offset).map_err(|_| Errno::EOVERFLOW)?,
        2 => size,
        // SEEK_DATA, SEEK_HOLE: a file is all data (holes read as zeros and are kept as
        // such), its one hole is at its end; at or past the end is ENXIO.
        3 | 4 => {
            if offset < 0 || offset >= size {
                return Err(Errno::ENXIO);
            }
            let to = if whence == 3 { offset } else { size };
            linux.fs.fd_mut(fd)?.offset = to as u64;
            return Ok(to as u64);
        }
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
        // A lowest descriptor past the limit is EINVAL, as Linux says past RLIMIT_NOFILE.
        F_DUPFD | F_DUPFD_CLOEXEC if arg >= crate::fs::MAX_FDS as u64 => Err(Errno::EINVAL),
        F_DUPFD | F_DUPFD_CLOEXEC => linux.fs.install(open, arg as usize),
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

/// pipe2 (pipe): the two ends, written as two ints at `fds`. O_CLOEXEC, O_NONBLOCK and O_DIRECT
/// are accepted (nothing here waits anyway); any other flag is EINVAL.
pub fn pipe2<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    fds: u64,
    flags: u64,
) -> Result<u64, Errno> {
    const ACCEPTED: u64 = 0o2000000 | 0o4000 | 0o40000;
    if flags & !ACCEPTED != 0 {
        return Err(Errno::EINVAL);
    }
    cx.writable(fds, 8)?;
    let (r, w) = linux.fs.pipe()?;
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&(r as u32).to_le_bytes());
    b[4..].copy_from_slice(&(w as u32).to_le_bytes());
    cx.write(fds, &b)?;
    Ok(0)
}

/// sendfile: up to `count` bytes (at most [`MAX_IO`]) of `input` (a file, at `*offset` when
/// `offset` is not NULL, which is then moved, otherwise at its position) written to `out` as
/// a write would.
pub fn sendfile<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    out: u64,
    input: u64,
    offset: u64,
    count: u64,
) -> Result<u64, Errno> {
    writable_fd(linux, out, None)?;
    let open = linux.fs.fd(input)?;
    if !open.readable {
        return Err(Errno::EBADF);
    }
    if !matches!(open.node, Node::File(_)) {
        return Err(Errno::EINVAL);
    }
    let at = if offset == 0 {
        None
    } else {
        let at = cx.read_u64(offset)? as i64;
        Some(u64::try_from(at).map_err(|_| Errno::EINVAL)?)
    };
    let count = count.min(MAX_IO);
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(count as usize)
        .map_err(|_| Errno::ENOMEM)?;
    for piece in linux.fs.read(input, count as usize, at)? {
        bytes.extend_from_slice(piece);
    }
    let n = if bytes.is_empty() {
        0
    } else {
        put(linux, cx, out, &bytes, None)?
    };
    match at {
        Some(at) => cx.write(offset, &(at + n).to_le_bytes())?,
        // What was read but not written goes back to be read again.
        None if n < bytes.len() as u64 => {
            let open = linux.fs.fd_mut(input)?;
            open.offset -= bytes.len() as u64 - n;
        }
        None => {}
    }
    Ok(n)
}

/// fsync, fdatasync, syncfs, fadvise64, flock: nothing to do for a valid descriptor (the
/// files live in memory); fsync of a pipe or the console is EINVAL, as on Linux, and fadvise
/// of one ESPIPE.
pub fn sync_fd(linux: &Linux, fd: u64, on_stream: Option<Errno>) -> Result<u64, Errno> {
    let node = linux.fs.fd(fd)?.node;
    match (node, on_stream) {
        (Node::Console | Node::Pipe(_), Some(e)) => Err(e),
        _ => Ok(0),
    }
}

/// eventfd2 (eventfd): a counter descriptor. EFD_SEMAPHORE makes reads take 1 at a time;
/// EFD_CLOEXEC and EFD_NONBLOCK are accepted (nothing waits here); other flags are EINVAL.
pub fn eventfd(linux: &mut Linux, initial: u64, flags: u64) -> Result<u64, Errno> {
    const EFD_SEMAPHORE: u64 = 1;
    const ACCEPTED: u64 = EFD_SEMAPHORE | 0o2000000 | 0o4000;
    if flags & !ACCEPTED != 0 {
        return Err(Errno::EINVAL);
    }
    linux
        .fs
        .eventfd(u64::from(initial as u32), flags & EFD_SEMAPHORE != 0)
}
