//! The seam for what an agreed call means: the native call ABI today, the Linux one next.

use romain_core::event::{Event, Words};
use romain_core::summary::Summary;

use crate::shell::{Shell, Stop};

/// What the group does after a personality performed an agreed event.
// Made once per event and consumed at once: no reason to allocate for the words.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Answer every replica with these message words (MR0 is the result) and let them run on.
    Reply(Words),
    /// The group is over (exit, or a fault of the program).
    End,
    /// Answered later (a wait for the companion's doorbell).
    Hold,
}

/// The group's link to its companion component, as calls see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    /// The shared region (base, length), if the group has a companion.
    pub region: Option<(u64, u64)>,
    /// The companion rang since the replicas last waited.
    pub rung: bool,
    /// The companion exited or was stopped.
    pub done: bool,
}

/// What a personality may use while it performs a call.
pub struct Calls<'a, 's, S> {
    pub shell: &'a mut S,
    pub summary: &'a mut Summary<'s>,
    pub device: &'a mut Device,
    pub replicas: usize,
    pub counter_hz: u64,
}

/// A call ABI: decodes an agreed event and performs it once for all replicas.
pub trait Personality {
    fn perform<S: Shell>(&mut self, event: &Event, calls: Calls<'_, '_, S>) -> Action;

    /// After the program ended (and the companion finished): whether the run failed after all.
    fn finish(&self, _summary: &Summary<'_>) -> Result<(), Stop> {
        Ok(())
    }
}
