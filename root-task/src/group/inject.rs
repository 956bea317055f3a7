//! Applying a fault injection to a replica. The core decides when (at which replica's event, or
//! when a delay passed); this flips the bit.

use alloc::string::String;
use alloc::vec::Vec;

use romain_core::event::Event;
use romain_core::inject::{Injection, Target};
use romain_core::summary::{Status, Summary};
use romain_image::{self as image, PAGE_SIZE};
use romain_plan::Mode;
use romain_protocol::{Injected, Stop};

use super::OrStop;
use super::access::{code_at, page_of, patch_code};
use super::machine::reply_to_caller;
use crate::arch::ARCH;

use crate::memory::Frame;
use crate::replica::Replica;

/// How long a corrupted-result injection waits before it tries again (also while its replica
/// waits at an event).
pub(super) const RESULT_RETRY_US: u64 = 250;

/// An injection still to happen, with its address resolved.
pub(super) struct Pending {
    pub at: Injection<'static>,
    /// For memory injections: the address of the word.
    pub addr: u64,
}

impl Pending {
    /// The injection checked against the group and its address resolved
    /// (`romain_core::inject::Injection::resolve` decides).
    pub(super) fn new(at: Injection<'static>, image: &[u8], mode: Mode) -> Result<Pending, Stop> {
        let addr = at
            .resolve(mode.replicas, |name| image::symbol_address(image, name))
            .map_err(|why| Stop(Status::BadPlan, why))?;
        Ok(Pending { at, addr })
    }
}

/// A corrupted-result injection underway: a breakpoint after the instruction the replica was
/// stopped at, in its private code; when the replica traps there, the instruction has run, and
/// the register it wrote gets its bit flipped.
pub(super) struct ResultTrap {
    pub replica: usize,
    /// The breakpoint's address (the next instruction's) and the code it replaced.
    addr: u64,
    saved: heapless::Vec<u8, 4>,
    /// Register-file index of the instruction's result, and the bit to flip.
    register: usize,
    bit: u32,
    pc: u64,
    ticks: u64,
}

impl ResultTrap {
    /// Writes the breakpoint after the instruction at `pc`, if that instruction writes a
    /// register and the breakpoint fits in the same page.
    fn plant(replica: &Replica, pc: u64, bit: u32, ticks: u64) -> Option<ResultTrap> {
        let code = code_at(replica, pc).ok()?;
        let (register, bits, len) = romain_cae::execute::result_register(ARCH, &code)?;
        let addr = pc + len;
        let saved = patch_code(replica, addr, ARCH.trap_instruction())?;
        Some(ResultTrap {
            replica: replica.index,
            addr,
            saved,
            register,
            bit: bit % bits,
            pc,
            ticks,
        })
    }

    /// `replica` trapped: if at the breakpoint, restores the code, flips the result and lets the
    /// replica go on with the next instruction. Returns whether it was the breakpoint.
    pub(super) fn fire(&self, replica: &Replica, summary: &mut Summary<'_>) -> Result<bool, Stop> {
        let mut regs = replica.registers().or_stop()?;
        if regs.pc() != self.addr {
            return Ok(false);
        }
        if patch_code(replica, self.addr, &self.saved).is_none() {
            return Ok(false);
        }
        regs.words_mut()[self.register] ^= 1u64 << self.bit;
        replica.set_registers(&regs).or_stop()?;
        // The empty reply restarts the replica at its pc: the original next instruction.
        reply_to_caller(&[]);
        summary.set_injected(format_args!(
            "replica {} after {} ticks: result of the instruction at {:#x}, register {} bit {}",
            self.replica,
            self.ticks,
            self.pc,
            ARCH.register_names()[self.register],
            self.bit
        ));
        log::warn!("injected: {}", summary.injected.as_deref().unwrap_or(""));
        Ok(true)
    }
}

/// Applies a delayed injection: the replica is stopped wherever it is (unless it waits at an
/// event already), flipped and let go on. A corrupted-result injection instead plants its
/// breakpoint; it is tried again when the replica is at no instruction with a register result.
pub(super) fn now(
    replica: &Replica,
    at: &Injection<'static>,
    running: bool,
    trap: &mut Option<ResultTrap>,
) -> Result<(Injected, Option<String>), Stop> {
    match at.target {
        Target::Register { index } => {
            if running {
                replica.stop().or_stop()?;
            }
            let mut regs = replica.registers().or_stop()?;
            regs.words_mut()[index] ^= 1u64 << at.bit;
            replica.set_registers(&regs).or_stop()?;
            if running {
                replica.start().or_stop()?;
            }
            let text = alloc::format!(
                "replica {} after {} ticks register {} bit {}",
                replica.index,
                at.delay.unwrap_or(0),
                ARCH.register_names()[index],
                at.bit
            );
            Ok((Injected::Applied, Some(text)))
        }
        Target::Result => {
            if !running {
                // Waiting at an event: the injection is due in computation, later.
                return Ok((Injected::Retry { counted: false }, None));
            }
            replica.stop().or_stop()?;
            let pc = replica.registers().or_stop()?.pc();
            let planted = ResultTrap::plant(replica, pc, at.bit, at.delay.unwrap_or(0));
            replica.start().or_stop()?;
            match planted {
                Some(planted) => {
                    *trap = Some(planted);
                    Ok((Injected::Applied, None))
                }
                None => Ok((Injected::Retry { counted: true }, None)),
            }
        }
        _ => Ok((Injected::Applied, None)),
    }
}

/// Applies the injection to `replica`, which just arrived at the injection's `event`.
/// `addr` is a memory injection's resolved address ([`Pending::addr`]).
pub(super) fn at_event(
    replica: &Replica,
    at: &Injection<'static>,
    addr: u64,
    event: &mut Event,
) -> Result<(Injected, Option<String>), Stop> {
    let mask = 1u64 << at.bit;
    let text = match at.target {
        // Timed, not at an event: see `now`; FP/SIMD registers: the capture's (`super::fp`).
        Target::Result | Target::Fp { .. } => return Ok((Injected::Applied, None)),
        Target::Hang => {
            // Its system call becomes a jump to itself, and it runs on into it.
            let pc = event.regs.pc();
            patch_code(replica, pc, ARCH.spin_instruction()).ok_or_else(|| {
                Stop(
                    Status::BadPlan,
                    alloc::format!("cannot patch code at {pc:#x}"),
                )
            })?;
            replica.forget_reply();
            replica.restart_at(&event.regs).or_stop()?;
            let text = alloc::format!("replica {} event {} hang", replica.index, at.event);
            return Ok((Injected::Lost, Some(text)));
        }
        Target::Register { index } => {
            event.regs.words_mut()[index] ^= mask;
            replica.set_registers(&event.resume_registers()).or_stop()?;
            let name = ARCH.register_names()[index];
            alloc::format!(
                "replica {} event {} register {name} bit {}",
                replica.index,
                at.event,
                at.bit
            )
        }
        Target::Word { code, choice } => {
            let (vaddr, frame) = {
                let space = replica.space.borrow();
                let pages: Vec<(u64, Frame)> = space
                    .pages()
                    .filter(|(_, p)| p.writable != code)
                    .map(|(v, p)| (v, p.frame))
                    .collect();
                if pages.is_empty() {
                    return Err(Stop(Status::BadPlan, "no such pages to flip in".into()));
                }
                pages[(choice % pages.len() as u64) as usize]
            };
            let words = (PAGE_SIZE / 8) as usize;
            let offset = 8 * ((choice >> 32) as usize % words);
            // SAFETY: the one reference to the page while the replica is stopped.
            flip(unsafe { &mut frame.bytes()[offset..offset + 8] }, mask);
            alloc::format!(
                "replica {} event {} {} word {:#x} bit {}",
                replica.index,
                at.event,
                if code { "code" } else { "data" },
                vaddr + offset as u64,
                at.bit
            )
        }
        Target::Memory { .. } => {
            let word = addr & !7;
            let (vaddr, frame) = page_of(replica, word).ok_or_else(|| {
                Stop(
                    Status::BadPlan,
                    alloc::format!("{word:#x} is not in the replica's memory (yet)"),
                )
            })?;
            let offset = (word - vaddr) as usize;
            // SAFETY: the one reference to the page while the replica is stopped.
            flip(unsafe { &mut frame.bytes()[offset..offset + 8] }, mask);
            alloc::format!(
                "replica {} event {} memory {word:#x} bit {}",
                replica.index,
                at.event,
                at.bit
            )
        }
    };
    Ok((Injected::Applied, Some(text)))
}

fn flip(bytes: &mut [u8], mask: u64) {
    let flipped = u64::from_le_bytes(bytes.try_into().expect("8 bytes")) ^ mask;
    bytes.copy_from_slice(&flipped.to_le_bytes());
}
