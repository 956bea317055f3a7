//! Process, identity, limits, start-up and signal calls. The program is one process with one
//! thread (pid and tid 1). Signal handlers and masks are accepted and no signal is ever
//! delivered; a signal the program sends itself (abort's SIGABRT) ends it as that signal would.

use linux_raw_sys::system::{new_utsname, sysinfo};
use romain_core::regs::RegisterFile;
use romain_group::Shell;
use syscalls::Errno;

use super::set;
use crate::arch;
use crate::context::Ctx;
use crate::linux::{Linux, Outcome, STACK_SIZE};
use crate::table::Call;

const PID: u64 = 1;
const RLIM_INFINITY: u64 = u64::MAX;

pub fn perform<S: Shell>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, S>,
    call: Call,
    a: &[u64; 6],
) -> Option<Result<u64, Errno>> {
    Some(match call {
        Call::Getpid | Call::Gettid | Call::SetTidAddress => Ok(PID),
        Call::Getppid => Ok(0),
        Call::Getuid | Call::Geteuid => Ok(crate::stack::UID),
        Call::Getgid | Call::Getegid => Ok(crate::stack::GID),
        Call::SetRobustList | Call::SchedYield => Ok(0),
        Call::Uname => uname(linux, cx, a[0]),
        Call::Sysinfo => sysinfo(linux, cx, a[0]),
        Call::Prlimit64 => {
            if a[0] != 0 && a[0] != PID {
                Err(Errno::ESRCH)
            } else {
                limit(linux, cx, a[1], a[3])
            }
        }
        Call::Getrlimit => limit(linux, cx, a[0], a[1]),
        Call::SchedGetaffinity => {
            if a[1] < 8 {
                Err(Errno::EINVAL)
            } else {
                cx.write(a[2], &1u64.to_le_bytes()).map(|()| 8)
            }
        }
        Call::Futex => futex(cx, a),
        Call::RtSigaction => {
            if a[0] == 0 || a[0] > 64 || a[0] == 9 || a[0] == 19 {
                Err(Errno::EINVAL)
            } else if a[2] != 0 {
                cx.write(a[2], &[0; 32]).map(|()| 0)
            } else {
                Ok(0)
            }
        }
        Call::RtSigprocmask => {
            if a[2] != 0 {
                cx.write(a[2], &[0; 8]).map(|()| 0)
            } else {
                Ok(0)
            }
        }
        Call::Sigaltstack => {
            if a[1] != 0 {
                // ss_sp, ss_flags = SS_DISABLE, ss_size.
                let mut b = [0u8; 24];
                b[8] = 2;
                cx.write(a[1], &b).map(|()| 0)
            } else {
                Ok(0)
            }
        }
        _ => return None,
    })
}

fn uname<S: Shell>(linux: &Linux, cx: &mut Ctx<'_, '_, '_, S>, buf: u64) -> Result<u64, Errno> {
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

fn sysinfo<S: Shell>(linux: &Linux, cx: &mut Ctx<'_, '_, '_, S>, buf: u64) -> Result<u64, Errno> {
    let quota = linux.quota_mb << 20;
    let used = (linux.grown - linux.brk_base) + (linux.next_map - crate::linux::MMAP_AREA.start);
    let mut b = alloc::vec![0u8; core::mem::size_of::<sysinfo>()];
    set!(b, sysinfo, uptime, cx.now_ns() / 1_000_000_000);
    set!(b, sysinfo, totalram, quota);
    set!(b, sysinfo, freeram, quota.saturating_sub(used));
    set!(b, sysinfo, procs, 1);
    set!(b, sysinfo, mem_unit, 1);
    cx.write(buf, &b)?;
    Ok(0)
}

/// A resource limit: the stack's size, the memory quota for address space and data, the
/// descriptor table's size, unlimited otherwise. Limits cannot be changed (a new limit is
/// accepted and ignored).
fn limit<S: Shell>(
    linux: &Linux,
    cx: &mut Ctx<'_, '_, '_, S>,
    resource: u64,
    old: u64,
) -> Result<u64, Errno> {
    let value = match resource {
        3 => STACK_SIZE,                // RLIMIT_STACK
        2 | 9 => linux.quota_mb << 20,  // RLIMIT_DATA, RLIMIT_AS
        7 => crate::fs::MAX_FDS as u64, // RLIMIT_NOFILE
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

/// One thread: a wait whose word changed returns EAGAIN, a wait that would block forever
/// returns ETIMEDOUT (nobody can wake it), a wake wakes nobody.
fn futex<S: Shell>(cx: &mut Ctx<'_, '_, '_, S>, a: &[u64; 6]) -> Result<u64, Errno> {
    const FUTEX_WAIT: u64 = 0;
    const FUTEX_WAKE: u64 = 1;
    const FUTEX_WAIT_BITSET: u64 = 9;
    const FUTEX_WAKE_BITSET: u64 = 10;
    match a[1] & 0x7f {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let b = cx.read(a[0], 4)?;
            if u32::from_le_bytes(b.try_into().expect("4")) != a[2] as u32 {
                Err(Errno::EAGAIN)
            } else {
                Err(Errno::ETIMEDOUT)
            }
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => Ok(0),
        _ => Err(Errno::ENOSYS),
    }
}

/// A signal to the program itself ends it as the signal's default action would (status
/// 128 + signal, as a shell reports it); signal 0 probes; other processes do not exist.
pub fn kill<S: Shell>(cx: &mut Ctx<'_, '_, '_, S>, call: Call, a: &[u64; 6]) -> Outcome {
    let (target, sig) = match call {
        Call::Tgkill => (a[1], a[2]),
        _ => (a[0], a[1]),
    };
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
pub fn arch_prctl<S: Shell>(
    cx: &mut Ctx<'_, '_, '_, S>,
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
