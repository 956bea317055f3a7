//! Copy & execute, the kernel-independent part.
//!
//! Replicas do not map memory shared with the outside world: every access to it faults to the
//! master, which, once the replicas agree on the fault, executes the faulting instruction itself,
//! once, against its own mapping of the shared region, with the replicas' register values, and
//! gives every replica the resulting registers. This crate decides whether and how an instruction
//! can be executed that way:
//!
//! - [`x86`]: decoding with `iced-x86` (length, memory operand, registers read and written),
//!   *rebasing* the memory operand from the replica's address onto the master's mapping by
//!   adjusting the base (or index) register, and an executor that runs the instruction with a
//!   given register file against memory, usable in the master and in host tests alike. String
//!   instructions (`rep movs` and kin) run in chunks that stay inside the region or inside a
//!   bounce buffer for the replicas' own memory ([`x86::StringOp`]).
//! - [`aarch64`]: decoding the A64 load/store classes, rebasing the base register (with
//!   write-back), and the executor's code, which re-arms exclusive monitors.
//!
//! Anything not supported gets an error naming the instruction bytes, never a guess: the
//! decoders refuse what they cannot fully describe. What they accept comes with the set of
//! registers it may write (`writes()`: [`x86::Access::writes`], [`x86::StringOp::writes`],
//! [`aarch64::Block::writes`]), exact or larger, never sp/rsp, for a sandbox to check the
//! executed instruction against. The host tests compare both decoders with independent ones
//! (iced-x86's instruction information and the processor itself for x86_64, yaxpeax-arm and GNU
//! objdump for A64) over large fixed sets of encodings.
#![cfg_attr(not(test), no_std)]

pub mod aarch64;
pub mod x86;

use core::fmt;

/// Why an instruction cannot be copied and executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsupported {
    /// The bytes do not decode.
    Invalid { bytes: [u8; 15], len: usize },
    /// It decodes, but is not an access this executor handles (the reason says why).
    Instruction {
        bytes: [u8; 15],
        len: usize,
        reason: &'static str,
    },
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (bytes, len, reason) = match self {
            Unsupported::Invalid { bytes, len } => (bytes, *len, "not a valid instruction"),
            Unsupported::Instruction { bytes, len, reason } => (bytes, *len, *reason),
        };
        f.write_str("instruction")?;
        for b in &bytes[..len] {
            write!(f, " {b:02x}")?;
        }
        write!(f, ": {reason}")
    }
}
