//! A group's console output, printed once by the master, and its random numbers.

use romain_records::Escaper;

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch;

/// Console state of a group.
pub(super) struct Console {
    /// The program's output made safe to print: a line of it that would start like a record or
    /// a master log line gets a `>` in front (`romain_records::escape`).
    escaper: Escaper,
    /// The companion's output (unreplicated, not hashed), escaped the same way.
    companion: Escaper,
    /// FNV-1a of everything the program wrote (as it wrote it, not as escaped): what campaigns
    /// compare with the golden run.
    pub hash: u64,
    /// Hash only, print nothing (campaign experiments).
    quiet: bool,
}

impl Console {
    pub(super) fn new(quiet: bool) -> Self {
        Self {
            escaper: Escaper::new(),
            companion: Escaper::new(),
            hash: romain_records::fnv::START,
            quiet,
        }
    }

    pub(super) fn print(&mut self, bytes: &[u8]) {
        self.hash = romain_records::fnv::continue_with(self.hash, bytes);
        if self.quiet {
            return;
        }
        self.sync();
        self.escaper.write(bytes, crate::console::put_program_bytes);
    }

    /// Prints the companion's output, escaped like the program's.
    pub(super) fn print_companion(&mut self, bytes: &[u8]) {
        if self.quiet {
            return;
        }
        if !crate::console::companion_line_open() {
            self.companion.line_broken();
        }
        self.companion
            .write(bytes, crate::console::put_companion_bytes);
    }

    /// Ends the program's unfinished line, if any, so that the master's next line starts on its
    /// own (bytes held back by the escaper are printed first).
    pub(super) fn end_line(&mut self) {
        if !self.quiet {
            self.sync();
            self.escaper.end_line(crate::console::put_program_bytes);
        }
    }

    /// When the master printed a line without ending the program's first, the console started
    /// it on a line of its own: the program's next byte is at a line's start.
    fn sync(&mut self) {
        if !crate::console::program_line_open() {
            self.escaper.line_broken();
        }
    }
}

/// The master's random numbers: xorshift64*, seeded (mixed by splitmix64) at a group's first
/// draw from the cycle counter, or with `make SEED=n` from n and the group's place in the plan,
/// so that every boot draws the same numbers (AT_RANDOM, getrandom: Go's scheduler seeds from
/// them). Drawn once per call and given to every replica, so replicas stay identical. Each group
/// starts a fresh stream ([`reseed`]): one group's numbers do not predict the next group's.
pub(super) fn random() -> u64 {
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        let seed = match crate::embedded::SEED {
            0 => arch::counter(),
            seed => seed.wrapping_add(GROUPS.load(Ordering::Relaxed)),
        };
        x = romain_core::random::mix(seed) | 1;
    }
    let value = romain_core::random::xorshift64star(&mut x);
    STATE.store(x, Ordering::Relaxed);
    value
}

/// The next draw seeds the stream afresh (a group ended).
pub(super) fn reseed() {
    STATE.store(0, Ordering::Relaxed);
    GROUPS.fetch_add(1, Ordering::Relaxed);
}

static STATE: AtomicU64 = AtomicU64::new(0);
/// Groups ended so far (what `SEED` is offset by).
static GROUPS: AtomicU64 = AtomicU64::new(0);
