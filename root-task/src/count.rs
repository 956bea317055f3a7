//! Counts of the master's seL4 invocations, by kind: the host- and timing-independent measure of
//! what the master costs. Every invocation site notes itself here; a group reports the difference
//! over its run (`romain_core::summary::Invocations`).

use core::sync::atomic::{AtomicU64, Ordering};

use romain_core::summary::Invocations;

#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// Receives on the master's endpoint (blocking or not).
    Recv = 0,
    /// Replies to a replica (through its saved reply capability, or the implicit one).
    Reply,
    ReadRegs,
    WriteRegs,
    /// Mapping frames and translation tables.
    Map,
    Retype,
    /// Everything else: TCB suspend and resume, capability copies and deletes, signals, yields,
    /// I/O-port accesses, interrupt acknowledgements.
    Other,
}

/// What the master is doing, for the invocations it makes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activity {
    /// Events and everything else.
    Events = 0,
    /// Serving a page fault.
    Paging,
    /// Executing a shared access.
    Shared,
    /// Writing to the console (the program's output and the master's log).
    Console,
}

static COUNTS: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];
static BY_ACTIVITY: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
static NOW: AtomicU64 = AtomicU64::new(Activity::Events as u64);

/// One invocation of `kind`.
pub(crate) fn note(kind: Kind) {
    COUNTS[kind as usize].fetch_add(1, Ordering::Relaxed);
    BY_ACTIVITY[NOW.load(Ordering::Relaxed) as usize].fetch_add(1, Ordering::Relaxed);
}

/// Runs `f` with its invocations counted for `activity`.
pub(crate) fn during<R>(activity: Activity, f: impl FnOnce() -> R) -> R {
    let before = NOW.swap(activity as u64, Ordering::Relaxed);
    let result = f();
    NOW.store(before, Ordering::Relaxed);
    result
}

/// The last receive brought a message for `activity`: it counts there.
pub(crate) fn received_for(activity: Activity) {
    BY_ACTIVITY[Activity::Events as usize].fetch_sub(1, Ordering::Relaxed);
    BY_ACTIVITY[activity as usize].fetch_add(1, Ordering::Relaxed);
}

/// The counts so far.
pub(crate) fn snapshot() -> Invocations {
    let c = |k: Kind| COUNTS[k as usize].load(Ordering::Relaxed);
    Invocations {
        recv: c(Kind::Recv),
        reply: c(Kind::Reply),
        read_regs: c(Kind::ReadRegs),
        write_regs: c(Kind::WriteRegs),
        map: c(Kind::Map),
        retype: c(Kind::Retype),
        other: c(Kind::Other),
        paging: BY_ACTIVITY[Activity::Paging as usize].load(Ordering::Relaxed),
        shared: BY_ACTIVITY[Activity::Shared as usize].load(Ordering::Relaxed),
        console: BY_ACTIVITY[Activity::Console as usize].load(Ordering::Relaxed),
    }
}
