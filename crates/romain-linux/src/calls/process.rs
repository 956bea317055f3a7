//! Process, identity, limits, start-up and signal calls. The program is one process with one
//! thread (pid and tid [`PID`]). Signal handlers and masks are accepted and no signal is ever
//! delivered; a signal the program sends itself (abort's SIGABRT) ends it as that signal would.

use linux_raw_sys::general::{__kernel_old_timeval, rusage};
use linux_raw_sys::system::{new_utsname, sysinfo};
use romain_core::regs::RegisterFile;
use romain_protocol::World;
use syscalls::Errno;

use super::set;
use crate::arch;
use crate::context::Ctx;
use crate::linux::{Linux, Outcome, STACK_SIZE};

use crate::stack::PID;
const RLIM_INFINITY: u64 = u64::MAX;

/// getpid, gettid, set_tid_address: the one process's one thread.
pub fn pid() -> Result<u64, Errno> {
    Ok(PID)
}

/// The parent: none the program can see.
pub fn ppid() -> Result<u64, Errno> {
    Ok(0)
}

/// The fixed identity the initial stack's auxiliary vector also gives.
pub fn uid() -> Result<u64, Errno> {
    Ok(crate::stack::UID)
}

pub fn gid() -> Result<u64, Errno> {
    Ok(crate::stack::GID)
}

/// The new mask is kept and the old one returned, as on Linux; files have no permissions here,
/// so it changes nothing else.
pub fn umask(linux: &mut Linux, mask: u64) -> Result<u64, Errno> {
    let old = core::mem::replace(&mut linux.fs.umask, (mask & 0o777) as u32);
    Ok(u64::from(old))
}

/// sync, alarm: nothing to do.
pub fn accepted() -> Result<u64, Errno> {
    Ok(0)
}

pub fn prlimit<W: World>(
    linux: &Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    pid: u64,
    resource: u64,
    old: u64,
) -> Result<u64, Errno> {
    if pid != 0 && pid != PID {
        return Err(Errno::ESRCH);
    }
    limit(linux, cx, resource, old)
}

/// One CPU (the replicas' threads run one at a time, wherever they are placed).
pub fn sched_getaffinity<W: World>(
    cx: &mut Ctx<'_, '_, '_, W>,
    size: u64,
    mask: u64,
) -> Result<u64, Errno> {
    if size < 8 {
        return Err(Errno::EINVAL);
    }
    cx.write(mask, &1u64.to_le_bytes()).map(|()| 8)
}

/// Handlers are accepted and never called; the old action reads as the default.
pub fn sigaction<W: World>(cx: &mut Ctx<'_, '_, '_, W>, sig: u64, old: u64) -> Result<u64, Errno> {
    if sig == 0 || sig > 64 || sig == 9 || sig == 19 {
        Err(Errno::EINVAL)
    } else if old != 0 {
        cx.write(old, &[0; 32]).map(|()| 0)
    } else {
        Ok(0)
    }
}

pub fn uname<W: World>(linux: &Linux, cx: &mut Ctx<'_, '_, '_, W>, buf: u64) -> Result<u64, Errno> {
    let mut b = alloc::vec![0u8; core::mem::size_of::<new_utsname>()];
    let fields: [(usize, &str); 5] = [
        (core::mem::offset_of!(new_utsname, sysname), "Linux"),
        (core::mem::offset_of!(new_utsname, nodename), "romain"),
        (core::mem::offset_of!(new_utsname, release), "6.1.0"),
        (
            core::mem::offset_of!(new_utsname, version),
            "#1 Romain for seL4",
        ),
        (
            core::mem::offset_of!(new_utsname, machine),
            crate::stack::platform(linux.arch),
        ),
    ];
    for (at, text) in fields {
        b[at..at + text.len()].copy_from_slice(text.as_bytes());
    }
    cx.write(buf, &b)?;
    Ok(0)
}

pub fn sysinfo<W: World>(
    linux: &Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    buf: u64,
) -> Result<u64, Errno> {
    let quota = linux.quota_mb.saturating_mul(1 << 20);
    let used = memory_in_use(linux);
    let mut b = alloc::vec![0u8; core::mem::size_of::<sysinfo>()];
    set!(b, sysinfo, uptime, cx.now_ns() / 1_000_000_000);
    set!(b, sysinfo, totalram, quota);
    set!(b, sysinfo, freeram, quota.saturating_sub(used));
    set!(b, sysinfo, procs, 1);
    set!(b, sysinfo, mem_unit, 1);
    cx.write(buf, &b)?;
    Ok(0)
}

/// The program's memory in bytes: the heap as far as it was grown and the mapping area as far
/// as it was used (neither shrinks: unmapped ranges are kept for reuse).
fn memory_in_use(linux: &Linux) -> u64 {
    let heap = linux.grown.saturating_sub(linux.brk_base);
    heap.saturating_add(linux.next_map.saturating_sub(crate::linux::MMAP_AREA.start))
}

/// Resource usage of the one thread (RUSAGE_SELF, RUSAGE_THREAD): all the time since the
/// master's start counts as user time, the memory in use as the largest resident set (in KiB),
/// every other count is 0. The program has no children (RUSAGE_CHILDREN): all 0.
pub fn getrusage<W: World>(
    linux: &Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    who: u64,
    usage: u64,
) -> Result<u64, Errno> {
    const RUSAGE_SELF: u64 = 0;
    const RUSAGE_THREAD: u64 = 1;
    const RUSAGE_CHILDREN: u64 = -1i64 as u64;
    let mut b = alloc::vec![0u8; core::mem::size_of::<rusage>()];
    match who {
        RUSAGE_SELF | RUSAGE_THREAD => {
            let utime = core::mem::offset_of!(rusage, ru_utime);
            let tv = super::time::timeval(cx.now_ns());
            b[utime..utime + size_of::<__kernel_old_timeval>()].copy_from_slice(&tv);
            set!(b, rusage, ru_maxrss, memory_in_use(linux) / 1024);
        }
        RUSAGE_CHILDREN => {}
        _ => return Err(Errno::EINVAL),
    }
    cx.write(usage, &b)?;
    Ok(0)
}

/// A resource limit: the stack's size, the memory quota for address space and data, the
/// descriptor table's size, unlimited otherwise. Limits cannot be changed (a new limit is
/// accepted and ignored).
pub fn limit<W: World>(
    linux: &Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    resource: u64,
    old: u64,
) -> Result<u64, Errno> {
    let value = match resource {
        3 => STACK_SIZE,                                 // RLIMIT_STACK
        2 | 9 => linux.quota_mb.saturating_mul(1 << 20), // RLIMIT_DATA, RLIMIT_AS
        7 => crate::fs::MAX_FDS as u64,                  // RLIMIT_NOFILE
        r if r < 16 => RLIM_INFINITY,
        _ => return Err(Errno::EINVAL),
    };
    if old != 0 {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&value.to_le_bytes());
        b[8..].copy_from_slice(&value.to_le_bytes());
        cx.write(old, &b)?;
    }
    Ok(0)
}

/// A signal to the program itself ends it as the signal's default action would (status
/// 128 + signal, as a shell reports it); signal 0 probes; other processes do not exist.
pub fn kill<W: World>(cx: &mut Ctx<'_, '_, '_, W>, target: u64, sig: u64) -> Outcome {
    if target != PID && target != 0 {
        return Err(Errno::ESRCH).into();
    }
    match sig {
        0 => Outcome::Return(0),
        1..=64 => {
            cx.calls.shell.end_line();
            log::warn!("the program sent itself signal {sig}: it ends as if killed by it");
            Outcome::Exit(128 + sig as i64)
        }
        _ => Err(Errno::EINVAL).into(),
    }
}

/// x86_64 only: the FS base (the thread pointer) is a register the master writes.
pub fn arch_prctl<W: World>(
    cx: &mut Ctx<'_, '_, '_, W>,
    code: u64,
    addr: u64,
    regs: &mut RegisterFile,
) -> Result<u64, Errno> {
    const ARCH_SET_FS: u64 = 0x1002;
    const ARCH_GET_FS: u64 = 0x1003;
    match code {
        ARCH_SET_FS => {
            arch::set_thread_pointer(regs, addr);
            Ok(0)
        }
        ARCH_GET_FS => {
            let fs = regs.words()[arch::X86_FS_BASE];
            cx.write(addr, &fs.to_le_bytes())?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// prctl: the thread's name (PR_SET_NAME, PR_GET_NAME), the dumpable flag, the capability
/// bounding set (every capability Linux 6.1 knows is in it), no-new-privs, the parent-death
/// signal, the timer slack; any other option is EINVAL.
pub fn prctl<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    option: u64,
    arg: u64,
) -> Result<u64, Errno> {
    const PR_SET_PDEATHSIG: u64 = 1;
    const PR_GET_PDEATHSIG: u64 = 2;
    const PR_GET_DUMPABLE: u64 = 3;
    const PR_SET_DUMPABLE: u64 = 4;
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    const PR_CAPBSET_READ: u64 = 23;
    const PR_GET_TIMERSLACK: u64 = 30;
    const PR_SET_NO_NEW_PRIVS: u64 = 38;
    const PR_GET_NO_NEW_PRIVS: u64 = 39;
    const CAP_LAST_CAP: u64 = 40;
    match option {
        PR_SET_NAME => {
            let mut name = [0u8; 16];
            cx.read_into(arg, &mut name)?;
            let n = name.iter().position(|&b| b == 0).unwrap_or(15).min(15);
            linux.comm = [0; 16];
            linux.comm[..n].copy_from_slice(&name[..n]);
            Ok(0)
        }
        PR_GET_NAME => cx.write(arg, &linux.comm).map(|()| 0),
        PR_GET_DUMPABLE => Ok(1),
        PR_SET_DUMPABLE if arg <= 1 => Ok(0),
        PR_CAPBSET_READ if arg <= CAP_LAST_CAP => Ok(1),
        PR_SET_PDEATHSIG if arg <= 64 => Ok(0),
        PR_GET_PDEATHSIG => cx.write(arg, &0u32.to_le_bytes()).map(|()| 0),
        PR_GET_TIMERSLACK => Ok(50_000),
        PR_SET_NO_NEW_PRIVS if arg == 1 => Ok(0),
        PR_GET_NO_NEW_PRIVS => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// times: the clock ticks (USER_HZ, 100 a second) since the master's start, all as the
/// program's user time (getrusage's view); none for children.
pub fn times<W: World>(cx: &mut Ctx<'_, '_, '_, W>, buf: u64) -> Result<u64, Errno> {
    let ticks = cx.now_ns() / 10_000_000;
    if buf != 0 {
        let mut b = [0u8; 32];
        b[..8].copy_from_slice(&ticks.to_le_bytes());
        cx.write(buf, &b)?;
    }
    Ok(ticks)
}

/// fork, vfork, clone: one process with one thread here, so a new process (or thread) gets
/// what Linux gives at an exhausted process limit: EAGAIN (logged at the first).
pub fn fork<W: World>(linux: &mut Linux, cx: &mut Ctx<'_, '_, '_, W>) -> Result<u64, Errno> {
    if linux.refused_forks == 0 {
        cx.calls.shell.end_line();
        log::warn!(
            "the program tried to start a process or thread: EAGAIN (one process, one thread)"
        );
    }
    linux.refused_forks = linux.refused_forks.saturating_add(1);
    Err(Errno::EAGAIN)
}

/// wait4, waitid: there is no child to wait for.
pub fn wait() -> Result<u64, Errno> {
    Err(Errno::ECHILD)
}

/// getcpu: the one CPU, node 0 (either pointer may be NULL).
pub fn getcpu<W: World>(cx: &mut Ctx<'_, '_, '_, W>, cpu: u64, node: u64) -> Result<u64, Errno> {
    for at in [cpu, node] {
        if at != 0 {
            cx.write(at, &0u32.to_le_bytes())?;
        }
    }
    Ok(0)
}
