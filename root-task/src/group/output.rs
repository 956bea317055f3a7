//! A group's console output, printed once by the master, and its random numbers.

use crate::arch;

/// Console state of a group.
pub(super) struct Console {
    /// Whether the last byte printed ended a line (the summary line must start on its own).
    at_line_start: bool,
    /// FNV-1a of everything the program wrote: what campaigns compare with the golden run.
    pub hash: u64,
    /// Hash only, print nothing (campaign experiments).
    quiet: bool,
}

impl Console {
    pub(super) fn new(quiet: bool) -> Self {
        Self {
            at_line_start: true,
            hash: romain_records::fnv::START,
            quiet,
        }
    }

    pub(super) fn print(&mut self, bytes: &[u8]) {
        self.hash = romain_records::fnv::continue_with(self.hash, bytes);
        if self.quiet {
            return;
        }
        crate::console::put_bytes(bytes);
        if let Some(&last) = bytes.last() {
            self.at_line_start = last == b'\n';
        }
    }

    pub(super) fn end_line(&mut self) {
        if !self.at_line_start && !self.quiet {
            crate::console::put_char(b'\n');
            self.at_line_start = true;
        }
    }
}

/// The master's random numbers: xorshift64*, seeded from the cycle counter at the first draw.
/// Drawn once per call and given to every replica, so replicas stay identical.
pub(super) fn random() -> u64 {
    use core::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        x = arch::counter() | 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    STATE.store(x, Ordering::Relaxed);
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}
