//! FP/SIMD capture: each replica stores its FP/SIMD registers into its area at every event, and
//! loads them back after a repair or rollback changed the area (see `romain_core::fp`).
//!
//! An event is held back from the core until the replica's save routine ran: the replica is
//! restarted in the routine (its call or fault cancelled), and the routine's trap brings it
//! back. A fault event is then handed on at once, the replica kept at the trap ("parked") with
//! the registers it continues from; a call is made again, so that the replica waits in its
//! own call when the core answers it. Before a replica whose area was changed runs again, it
//! goes through the restore routine, and then on from where it was to continue.

use alloc::vec::Vec;

use romain_core::event::{Event, EventKind, Words};
use romain_core::fp::{self, FpName, FpState, Stubs};
use romain_core::regs::{Arch, RegisterFile};
use romain_group::Stop;

use super::OrStop;
use super::access::page_of;
use crate::arch::ARCH;
use crate::replica::Replica;

/// aarch64: the routines take the area's address in x0.
const A64_X0: usize = 3;

/// Where a replica is in the capture.
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

pub(super) struct Capture {
    stubs: Stubs,
    phase: Vec<Phase>,
    /// The area was changed (repair, rollback, injection): load it before running on.
    restore: Vec<bool>,
    /// Registers the core set since the replica's event: what it continues from.
    set: Vec<Option<RegisterFile>>,
    /// A delayed injection that came while the replica waited at an event: applied when it
    /// runs on, after the agreement (so not in the checkpoint).
    flip: Vec<Option<(FpName, u32)>>,
}

/// What becomes of a message in the capture.
pub(super) enum Arrival {
    /// An event for the core (with its FP/SIMD state, where captured).
    Event(Event),
    /// The capture's own business: nothing for the core.
    Handled,
}

impl Capture {
    pub(super) fn new(stubs: Stubs, replicas: usize) -> Capture {
        Capture {
            stubs,
            phase: (0..replicas).map(|_| Phase::Idle).collect(),
            restore: alloc::vec![false; replicas],
            set: alloc::vec![None; replicas],
            flip: alloc::vec![None; replicas],
        }
    }

    /// `regs` with the pc at one of the routines (and its area in x0 on aarch64).
    fn routine(regs: &RegisterFile, entry: u64) -> RegisterFile {
        let mut regs = regs.clone();
        regs.words_mut()[Arch::PC] = entry;
        if ARCH == Arch::Aarch64 {
            regs.words_mut()[A64_X0] = fp::AREA_VA;
        }
        regs
    }

    fn area(replica: &Replica) -> Result<&'static mut [u8], Stop> {
        let (_, frame) = page_of(replica, fp::AREA_VA).ok_or_else(|| {
            Stop(
                romain_core::summary::Status::MasterError,
                "FP/SIMD area missing".into(),
            )
        })?;
        Ok(&mut frame.bytes()[..fp::area_len(ARCH)])
    }

    fn state(replica: &Replica) -> Result<FpState, Stop> {
        Ok(FpState::new(ARCH, Self::area(replica)?).expect("the area's length"))
    }

    /// Whether the replica is inside a routine (an injection there waits).
    pub(super) fn busy(&self, k: usize) -> bool {
        !matches!(self.phase[k], Phase::Idle | Phase::Parked { .. })
    }

    /// A message of `replica` (blocked, its reply capability saved): `event` as read, `raw` its
    /// registers.
    pub(super) fn arrival(
        &mut self,
        replica: &Replica,
        mut event: Event,
        raw: RegisterFile,
    ) -> Result<Arrival, Stop> {
        let k = replica.index;
        let trap_at =
            |pc: u64| matches!(event.kind, EventKind::UserException { .. }) && raw.pc() == pc;
        match core::mem::take(&mut self.phase[k]) {
            Phase::Saving { event: first, raw } if trap_at(self.stubs.saved) => {
                let state = Self::state(replica)?;
                if first.kind.is_call() {
                    self.phase[k] = Phase::Reissuing(state);
                    replica.forget_reply();
                    replica.restart_at(&raw).or_stop()?;
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
                replica.forget_reply();
                replica.restart_at(&then).or_stop()?;
                if let Some(words) = words {
                    self.phase[k] = Phase::Replying(words);
                }
                Ok(Arrival::Handled)
            }
            Phase::Replying(words) => {
                replica.reply(super::machine::message(&words));
                Ok(Arrival::Handled)
            }
            Phase::Flipping {
                name,
                bit,
                then,
                words,
            } if trap_at(self.stubs.saved) => {
                name.flip(Self::area(replica)?, bit);
                self.phase[k] = Phase::Restoring {
                    then: then.clone(),
                    words,
                };
                replica.forget_reply();
                replica
                    .restart_at(&Self::routine(&then, self.stubs.restore))
                    .or_stop()?;
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
                self.phase[k] = Phase::Saving {
                    event,
                    raw: raw.clone(),
                };
                replica.forget_reply();
                replica
                    .restart_at(&Self::routine(&raw, self.stubs.save))
                    .or_stop()?;
                Ok(Arrival::Handled)
            }
        }
    }

    /// The core set `k`'s registers: it continues from them.
    pub(super) fn registers_set(&mut self, k: usize, regs: &RegisterFile) {
        self.set[k] = Some(regs.clone());
        if let Phase::Parked { .. } = self.phase[k] {
            self.phase[k] = Phase::Idle;
        }
    }

    /// `k`'s area was changed: it loads it before it runs on.
    pub(super) fn must_restore(&mut self, k: usize) {
        self.restore[k] = true;
    }

    /// The core stopped `k`: whatever routine it was in is abandoned.
    pub(super) fn stopped(&mut self, k: usize) {
        self.phase[k] = Phase::Idle;
    }

    /// The core answers `k` with `words`. Returns whether the capture did it.
    pub(super) fn reply(&mut self, replica: &Replica, words: &[u64]) -> Result<bool, Stop> {
        let k = replica.index;
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
                    regs.words_mut()[Arch::PC] -= ARCH.syscall_len();
                    (regs, Some(Words::from_slice(words).expect("message words")))
                }
                (None, _) => (
                    replica.registers().or_stop()?,
                    Some(Words::from_slice(words).expect("message words")),
                ),
            };
            self.go(replica, then, words)?;
            return Ok(true);
        }
        if let (None, Phase::Parked { resume }) = (set, phase) {
            // Parked at the routine's trap: back to the event's registers first.
            replica.set_registers(&resume).or_stop()?;
        }
        Ok(false)
    }

    /// The core lets `k` run from the registers it has (`start`) or from `regs` (`restart_at`):
    /// through the restore routine if its area changed. Returns whether the capture did it.
    pub(super) fn run(
        &mut self,
        replica: &Replica,
        regs: Option<&RegisterFile>,
    ) -> Result<bool, Stop> {
        let k = replica.index;
        self.phase[k] = Phase::Idle;
        let set = self.set[k].take();
        if !self.restore[k] && self.flip[k].is_none() {
            return Ok(false);
        }
        let then = match (regs, set) {
            (Some(regs), _) => regs.clone(),
            (None, Some(set)) => set,
            (None, None) => replica.registers().or_stop()?,
        };
        self.go(replica, then, None)?;
        Ok(true)
    }

    /// Sends `replica` through the routines before it continues from `then` (and makes its
    /// call again if `words` answer it): the restore routine if its area changed, save, flip
    /// and restore for a pending injection.
    fn go(
        &mut self,
        replica: &Replica,
        then: RegisterFile,
        words: Option<Words>,
    ) -> Result<(), Stop> {
        let k = replica.index;
        let restore = core::mem::take(&mut self.restore[k]);
        let (entry, phase) = match self.flip[k].take() {
            // The area holds the state to load (a repair's, a rollback's): flipped there.
            Some((name, bit)) if restore => {
                name.flip(Self::area(replica)?, bit);
                (
                    self.stubs.restore,
                    Phase::Restoring {
                        then: then.clone(),
                        words,
                    },
                )
            }
            Some((name, bit)) => (
                self.stubs.save,
                Phase::Flipping {
                    name,
                    bit,
                    then: then.clone(),
                    words,
                },
            ),
            None => (
                self.stubs.restore,
                Phase::Restoring {
                    then: then.clone(),
                    words,
                },
            ),
        };
        replica.forget_reply();
        replica.restart_at(&Self::routine(&then, entry)).or_stop()?;
        self.phase[k] = phase;
        Ok(())
    }

    /// An injection at `k`'s event: the bit flipped in its area and in the event, and loaded
    /// into its registers before it runs on.
    pub(super) fn flip_at_event(
        &mut self,
        replica: &Replica,
        name: FpName,
        bit: u32,
        event: &mut Event,
    ) -> Result<(), Stop> {
        name.flip(Self::area(replica)?, bit);
        event.fp = Some(Self::state(replica)?);
        self.restore[replica.index] = true;
        Ok(())
    }

    /// A delayed injection into `k`: waiting at an event, the flip is loaded when it runs on;
    /// running, it is stopped and goes through both routines with the flip between them.
    pub(super) fn flip_now(
        &mut self,
        replica: &Replica,
        name: FpName,
        bit: u32,
        running: bool,
    ) -> Result<(), Stop> {
        let k = replica.index;
        if !running {
            self.flip[k] = Some((name, bit));
            return Ok(());
        }
        replica.stop().or_stop()?;
        let then = replica.registers().or_stop()?;
        replica
            .restart_at(&Self::routine(&then, self.stubs.save))
            .or_stop()?;
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
    pub(super) fn parked_registers(&mut self, k: usize) -> Option<&mut RegisterFile> {
        match &mut self.phase[k] {
            Phase::Parked { resume } => Some(resume),
            _ => None,
        }
    }
}
