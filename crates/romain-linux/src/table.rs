//! The Linux system calls the personality performs: **one line per call**, for both
//! architectures at once. A line names the call, its number on x86_64 and on aarch64 (the
//! `syscalls` crate's `Sysno` names; `-` where the architecture has no such call), its
//! arguments in register order with what each reads from the program's memory, and its
//! handler, an expression over the argument names and `linux`, `cx`, `regs`.
//!
//! From the table the macro makes the [`LinuxCall`] enum, both number tables ([`lookup`],
//! [`LinuxCall::number`]), the inputs hashed into every replica's event ([`LinuxCall::inputs`]) and an
//! exhaustive dispatch: every line has its handler, there is no catch-all, and a number not in
//! the table is ENOSYS. Adding a call is one line here, its handler in `calls/` and its test
//! (`docs/adding-a-system-call.md`).
//!
//! Argument annotations (only what the program's memory gives the call; what a call writes it
//! writes through `cx` in every replica alike):
//! - `name: bytes(len)`: `len` bytes at `name` (at most [`crate::context::MAX_IO`] are hashed);
//! - `name: str`: a NUL-terminated string (a path, at most [`PATH_MAX`] bytes);
//! - `name: fixed(N)`: a structure of N bytes, when `name` is not NULL;
//! - `name: iov(count)`: an iovec array of `count` entries and the buffers it names;
//! - `name: iov_array(count)`: the iovec array only (where a read's bytes go);
//! - `name: pollfds(nfds)`: poll's array of `nfds` pollfd entries;
//! - `name: fdset(nfds)`: one of select's descriptor sets for `nfds` descriptors, when not NULL;
//! - `name: prctl_name(option)`: the 16-byte name when `option` is PR_SET_NAME, else nothing.

use romain_core::regs::{Arch, RegisterFile};
use romain_protocol::World;
use syscalls::Errno;

use crate::calls::{identity, io, memory, path, per_thread, poll, process, thread, time};
use crate::context::Ctx;
use crate::declare::linux_calls;
use crate::linux::{Linux, Outcome};
use crate::stack::{GID, UID};

/// Longest path the master reads.
pub const PATH_MAX: usize = 4096;

linux_calls! {
    dispatch(linux, cx, regs);
    // Files and I/O (calls/io.rs, calls/path.rs).
    Read         [read, read]                 (fd, buf, count)                        => io::read(linux, cx, fd, buf, count, None);
    Write        [write, write]               (fd, buf: bytes(count), count)          => io::write(linux, cx, fd, buf, count, None);
    Readv        [readv, readv]               (fd, iov: iov_array(count), count)      => io::readv(linux, cx, fd, iov, count, None);
    Writev       [writev, writev]             (fd, iov: iov(count), count)            => io::writev(linux, cx, fd, iov, count, None);
    Preadv       [preadv, preadv]             (fd, iov: iov_array(count), count, at)  => io::readv(linux, cx, fd, iov, count, Some(at));
    Pwritev      [pwritev, pwritev]           (fd, iov: iov(count), count, at)        => io::writev(linux, cx, fd, iov, count, Some(at));
    Preadv2      [preadv2, preadv2]           (fd, iov: iov_array(count), count, at, high, flags) => io::position2(at, flags).and_then(|at| io::readv(linux, cx, fd, iov, count, at));
    Pwritev2     [pwritev2, pwritev2]         (fd, iov: iov(count), count, at, high, flags) => io::position2(at, flags).and_then(|at| io::writev(linux, cx, fd, iov, count, at));
    Pread64      [pread64, pread64]           (fd, buf, count, at)                    => io::read(linux, cx, fd, buf, count, Some(at));
    Pwrite64     [pwrite64, pwrite64]         (fd, buf: bytes(count), count, at)      => io::write(linux, cx, fd, buf, count, Some(at));
    Openat       [openat, openat]             (dirfd, name: str, flags, mode)         => path::openat(linux, cx, dirfd, name, flags);
    Open         [open, -]                    (name: str, flags, mode)                => path::openat(linux, cx, path::AT_FDCWD, name, flags);
    Close        [close, close]               (fd)                                    => linux.fs.close(fd);
    Lseek        [lseek, lseek]               (fd, offset, whence)                    => io::lseek(linux, fd, offset as i64, whence);
    Fstat        [fstat, fstat]               (fd, buf)                               => path::fstat(linux, cx, fd, buf);
    Newfstatat   [newfstatat, fstatat]        (dirfd, name: str, buf, flags)          => path::fstatat(linux, cx, dirfd, name, buf, flags);
    Stat         [stat, -]                    (name: str, buf)                        => path::fstatat(linux, cx, path::AT_FDCWD, name, buf, 0);
    Lstat        [lstat, -]                   (name: str, buf)                        => path::fstatat(linux, cx, path::AT_FDCWD, name, buf, 0);
    Statx        [statx, statx]               (dirfd, name: str, flags, mask, buf)    => path::statx(linux, cx, dirfd, name, flags, buf);
    Ioctl        [ioctl, ioctl]               (fd, request, arg)                      => io::ioctl(linux, fd);
    Fcntl        [fcntl, fcntl]               (fd, cmd, arg)                          => io::fcntl(linux, fd, cmd, arg);
    Dup          [dup, dup]                   (fd)                                    => io::dup(linux, fd);
    Dup2         [dup2, -]                    (fd, to)                                => io::dup3(linux, fd, to, 0, true);
    Dup3         [dup3, dup3]                 (fd, to, flags)                         => io::dup3(linux, fd, to, flags, false);
    Getcwd       [getcwd, getcwd]             (buf, size)                             => path::getcwd(linux, cx, buf, size);
    Readlinkat   [readlinkat, readlinkat]     (dirfd, name: str, buf, size)           => path::readlink(linux, cx, dirfd, name);
    Readlink     [readlink, -]                (name: str, buf, size)                  => path::readlink(linux, cx, path::AT_FDCWD, name);
    Faccessat    [faccessat, faccessat]       (dirfd, name: str, mode)                => path::access(linux, cx, dirfd, name);
    Faccessat2   [faccessat2, faccessat2]     (dirfd, name: str, mode, flags)         => path::access(linux, cx, dirfd, name);
    Access       [access, -]                  (name: str, mode)                       => path::access(linux, cx, path::AT_FDCWD, name);
    Unlinkat     [unlinkat, unlinkat]         (dirfd, name: str, flags)               => path::unlink(linux, cx, dirfd, name, flags);
    Unlink       [unlink, -]                  (name: str)                             => path::unlink(linux, cx, path::AT_FDCWD, name, 0);
    Rmdir        [rmdir, -]                   (name: str)                             => path::unlink(linux, cx, path::AT_FDCWD, name, path::AT_REMOVEDIR);
    Renameat     [renameat, renameat]         (olddir, from: str, newdir, to: str)    => path::rename(linux, cx, (olddir, from), (newdir, to), 0);
    Renameat2    [renameat2, renameat2]       (olddir, from: str, newdir, to: str, flags) => path::rename(linux, cx, (olddir, from), (newdir, to), flags);
    Rename       [rename, -]                  (from: str, to: str)                    => path::rename(linux, cx, (path::AT_FDCWD, from), (path::AT_FDCWD, to), 0);
    Ftruncate    [ftruncate, ftruncate]       (fd, length)                            => io::ftruncate(linux, fd, length);
    Truncate     [truncate, truncate]         (name: str, length)                     => path::truncate(linux, cx, name, length);
    Creat        [creat, -]                   (name: str, mode)                       => path::creat(linux, cx, name);
    Linkat       [linkat, linkat]             (olddir, from: str, newdir, to: str, flags) => path::link(linux, cx, (olddir, from), (newdir, to), flags);
    Link         [link, -]                    (from: str, to: str)                    => path::link(linux, cx, (path::AT_FDCWD, from), (path::AT_FDCWD, to), 0);
    Mkdirat      [mkdirat, mkdirat]           (dirfd, name: str, mode)                => path::mkdir(linux, cx, dirfd, name, mode);
    Mkdir        [mkdir, -]                   (name: str, mode)                       => path::mkdir(linux, cx, path::AT_FDCWD, name, mode);
    Chdir        [chdir, chdir]               (name: str)                             => path::chdir(linux, cx, name);
    Fchdir       [fchdir, fchdir]             (fd)                                    => linux.fs.fchdir(fd);
    Getdents64   [getdents64, getdents64]     (fd, buf, size)                         => path::getdents64(linux, cx, fd, buf, size);
    Chmod        [chmod, -]                   (name: str, mode)                       => path::chmod(linux, cx, path::AT_FDCWD, name, mode);
    Fchmodat     [fchmodat, fchmodat]         (dirfd, name: str, mode)                => path::chmod(linux, cx, dirfd, name, mode);
    Fchmod       [fchmod, fchmod]             (fd, mode)                              => path::fchmod(linux, fd, mode);
    Chown        [chown, -]                   (name: str, uid, gid)                   => path::chown(linux, cx, (path::AT_FDCWD, name), (uid, gid), 0);
    Lchown       [lchown, -]                  (name: str, uid, gid)                   => path::chown(linux, cx, (path::AT_FDCWD, name), (uid, gid), 0);
    Fchownat     [fchownat, fchownat]         (dirfd, name: str, uid, gid, flags)     => path::chown(linux, cx, (dirfd, name), (uid, gid), flags);
    Fchown       [fchown, fchown]             (fd, uid, gid)                          => path::fchown(linux, fd, uid, gid);
    Utimensat    [utimensat, utimensat]       (dirfd, name: str, times: fixed(32), flags) => path::utimensat(linux, cx, dirfd, name, flags);
    Statfs       [statfs, statfs]             (name: str, buf)                        => path::statfs(linux, cx, name, buf);
    Fstatfs      [fstatfs, fstatfs]           (fd, buf)                               => path::fstatfs(linux, cx, fd, buf);
    Fsync        [fsync, fsync]               (fd)                                    => io::sync_fd(linux, fd, Some(Errno::EINVAL));
    Fdatasync    [fdatasync, fdatasync]       (fd)                                    => io::sync_fd(linux, fd, Some(Errno::EINVAL));
    Syncfs       [syncfs, syncfs]             (fd)                                    => io::sync_fd(linux, fd, None);
    Sync         [sync, sync]                 ()                                      => process::accepted();
    Fadvise64    [fadvise64, fadvise64]       (fd, offset, len, advice)               => io::sync_fd(linux, fd, Some(Errno::ESPIPE));
    Flock        [flock, flock]               (fd, operation)                         => io::sync_fd(linux, fd, None);
    Sendfile     [sendfile, sendfile]         (out, input, offset: fixed(8), count)   => io::sendfile(linux, cx, out, input, offset, count);
    Pipe2        [pipe2, pipe2]               (fds, flags)                            => io::pipe2(linux, cx, fds, flags);
    Pipe         [pipe, -]                    (fds)                                   => io::pipe2(linux, cx, fds, 0);
    // Readiness (calls/poll.rs).
    Poll         [poll, -]                    (fds: pollfds(nfds), nfds, timeout)     => poll::poll(linux, cx, fds, nfds);
    Ppoll        [ppoll, ppoll]               (fds: pollfds(nfds), nfds, tsp: fixed(16), mask, size) => poll::poll(linux, cx, fds, nfds);
    Select       [select, -]                  (nfds, r: fdset(nfds), w: fdset(nfds), e: fdset(nfds), timeout: fixed(16)) => poll::select(linux, cx, nfds, [r, w, e], Some(timeout));
    Pselect6     [pselect6, pselect6]         (nfds, r: fdset(nfds), w: fdset(nfds), e: fdset(nfds), tsp, mask) => poll::select(linux, cx, nfds, [r, w, e], None);
    EpollCreate1 [epoll_create1, epoll_create1] (flags)                             => poll::epoll_create(linux, flags);
    EpollCreate  [epoll_create, -]            (size)                                  => if size as i32 > 0 { poll::epoll_create(linux, 0) } else { Err(Errno::EINVAL) };
    EpollCtl     [epoll_ctl, epoll_ctl]       (epfd, op, fd, event: fixed(16))        => poll::epoll_ctl(linux, cx, (epfd, op, fd), event);
    EpollWait    [epoll_wait, -]              (epfd, events, max, timeout)            => poll::epoll_wait(linux, cx, epfd, events, max);
    EpollPwait   [epoll_pwait, epoll_pwait]   (epfd, events, max, timeout, mask, size) => poll::epoll_wait(linux, cx, epfd, events, max);
    EpollPwait2  [epoll_pwait2, epoll_pwait2] (epfd, events, max, timeout: fixed(16), mask, size) => poll::epoll_wait(linux, cx, epfd, events, max);
    Eventfd2     [eventfd2, eventfd2]         (initial, flags)                        => io::eventfd(linux, initial, flags);
    Eventfd      [eventfd, -]                 (initial)                               => io::eventfd(linux, initial, 0);
    // Memory (calls/memory.rs).
    Brk          [brk, brk]                   (addr)                                  => Outcome::Return(memory::brk(linux, cx, addr));
    Mmap         [mmap, mmap]                 (addr, len, prot, flags, fd, offset)    => memory::mmap(linux, cx, (addr, len, prot), flags, fd, offset);
    Munmap       [munmap, munmap]             (addr, len)                             => memory::munmap(linux, addr, len);
    Mremap       [mremap, mremap]             (old, old_len, new_len, flags)          => memory::mremap(linux, cx, old, old_len, new_len, flags);
    Mprotect     [mprotect, mprotect]         (addr, len, prot)                       => memory::check_range(addr, len);
    Madvise      [madvise, madvise]           (addr, len, advice)                     => memory::check_range(addr, len);
    // Process and identity (calls/process.rs).
    Exit         [exit, exit]                 (status)                                => thread::exit(linux, cx, status);
    ExitGroup    [exit_group, exit_group]     (status)                                => Outcome::Exit((status & 0xff) as i64);
    Getpid       [getpid, getpid]             ()                                      => process::pid();
    Prctl        [prctl, prctl]               (option, arg: prctl_name(option))       => process::prctl(linux, cx, option, arg);
    Times        [times, times]               (buf)                                   => process::times(cx, buf);
    Fork         [fork, -]                    ()                                      => process::fork(linux, cx);
    Vfork        [vfork, -]                   ()                                      => process::fork(linux, cx);
    Clone        [clone, clone]               (flags, stack, ptid, a3, a4)            => thread::clone(linux, cx, regs, [flags, stack, ptid, a3, a4]);
    Clone3       [clone3, clone3]             (args: fixed(64), size)                 => thread::clone3(linux, cx, regs, args, size);
    Wait4        [wait4, wait4]               (pid, status, options, usage)           => process::wait();
    Waitid       [waitid, waitid]             (which, pid, info, options)             => process::wait();
    Getcpu       [getcpu, getcpu]             (cpu, node)                             => process::getcpu(cx, cpu, node);
    Alarm        [alarm, -]                   (seconds)                               => process::accepted();
    Gettid       [gettid, gettid]             ()                                      => thread::gettid(cx);
    SetTidAddress [set_tid_address, set_tid_address] (tidptr)                         => thread::set_tid_address(linux, cx, tidptr);
    Getppid      [getppid, getppid]           ()                                      => process::ppid();
    Getuid       [getuid, getuid]             ()                                      => process::uid();
    Geteuid      [geteuid, geteuid]           ()                                      => process::uid();
    Getgid       [getgid, getgid]             ()                                      => process::gid();
    Getegid      [getegid, getegid]           ()                                      => process::gid();
    Umask        [umask, umask]               (mask)                                  => process::umask(linux, mask);
    Setuid       [setuid, setuid]             (uid)                                   => identity::set_uid(&[uid]);
    Setgid       [setgid, setgid]             (gid)                                   => identity::set_gid(&[gid]);
    Setreuid     [setreuid, setreuid]         (r, e)                                  => identity::set_uid(&[r, e]);
    Setregid     [setregid, setregid]         (r, e)                                  => identity::set_gid(&[r, e]);
    Setresuid    [setresuid, setresuid]       (r, e, s)                               => identity::set_uid(&[r, e, s]);
    Setresgid    [setresgid, setresgid]       (r, e, s)                               => identity::set_gid(&[r, e, s]);
    Getresuid    [getresuid, getresuid]       (r, e, s)                               => identity::get_res(cx, [r, e, s], UID);
    Getresgid    [getresgid, getresgid]       (r, e, s)                               => identity::get_res(cx, [r, e, s], GID);
    Setfsuid     [setfsuid, setfsuid]         (id)                                    => identity::set_fs_id(UID);
    Setfsgid     [setfsgid, setfsgid]         (id)                                    => identity::set_fs_id(GID);
    Getgroups    [getgroups, getgroups]       (size, list)                            => identity::getgroups(size);
    Setgroups    [setgroups, setgroups]       (size, list)                            => identity::setgroups();
    Getpgid      [getpgid, getpgid]           (pid)                                   => identity::group_of(pid);
    Getpgrp      [getpgrp, -]                 ()                                      => identity::group_of(0);
    Setpgid      [setpgid, setpgid]           (pid, pgid)                             => identity::setpgid(pid, pgid);
    Getsid       [getsid, getsid]             (pid)                                   => identity::group_of(pid);
    Setsid       [setsid, setsid]             ()                                      => identity::setsid();
    Uname        [uname, uname]               (buf)                                   => process::uname(linux, cx, buf);
    Sysinfo      [sysinfo, sysinfo]           (buf)                                   => process::sysinfo(linux, cx, buf);
    Getrusage    [getrusage, getrusage]       (who, usage)                            => process::getrusage(linux, cx, who, usage);
    ArchPrctl    [arch_prctl, -]              (code, addr)                            => process::arch_prctl(cx, code, addr, regs);
    SetRobustList [set_robust_list, set_robust_list] (head, len)                      => per_thread::set_robust_list(linux, cx, head, len);
    GetRobustList [get_robust_list, get_robust_list] (pid, head, len)                 => per_thread::get_robust_list(linux, cx, pid, head, len);
    Prlimit64    [prlimit64, prlimit64]       (pid, resource, new: fixed(16), old)    => process::prlimit(linux, cx, pid, resource, old);
    Getrlimit    [getrlimit, getrlimit]       (resource, old)                         => process::limit(linux, cx, resource, old);
    SchedGetaffinity [sched_getaffinity, sched_getaffinity] (pid, size, mask)         => process::sched_getaffinity(cx, size, mask);
    SchedYield   [sched_yield, sched_yield]   ()                                      => thread::sched_yield(cx);
    Futex        [futex, futex]               (word, op, value, timeout, word2, value3) => thread::futex(cx, word, op, value, timeout, (word2, value3));
    Tgkill       [tgkill, tgkill]             (tgid, tid, sig)                        => thread::tgkill(linux, cx, Some(tgid), tid, sig);
    Tkill        [tkill, tkill]               (tid, sig)                              => thread::tgkill(linux, cx, None, tid, sig);
    Kill         [kill, kill]                 (pid, sig)                              => process::kill(cx, pid, sig);
    // Time and randomness (calls/time.rs).
    ClockGettime [clock_gettime, clock_gettime] (clock, ts)                           => time::clock_gettime(cx, clock, ts);
    Gettimeofday [gettimeofday, gettimeofday] (tv, tz)                                => time::gettimeofday(cx, tv, tz);
    Time         [time, -]                    (at)                                    => time::time(cx, at);
    ClockGetres  [clock_getres, clock_getres] (clock, res)                            => time::clock_getres(cx, clock, res);
    Nanosleep    [nanosleep, nanosleep]       (req: fixed(16), rem)                   => thread::sleep(cx, req, false);
    ClockNanosleep [clock_nanosleep, clock_nanosleep] (clock, flags, req: fixed(16), rem) => time::clock_nanosleep(cx, clock, flags, req);
    Getrandom    [getrandom, getrandom]       (buf, len, flags)                       => time::getrandom(cx, buf, len);
    // Signals: accepted, never delivered (calls/process.rs).
    RtSigaction  [rt_sigaction, rt_sigaction] (sig, act: fixed(32), old, size)        => process::sigaction(cx, sig, old);
    RtSigprocmask [rt_sigprocmask, rt_sigprocmask] (how, set: fixed(8), old, size)    => per_thread::sigprocmask(linux, cx, how, set, old, size);
    Sigaltstack  [sigaltstack, sigaltstack]   (new: fixed(24), old)                   => per_thread::sigaltstack(linux, cx, regs, new, old);
}

/// Something a call reads from the program's memory, at the addresses its arguments give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// `len` bytes at `addr`.
    Bytes { addr: u64, len: u64 },
    /// A NUL-terminated string (a path) at `addr`.
    Str(u64),
    /// A structure of `size` bytes at `addr` (nothing when `addr` is NULL).
    Fixed { addr: u64, size: u64 },
    /// An iovec array of `count` entries at `addr`, and the buffers it names.
    Iov { addr: u64, count: u64 },
    /// An iovec array of `count` entries at `addr` only (where a read puts its bytes).
    IovArray { addr: u64, count: u64 },
}

/// A call's inputs, in argument order (no call reads more than four: select's three sets and
/// its timeout).
pub type Inputs = heapless::Vec<Input, 4>;

/// The call with `number` on `arch`, if the personality performs it.
pub fn lookup(arch: Arch, number: u64) -> Option<LinuxCall> {
    LinuxCall::ALL
        .iter()
        .copied()
        .find(|c| c.number(arch) == Some(number))
}

/// The call's name on `arch` (for logs), from the number crate.
pub fn name(arch: Arch, number: u64) -> Option<&'static str> {
    let number = usize::try_from(number).ok()?;
    match arch {
        Arch::X86_64 => syscalls::x86_64::Sysno::new(number).map(|s| s.name()),
        Arch::Aarch64 => syscalls::aarch64::Sysno::new(number).map(|s| s.name()),
    }
}
