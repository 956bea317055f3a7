//! A thread's own state, kept per thread as Linux keeps it: the tid word cleared at its exit,
//! its robust futex list (walked at its exit), its signal mask and its alternate signal stack.
//! Signals are never delivered here; the mask and the stack are kept so that a thread reads
//! back what it set, and a new thread starts from its creator's mask and without a stack.

use linux_raw_sys::general::{
    FUTEX_OWNER_DIED, FUTEX_TID_MASK, FUTEX_WAITERS, ROBUST_LIST_LIMIT, SIG_BLOCK, SIG_SETMASK,
    SIG_UNBLOCK, SS_AUTODISARM, SS_DISABLE, SS_ONSTACK,
};
use romain_core::regs::{Arch, RegisterFile};
use romain_protocol::World;
use romain_protocol::thread::ExitWakes;
use syscalls::Errno;

use crate::calls::thread::{thread_of, tid};
use crate::context::Ctx;
use crate::linux::Linux;

/// `struct robust_list_head`: next, futex_offset, list_op_pending.
const ROBUST_HEAD_LEN: u64 = 24;
/// SIGKILL and SIGSTOP, which no mask blocks.
const UNBLOCKABLE: u64 = 1 << (9 - 1) | 1 << (19 - 1);

/// A thread's own state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PerThread {
    /// Cleared and woken at the thread's exit (`CLONE_CHILD_CLEARTID`, `set_tid_address`).
    pub clear_tid: u64,
    /// Its robust list's head (`set_robust_list`; 0: none).
    pub robust: u64,
    /// Its blocked signals (bit n-1 for signal n).
    pub blocked: u64,
    /// Its alternate signal stack (`size` 0: none).
    pub altstack: AltStack,
}

impl PerThread {
    /// A new thread's state: its creator's mask, nothing else (Linux clears the alternate stack
    /// of a thread sharing its creator's memory).
    pub fn created_by(creator: Option<&PerThread>, clear_tid: u64) -> PerThread {
        PerThread {
            clear_tid,
            blocked: creator.map_or(0, |c| c.blocked),
            ..PerThread::default()
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AltStack {
    pub sp: u64,
    pub flags: u32,
    pub size: u64,
}

fn current(linux: &mut Linux, t: usize) -> &mut PerThread {
    linux.threads.entry(t).or_default()
}

/// set_robust_list: the calling thread's list (its head is only read at the thread's exit).
pub fn set_robust_list<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    head: u64,
    len: u64,
) -> Result<u64, Errno> {
    if len != ROBUST_HEAD_LEN {
        return Err(Errno::EINVAL);
    }
    current(linux, cx.calls.threads.current).robust = head;
    Ok(0)
}

/// get_robust_list: a thread's list head (`pid` 0: the caller's).
pub fn get_robust_list<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    pid: u64,
    head: u64,
    len: u64,
) -> Result<u64, Errno> {
    // `pid` is an int.
    let t = match pid as u32 {
        0 => cx.calls.threads.current,
        tid => thread_of(linux, u64::from(tid)).ok_or(Errno::ESRCH)?,
    };
    let at = current(linux, t).robust;
    cx.write(len, &ROBUST_HEAD_LEN.to_le_bytes())?;
    cx.write(head, &at.to_le_bytes())?;
    Ok(0)
}

/// What thread `t`'s exit does to the robust futexes it holds, as Linux's `exit_robust_list`:
/// each word on its list (and the one it was locking or unlocking, `list_op_pending`) that the
/// thread owns gets FUTEX_OWNER_DIED, keeping FUTEX_WAITERS, and one waiter on each word that
/// had waiters is woken, so the next `pthread_mutex_lock` answers EOWNERDEAD. The walk ends,
/// as Linux's does, at a word it cannot read or write or after ROBUST_LIST_LIMIT entries (a
/// list that loops). Words to wake past `wakes`' room stay marked without a wake (a
/// thread dying with more than four contended robust locks held).
pub fn robust_exit<W: World>(
    linux: &Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    t: usize,
    wakes: &mut ExitWakes,
) {
    let Some(head) = linux.threads.get(&t).map(|s| s.robust).filter(|&h| h != 0) else {
        return;
    };
    let entry = |raw: u64| (raw & !1, raw & 1 != 0);
    let Ok((mut at, mut pi)) = cx.read_u64(head).map(entry) else {
        return;
    };
    let Ok(offset) = cx.read_u64(head + 8) else {
        return;
    };
    let Ok((pending, pending_pi)) = cx.read_u64(head + 16).map(entry) else {
        return;
    };
    let mut limit = ROBUST_LIST_LIMIT;
    while at != head {
        let next = cx.read_u64(at).map(entry);
        if at != pending && death(cx, at.wrapping_add(offset), tid(t), pi, false, wakes).is_err() {
            return;
        }
        let Ok((n, npi)) = next else {
            return;
        };
        (at, pi) = (n, npi);
        limit -= 1;
        if limit == 0 {
            break;
        }
    }
    if pending != 0 {
        let _ = death(
            cx,
            pending.wrapping_add(offset),
            tid(t),
            pending_pi,
            true,
            wakes,
        );
    }
}

/// Linux's `handle_futex_death` for the word at `word`.
fn death<W: World>(
    cx: &mut Ctx<'_, '_, '_, W>,
    word: u64,
    tid: u64,
    pi: bool,
    pending: bool,
    wakes: &mut ExitWakes,
) -> Result<(), Errno> {
    if !word.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let value = cx.read_u32(word)?;
    // A lock being taken when the thread died, before it wrote its tid: wake a waiter.
    if pending && !pi && value == 0 {
        let _ = wakes.push(word);
        return Ok(());
    }
    if u64::from(value & FUTEX_TID_MASK) != tid {
        return Ok(());
    }
    let marked = (value & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    cx.write(word, &marked.to_le_bytes())?;
    if !pi && value & FUTEX_WAITERS != 0 {
        let _ = wakes.push(word);
    }
    Ok(())
}

/// rt_sigprocmask: the calling thread's mask changed; its old one written back.
pub fn sigprocmask<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    how: u64,
    set: u64,
    old: u64,
    size: u64,
) -> Result<u64, Errno> {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let t = cx.calls.threads.current;
    let was = current(linux, t).blocked;
    if set != 0 {
        let new = cx.read_u64(set)? & !UNBLOCKABLE;
        // `how` is an int.
        current(linux, t).blocked = match how as u32 {
            SIG_BLOCK => was | new,
            SIG_UNBLOCK => was & !new,
            SIG_SETMASK => new,
            _ => return Err(Errno::EINVAL),
        };
    }
    if old != 0 {
        cx.write(old, &was.to_le_bytes())?;
    }
    Ok(0)
}

/// The smallest alternate stack Linux accepts (MINSIGSTKSZ).
fn min_stack(arch: Arch) -> u64 {
    match arch {
        Arch::X86_64 => 2048,
        Arch::Aarch64 => 5120,
    }
}

/// sigaltstack: the calling thread's alternate stack set (`new`) and its old one written back.
pub fn sigaltstack<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    regs: &RegisterFile,
    new: u64,
    old: u64,
) -> Result<u64, Errno> {
    let arch = linux.arch;
    let t = cx.calls.threads.current;
    let was = current(linux, t).altstack;
    let sp = regs.sp();
    let on = was.flags & SS_AUTODISARM == 0 && sp > was.sp && sp.wrapping_sub(was.sp) <= was.size;
    if new != 0 {
        let mut b = [0u8; 24];
        cx.read_into(new, &mut b)?;
        if on {
            return Err(Errno::EPERM);
        }
        let flags = u32::from_le_bytes(b[8..12].try_into().expect("4 bytes"));
        let mut stack = AltStack {
            sp: u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            flags,
            size: u64::from_le_bytes(b[16..].try_into().expect("8 bytes")),
        };
        match flags & !SS_AUTODISARM {
            SS_DISABLE => (stack.sp, stack.size) = (0, 0),
            0 | SS_ONSTACK if stack.size < min_stack(arch) => return Err(Errno::ENOMEM),
            0 | SS_ONSTACK => {}
            _ => return Err(Errno::EINVAL),
        }
        current(linux, t).altstack = stack;
    }
    if old != 0 {
        let state = match (was.size, on) {
            (0, _) => SS_DISABLE,
            (_, true) => SS_ONSTACK,
            _ => 0,
        };
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&was.sp.to_le_bytes());
        b[8..12].copy_from_slice(&(state | (was.flags & SS_AUTODISARM)).to_le_bytes());
        b[16..].copy_from_slice(&was.size.to_le_bytes());
        cx.write(old, &b)?;
    }
    Ok(0)
}
