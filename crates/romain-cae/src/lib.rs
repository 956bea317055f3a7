//! Copy & execute, the kernel-independent part.
//!
//! Replicas do not map memory shared with the outside world: every access to it faults to the
//! master, which, once the replicas agree on the fault, runs the faulting instruction once, in
//! a sandbox that maps the shared region at the replicas' own addresses, with the replicas'
//! register values, and gives every replica the resulting registers. Nothing is rebased: the
//! instruction accesses the addresses the replicas computed. This crate's decoders decide what
//! may run that way, which bytes it accesses (for the master to check against the region) and
//! which registers it may write (for the sandbox to check the run against):
//!
//! - [`x86`]: decoding with `iced-x86` (length, memory operand, registers read and written) of
//!   plain accesses ([`x86::Access`]) and string instructions ([`x86::StringOp`]: `rep movs`
//!   and kin). A string instruction is planned in chunks that stay inside the region, or, for
//!   an operand in the replica's own memory, inside a bounce buffer the master copies that
//!   memory through: [`x86::StringOp::rebase`] sets rcx to the chunk and moves rsi or rdi onto
//!   the bounce buffer's address, [`x86::StringOp::result`] gives the replica's registers
//!   after the chunk.
//! - [`aarch64`]: decoding the A64 load/store classes, and exclusive blocks
//!   ([`aarch64::Block`]: a load-exclusive, register-only instructions, its store-exclusive),
//!   which run at once so that the store-exclusive finds the monitor its load armed.
//!
//! Anything not supported gets an error naming the instruction bytes, never a guess: the
//! decoders refuse what they cannot fully describe. What they accept comes with the set of
//! registers it may write (`writes()`: [`x86::Access::writes`], [`x86::StringOp::writes`],
//! [`aarch64::Block::writes`]), exact or larger, never sp/rsp. Some refusals still give
//! rebasing as their reason: they date from the master that rebased accesses onto its own
//! mapping, and are kept until they are reviewed (see the modules).
//!
//! The host tests compare both decoders with independent ones (iced-x86's instruction
//! information and the processor itself for x86_64, yaxpeax-arm and GNU objdump for A64) over
//! large fixed sets of encodings. To run accepted instructions on the host they have an
//! executor of their own, in `tests/common/executor.rs`, which rebases the access onto a host
//! buffer: a test device, not what the master does.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod aarch64;
pub mod execute;
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
