//! Threads of a Linux program through the real core (`romain_protocol`) and the Linux
//! personality, on the fake kernel: creation as glibc, musl and Go ask for it, the tid word
//! `pthread_join` waits on, futex waits and wakes (bitsets, requeue, wake-op), timeouts on the
//! replicated clock, sleeps, the serial schedule and a deadlock.

mod common;

use common::*;
use romain_core::regs::Arch;
use romain_core::summary::Status;
use romain_protocol::Flow;
use syscalls::Errno;

/// glibc's pthread_create flags (VM, FS, FILES, SIGHAND, THREAD, SYSVSEM, SETTLS,
/// PARENT_SETTID, CHILD_CLEARTID).
const GLIBC: u64 = 0x3d0f00;
/// Go's (no SETTLS: the thread sets its own).
const GO: u64 = 0x50f00;
const TLS: u64 = 0x7000_1000;
const WAIT: u64 = 128; // FUTEX_WAIT_PRIVATE
const WAKE: u64 = 129;

fn err(e: Errno) -> i64 {
    -(e.into_raw() as i64)
}

/// The registers of `rig`'s replica `k` now: its running thread's.
fn sp(rig: &Rig, k: usize) -> u64 {
    rig.fake.replicas[k].regs[1]
}

fn tls(rig: &Rig, k: usize) -> u64 {
    let i = match rig.arch {
        Arch::X86_64 => 18,
        Arch::Aarch64 => 34,
    };
    rig.fake.replicas[k].regs[i]
}

/// clone as the architecture orders its arguments (x86_64: child_tid then tls).
fn clone(rig: &mut Rig, flags: u64, stack: u64, tid_word: u64) -> i64 {
    let args = match rig.arch {
        Arch::X86_64 => [flags, stack, tid_word, tid_word, TLS],
        Arch::Aarch64 => [flags, stack, tid_word, TLS, tid_word],
    };
    rig.sys("clone", &args)
}

fn word(rig: &Rig, at: u64) -> u32 {
    u32::from_le_bytes(rig.fake.peek(0, at, 4).try_into().unwrap())
}

#[test]
fn a_thread_runs_when_its_creator_waits_and_its_exit_wakes_the_join() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 3, &[], None);
        let tid_word = DATA + 0x20;
        assert_eq!(rig.sys("set_tid_address", &[DATA + 0x40]), 100);
        assert_eq!(rig.sys("gettid", &[]), 100);
        // The creator goes on; the new thread's tid is in the word, as glibc's pd->tid.
        assert_eq!(clone(&mut rig, GLIBC, DATA + 4 * PAGE, tid_word), 101);
        assert_eq!(word(&rig, tid_word), 101);
        assert_eq!(
            rig.fake.threads,
            vec![2; 3],
            "one more thread in every replica"
        );
        assert_eq!(rig.fake.running, vec![0; 3]);
        // pthread_join: a wait on the tid word. The new thread runs, from after the clone with
        // 0, its stack and its thread pointer.
        assert_eq!(rig.sys("futex", &[tid_word, WAIT, 101, 0, 0, 0]), 0);
        assert_eq!(rig.fake.running, vec![1; 3], "arch {arch:?}");
        assert_eq!(sp(&rig, 2), DATA + 4 * PAGE);
        assert_eq!(tls(&rig, 1), TLS);
        assert_eq!(rig.sys("gettid", &[]), 101);
        assert_eq!(rig.sys("getpid", &[]), 100);
        // Its exit clears the word and wakes the join: the creator runs on with 0.
        rig.call(nr(arch, "exit"), &[0]).unwrap();
        assert_eq!(word(&rig, tid_word), 0);
        assert_eq!(rig.fake.running, vec![0; 3]);
        assert_eq!(rig.result(1), 0);
        assert_eq!(rig.sys("gettid", &[]), 100);
        let (flow, _) = rig.call(nr(arch, "exit_group"), &[7]).unwrap();
        assert_eq!(flow, Flow::End);
        assert_eq!(rig.summary.exit_code, Some(7));
        let t = &rig.summary.threads;
        assert_eq!((t.threads, t.switches), (2, 2));
        // set_tid_address, gettid, clone, futex | gettid, getpid, exit | gettid, exit_group.
        assert_eq!(t.events.as_slice(), &[6, 3]);
        assert_eq!(rig.summary.status, Status::Ok);
    }
}

#[test]
fn timeouts_fire_on_the_replicated_clock_earliest_first_when_every_thread_waits() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[], None);
        let (a, b) = (DATA + 0x100, DATA + 0x104);
        // 5 ms and 2 ms as timespecs.
        rig.fake.poke(
            DATA + 0x200,
            &[0u64.to_le_bytes(), 5_000_000u64.to_le_bytes()].concat(),
        );
        rig.fake.poke(
            DATA + 0x210,
            &[0u64.to_le_bytes(), 2_000_000u64.to_le_bytes()].concat(),
        );
        assert_eq!(clone(&mut rig, GO, DATA + 4 * PAGE, 0), 101);
        assert_eq!(clone(&mut rig, GLIBC, DATA + 6 * PAGE, DATA + 0x30), 102);
        // Thread 0 waits on a for ever: thread 1 runs and sleeps 5 ms: thread 2 runs and waits
        // on b for 2 ms. Everyone waits: the clock moves to the earliest, thread 2 times out.
        let now = rig.fake.now;
        assert_eq!(rig.sys("futex", &[a, WAIT, 0, 0, 0, 0]), 0);
        assert_eq!(rig.fake.running, vec![1; 2]);
        rig.sys("nanosleep", &[DATA + 0x200, 0]);
        assert_eq!(rig.fake.running, vec![2; 2]);
        let timed_out = rig.sys("futex", &[b, WAIT, 0, DATA + 0x210, 0, 0]);
        assert_eq!(timed_out, err(Errno::ETIMEDOUT));
        assert_eq!(rig.fake.running, vec![2; 2]);
        assert_eq!(rig.fake.now, now, "no real time passed");
        // The program's clock says 2 ms and a little (a microsecond per event).
        rig.sys("clock_gettime", &[1, DATA + 0x300]);
        let ns = u64::from_le_bytes(rig.fake.peek(0, DATA + 0x308, 8).try_into().unwrap());
        assert!((2_000_000..2_100_000).contains(&ns), "{ns}");
        // Thread 2 wakes thread 0 (one woken) and exits: thread 0 runs, woken with 0.
        assert_eq!(rig.sys("futex", &[a, WAKE, 1, 0, 0, 0]), 1);
        rig.call(nr(arch, "exit"), &[0]).unwrap();
        assert_eq!(rig.fake.running, vec![0; 2]);
        assert_eq!(rig.result(0), 0);
        // Thread 0 waits again: only the sleeper is left, the clock moves to its 5 ms.
        assert_eq!(rig.sys("futex", &[a, WAIT, 0, 0, 0, 0]), 0);
        assert_eq!(rig.fake.running, vec![1; 2]);
        rig.sys("clock_gettime", &[1, DATA + 0x300]);
        let ns = u64::from_le_bytes(rig.fake.peek(0, DATA + 0x308, 8).try_into().unwrap());
        assert!((5_000_000..5_100_000).contains(&ns), "{ns}");
        // Now thread 1 waits too, for ever: nothing can wake anyone.
        let err = rig
            .call(nr(arch, "futex"), &[b, WAIT, 0, 0, 0, 0])
            .unwrap_err();
        assert_eq!(err.0, Status::Deadlock, "{err:?}");
        assert!(
            err.1.contains("thread 0 on futex") && err.1.contains("thread 1 on futex"),
            "{}",
            err.1
        );
    }
}

#[test]
fn a_thread_gives_way_after_its_quantum_and_a_yield_goes_round_in_number_order() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 3, &[], None);
        assert_eq!(clone(&mut rig, GLIBC, DATA + 4 * PAGE, DATA + 0x20), 101);
        assert_eq!(clone(&mut rig, GLIBC, DATA + 6 * PAGE, DATA + 0x24), 102);
        // Two calls of the quantum used by the clones: thread 0 runs 30 more, then 1 has its turn.
        for _ in 0..29 {
            rig.sys("getppid", &[]);
            assert_eq!(rig.fake.running, vec![0; 3]);
        }
        rig.sys("getppid", &[]);
        assert_eq!(rig.fake.running, vec![1; 3]);
        assert_eq!(rig.sys("sched_yield", &[]), 0);
        assert_eq!(rig.fake.running, vec![2; 3]);
        assert_eq!(rig.sys("sched_yield", &[]), 0);
        assert_eq!(rig.fake.running, vec![0; 3]);
        assert_eq!(rig.summary.threads.switches, 3);
    }
}

#[test]
fn futex_bitsets_requeue_and_wake_op_as_linux() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 3, &[], None);
        let (a, b) = (DATA + 0x100, DATA + 0x104);
        for t in 0..3u64 {
            assert_eq!(
                clone(&mut rig, GLIBC, DATA + (4 + t) * PAGE, DATA + 0x20 + 4 * t),
                101 + t as i64
            );
        }
        // Threads 1 to 3 wait on a: thread 1 with bitset 1, 2 with bitset 2, 3 plainly.
        assert_eq!(rig.sys("futex", &[a, WAIT, 0, 0, 0, 0]), 0); // thread 0 waits
        assert_eq!(rig.fake.running, vec![1; 3]);
        rig.sys("futex", &[a, 128 | 9, 0, 0, 0, 1]);
        rig.sys("futex", &[a, 128 | 9, 0, 0, 0, 2]);
        assert_eq!(rig.fake.running, vec![3; 3]);
        // A changed word is EAGAIN; a zero bitset EINVAL; a misaligned word EINVAL.
        assert_eq!(rig.sys("futex", &[a, WAIT, 5, 0, 0, 0]), err(Errno::EAGAIN));
        assert_eq!(
            rig.sys("futex", &[a, 128 | 9, 0, 0, 0, 0]),
            err(Errno::EINVAL)
        );
        assert_eq!(
            rig.sys("futex", &[a + 1, WAKE, 1, 0, 0, 0]),
            err(Errno::EINVAL)
        );
        assert_eq!(
            rig.sys("futex", &[a, 128 | 6, 0, 0, 0, 0]),
            err(Errno::ENOSYS),
            "PI"
        );
        // A wake with bitset 2 wakes thread 2 only (thread 0 waits with every bit).
        assert_eq!(rig.sys("futex", &[a, 128 | 10, 1, 0, 0, 2]), 1);
        // Requeue: wake one (thread 0, the first to wait), move the other (thread 1) to b.
        assert_eq!(
            rig.sys("futex", &[a, 128 | 4, 1, 5, b, 7]),
            err(Errno::EAGAIN),
            "word is 0, not 7"
        );
        assert_eq!(rig.sys("futex", &[a, 128 | 4, 1, 5, b, 0]), 2);
        assert_eq!(
            rig.sys("futex", &[a, WAKE, 10, 0, 0, 0]),
            0,
            "nobody left on a"
        );
        // Wake-op: b += 1 (old 0), wake on a (nobody), and on b if old == 0: thread 1.
        // ADD 1 (operation 1, argument 1), compare EQ (0) with 0.
        let op = (1u64 << 28) | (1 << 12);
        assert_eq!(rig.sys("futex", &[a, 128 | 5, 1, 1, b, op]), 1);
        assert_eq!(word(&rig, b), 1);
        assert_eq!(rig.summary.status, Status::Ok);
    }
}

#[test]
fn creations_that_are_no_thread_or_too_many_are_refused_as_linux() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[], None);
        // CLONE_VM without CLONE_THREAD (posix_spawn's vfork): a new process, EAGAIN.
        assert_eq!(clone(&mut rig, 0x4111, 0, 0), err(Errno::EAGAIN));
        // A thread with a flag no thread takes (CLONE_NEWNS): EINVAL.
        assert_eq!(
            clone(&mut rig, GLIBC | 0x2_0000, DATA, 0),
            err(Errno::EINVAL)
        );
        // clone3: too small a structure, or a stack without its size.
        assert_eq!(rig.sys("clone3", &[DATA, 8]), err(Errno::EINVAL));
        let mut args = [0u64; 11];
        args[0] = GLIBC;
        args[5] = DATA + PAGE;
        rig.fake.poke(
            DATA + 0x400,
            &args
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect::<Vec<_>>(),
        );
        assert_eq!(rig.sys("clone3", &[DATA + 0x400, 88]), err(Errno::EINVAL));
        assert_eq!(rig.sys("clone3", &[0x5_0000_0000, 88]), err(Errno::EFAULT));
        args[6] = PAGE;
        rig.fake.poke(
            DATA + 0x400,
            &args
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect::<Vec<_>>(),
        );
        assert_eq!(rig.sys("clone3", &[DATA + 0x400, 88]), 101);
        // Up to 64 threads at once, then EAGAIN as at RLIMIT_NPROC.
        for _ in 2..64 {
            clone(&mut rig, GO, DATA + 8 * PAGE, 0);
        }
        assert_eq!(rig.fake.threads, vec![64; 2]);
        // (The answer read is the running thread's: after a switch, a new thread's 0.)
        loop {
            let before = rig.fake.running.clone();
            let answer = clone(&mut rig, GO, DATA + 8 * PAGE, 0);
            if rig.fake.running == before {
                assert_eq!(answer, err(Errno::EAGAIN));
                break;
            }
        }
        assert_eq!(rig.fake.threads, vec![64; 2]);
        // A signal to another thread is dropped; to itself, a fatal one ends the program.
        let me = rig.sys("gettid", &[]);
        assert_eq!(rig.sys("tgkill", &[100, 101 + (me == 101) as u64, 23]), 0);
        let me = rig.sys("gettid", &[]) as u64;
        assert_eq!(
            rig.sys("tgkill", &[100, me, 23]),
            0,
            "SIGURG is ignored by default"
        );
        assert_eq!(rig.sys("tgkill", &[100, 999, 0]), err(Errno::ESRCH));
        assert_eq!(rig.sys("tkill", &[101, 0]), 0);
        let me = rig.sys("gettid", &[]) as u64;
        let (flow, _) = rig.call(nr(arch, "tgkill"), &[100, me, 6]).unwrap();
        assert_eq!(flow, Flow::End);
        assert_eq!(rig.summary.exit_code, Some(134));
    }
}

/// A robust mutex's word: its owner's tid, FUTEX_WAITERS, FUTEX_OWNER_DIED.
const WAITERS: u32 = 0x8000_0000;
const OWNER_DIED: u32 = 0x4000_0000;

#[test]
fn a_thread_dying_with_robust_locks_marks_them_and_wakes_a_waiter_on_each() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 3, &[], None);
        // Thread 1's robust list: head at H, two entries (futex word 8 bytes past each entry),
        // and a pending lock it had not taken yet (word 0).
        let head = DATA + 0x100;
        let (e1, e2, pending) = (DATA + 0x140, DATA + 0x180, DATA + 0x1c0);
        let (w1, w2, wp) = (e1 + 8, e2 + 8, pending + 8);
        let other = DATA + 0x300; // held by thread 0: untouched
        assert_eq!(clone(&mut rig, GLIBC, DATA + 4 * PAGE, DATA + 0x20), 101);
        let list = [e1, 8, pending].map(u64::to_le_bytes).concat();
        rig.fake.poke(head, &list);
        rig.fake.poke(e1, &e2.to_le_bytes());
        rig.fake.poke(e2, &(DATA + 0x1e0).to_le_bytes());
        rig.fake.poke(DATA + 0x1e0, &head.to_le_bytes());
        rig.fake.poke(DATA + 0x1e8, &(100u32).to_le_bytes());
        rig.fake.poke(w1, &(101 | WAITERS).to_le_bytes());
        rig.fake.poke(w2, &101u32.to_le_bytes());
        rig.fake.poke(wp, &0u32.to_le_bytes());
        // Thread 0 waits on w1 (as a contended lock), thread 1 runs.
        assert_eq!(
            rig.sys("futex", &[w1, WAIT, 101 | WAITERS as u64, 0, 0, 0]),
            0
        );
        assert_eq!(rig.fake.running, vec![1; 3], "arch {arch:?}");
        assert_eq!(rig.sys("set_robust_list", &[head, 16]), err(Errno::EINVAL));
        assert_eq!(rig.sys("set_robust_list", &[head, 24]), 0);
        let got = DATA + 0x400;
        assert_eq!(rig.sys("get_robust_list", &[0, got, got + 8]), 0);
        assert_eq!(
            rig.fake.peek(0, got, 16),
            [head, 24].map(u64::to_le_bytes).concat()
        );
        assert_eq!(rig.sys("get_robust_list", &[100, got, got + 8]), 0);
        assert_eq!(
            rig.fake.peek(0, got, 8),
            0u64.to_le_bytes(),
            "thread 0 has none"
        );
        assert_eq!(
            rig.sys("get_robust_list", &[99, got, got + 8]),
            err(Errno::ESRCH)
        );
        assert_eq!(
            rig.sys("get_robust_list", &[0, 0xdead_0000, got]),
            err(Errno::EFAULT)
        );
        // Thread 1 exits holding w1 (contended) and w2: both marked, thread 0 woken from w1.
        rig.call(nr(arch, "exit"), &[0]).unwrap();
        assert_eq!(word(&rig, w1), WAITERS | OWNER_DIED);
        assert_eq!(word(&rig, w2), OWNER_DIED);
        assert_eq!(
            word(&rig, wp),
            0,
            "a pending word nobody owns is only woken"
        );
        assert_eq!(
            word(&rig, DATA + 0x1e8),
            100,
            "another owner's lock untouched"
        );
        assert_eq!(word(&rig, other), 0);
        assert_eq!(rig.fake.running, vec![0; 3]);
        assert_eq!(rig.result(1), 0, "woken, not timed out");
    }
}

#[test]
fn a_robust_list_that_loops_or_points_nowhere_ends_the_walk_as_linux() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[], None);
        let head = DATA + 0x100;
        let e = DATA + 0x140;
        assert_eq!(clone(&mut rig, GLIBC, DATA + 4 * PAGE, DATA + 0x20), 101);
        // An entry pointing to itself: the walk stops after ROBUST_LIST_LIMIT entries.
        rig.fake
            .poke(head, &[e, 0, 0].map(u64::to_le_bytes).concat());
        rig.fake.poke(e, &e.to_le_bytes());
        rig.fake.poke(e, &e.to_le_bytes());
        assert_eq!(rig.sys("futex", &[DATA + 0x20, WAIT, 101, 0, 0, 0]), 0);
        assert_eq!(rig.sys("set_robust_list", &[head, 24]), 0);
        // The entry's word is the entry's own first word (offset 0): not this thread's tid.
        rig.call(nr(arch, "exit"), &[0]).unwrap();
        assert_eq!(rig.fake.running, vec![0; 2], "the exit ended the loop");
        assert_eq!(word(&rig, DATA + 0x20), 0, "and the join was woken");
        // A list head nowhere, a misaligned offset: the thread still exits.
        for list in [0xdead_0000, head] {
            rig.fake
                .poke(head, &[e, 3, 0].map(u64::to_le_bytes).concat());
            assert!(clone(&mut rig, GLIBC, DATA + 4 * PAGE, DATA + 0x20) > 100);
            assert_eq!(
                rig.sys(
                    "futex",
                    &[DATA + 0x20, WAIT, word(&rig, DATA + 0x20) as u64, 0, 0, 0]
                ),
                0
            );
            assert_eq!(rig.sys("set_robust_list", &[list, 24]), 0);
            rig.call(nr(arch, "exit"), &[0]).unwrap();
            assert_eq!(rig.fake.running, vec![0; 2]);
        }
    }
}

#[test]
fn signal_masks_and_alternate_stacks_belong_to_each_thread() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[], None);
        let (set, old) = (DATA + 0x100, DATA + 0x108);
        // Thread 0 blocks SIGUSR1 (10) and, in vain, SIGKILL (9).
        rig.fake.poke(set, &(1u64 << 9 | 1 << 8).to_le_bytes());
        assert_eq!(
            rig.sys("rt_sigprocmask", &[0, set, old, 4]),
            err(Errno::EINVAL)
        );
        assert_eq!(
            rig.sys("rt_sigprocmask", &[7, set, old, 8]),
            err(Errno::EINVAL)
        );
        assert_eq!(rig.sys("rt_sigprocmask", &[0, set, old, 8]), 0);
        assert_eq!(rig.fake.peek(0, old, 8), 0u64.to_le_bytes());
        assert_eq!(rig.sys("rt_sigprocmask", &[0, 0, old, 8]), 0);
        assert_eq!(rig.fake.peek(0, old, 8), (1u64 << 9).to_le_bytes());
        assert_eq!(
            rig.sys("rt_sigprocmask", &[0, 0xdead_0000, old, 8]),
            err(Errno::EFAULT)
        );
        // Its alternate stack: too small, bad flags, then 64 KiB.
        let ss = DATA + 0x200;
        let stack = |sp: u64, flags: u32, size: u64| {
            [
                &sp.to_le_bytes()[..],
                &u64::from(flags).to_le_bytes(),
                &size.to_le_bytes(),
            ]
            .concat()
        };
        rig.fake.poke(ss, &stack(DATA + 8 * PAGE, 0, 1000));
        assert_eq!(rig.sys("sigaltstack", &[ss, 0]), err(Errno::ENOMEM));
        rig.fake.poke(ss, &stack(DATA + 8 * PAGE, 5, 0x10000));
        assert_eq!(rig.sys("sigaltstack", &[ss, 0]), err(Errno::EINVAL));
        rig.fake.poke(ss, &stack(DATA + 8 * PAGE, 0, 0x10000));
        assert_eq!(rig.sys("sigaltstack", &[ss, old]), 0);
        assert_eq!(
            rig.fake.peek(0, old, 24),
            stack(0, 2, 0),
            "none before: SS_DISABLE"
        );
        // A new thread starts with its creator's mask and no alternate stack.
        assert_eq!(clone(&mut rig, GLIBC, DATA + 4 * PAGE, DATA + 0x20), 101);
        assert_eq!(rig.sys("futex", &[DATA + 0x20, WAIT, 101, 0, 0, 0]), 0);
        assert_eq!(rig.fake.running, vec![1; 2]);
        assert_eq!(rig.sys("rt_sigprocmask", &[2, 0, old, 8]), 0);
        assert_eq!(rig.fake.peek(0, old, 8), (1u64 << 9).to_le_bytes());
        rig.fake.poke(set, &0u64.to_le_bytes());
        assert_eq!(rig.sys("rt_sigprocmask", &[2, set, 0, 8]), 0);
        assert_eq!(rig.sys("sigaltstack", &[0, old]), 0);
        assert_eq!(rig.fake.peek(0, old, 24), stack(0, 2, 0));
        rig.call(nr(arch, "exit"), &[0]).unwrap();
        // Thread 0's are as it left them.
        assert_eq!(rig.sys("rt_sigprocmask", &[0, 0, old, 8]), 0);
        assert_eq!(rig.fake.peek(0, old, 8), (1u64 << 9).to_le_bytes());
        assert_eq!(rig.sys("sigaltstack", &[0, old]), 0);
        assert_eq!(
            rig.fake.peek(0, old, 24),
            stack(DATA + 8 * PAGE, 0, 0x10000)
        );
    }
}
