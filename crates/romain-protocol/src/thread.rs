//! What a personality tells the core about threads: the thread operation an agreed call comes
//! to ([`ThreadCall`]) and what it may know of the threads while it performs one
//! ([`ThreadView`]). The core keeps the threads ([`crate::schedule`]); the personality decodes
//! its ABI's calls (Linux `clone`, `futex`, …) into these few operations.

use romain_core::regs::RegisterFile;

/// Most threads a replica has at once: a creation beyond is refused (the personality answers
/// as its ABI does at an exhausted limit).
pub const MAX_THREADS: usize = 64;

/// Most threads a program creates in its life: what bounds the master's bookkeeping of them
/// (a creation beyond is refused as one past [`MAX_THREADS`]).
pub const MAX_CREATED: usize = 4096;

/// What the personality knows of the threads while it performs a call of the running one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadView {
    /// The running thread (0: the program's first), the same in every replica.
    pub current: usize,
    /// The number a thread created by this call gets, or `None` at [`MAX_THREADS`].
    pub next: Option<usize>,
    /// Threads that have not exited, the running one included.
    pub live: usize,
}

impl ThreadView {
    /// A program with its one thread.
    pub const SINGLE: ThreadView = ThreadView {
        current: 0,
        next: Some(1),
        live: 1,
    };
}

/// Most futex words a thread's exit wakes: its tid word and four robust futexes with waiters
/// (what a thread dying with more such locks held leaves is the personality's to say).
pub const EXIT_WAKES: usize = 5;

/// The futex words a thread's exit wakes one waiter on each.
pub type ExitWakes = heapless::Vec<u64, EXIT_WAKES>;

/// What happens to the running thread, and to the threads it names, at an agreed call.
// Made once per call and consumed at once: no reason to allocate for a new thread's registers.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadOp {
    /// A new thread, starting from `child` (it runs when the schedule gets to it).
    Spawn { child: RegisterFile },
    /// The running thread ends; one waiter on each futex word in `wake` is woken, in order (the
    /// words are already written: its robust futexes, then its tid word). The last thread to
    /// end ends the program with `status`.
    Exit { wake: ExitWakes, status: i64 },
    /// The running thread waits on the futex word `addr` (for a wake whose bitset meets
    /// `bitset`) until `until` on the program's clock, if given: woken it gets 0, timed out
    /// `timed_out`.
    Wait {
        addr: u64,
        bitset: u32,
        until: Option<u64>,
        timed_out: u64,
    },
    /// Wakes at most `count` waiters on `addr` whose bitset meets `bitset`, then `then`. The
    /// caller gets the number woken (plus the number requeued where `then` counts them).
    Wake {
        addr: u64,
        bitset: u32,
        count: u32,
        then: Then,
    },
    /// The running thread lets the next runnable one run (it runs on if there is none).
    Yield,
    /// The running thread sleeps until `until` on the program's clock.
    Sleep { until: u64 },
}

/// What a wake does after waking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    Nothing,
    /// Moves at most `max` of the remaining waiters to wait on `to` instead; `counted`: they
    /// count in the result.
    Requeue {
        to: u64,
        max: u32,
        counted: bool,
    },
    /// Also wakes at most `count` waiters on `addr` (any bitset).
    Wake {
        addr: u64,
        count: u32,
    },
}

/// An agreed call that is a thread operation: the operation, and how the running thread
/// continues: from `regs`, with its result (where the operation gives one) in register number
/// `result`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadCall {
    pub op: ThreadOp,
    pub regs: RegisterFile,
    pub result: usize,
}
