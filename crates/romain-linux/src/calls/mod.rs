//! The calls, one module per family; [`perform`] is the dispatch from the table's [`Call`].

mod io;
mod memory;
mod path;
mod process;
mod time;

use romain_core::regs::RegisterFile;
use romain_group::Shell;

use crate::context::Ctx;
use crate::linux::{Linux, Outcome};
use crate::table::Call;

/// Writes `value`'s low `size` bytes at `offset` of `buf`.
pub(crate) fn put(buf: &mut [u8], offset: usize, size: usize, value: u64) {
    buf[offset..offset + size].copy_from_slice(&value.to_le_bytes()[..size]);
}

/// The size of a structure's field, from an accessor (`|s: &stat| &s.st_size`).
pub(crate) fn field_size<T, F>(_: fn(&T) -> &F) -> usize {
    core::mem::size_of::<F>()
}

/// Sets a field of a Linux structure (layout from `linux-raw-sys`) in a byte buffer.
macro_rules! set {
    ($buf:expr, $ty:ty, $field:ident, $value:expr) => {
        crate::calls::put(
            &mut $buf,
            core::mem::offset_of!($ty, $field),
            crate::calls::field_size(|s: &$ty| &s.$field),
            $value as u64,
        )
    };
}
pub(crate) use set;

pub fn perform<S: Shell>(
    linux: &mut Linux,
    call: Call,
    a: &[u64; 6],
    cx: &mut Ctx<'_, '_, '_, S>,
    regs: &mut RegisterFile,
) -> Outcome {
    use Call::*;
    let fd = a[0];
    match call {
        Read => io::read(linux, cx, fd, a[1], a[2], None).into(),
        Pread64 => io::read(linux, cx, fd, a[1], a[2], Some(a[3])).into(),
        Write => io::write(linux, cx, fd, a[1], a[2], None).into(),
        Pwrite64 => io::write(linux, cx, fd, a[1], a[2], Some(a[3])).into(),
        Readv => io::readv(linux, cx, fd, a[1], a[2]).into(),
        Writev => io::writev(linux, cx, fd, a[1], a[2]).into(),
        Lseek => io::lseek(linux, fd, a[1] as i64, a[2]).into(),
        Close => linux.fs.close(fd).into(),
        Ioctl => io::ioctl(linux, fd).into(),
        Fcntl => io::fcntl(linux, fd, a[1], a[2]).into(),
        Dup => io::dup(linux, fd).into(),
        Dup2 => io::dup3(linux, fd, a[1], 0, true).into(),
        Dup3 => io::dup3(linux, fd, a[1], a[2], false).into(),
        Fstat => path::fstat(linux, cx, fd, a[1]).into(),
        Openat => path::openat(linux, cx, a[0], a[1], a[2]).into(),
        Open => path::openat(linux, cx, path::AT_FDCWD, a[0], a[1]).into(),
        Newfstatat => path::fstatat(linux, cx, a[0], a[1], a[2], a[3]).into(),
        Stat | Lstat => path::fstatat(linux, cx, path::AT_FDCWD, a[0], a[1], 0).into(),
        Statx => path::statx(linux, cx, a[0], a[1], a[2], a[4]).into(),
        Getcwd => path::getcwd(linux, cx, a[0], a[1]).into(),
        Readlinkat => path::readlink(cx, a[1]).into(),
        Readlink => path::readlink(cx, a[0]).into(),
        Faccessat => path::access(linux, cx, a[0], a[1]).into(),
        Access => path::access(linux, cx, path::AT_FDCWD, a[0]).into(),
        Unlinkat => path::unlink(linux, cx, a[0], a[1]).into(),
        Unlink => path::unlink(linux, cx, path::AT_FDCWD, a[0]).into(),
        Renameat => path::rename(linux, cx, a[1], a[3]).into(),
        Rename => path::rename(linux, cx, a[0], a[1]).into(),
        Brk => Outcome::Return(memory::brk(linux, cx, a[0])),
        Mmap => memory::mmap(linux, cx, a).into(),
        Munmap => memory::munmap(linux, a[0], a[1]).into(),
        Mremap => memory::mremap(linux, cx, a).into(),
        Mprotect | Madvise => memory::check_range(a[0], a[1]).into(),
        Exit | ExitGroup => Outcome::Exit((a[0] & 0xff) as i64),
        Tgkill | Kill => process::kill(cx, call, a),
        ArchPrctl => process::arch_prctl(cx, a[0], a[1], regs).into(),
        _ => process::perform(linux, cx, call, a)
            .or_else(|| time::perform(cx, call, a))
            .unwrap_or(Err(syscalls::Errno::ENOSYS))
            .into(),
    }
}
