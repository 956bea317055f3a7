//! The replication protocol of one replica group, as a state machine without seL4.
//!
//! The master's seL4 shell (`root-task/`) receives a message, checks and translates it into an
//! [`Input`], and [`Group::step`]s the core. The core decides (who is outvoted, when to roll
//! back, what a rollback replays, when a late replica is a hang, when an access is copied and
//! executed, what a doorbell answers) and acts only through the [`Shell`] trait: the effects the
//! shell applies with seL4 invocations. What an agreed call means is a [`Personality`]'s
//! business: [`native`] here, the Linux one in `romain-linux`.
//!
//! Everything here runs on the host against fakes (`tests/`).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod capture;
pub mod captured;
mod group;
pub mod native;
mod personality;
pub mod schedule;
pub mod settings;
mod shell;
pub mod thread;

pub use group::{Config, Flow, Group, Input, RESULT_ATTEMPTS};
pub use personality::{Action, CallScope, Device, Personality, program_fault};
pub use shell::{BadAddress, Executed, Injected, OverQuota, Shell, Stop, World};
pub use thread::{ThreadCall, ThreadOp, ThreadView};
