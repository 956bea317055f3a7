//! Threads: `clone` and `clone3` for a thread, the exit of one thread, `set_tid_address`,
//! `gettid`, `futex`, `sched_yield`, the sleeps and `tgkill`/`tkill`. The core keeps the threads
//! and their schedule (`romain_protocol::schedule`); these calls check the program's request
//! and turn it into one of the core's thread operations. Thread *t* has tid [`PID`] + *t*.
//!
//! With one live thread a futex wait nobody can end answers ETIMEDOUT at once, and a wake wakes
//! nobody, as before threads existed.

use romain_core::regs::RegisterFile;
use romain_protocol::World;
use romain_protocol::thread::{ExitWakes, Then, ThreadOp};
use syscalls::Errno;

use crate::arch;
use crate::calls::per_thread::{self, PerThread};
use crate::context::Ctx;
use crate::linux::{Linux, Outcome};
use crate::stack::PID;

const CLONE_VM: u64 = 0x100;
const CLONE_FS: u64 = 0x200;
const CLONE_FILES: u64 = 0x400;
const CLONE_SIGHAND: u64 = 0x800;
const CLONE_THREAD: u64 = 0x1_0000;
const CLONE_SYSVSEM: u64 = 0x4_0000;
const CLONE_SETTLS: u64 = 0x8_0000;
const CLONE_PARENT_SETTID: u64 = 0x10_0000;
const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
const CLONE_DETACHED: u64 = 0x40_0000;
const CLONE_CHILD_SETTID: u64 = 0x100_0000;
/// What makes a clone a thread of this process.
const THREAD: u64 = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND;
/// The flags a thread's creation may add (glibc's, musl's, Go's and Rust's).
const THREAD_MAY: u64 = THREAD
    | CLONE_FS
    | CLONE_FILES
    | CLONE_SYSVSEM
    | CLONE_SETTLS
    | CLONE_PARENT_SETTID
    | CLONE_CHILD_CLEARTID
    | CLONE_DETACHED
    | CLONE_CHILD_SETTID;

pub(crate) fn tid(t: usize) -> u64 {
    PID + t as u64
}

/// The thread number of `tid`, if it is a live thread's.
pub(crate) fn thread_of(linux: &Linux, tid: u64) -> Option<usize> {
    let t = usize::try_from(tid.checked_sub(PID)?).ok()?;
    linux.threads.contains_key(&t).then_some(t)
}

/// What a thread's creation asks for, decoded from `clone` or `clone3`.
pub struct Request {
    pub flags: u64,
    /// The new thread's stack pointer (0: the creator's).
    pub stack: u64,
    pub parent_tid: u64,
    pub child_tid: u64,
    pub tls: u64,
}

/// clone: a thread (the flags name this process's memory, signal handlers and thread group);
/// anything else is a new process, which gets what Linux gives at an exhausted process limit.
/// The argument order differs: x86_64 (flags, stack, parent_tid, child_tid, tls), aarch64
/// (flags, stack, parent_tid, tls, child_tid).
pub fn clone<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    regs: &RegisterFile,
    args: [u64; 5],
) -> Outcome {
    let [flags, stack, parent_tid, a3, a4] = args;
    let (child_tid, tls) = match linux.arch {
        romain_core::regs::Arch::X86_64 => (a3, a4),
        romain_core::regs::Arch::Aarch64 => (a4, a3),
    };
    let request = Request {
        flags,
        stack,
        parent_tid,
        child_tid,
        tls,
    };
    create(linux, cx, regs, request)
}

/// clone3: its `struct clone_args` (at least the 64 bytes of its first version).
pub fn clone3<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    regs: &RegisterFile,
    args: u64,
    size: u64,
) -> Outcome {
    // As Linux: smaller than the first version is EINVAL, larger than a page E2BIG.
    if size < 64 {
        return Err(Errno::EINVAL).into();
    }
    if size > 4096 {
        return Err(Errno::E2BIG).into();
    }
    let mut b = [0u8; 64];
    if let Err(e) = cx.read_into(args, &mut b) {
        return Err(e).into();
    }
    let field = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    // flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls.
    let (flags, child_tid, parent_tid, exit_signal) = (field(0), field(2), field(3), field(4));
    let (stack, stack_size, tls) = (field(5), field(6), field(7));
    if flags & 0xff != 0 || exit_signal > 64 || (stack == 0) != (stack_size == 0) {
        return Err(Errno::EINVAL).into();
    }
    let request = Request {
        flags: flags | exit_signal,
        stack: stack.wrapping_add(stack_size),
        parent_tid,
        child_tid,
        tls,
    };
    create(linux, cx, regs, request)
}

fn create<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    regs: &RegisterFile,
    r: Request,
) -> Outcome {
    let flags = r.flags & !0xff;
    if flags & THREAD != THREAD {
        // A new process (fork, vfork, posix_spawn's clone).
        return crate::calls::process::fork(linux, cx).into();
    }
    if flags & !THREAD_MAY != 0 || r.flags & 0xff != 0 {
        return Err(Errno::EINVAL).into();
    }
    let Some(t) = cx.calls.threads.next else {
        return Err(Errno::EAGAIN).into();
    };
    let tid = tid(t);
    // Linux ignores a tid address it cannot write.
    for (flag, at) in [
        (CLONE_PARENT_SETTID, r.parent_tid),
        (CLONE_CHILD_SETTID, r.child_tid),
    ] {
        if flags & flag != 0 {
            let _ = cx.write(at, &(tid as u32).to_le_bytes());
        }
    }
    let mut child = arch::returned(regs, 0);
    if r.stack != 0 {
        child.words_mut()[romain_core::regs::Arch::SP] = r.stack;
    }
    if flags & CLONE_SETTLS != 0 {
        arch::set_thread_pointer(&mut child, r.tls);
    }
    let clear_tid = if flags & CLONE_CHILD_CLEARTID != 0 {
        r.child_tid
    } else {
        0
    };
    let creator = linux.threads.get(&cx.calls.threads.current);
    let state = PerThread::created_by(creator, clear_tid);
    linux.threads.insert(t, state);
    Outcome::Thread {
        op: ThreadOp::Spawn { child },
        value: tid,
    }
}

/// exit: the calling thread ends (its robust futexes marked and woken, then its tid word
/// cleared and woken); the last one ends the program, as exit_group.
pub fn exit<W: World>(linux: &mut Linux, cx: &mut Ctx<'_, '_, '_, W>, status: u64) -> Outcome {
    let status = (status & 0xff) as i64;
    let view = cx.calls.threads;
    if view.live <= 1 {
        return Outcome::Exit(status);
    }
    let mut wake = ExitWakes::new();
    per_thread::robust_exit(linux, cx, view.current, &mut wake);
    let clear = linux
        .threads
        .remove(&view.current)
        .map_or(0, |t| t.clear_tid);
    // Linux ignores a tid address it cannot write. The tid word's wake (pthread_join's) always
    // has room: it takes the last robust word's place if it must.
    if clear != 0 && cx.write(clear, &0u32.to_le_bytes()).is_ok() {
        if wake.is_full() {
            wake.pop();
        }
        let _ = wake.push(clear);
    }
    Outcome::Thread {
        op: ThreadOp::Exit { wake, status },
        value: 0,
    }
}

/// set_tid_address: where the calling thread's tid is cleared at its exit; its tid.
pub fn set_tid_address<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    at: u64,
) -> Result<u64, Errno> {
    let t = cx.calls.threads.current;
    linux.threads.entry(t).or_default().clear_tid = at;
    Ok(tid(t))
}

pub fn gettid<W: World>(cx: &mut Ctx<'_, '_, '_, W>) -> Result<u64, Errno> {
    Ok(tid(cx.calls.threads.current))
}

/// sched_yield: with other threads, the next runnable one runs.
pub fn sched_yield<W: World>(cx: &mut Ctx<'_, '_, '_, W>) -> Outcome {
    if cx.calls.threads.live <= 1 {
        return Outcome::Return(0);
    }
    Outcome::Thread {
        op: ThreadOp::Yield,
        value: 0,
    }
}

/// The program's clock in counter ticks for a time in nanoseconds.
fn ticks<W: World>(cx: &Ctx<'_, '_, '_, W>, ns: u64) -> u64 {
    let hz = cx.calls.counter_hz.max(1);
    (ns as u128 * hz as u128 / 1_000_000_000).min(u64::MAX as u128) as u64
}

/// A `struct timespec` at `at`, in nanoseconds (EINVAL for a negative or malformed one).
fn timespec<W: World>(cx: &mut Ctx<'_, '_, '_, W>, at: u64) -> Result<u64, Errno> {
    let mut ts = [0u8; 16];
    cx.read_into(at, &mut ts)?;
    let sec = i64::from_le_bytes(ts[..8].try_into().expect("8 bytes"));
    let nsec = u64::from_le_bytes(ts[8..].try_into().expect("8 bytes"));
    if sec < 0 || nsec >= 1_000_000_000 {
        return Err(Errno::EINVAL);
    }
    Ok((sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(nsec))
}

/// nanosleep, clock_nanosleep: the caller sleeps on the program's clock (`absolute`: until the
/// time given, TIMER_ABSTIME): other threads run meanwhile, and alone it runs on at once with
/// the clock at its wake time.
pub fn sleep<W: World>(cx: &mut Ctx<'_, '_, '_, W>, req: u64, absolute: bool) -> Outcome {
    let ns = match timespec(cx, req) {
        Ok(ns) => ns,
        Err(e) => return Err(e).into(),
    };
    let now = cx.calls.shell.now();
    let until = if absolute {
        ticks(cx, ns)
    } else {
        now.saturating_add(ticks(cx, ns))
    };
    Outcome::Thread {
        op: ThreadOp::Sleep { until },
        value: 0,
    }
}

/// tgkill, tkill: a signal to one thread. None is delivered: to the calling thread a signal
/// whose default ends the process ends it (abort's SIGABRT), one ignored by default (Go's
/// SIGURG) is dropped; to another live thread it is dropped.
pub fn tgkill<W: World>(
    linux: &Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    tgid: Option<u64>,
    target: u64,
    sig: u64,
) -> Outcome {
    const IGNORED: [u64; 4] = [17, 18, 23, 28]; // SIGCHLD, SIGCONT, SIGURG, SIGWINCH
    let view = cx.calls.threads;
    if tgid.is_some_and(|g| g != PID) || sig > 64 {
        return Err(if sig > 64 {
            Errno::EINVAL
        } else {
            Errno::ESRCH
        })
        .into();
    }
    let Some(t) = thread_of(linux, target) else {
        return Err(Errno::ESRCH).into();
    };
    if sig == 0 || t != view.current || IGNORED.contains(&sig) {
        return Outcome::Return(0);
    }
    crate::calls::process::kill(cx, PID, sig)
}

/// futex: the waits and wakes glibc, musl and Go use, on the program's clock. The priority-
/// inheritance operations answer ENOSYS (glibc's default mutexes never use them).
pub fn futex<W: World>(
    cx: &mut Ctx<'_, '_, '_, W>,
    word: u64,
    op: u64,
    value: u64,
    timeout: u64,
    (word2, value3): (u64, u64),
) -> Outcome {
    match futex_op(cx, word, op, value, timeout, (word2, value3)) {
        Ok(op) => Outcome::Thread { op, value: 0 },
        Err(Now(r)) => r.into(),
    }
}

/// A futex call answered at once, without the core.
struct Now(Result<u64, Errno>);

impl From<Errno> for Now {
    fn from(e: Errno) -> Self {
        Now(Err(e))
    }
}

fn futex_op<W: World>(
    cx: &mut Ctx<'_, '_, '_, W>,
    word: u64,
    op: u64,
    value: u64,
    timeout: u64,
    (word2, value3): (u64, u64),
) -> Result<ThreadOp, Now> {
    const WAIT: u64 = 0;
    const WAKE: u64 = 1;
    const REQUEUE: u64 = 3;
    const CMP_REQUEUE: u64 = 4;
    const WAKE_OP: u64 = 5;
    const WAIT_BITSET: u64 = 9;
    const WAKE_BITSET: u64 = 10;
    // FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME: one process, one clock here.
    let cmd = op & !(128 | 256);
    let alone = cx.calls.threads.live <= 1;
    if word & 3 != 0 {
        return Err(Errno::EINVAL.into());
    }
    let count = |v: u64| (v as i32).max(0) as u32;
    // A shared (not private) futex's word is looked up in the address space: Linux answers
    // EFAULT for one that is not mapped, where a private one's address is only checked.
    let shared = op & 128 == 0;
    let look_up = |cx: &mut Ctx<'_, '_, '_, W>, at: u64| match shared {
        true => cx.read_u32(at).map(|_| ()),
        false => Ok(()),
    };
    match cmd {
        WAIT | WAIT_BITSET => {
            let bitset = if cmd == WAIT { u32::MAX } else { value3 as u32 };
            if bitset == 0 {
                return Err(Errno::EINVAL.into());
            }
            let until = match timeout {
                0 => None,
                at => Some(timespec(cx, at)?),
            };
            if cx.read_u32(word)? != value as u32 {
                return Err(Errno::EAGAIN.into());
            }
            if alone {
                // Nobody can wake it: as before threads, it times out at once.
                return Err(Errno::ETIMEDOUT.into());
            }
            let now = cx.calls.shell.now();
            // WAIT's timeout is relative, WAIT_BITSET's absolute.
            let until = until.map(|ns| match cmd {
                WAIT => now.saturating_add(ticks(cx, ns)),
                _ => ticks(cx, ns),
            });
            Ok(ThreadOp::Wait {
                addr: word,
                bitset,
                until,
                timed_out: errno(Errno::ETIMEDOUT),
            })
        }
        WAKE | WAKE_BITSET => {
            let bitset = if cmd == WAKE { u32::MAX } else { value3 as u32 };
            if bitset == 0 {
                return Err(Errno::EINVAL.into());
            }
            look_up(cx, word)?;
            if alone {
                return Err(Now(Ok(0)));
            }
            Ok(ThreadOp::Wake {
                addr: word,
                bitset,
                count: count(value),
                then: Then::Nothing,
            })
        }
        REQUEUE | CMP_REQUEUE => {
            if word2 & 3 != 0 {
                return Err(Errno::EINVAL.into());
            }
            look_up(cx, word)?;
            look_up(cx, word2)?;
            if cmd == CMP_REQUEUE && cx.read_u32(word)? != value3 as u32 {
                return Err(Errno::EAGAIN.into());
            }
            if alone {
                return Err(Now(Ok(0)));
            }
            Ok(ThreadOp::Wake {
                addr: word,
                bitset: u32::MAX,
                count: count(value),
                // The kernel counts the requeued waiters in both.
                then: Then::Requeue {
                    to: word2,
                    max: count(timeout),
                    counted: true,
                },
            })
        }
        WAKE_OP => {
            if word2 & 3 != 0 {
                return Err(Errno::EINVAL.into());
            }
            look_up(cx, word)?;
            let old = cx.read_u32(word2)?;
            let new = wake_op_value(old, value3).ok_or(Errno::ENOSYS)?;
            cx.write(word2, &new.to_le_bytes())?;
            let second = wake_op_compare(old, value3).ok_or(Errno::ENOSYS)?;
            if alone {
                return Err(Now(Ok(0)));
            }
            Ok(ThreadOp::Wake {
                addr: word,
                bitset: u32::MAX,
                count: count(value),
                then: Then::Wake {
                    addr: word2,
                    count: if second { count(timeout) } else { 0 },
                },
            })
        }
        _ => Err(Errno::ENOSYS.into()),
    }
}

/// A negative errno as the result register holds it.
fn errno(e: Errno) -> u64 {
    (-(e.into_raw() as i64)) as u64
}

/// FUTEX_WAKE_OP's operation on the second word's old value (`None`: an unknown operation).
fn wake_op_value(old: u32, encoded: u64) -> Option<u32> {
    let op = (encoded >> 28) & 7;
    let mut arg = ((encoded >> 12) & 0xfff) as u32;
    if (encoded >> 28) & 8 != 0 {
        arg = 1u32.checked_shl(arg).unwrap_or(0);
    }
    Some(match op {
        0 => arg,                   // SET
        1 => old.wrapping_add(arg), // ADD
        2 => old | arg,             // OR
        3 => old & !arg,            // ANDN
        4 => old ^ arg,             // XOR
        _ => return None,
    })
}

/// FUTEX_WAKE_OP's comparison of the old value (`None`: an unknown comparison).
fn wake_op_compare(old: u32, encoded: u64) -> Option<bool> {
    let cmp = (encoded >> 24) & 15;
    let arg = (encoded & 0xfff) as i32;
    let old = old as i32;
    Some(match cmp {
        0 => old == arg,
        1 => old != arg,
        2 => old < arg,
        3 => old <= arg,
        4 => old > arg,
        5 => old >= arg,
        _ => return None,
    })
}
