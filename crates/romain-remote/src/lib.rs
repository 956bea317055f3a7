//! The Linux personality as a component of its own.
//!
//! The master must not fall whatever a program does, so a Linux group's personality (its files,
//! descriptors, mappings and buffers, and every call's handler) runs in a component the master
//! makes for the group: its own address space, capability space and memory quota, destroyed with
//! the group. The master keeps what it must decide itself (which event is a call, the hash of
//! what a call passes), sends the component each agreed call and applies what it answers. While
//! the component works, it asks the master for what only the master can do: read the leading
//! replica's memory, write every replica's, grow their heaps, map lazy memory. Its output goes
//! with its next message, in an effects log the master applies in order.
//!
//! - [`wire`]: the messages (message registers) and the exchange buffer's layout;
//! - [`outbox`]: the effects log (output, line ends, doorbells, log lines);
//! - [`prefetch`]: what a call passes by reference, sent with the call;
//! - [`proxy`]: the master's side, a [`romain_protocol::Personality`] that talks to the component
//!   through [`romain_protocol::World::exchange`];
//! - [`remote`]: the component's side, a [`romain_protocol::World`] whose operations are messages
//!   to the master;
//! - [`server`]: the component's loop: set up the personality, perform calls.
//!
//! Everything here runs on the host: `tests/` drives a group through the proxy and a component
//! in a thread of its own.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod outbox;
pub mod prefetch;
pub mod proxy;
pub mod remote;
pub mod server;
pub mod wire;

/// The exchange buffer, as one side sees it: shared memory in the master and in the component,
/// a locked vector in the host tests.
pub trait Buffer {
    fn with<R>(&mut self, f: impl FnOnce(&mut [u8]) -> R) -> R;
}

impl Buffer for &mut [u8] {
    fn with<R>(&mut self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        f(self)
    }
}
