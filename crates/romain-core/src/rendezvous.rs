//! Collecting the N replicas' events for the same externalization point.
//!
//! Each replica stops at its next event and waits there (blocked in the kernel) until the master
//! has the events of all replicas; then the master decides once and releases them together.

use heapless::Vec;

use crate::event::Event;
use crate::vote::MAX_REPLICAS;

/// Why the master could not accept an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RendezvousError {
    /// The replica index is not in this group.
    NoSuchReplica(usize),
    /// The replica already delivered an event for this point: it cannot be blocked, so the
    /// message cannot be from the kernel on its behalf.
    Twice(usize),
}

/// Events of one point, by replica.
#[derive(Debug, Clone)]
pub struct Rendezvous {
    slots: Vec<Option<Event>, MAX_REPLICAS>,
}

impl Rendezvous {
    pub fn new(replicas: usize) -> Self {
        assert!((1..=MAX_REPLICAS).contains(&replicas));
        let mut slots = Vec::new();
        slots.resize(replicas, None).expect("at most MAX_REPLICAS");
        Self { slots }
    }

    pub fn replicas(&self) -> usize {
        self.slots.len()
    }

    /// Records `event` of `replica`. Returns whether every replica has now arrived.
    pub fn arrive(&mut self, replica: usize, event: Event) -> Result<bool, RendezvousError> {
        let slot = self
            .slots
            .get_mut(replica)
            .ok_or(RendezvousError::NoSuchReplica(replica))?;
        if slot.is_some() {
            return Err(RendezvousError::Twice(replica));
        }
        *slot = Some(event);
        Ok(self.complete())
    }

    pub fn complete(&self) -> bool {
        self.slots.iter().all(Option::is_some)
    }

    pub fn arrived(&self, replica: usize) -> bool {
        matches!(self.slots.get(replica), Some(Some(_)))
    }

    /// Replicas still missing.
    pub fn missing(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_none())
            .map(|(i, _)| i)
    }

    /// The events in replica order, once complete.
    pub fn events(&self) -> Option<Vec<&Event, MAX_REPLICAS>> {
        self.slots.iter().map(Option::as_ref).collect()
    }

    pub fn event(&self, replica: usize) -> Option<&Event> {
        self.slots.get(replica)?.as_ref()
    }

    /// Empties every slot for the next point.
    pub fn reset(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::sample;
    use crate::regs::Arch;

    #[test]
    fn completes_when_every_replica_arrived_in_any_order() {
        let e = sample(Arch::Aarch64);
        let mut r = Rendezvous::new(3);
        assert_eq!(r.arrive(2, e.clone()), Ok(false));
        assert_eq!(r.missing().collect::<std::vec::Vec<_>>(), [0, 1]);
        assert!(r.events().is_none());
        assert_eq!(r.arrive(0, e.clone()), Ok(false));
        assert_eq!(r.arrive(1, e.clone()), Ok(true));
        assert_eq!(r.events().unwrap().len(), 3);
        r.reset();
        assert!(!r.arrived(0) && !r.complete());
    }

    #[test]
    fn rejects_unknown_and_repeated_replicas() {
        let e = sample(Arch::X86_64);
        let mut r = Rendezvous::new(2);
        assert_eq!(
            r.arrive(2, e.clone()),
            Err(RendezvousError::NoSuchReplica(2))
        );
        r.arrive(1, e.clone()).unwrap();
        assert_eq!(r.arrive(1, e), Err(RendezvousError::Twice(1)));
    }
}
