//! Kernel-independent logic of the Romain master.
//!
//! The seL4-facing master (`root-task/`) turns what the kernel tells it into the types here and
//! asks this crate what to do; everything here builds and is tested on the host.
//!
//! - [`regs`]: the replica register file of each architecture, with names.
//! - [`event`]: one replica's externalization event (call, fault, exit) as the master saw it.
//! - [`fp`]: a replica's FP/SIMD state: the routines that store and load it, names, comparison.
//! - [`vote`]: full comparison of the N replicas' events and the majority decision.
//! - [`message`]: checking every message on the endpoint (label, exact length, capabilities) before it is parsed.
//! - [`proxy`]: checking and decoding replica call arguments.
//! - [`rendezvous`]: collecting the N replicas' events for the same point.
//! - [`inject`]: fault injection specs (one bit flip in one replica).
//! - [`summary`]: the `ROMAIN-SUMMARY {json}` result line.
//! - [`watchdog`]: bounding how long replicas may lag at an event.
//! - [`budget`]: bounding how many events and how long a whole run may take.
//!
//! Beside it: `romain-image` (ELF images laid out in pages), `romain-memory` (a replica's pages:
//! tracking, checkpoints, repair), `romain-plan` (run plans and campaign draws).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod budget;
pub mod event;
pub mod fp;
pub mod inject;
pub mod message;
pub mod proxy;
pub mod random;
pub mod regs;
pub mod rendezvous;
pub mod summary;
pub mod vote;
pub mod watchdog;

/// The page size of both architectures here.
pub const PAGE_SIZE: u64 = 4096;
