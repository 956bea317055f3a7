//! Calls that name files: openat, the stat family, access, unlink, rename, getcwd, readlink,
//! mkdir, rmdir, chdir, getdents64, chmod, chown, utimensat, statfs. A relative path starts at
//! the directory descriptor the call names, or at the working directory for AT_FDCWD.

use alloc::string::String;
use alloc::vec::Vec;

use linux_raw_sys::general::{O_DIRECTORY, stat, statfs, statx};
use romain_protocol::World;
use syscalls::Errno;

use super::set;
use crate::context::{Ctx, MAX_IO};
use crate::fs::{Attributes, How, Node, Open};
use crate::linux::Linux;
use crate::table::PATH_MAX;

pub const AT_FDCWD: u64 = -100i64 as u64;
const AT_EMPTY_PATH: u64 = 0x1000;
pub const AT_REMOVEDIR: u64 = 0x200;
const O_CREAT: u64 = 0o100;
const O_EXCL: u64 = 0o200;
const O_TRUNC: u64 = 0o1000;
const O_APPEND: u64 = 0o2000;
const O_WRONLY: u64 = 1;

/// The path at `at`: ENOENT when it is empty.
fn path<W: World>(cx: &mut Ctx<'_, '_, '_, W>, at: u64) -> Result<String, Errno> {
    let p = cx.read_str(at, PATH_MAX)?;
    if p.is_empty() {
        return Err(Errno::ENOENT);
    }
    Ok(p)
}

/// `p` as the call means it: a relative path under directory descriptor `dirfd` becomes that
/// directory's (EBADF for no descriptor, ENOTDIR for one that is not a directory).
fn under(linux: &Linux, dirfd: u64, p: String) -> Result<String, Errno> {
    if p.starts_with('/') || dirfd == AT_FDCWD || dirfd as i32 == AT_FDCWD as i32 {
        return Ok(p);
    }
    let open = linux.fs.fd(dirfd)?;
    if open.node != Node::Dir {
        return Err(Errno::ENOTDIR);
    }
    let mut joined = String::with_capacity(open.dir.len() + 1 + p.len());
    joined.push_str(&open.dir);
    joined.push('/');
    joined.push_str(&p);
    Ok(joined)
}

/// The path at `at`, relative to `dirfd`.
fn path_at<W: World>(
    linux: &Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    dirfd: u64,
    at: u64,
) -> Result<String, Errno> {
    let p = path(cx, at)?;
    under(linux, dirfd, p)
}

pub fn openat<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    dirfd: u64,
    at: u64,
    flags: u64,
) -> Result<u64, Errno> {
    let p = path_at(linux, cx, dirfd, at)?;
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

/// creat: open for writing, created, emptied.
pub fn creat<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    at: u64,
) -> Result<u64, Errno> {
    openat(linux, cx, AT_FDCWD, at, O_WRONLY | O_CREAT | O_TRUNC)
}

/// The full `st_mode`.
fn mode(a: &Attributes) -> u64 {
    u64::from(a.kind.mode_bits() | a.mode)
}

fn write_stat<W: World>(
    linux: &Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    open: &Open,
    buf: u64,
) -> Result<u64, Errno> {
    let a = linux.fs.attributes(open);
    let mut b = alloc::vec![0u8; core::mem::size_of::<stat>()];
    set!(b, stat, st_dev, 1);
    set!(b, stat, st_ino, a.ino);
    set!(b, stat, st_nlink, a.links);
    set!(b, stat, st_mode, mode(&a));
    set!(b, stat, st_uid, a.owner.0);
    set!(b, stat, st_gid, a.owner.1);
    set!(b, stat, st_rdev, a.rdev);
    set!(b, stat, st_size, a.size);
    set!(b, stat, st_blksize, 4096);
    set!(b, stat, st_blocks, a.size.div_ceil(512));
    cx.write(buf, &b)?;
    Ok(0)
}

pub fn fstat<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    fd: u64,
    buf: u64,
) -> Result<u64, Errno> {
    let open = linux.fs.fd(fd)?.clone();
    write_stat(linux, cx, &open, buf)
}

/// What a path (or, with AT_EMPTY_PATH and "", the descriptor) names.
fn node_at<W: World>(
    linux: &Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    dirfd: u64,
    at: u64,
    flags: u64,
) -> Result<Open, Errno> {
    let p = cx.read_str(at, PATH_MAX)?;
    if p.is_empty() {
        if flags & AT_EMPTY_PATH != 0 {
            return Ok(linux.fs.fd(dirfd)?.clone());
        }
        return Err(Errno::ENOENT);
    }
    let p = under(linux, dirfd, p)?;
    linux.fs.at(&p)
}

pub fn fstatat<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    dirfd: u64,
    at: u64,
    buf: u64,
    flags: u64,
) -> Result<u64, Errno> {
    let open = node_at(linux, cx, dirfd, at, flags)?;
    write_stat(linux, cx, &open, buf)
}

pub fn statx<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    dirfd: u64,
    at: u64,
    flags: u64,
    buf: u64,
) -> Result<u64, Errno> {
    let open = node_at(linux, cx, dirfd, at, flags)?;
    let a = linux.fs.attributes(&open);
    let mut b = alloc::vec![0u8; core::mem::size_of::<statx>()];
    // STATX_BASIC_STATS.
    set!(b, statx, stx_mask, 0x7ff);
    set!(b, statx, stx_blksize, 4096);
    set!(b, statx, stx_nlink, a.links);
    set!(b, statx, stx_uid, a.owner.0);
    set!(b, statx, stx_gid, a.owner.1);
    set!(b, statx, stx_mode, mode(&a));
    set!(b, statx, stx_ino, a.ino);
    set!(b, statx, stx_size, a.size);
    set!(b, statx, stx_blocks, a.size.div_ceil(512));
    set!(b, statx, stx_rdev_major, (a.rdev >> 8) & 0xfff);
    set!(b, statx, stx_rdev_minor, a.rdev & 0xff);
    set!(b, statx, stx_dev_minor, 1);
    cx.write(buf, &b)?;
    Ok(0)
}

pub fn getcwd<W: World>(
    linux: &Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    buf: u64,
    size: u64,
) -> Result<u64, Errno> {
    let mut cwd = Vec::from(linux.fs.cwd().as_bytes());
    cwd.push(0);
    if size < cwd.len() as u64 {
        return Err(Errno::ERANGE);
    }
    cx.write(buf, &cwd)?;
    Ok(cwd.len() as u64)
}

/// There are no symbolic links (glibc asks for `/proc/self/exe`: ENOENT is what it expects
/// without /proc): EINVAL for what exists (not a link), ENOENT for the rest.
pub fn readlink<W: World>(
    linux: &Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    dirfd: u64,
    at: u64,
) -> Result<u64, Errno> {
    let p = path_at(linux, cx, dirfd, at)?;
    Err(if linux.fs.exists(&p) {
        Errno::EINVAL
    } else {
        Errno::ENOENT
    })
}

/// access, faccessat, faccessat2: whether the path names something (permissions are not
/// enforced).
pub fn access<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    dirfd: u64,
    at: u64,
) -> Result<u64, Errno> {
    let p = path_at(linux, cx, dirfd, at)?;
    linux.fs.at(&p).map(|_| 0)
}

/// unlinkat (unlink): removes a name; with AT_REMOVEDIR (rmdir) an empty directory.
pub fn unlink<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    dirfd: u64,
    at: u64,
    flags: u64,
) -> Result<u64, Errno> {
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let p = path_at(linux, cx, dirfd, at)?;
    if flags & AT_REMOVEDIR != 0 {
        linux.fs.rmdir(&p)
    } else {
        linux.fs.unlink(&p)
    }
}

/// rename, renameat, renameat2 (no flags: RENAME_NOREPLACE and the rest are EINVAL).
pub fn rename<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    (olddir, from): (u64, u64),
    (newdir, to): (u64, u64),
    flags: u64,
) -> Result<u64, Errno> {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let from = path_at(linux, cx, olddir, from)?;
    let to = path_at(linux, cx, newdir, to)?;
    linux.fs.rename(&from, &to)
}

/// link, linkat: another name for a file (AT_SYMLINK_FOLLOW and AT_EMPTY_PATH are accepted:
/// there are no symbolic links; with AT_EMPTY_PATH and "" the descriptor's file).
pub fn link<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    (olddir, from): (u64, u64),
    (newdir, to): (u64, u64),
    flags: u64,
) -> Result<u64, Errno> {
    const AT_SYMLINK_FOLLOW: u64 = 0x400;
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let open = node_at(linux, cx, olddir, from, flags)?;
    let to = path_at(linux, cx, newdir, to)?;
    linux.fs.link(&open, &to)
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

pub fn mkdir<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    dirfd: u64,
    at: u64,
    mode: u64,
) -> Result<u64, Errno> {
    let p = path_at(linux, cx, dirfd, at)?;
    linux.fs.mkdir(&p, mode as u32)
}

pub fn chdir<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    at: u64,
) -> Result<u64, Errno> {
    let p = path(cx, at)?;
    linux.fs.chdir(&p)
}

/// chmod, fchmodat (flags must be 0: Linux's fchmodat has none), fchmod.
pub fn chmod<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    dirfd: u64,
    at: u64,
    mode: u64,
) -> Result<u64, Errno> {
    let open = node_at(linux, cx, dirfd, at, 0)?;
    linux.fs.chmod(&open, mode as u32)
}

pub fn fchmod(linux: &mut Linux, fd: u64, mode: u64) -> Result<u64, Errno> {
    let open = linux.fs.fd(fd)?.clone();
    linux.fs.chmod(&open, mode as u32)
}

/// chown, lchown, fchownat (AT_EMPTY_PATH: the descriptor), fchown: recorded.
pub fn chown<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    (dirfd, at): (u64, u64),
    (uid, gid): (u64, u64),
    flags: u64,
) -> Result<u64, Errno> {
    let open = node_at(linux, cx, dirfd, at, flags)?;
    linux.fs.chown(&open, uid as u32, gid as u32)
}

pub fn fchown(linux: &mut Linux, fd: u64, uid: u64, gid: u64) -> Result<u64, Errno> {
    let open = linux.fs.fd(fd)?.clone();
    linux.fs.chown(&open, uid as u32, gid as u32)
}

/// utimensat: the path (or with a NULL path, the descriptor) must exist; times are not kept
/// (every time reads 0).
pub fn utimensat<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    dirfd: u64,
    at: u64,
    flags: u64,
) -> Result<u64, Errno> {
    if at == 0 {
        return linux.fs.fd(dirfd).map(|_| 0);
    }
    node_at(linux, cx, dirfd, at, flags).map(|_| 0)
}

/// getdents64: the directory's entries from the descriptor's position on, as many whole ones
/// as fit `size` bytes (EINVAL if the first does not), at most [`MAX_IO`].
pub fn getdents64<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    fd: u64,
    buf: u64,
    size: u64,
) -> Result<u64, Errno> {
    let open = linux.fs.fd(fd)?;
    if open.node != Node::Dir {
        return Err(Errno::ENOTDIR);
    }
    let (dir, from) = (open.dir.clone(), open.offset);
    let size = size.min(MAX_IO) as usize;
    let entries = linux.fs.entries(&dir)?;
    let mut out = Vec::new();
    let mut next = from;
    for (i, e) in entries
        .iter()
        .enumerate()
        .skip(usize::try_from(from).unwrap_or(usize::MAX))
    {
        // d_ino, d_off, d_reclen, d_type, the name and its NUL, aligned to 8.
        let reclen = (8 + 8 + 2 + 1 + e.name.len() + 1).next_multiple_of(8);
        if out.len() + reclen > size {
            break;
        }
        out.try_reserve(reclen).map_err(|_| Errno::ENOMEM)?;
        let at = out.len();
        out.extend_from_slice(&e.ino.to_le_bytes());
        out.extend_from_slice(&(i as u64 + 1).to_le_bytes());
        out.extend_from_slice(&(reclen as u16).to_le_bytes());
        out.push(e.kind.dirent_type());
        out.extend_from_slice(e.name.as_bytes());
        out.resize(at + reclen, 0);
        next = i as u64 + 1;
    }
    if out.is_empty() && (next as usize) < entries.len() {
        return Err(Errno::EINVAL);
    }
    cx.write(buf, &out)?;
    linux.fs.fd_mut(fd)?.offset = next;
    Ok(out.len() as u64)
}

/// statfs: the path must exist; see [`write_statfs`].
pub fn statfs<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    at: u64,
    buf: u64,
) -> Result<u64, Errno> {
    let p = path(cx, at)?;
    linux.fs.at(&p)?;
    write_statfs(linux, cx, buf)
}

pub fn fstatfs<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    fd: u64,
    buf: u64,
) -> Result<u64, Errno> {
    linux.fs.fd(fd)?;
    write_statfs(linux, cx, buf)
}

/// One in-memory file system (tmpfs's magic number), as large as the byte budget, as full as
/// the files' own copies make it.
fn write_statfs<W: World>(
    linux: &Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    buf: u64,
) -> Result<u64, Errno> {
    const TMPFS_MAGIC: u64 = 0x0102_1994;
    let blocks = linux.fs.budget() / 4096;
    let free = linux.fs.budget().saturating_sub(linux.fs.owned_bytes()) / 4096;
    let names = crate::fs::MAX_NAMES as u64;
    let mut b = alloc::vec![0u8; core::mem::size_of::<statfs>()];
    set!(b, statfs, f_type, TMPFS_MAGIC);
    set!(b, statfs, f_bsize, 4096);
    set!(b, statfs, f_blocks, blocks);
    set!(b, statfs, f_bfree, free);
    set!(b, statfs, f_bavail, free);
    set!(b, statfs, f_files, names);
    set!(b, statfs, f_ffree, names.saturating_sub(linux.fs.names()));
    set!(b, statfs, f_namelen, 255);
    set!(b, statfs, f_frsize, 4096);
    cx.write(buf, &b)?;
    Ok(0)
}
