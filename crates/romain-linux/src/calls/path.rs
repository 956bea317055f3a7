//! Calls that name files: openat, the stat family, access, unlink, rename, getcwd, readlink.
//! Paths are resolved against the working directory `/`; a directory descriptor other than
//! AT_FDCWD is taken as `/` too (the file system has one directory).

use linux_raw_sys::general::{O_DIRECTORY, stat, statx};
use romain_protocol::World;
use syscalls::Errno;

use super::set;
use crate::context::Ctx;
use crate::fs::{How, Node};
use crate::linux::Linux;
use crate::table::PATH_MAX;

pub const AT_FDCWD: u64 = -100i64 as u64;
const AT_EMPTY_PATH: u64 = 0x1000;
const O_CREAT: u64 = 0o100;
const O_EXCL: u64 = 0o200;
const O_TRUNC: u64 = 0o1000;
const O_APPEND: u64 = 0o2000;

const S_IFREG: u64 = 0o100_000;
const S_IFDIR: u64 = 0o040_000;
const S_IFIFO: u64 = 0o010_000;

fn path<W: World>(cx: &mut Ctx<'_, '_, '_, W>, at: u64) -> Result<alloc::string::String, Errno> {
    let p = cx.read_str(at, PATH_MAX)?;
    if p.is_empty() {
        return Err(Errno::ENOENT);
    }
    Ok(p)
}

pub fn openat<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    _dirfd: u64,
    at: u64,
    flags: u64,
) -> Result<u64, Errno> {
    let p = path(cx, at)?;
    let (readable, writable) = match flags & 3 {
        0 => (true, false),
        1 => (false, true),
        2 => (true, true),
        _ => return Err(Errno::EINVAL),
    };
    let how = How {
        readable,
        writable,
        create: flags & O_CREAT != 0,
        exclusive: flags & O_EXCL != 0,
        truncate: flags & O_TRUNC != 0,
        append: flags & O_APPEND != 0,
        directory: flags & O_DIRECTORY as u64 != 0,
    };
    linux.fs.open(&p, how)
}

/// Mode, size and inode of what `node` is. The console is a pipe (as stdout and stderr are when
/// a program's output is captured on Linux): stdio buffers it fully, like the golden run.
fn attributes(linux: &Linux, node: &Node) -> (u64, u64, u64, u64) {
    let mode = match node {
        Node::File(_) => S_IFREG | 0o644,
        Node::Dir => S_IFDIR | 0o755,
        Node::Console | Node::Empty => S_IFIFO | 0o600,
    };
    (
        mode,
        linux.fs.size(node),
        linux.fs.ino(node),
        linux.fs.links(node),
    )
}

fn write_stat<W: World>(
    linux: &Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    node: &Node,
    buf: u64,
) -> Result<u64, Errno> {
    let (mode, size, ino, links) = attributes(linux, node);
    let mut b = alloc::vec![0u8; core::mem::size_of::<stat>()];
    set!(b, stat, st_dev, 1);
    set!(b, stat, st_ino, ino);
    set!(b, stat, st_nlink, links);
    set!(b, stat, st_mode, mode);
    set!(b, stat, st_uid, crate::stack::UID);
    set!(b, stat, st_gid, crate::stack::GID);
    set!(b, stat, st_size, size);
    set!(b, stat, st_blksize, 4096);
    set!(b, stat, st_blocks, size.div_ceil(512));
    cx.write(buf, &b)?;
    Ok(0)
}

pub fn fstat<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    fd: u64,
    buf: u64,
) -> Result<u64, Errno> {
    let node = linux.fs.fd(fd)?.node;
    write_stat(linux, cx, &node, buf)
}

/// What a path (or, with AT_EMPTY_PATH and "", the descriptor) names.
fn node_at<W: World>(
    linux: &Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    dirfd: u64,
    at: u64,
    flags: u64,
) -> Result<Node, Errno> {
    let p = cx.read_str(at, PATH_MAX)?;
    if p.is_empty() {
        if flags & AT_EMPTY_PATH != 0 {
            return Ok(linux.fs.fd(dirfd)?.node);
        }
        return Err(Errno::ENOENT);
    }
    let name = linux.fs.resolve(&p);
    if linux.fs.is_dir(&name) {
        return Ok(Node::Dir);
    }
    linux.fs.lookup(&name).map(Node::File).ok_or(Errno::ENOENT)
}

pub fn fstatat<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    dirfd: u64,
    at: u64,
    buf: u64,
    flags: u64,
) -> Result<u64, Errno> {
    let node = node_at(linux, cx, dirfd, at, flags)?;
    write_stat(linux, cx, &node, buf)
}

pub fn statx<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    dirfd: u64,
    at: u64,
    flags: u64,
    buf: u64,
) -> Result<u64, Errno> {
    let node = node_at(linux, cx, dirfd, at, flags)?;
    let (mode, size, ino, links) = attributes(linux, &node);
    let mut b = alloc::vec![0u8; core::mem::size_of::<statx>()];
    // STATX_BASIC_STATS.
    set!(b, statx, stx_mask, 0x7ff);
    set!(b, statx, stx_blksize, 4096);
    set!(b, statx, stx_nlink, links);
    set!(b, statx, stx_uid, crate::stack::UID);
    set!(b, statx, stx_gid, crate::stack::GID);
    set!(b, statx, stx_mode, mode);
    set!(b, statx, stx_ino, ino);
    set!(b, statx, stx_size, size);
    set!(b, statx, stx_blocks, size.div_ceil(512));
    cx.write(buf, &b)?;
    Ok(0)
}

pub fn getcwd<W: World>(
    linux: &Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    buf: u64,
    size: u64,
) -> Result<u64, Errno> {
    let mut cwd = alloc::vec::Vec::from(linux.fs.cwd().as_bytes());
    cwd.push(0);
    if size < cwd.len() as u64 {
        return Err(Errno::ERANGE);
    }
    cx.write(buf, &cwd)?;
    Ok(cwd.len() as u64)
}

/// There are no symbolic links (glibc asks for `/proc/self/exe`: ENOENT is what it expects
/// without /proc).
pub fn readlink<W: World>(cx: &mut Ctx<'_, '_, '_, W>, at: u64) -> Result<u64, Errno> {
    path(cx, at)?;
    Err(Errno::ENOENT)
}

pub fn access<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    _dirfd: u64,
    at: u64,
) -> Result<u64, Errno> {
    let p = path(cx, at)?;
    if linux.fs.exists(&p) {
        Ok(0)
    } else {
        Err(Errno::ENOENT)
    }
}

pub fn unlink<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    _dirfd: u64,
    at: u64,
) -> Result<u64, Errno> {
    let p = path(cx, at)?;
    linux.fs.unlink(&p)
}

pub fn rename<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    from: u64,
    to: u64,
) -> Result<u64, Errno> {
    let (from, to) = (path(cx, from)?, path(cx, to)?);
    linux.fs.rename(&from, &to)
}

/// truncate: the named file made `len` bytes long (EINVAL for a negative length, EISDIR for a
/// directory).
pub fn truncate<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    at: u64,
    len: u64,
) -> Result<u64, Errno> {
    // The length first, as Linux checks it before the path.
    if (len as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let p = path(cx, at)?;
    linux.fs.truncate(&p, len)
}
