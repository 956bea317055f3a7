//! FP/SIMD capture: each replica stores its FP/SIMD registers into its area at every event, and
//! loads them back after a repair or rollback changed the area (see `romain_core::fp`).
//!
//! seL4 lets the master read and write another thread's integer registers only, so the replica
//! does it itself, in routines the master placed in its address space. An event is held back
//! from the core until the replica's save routine ran: the replica is restarted in the routine
//! (its call or fault cancelled), and the routine's trap brings it back. A fault event is then
//! handed on at once, the replica kept at the trap ("parked") with the registers it continues
//! from; a call is made again, so that the replica waits in its own call when the core answers
//! it. Before a replica whose area was changed runs again, it goes through the restore routine,
//! and then on from where it was to continue.
//!
//! The decisions live here, against the small [`Threads`] trait; the seL4 shell implements it
//! with one invocation per method, the tests with a fake replica that runs the routines.

use romain_core::event::{Event, EventKind, Words};
use romain_core::fp::{self, FpName, FpState, Stubs};
use romain_core::regs::{Arch, RegisterFile};
use romain_core::summary::Status;

use crate::Stop;

/// aarch64: the routines take the area's address in x0.
const A64_X0: usize = 3;

/// What the capture does to a replica's thread: one seL4 invocation each in the shell.
pub trait Threads {
    /// Reads `k`'s registers.
    fn registers(&mut self, k: usize) -> Result<RegisterFile, Stop>;
    /// Writes `k`'s registers; it stays blocked (or stopped).
    fn set_registers(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop>;
    /// Writes `k`'s registers and resumes it there (cancelling the call it waits in).
    fn restart_at(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop>;
    /// Drops the reply capability kept for `k`.
    fn forget_reply(&mut self, k: usize);
    /// Answers `k`'s call with `words`.
    fn reply(&mut self, k: usize, words: &[u64]);
    /// Suspends `k`.
    fn stop(&mut self, k: usize) -> Result<(), Stop>;
    /// `k`'s FP/SIMD area: [`fp::area_len`] bytes of its memory at [`fp::AREA_VA`].
    fn area(&mut self, k: usize) -> Result<&mut [u8], Stop>;
}

/// Where a replica is in the capture.
// One per replica, held across a round trip: its size does not matter, an allocation per
// event would.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Default)]
enum Phase {
    #[default]
    Idle,
    /// Its event arrived; the save routine runs. `raw`: the registers as read at the event.
    Saving { event: Event, raw: RegisterFile },
    /// Saved; it makes its call again.
    Reissuing(FpState),
    /// A fault event handed on; the replica waits at the save routine's trap and continues
    /// from `resume` unless the core sets its registers.
    Parked { resume: RegisterFile },
    /// The restore routine runs; then the replica continues from `then`, making its call again
    /// if `words` answer it.
    Restoring {
        then: RegisterFile,
        words: Option<Words>,
    },
    /// The call made again after a restore: answered with these words.
    Replying(Words),
    /// A delayed injection: the save routine runs, the bit is flipped in the area, the restore
    /// routine loads it, and the replica goes on from `then` (making its call again if `words`
    /// answer it).
    Flipping {
        name: FpName,
        bit: u32,
        then: RegisterFile,
        words: Option<Words>,
    },
}

/// The capture of one group: each replica's phase and what it must load before it runs on.
pub struct Capture {
    arch: Arch,
    stubs: Stubs,
    phase: alloc::vec::Vec<Phase>,
    /// The area was changed (repair, rollback, injection): load it before running on.
    restore: alloc::vec::Vec<bool>,
    /// Registers the core set since the replica's event: what it continues from.
    set: alloc::vec::Vec<Option<RegisterFile>>,
    /// A delayed injection that came while the replica waited at an event: applied when it
    /// runs on, after the agreement (so not in the checkpoint).
    flip: alloc::vec::Vec<Option<(FpName, u32)>>,
    /// Multithreaded programs: each replica's running thread, and the FP/SIMD state of its
    /// threads that do not run (the area's bytes when each last gave way). The master holds a
    /// waiting thread's state, as the core holds its registers: a switch loads it into the
    /// area (so the checkpoint there is the thread's that runs on) and the thread loads it.
    running: alloc::vec::Vec<usize>,
    held: alloc::vec::Vec<alloc::collections::BTreeMap<usize, alloc::vec::Vec<u8>>>,
}

/// What becomes of a message in the capture.
// Returned and matched at once.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Arrival {
    /// An event for the core (with its FP/SIMD state, where captured).
    Event(Event),
    /// The capture's own business: nothing for the core.
    Handled,
}

fn message(words: &[u64]) -> Words {
    Words::from_slice(words).expect("message words")
}

impl Capture {
    pub fn new(arch: Arch, stubs: Stubs, replicas: usize) -> Capture {
        Capture {
            arch,
            stubs,
            phase: (0..replicas).map(|_| Phase::Idle).collect(),
            restore: alloc::vec![false; replicas],
            set: alloc::vec![None; replicas],
            flip: alloc::vec![None; replicas],
            running: alloc::vec![0; replicas],
            held: (0..replicas).map(|_| Default::default()).collect(),
        }
    }

    /// Replica `k` has a new thread `t`: it starts with the running thread's FP/SIMD state,
    /// which `area` holds (saved at the call that creates it).
    pub fn thread_added(&mut self, k: usize, t: usize, area: &[u8]) {
        self.held[k].insert(t, area.to_vec());
    }

    /// Replica `k`'s thread `t` exited: its FP/SIMD state is no longer held.
    pub fn thread_ended(&mut self, k: usize, t: usize) {
        self.held[k].remove(&t);
    }

    /// Replica `k` runs its thread `t` from now on: the running thread's state in `area` is
    /// held, `t`'s put there, to be loaded before `t` runs.
    pub fn thread_selected(&mut self, k: usize, t: usize, area: &mut [u8]) {
        let before = core::mem::replace(&mut self.running[k], t);
        if before == t {
            return;
        }
        self.held[k].insert(before, area.to_vec());
        if let Some(state) = self.held[k].remove(&t)
            && state.len() == area.len()
        {
            area.copy_from_slice(&state);
        }
        self.restore[k] = true;
    }

    /// `regs` with the pc at one of the routines (and its area in x0 on aarch64).
    fn routine(&self, regs: &RegisterFile, entry: u64) -> RegisterFile {
        let mut regs = regs.clone();
        regs.words_mut()[Arch::PC] = entry;
        if self.arch == Arch::Aarch64 {
            regs.words_mut()[A64_X0] = fp::AREA_VA;
        }
        regs
    }

    fn state(&self, threads: &mut impl Threads, k: usize) -> Result<FpState, Stop> {
        let area = threads.area(k)?;
        FpState::new(self.arch, area).ok_or_else(|| {
            Stop::new(
                Status::MasterError,
                alloc::format!("FP/SIMD area of {} bytes", area.len()),
            )
        })
    }

    /// Cancels whatever `k` waits in and runs it from `regs`.
    fn resume(threads: &mut impl Threads, k: usize, regs: &RegisterFile) -> Result<(), Stop> {
        threads.forget_reply(k);
        threads.restart_at(k, regs)
    }

    /// Whether the replica is inside a routine (an injection there waits).
    /// The architecture whose routines and registers the capture uses.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    pub fn busy(&self, k: usize) -> bool {
        !matches!(self.phase[k], Phase::Idle | Phase::Parked { .. })
    }

    /// A message of replica `k` (blocked, its reply capability kept): `event` as read, `raw`
    /// its registers.
    pub fn arrival(
        &mut self,
        threads: &mut impl Threads,
        k: usize,
        mut event: Event,
        raw: RegisterFile,
    ) -> Result<Arrival, Stop> {
        let trap_at =
            |pc: u64| matches!(event.kind, EventKind::UserException { .. }) && raw.pc() == pc;
        match core::mem::take(&mut self.phase[k]) {
            Phase::Saving { event: first, raw } if trap_at(self.stubs.saved) => {
                let state = self.state(threads, k)?;
                if first.kind.is_call() {
                    self.phase[k] = Phase::Reissuing(state);
                    Self::resume(threads, k, &raw)?;
                    return Ok(Arrival::Handled);
                }
                let mut first = first;
                first.fp = Some(state);
                self.phase[k] = Phase::Parked { resume: raw };
                Ok(Arrival::Event(first))
            }
            Phase::Reissuing(state) => {
                event.fp = Some(state);
                Ok(Arrival::Event(event))
            }
            Phase::Restoring { then, words } if trap_at(self.stubs.restored) => {
                Self::resume(threads, k, &then)?;
                if let Some(words) = words {
                    self.phase[k] = Phase::Replying(words);
                }
                Ok(Arrival::Handled)
            }
            Phase::Replying(words) => {
                threads.reply(k, &words);
                Ok(Arrival::Handled)
            }
            Phase::Flipping {
                name,
                bit,
                then,
                words,
            } if trap_at(self.stubs.saved) => {
                name.flip(threads.area(k)?, bit);
                let restore = self.routine(&then, self.stubs.restore);
                self.phase[k] = Phase::Restoring { then, words };
                Self::resume(threads, k, &restore)?;
                Ok(Arrival::Handled)
            }
            Phase::Saving { .. } | Phase::Restoring { .. } | Phase::Flipping { .. } => {
                // Something else stopped the replica inside a routine: its event as it is,
                // without FP/SIMD state, which no comparison lets pass.
                Ok(Arrival::Event(event))
            }
            Phase::Idle | Phase::Parked { .. } => {
                // A new event: first its FP/SIMD registers into the area.
                self.set[k] = None;
                let save = self.routine(&raw, self.stubs.save);
                self.phase[k] = Phase::Saving { event, raw };
                Self::resume(threads, k, &save)?;
                Ok(Arrival::Handled)
            }
        }
    }

    /// The core set `k`'s registers: it continues from them.
    pub fn registers_set(&mut self, k: usize, regs: &RegisterFile) {
        self.set[k] = Some(regs.clone());
        if let Phase::Parked { .. } = self.phase[k] {
            self.phase[k] = Phase::Idle;
        }
    }

    /// `k`'s area was changed: it loads it before it runs on.
    pub fn must_restore(&mut self, k: usize) {
        self.restore[k] = true;
    }

    /// The core stopped `k`: whatever routine it was in is abandoned.
    pub fn stopped(&mut self, k: usize) {
        self.phase[k] = Phase::Idle;
    }

    /// The core answers `k` with `words`. Returns whether the capture did it.
    pub fn reply(
        &mut self,
        threads: &mut impl Threads,
        k: usize,
        words: &[u64],
    ) -> Result<bool, Stop> {
        let set = self.set[k].take();
        let phase = core::mem::take(&mut self.phase[k]);
        if self.restore[k] || self.flip[k].is_some() {
            let (then, words) = match (set, phase) {
                // A fault's empty answer: it runs on from the registers it was given, or
                // from its event's.
                (Some(regs), _) | (None, Phase::Parked { resume: regs }) if words.is_empty() => {
                    (regs, None)
                }
                // A call's answer: it makes the call again after the restore (from the
                // registers it was given, at the system-call instruction) and gets the answer
                // then.
                (Some(mut regs), _) => {
                    regs.words_mut()[Arch::PC] -= self.arch.syscall_len();
                    (regs, Some(message(words)))
                }
                (None, _) => (threads.registers(k)?, Some(message(words))),
            };
            self.go(threads, k, then, words)?;
            return Ok(true);
        }
        if let (None, Phase::Parked { resume }) = (set, phase) {
            // Parked at the routine's trap: back to the event's registers first.
            threads.set_registers(k, &resume)?;
        }
        Ok(false)
    }

    /// The core lets `k` run from the registers it has (`start`) or from `regs` (`restart_at`):
    /// through the restore routine if its area changed. Returns whether the capture did it.
    pub fn run(
        &mut self,
        threads: &mut impl Threads,
        k: usize,
        regs: Option<&RegisterFile>,
    ) -> Result<bool, Stop> {
        self.phase[k] = Phase::Idle;
        let set = self.set[k].take();
        if !self.restore[k] && self.flip[k].is_none() {
            return Ok(false);
        }
        let then = match (regs, set) {
            (Some(regs), _) => regs.clone(),
            (None, Some(set)) => set,
            (None, None) => threads.registers(k)?,
        };
        self.go(threads, k, then, None)?;
        Ok(true)
    }

    /// Sends `k` through the routines before it continues from `then` (and makes its call
    /// again if `words` answer it): the restore routine if its area changed, save, flip and
    /// restore for a pending injection.
    fn go(
        &mut self,
        threads: &mut impl Threads,
        k: usize,
        then: RegisterFile,
        words: Option<Words>,
    ) -> Result<(), Stop> {
        let restore = core::mem::take(&mut self.restore[k]);
        let (entry, phase) = match self.flip[k].take() {
            // The area holds the state to load (a repair's, a rollback's): flipped there.
            Some((name, bit)) if restore => {
                name.flip(threads.area(k)?, bit);
                let entry = self.routine(&then, self.stubs.restore);
                (entry, Phase::Restoring { then, words })
            }
            Some((name, bit)) => {
                let entry = self.routine(&then, self.stubs.save);
                let phase = Phase::Flipping {
                    name,
                    bit,
                    then,
                    words,
                };
                (entry, phase)
            }
            None => {
                let entry = self.routine(&then, self.stubs.restore);
                (entry, Phase::Restoring { then, words })
            }
        };
        Self::resume(threads, k, &entry)?;
        self.phase[k] = phase;
        Ok(())
    }

    /// An injection at `k`'s event: the bit flipped in its area and in the event, and loaded
    /// into its registers before it runs on.
    pub fn flip_at_event(
        &mut self,
        threads: &mut impl Threads,
        k: usize,
        name: FpName,
        bit: u32,
        event: &mut Event,
    ) -> Result<(), Stop> {
        name.flip(threads.area(k)?, bit);
        event.fp = Some(self.state(threads, k)?);
        self.restore[k] = true;
        Ok(())
    }

    /// A delayed injection into `k`: waiting at an event, the flip is loaded when it runs on;
    /// running, it is stopped and goes through both routines with the flip between them.
    pub fn flip_now(
        &mut self,
        threads: &mut impl Threads,
        k: usize,
        name: FpName,
        bit: u32,
        running: bool,
    ) -> Result<(), Stop> {
        if !running {
            self.flip[k] = Some((name, bit));
            return Ok(());
        }
        threads.stop(k)?;
        let then = threads.registers(k)?;
        threads.restart_at(k, &self.routine(&then, self.stubs.save))?;
        self.phase[k] = Phase::Flipping {
            name,
            bit,
            then,
            words: None,
        };
        Ok(())
    }

    /// A delayed register injection into parked `k`: the registers it continues from are the
    /// ones to flip (its live ones are the routine's). Returns them, if parked.
    pub fn parked_registers(&mut self, k: usize) -> Option<&mut RegisterFile> {
        match &mut self.phase[k] {
            Phase::Parked { resume } => Some(resume),
            _ => None,
        }
    }
}
