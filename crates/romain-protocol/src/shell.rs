//! What the core asks of the shell: the effects, each one or a few seL4 invocations there.

use alloc::string::String;

use romain_core::event::Event;
use romain_core::inject::Injection;
use romain_core::regs::RegisterFile;
use romain_core::summary::Status;
use romain_memory::{Repaired, Scope};

/// Why a group stopped early: the status and reason go into its summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop(pub Status, pub String);

impl Stop {
    pub fn new(status: Status, reason: impl Into<String>) -> Self {
        Stop(status, reason.into())
    }
}

/// The result of a copy & execute: the registers every replica continues with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    pub regs: RegisterFile,
    /// The companion rang its doorbell while the master waited for the executor.
    pub rung: bool,
}

/// An address range that is not the program's memory (or not writable, for a write).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadAddress(pub u64);

/// A heap may not grow past the memory quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverQuota;

/// What became of an injection the core asked the shell to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    /// Applied (the event, if any, carries the flip).
    Applied,
    /// The replica was sent off into a hang: its event never arrives.
    Lost,
    /// Not possible now; try again a little later. `counted`: an attempt used up.
    Retry { counted: bool },
}

/// What a personality may do while it performs an agreed call: the outside world (console,
/// randomness, time, the companion's doorbell) and the replicas' memory. Not the replicas'
/// lifecycle, repair or injection: those are the core's ([`Shell`]).
pub trait World {
    /// The master's counter (ticks at [`crate::Config::counter_hz`]).
    fn now(&self) -> u64;

    /// Prints the program's output (once, for all replicas).
    fn print(&mut self, bytes: &[u8]);
    /// Ends an unfinished output line before a log line.
    fn end_line(&mut self);
    /// A random number, drawn once for all replicas.
    fn random(&mut self) -> u64;
    /// Grows `k`'s heap by `bytes`: its old end, or `Err` past the quota.
    fn grow(&mut self, k: usize, bytes: u64) -> Result<u64, OverQuota>;
    /// Rings the companion's doorbell.
    fn ring_doorbell(&mut self);

    // Replica memory, as a personality that passes buffers by reference uses it.
    /// Reads `buf.len()` bytes at `addr` of replica `k` (a lazy page not there yet reads as
    /// zeros): `Err` with the first address that is not the program's.
    fn read_memory(&mut self, k: usize, addr: u64, buf: &mut [u8]) -> Result<(), BadAddress>;
    /// Writes `bytes` at `addr` of every replica alike (as the replica's own store would:
    /// lazy pages brought in, write-protected ones made writable).
    fn write_memory(&mut self, addr: u64, bytes: &[u8]) -> Result<(), BadAddress>;
    /// Makes `range` (page-aligned) zero-filled memory of every replica, mapped on first touch.
    /// `counted`: its pages count against the memory quota now (`Err` past it); otherwise (a
    /// reservation) only the pages touched count, when they are.
    fn map_lazy(&mut self, range: core::ops::Range<u64>, counted: bool) -> Result<(), OverQuota>;
    /// Zeroes `range` of every replica, as a mapping made again over it reads (a lazy page not
    /// there yet stays so): `Err` with an address that is not the program's. By default zeros
    /// written a page at a time; a shell that knows which pages exist touches only those (Go
    /// maps gigabytes of its reservations again).
    fn zero_memory(&mut self, range: core::ops::Range<u64>) -> Result<(), BadAddress> {
        let zeros = [0u8; 4096];
        let mut at = range.start;
        while at < range.end {
            let n = (range.end - at).min(zeros.len() as u64);
            self.write_memory(at, &zeros[..n as usize])?;
            at += n;
        }
        Ok(())
    }

    /// Whether the `len` bytes at `addr` (`addr + len` does not wrap) can be written in every
    /// replica, checked without changing them: `Err` with an address that cannot. Reads replica
    /// `k`'s byte and writes it back into all, a page at a time (a personality elsewhere asks
    /// once instead).
    fn writable(&mut self, k: usize, addr: u64, len: u64) -> Result<(), BadAddress> {
        let Some(end) = addr.checked_add(len) else {
            return Err(BadAddress(addr));
        };
        let mut at = addr;
        while at < end {
            let mut probe = [0u8];
            self.read_memory(k, at, &mut probe)?;
            self.write_memory(at, &probe)?;
            // The next page's start (the last page of the address space has none).
            at = match (at | 4095).checked_add(1) {
                Some(next) => next,
                None => return Ok(()),
            };
        }
        if len > 0 {
            let mut last = [0u8];
            self.read_memory(k, end - 1, &mut last)?;
            self.write_memory(end - 1, &last)?;
        }
        Ok(())
    }

    /// Exchanges one message with the group's personality component, for a personality that
    /// runs as a component of its own: answers its waiting call with `send` (nothing for its
    /// first message) and waits for its next, returning the words of it in `receive`. `Err`
    /// when the component failed (a fault, a panic, an exhausted quota, a time-out): the group
    /// ends with it. A shell without such a component has none to talk to.
    fn exchange(&mut self, send: Option<&[u64]>, receive: &mut [u64]) -> Result<usize, Stop> {
        let _ = (send, receive);
        Err(Stop::new(
            romain_core::summary::Status::MasterError,
            "the group has no personality component",
        ))
    }
}

/// The seL4 shell's effects. Replica indices are `0..replicas`; a replica that arrived at the
/// current point is blocked with its reply capability kept by the shell.
pub trait Shell: World {
    /// Suspends replica `k`.
    fn stop(&mut self, k: usize) -> Result<(), Stop>;
    /// Resumes replica `k` where its registers say.
    fn start(&mut self, k: usize) -> Result<(), Stop>;
    /// Drops the reply capability kept for `k`: it will make its call again.
    fn forget_reply(&mut self, k: usize);
    /// Writes `k`'s registers; it stays blocked (or stopped).
    fn set_registers(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop>;
    /// Writes `k`'s registers and resumes it there.
    fn restart_at(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop>;
    /// Answers `k`'s event with `words` (empty: a fault's instruction runs again).
    fn reply(&mut self, k: usize, words: &[u64]);

    /// Makes thread `t` of replica `k`, stopped: it runs when the core selects it and restarts
    /// it. Its FP/SIMD state is the running thread's (as a new Linux thread's is its creator's).
    fn add_thread(&mut self, k: usize, t: usize) -> Result<(), Stop> {
        let _ = (k, t);
        Err(Stop::new(
            romain_core::summary::Status::MasterError,
            "this shell runs one thread per replica",
        ))
    }
    /// From now on the effects on replica `k` address its thread `t` (the one running before
    /// is stopped; `t` is stopped until restarted).
    fn select_thread(&mut self, k: usize, t: usize) -> Result<(), Stop> {
        let _ = (k, t);
        Err(Stop::new(
            romain_core::summary::Status::MasterError,
            "this shell runs one thread per replica",
        ))
    }

    /// Thread `t` of replica `k` exited (it is stopped and another selected): what is kept for
    /// it may go.
    fn end_thread(&mut self, k: usize, t: usize) -> Result<(), Stop> {
        let _ = (k, t);
        Ok(())
    }

    /// Makes replica `bad` identical to `good`: registers `regs`, and the pages in `scope`.
    fn repair(
        &mut self,
        good: usize,
        bad: usize,
        regs: &RegisterFile,
        scope: Scope,
    ) -> Result<Repaired, Stop>;
    /// Returns `k`'s memory to its checkpoint; the number of pages restored.
    fn roll_back_memory(&mut self, k: usize) -> Result<usize, Stop>;
    /// `k`'s memory as it is now is agreed: the next checkpoint, write tracking restarts.
    fn agree_memory(&mut self, k: usize) -> Result<(), Stop>;

    /// A hash of the private bytes that the shared access of `k`'s `event` is about to copy
    /// into the shared region, if it copies any: part of what is compared.
    fn private_digest(&mut self, k: usize, event: &Event) -> Option<u64>;
    /// Executes the agreed shared access of `leader`'s `event` once, on the shared region.
    fn execute_shared(&mut self, leader: usize, event: &Event) -> Result<Executed, Stop>;
    /// Applies `at` to replica `k`: at its `event` (just arrived), or, with `None`, wherever it
    /// is (`running`: not waiting at the current point).
    fn inject(
        &mut self,
        k: usize,
        at: &Injection<'static>,
        event: Option<&mut Event>,
        running: bool,
    ) -> Result<Injected, Stop>;
}
