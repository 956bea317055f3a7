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

static COUNTS: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];

/// One invocation of `kind`.
pub(crate) fn note(kind: Kind) {
    COUNTS[kind as usize].fetch_add(1, Ordering::Relaxed);
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
    }
}
