//! Bounding how long replicas may lag behind each other at an event, and how long a group may go
//! without any event.
//!
//! The lag bound is armed when the first replica arrives at a point; if the others have not all
//! arrived `timeout` ticks later, the master decides with what it has: a strict majority of
//! agreeing replicas goes on and the late ones are repaired from it (and rejoin at the same
//! point). When only a minority arrived, the majority is still computing and the early ones are
//! the suspects (a flipped program counter jumps straight into a fault): the master waits on.
//! Otherwise the run stops as hung (DMR first rolls back once). The silence bound catches what the
//! lag bound cannot: a program that loops in every replica, so that none arrives.

use heapless::Vec;

use crate::rendezvous::Rendezvous;
use crate::vote::{MAX_REPLICAS, Verdict, vote};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watchdog {
    timeout: u64,
    armed_at: Option<u64>,
    silence: u64,
    /// When a replica last arrived at an event (or the group started).
    heard_at: u64,
}

/// Which bound passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Replicas are late at a point others reached `timeout` ago.
    Lag,
    /// No replica reached any event for `silence` ticks.
    Silence,
}

impl Watchdog {
    /// A watchdog of `timeout` counter ticks for the lag (0: never fires) and `silence` ticks
    /// without any event (0: never fires), from `now`.
    pub fn new(timeout: u64, silence: u64, now: u64) -> Self {
        Watchdog {
            timeout,
            armed_at: None,
            silence,
            heard_at: now,
        }
    }

    pub fn enabled(&self) -> bool {
        self.timeout > 0
    }

    /// Whether replicas wait at a point for others (and the watchdog is enabled).
    pub fn armed(&self) -> bool {
        self.enabled() && self.armed_at.is_some()
    }

    /// A replica arrived at the current point at `now`.
    pub fn on_arrival(&mut self, now: u64) {
        self.armed_at.get_or_insert(now);
        self.heard_at = now;
    }

    /// The master waits on at the current point: the lag bound starts again from `now`.
    pub fn wait_on(&mut self, now: u64) {
        if self.armed_at.is_some() {
            self.armed_at = Some(now);
        }
    }

    /// The point was decided: nothing to wait for.
    pub fn on_decision(&mut self) {
        self.armed_at = None;
    }

    /// Ticks since the first replica arrived at the current point.
    pub fn waited(&self, now: u64) -> Option<u64> {
        self.armed_at.map(|t| now.wrapping_sub(t))
    }

    /// Ticks since a replica last arrived at an event.
    pub fn silent_for(&self, now: u64) -> u64 {
        now.wrapping_sub(self.heard_at)
    }

    /// Which bound has passed at `now`, if any.
    pub fn expired(&self, now: u64) -> Option<Expiry> {
        if self.enabled()
            && self
                .armed_at
                .is_some_and(|t| now.wrapping_sub(t) > self.timeout)
        {
            return Some(Expiry::Lag);
        }
        (self.silence > 0 && self.silent_for(now) > self.silence).then_some(Expiry::Silence)
    }

    /// When the next bound passes: where a timer should wake the master.
    pub fn deadline(&self) -> Option<u64> {
        let lag = self
            .armed_at
            .filter(|_| self.enabled())
            .map(|t| t + self.timeout + 1);
        let silence = (self.silence > 0).then(|| self.heard_at + self.silence + 1);
        match (lag, silence) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// What to do about late replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Late {
    /// `leader`'s event has a strict majority among all N replicas: repair `late` from it.
    Rejoin {
        leader: usize,
        late: Vec<usize, MAX_REPLICAS>,
    },
    /// Only a minority arrived, of three or more: the majority is still on its way. Wait on.
    WaitOn { arrived: Vec<usize, MAX_REPLICAS> },
    /// No majority arrived (or those that did disagree): the run cannot go on.
    Hang { missing: Vec<usize, MAX_REPLICAS> },
}

/// Decides about the replicas missing from `rendezvous`.
pub fn decide(rendezvous: &Rendezvous) -> Late {
    let n = rendezvous.replicas();
    let missing: Vec<usize, MAX_REPLICAS> = rendezvous.missing().collect();
    let arrived: Vec<usize, MAX_REPLICAS> = (0..n).filter(|&i| rendezvous.arrived(i)).collect();
    if 2 * arrived.len() > n {
        let events: Vec<_, MAX_REPLICAS> = arrived
            .iter()
            .map(|&i| rendezvous.event(i).expect("arrived"))
            .collect();
        if let Verdict::Agree = vote(&events) {
            return Late::Rejoin {
                leader: arrived[0],
                late: missing,
            };
        }
    } else if n >= 3 && 2 * missing.len() > n {
        return Late::WaitOn { arrived };
    }
    Late::Hang { missing }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::sample;
    use crate::regs::Arch;

    #[test]
    fn fires_only_after_the_timeout_from_the_first_arrival() {
        let mut w = Watchdog::new(100, 0, 0);
        assert_eq!(w.expired(1_000), None);
        assert!(!w.armed());
        assert_eq!(w.deadline(), None);
        w.on_arrival(1_000);
        w.on_arrival(1_050);
        assert!(w.armed());
        assert_eq!(w.deadline(), Some(1_101));
        assert_eq!(w.expired(1_100), None);
        assert_eq!(w.expired(1_101), Some(Expiry::Lag));
        assert_eq!(w.waited(1_101), Some(101));
        w.on_decision();
        assert_eq!(w.expired(5_000), None);
        assert_eq!(w.deadline(), None);
        let off = Watchdog::new(0, 0, 0);
        assert!(!off.enabled());
    }

    #[test]
    fn silence_fires_when_no_replica_arrives_anywhere() {
        let mut w = Watchdog::new(0, 500, 1_000);
        assert_eq!(w.deadline(), Some(1_501));
        assert_eq!(w.expired(1_500), None);
        assert_eq!(w.expired(1_501), Some(Expiry::Silence));
        // Any arrival is progress.
        w.on_arrival(1_400);
        assert_eq!(w.expired(1_501), None);
        assert_eq!(w.silent_for(1_501), 101);
        // With both bounds, the earlier deadline wakes the master; the lag bound is reported
        // first when both passed.
        let mut both = Watchdog::new(100, 500, 0);
        both.on_arrival(50);
        assert_eq!(both.deadline(), Some(151));
        assert_eq!(both.expired(10_000), Some(Expiry::Lag));
    }

    #[test]
    fn a_majority_goes_on_and_the_late_replica_rejoins() {
        let e = sample(Arch::Aarch64);
        let mut r = Rendezvous::new(3);
        r.arrive(0, e.clone()).unwrap();
        r.arrive(2, e.clone()).unwrap();
        assert_eq!(
            decide(&r),
            Late::Rejoin {
                leader: 0,
                late: Vec::from_slice(&[1]).unwrap()
            }
        );
    }

    #[test]
    fn without_a_majority_it_is_a_hang() {
        let e = sample(Arch::X86_64);
        let mut dmr = Rendezvous::new(2);
        dmr.arrive(0, e.clone()).unwrap();
        assert_eq!(
            decide(&dmr),
            Late::Hang {
                missing: Vec::from_slice(&[1]).unwrap()
            }
        );

        // Two arrived but disagree: no majority to trust.
        let mut other = e.clone();
        other.regs.words_mut()[3] ^= 1;
        let mut tmr = Rendezvous::new(3);
        tmr.arrive(0, e).unwrap();
        tmr.arrive(1, other).unwrap();
        assert!(matches!(decide(&tmr), Late::Hang { .. }));
    }

    #[test]
    fn a_minority_that_arrived_early_waits_for_the_majority() {
        // A flipped pc sends a replica straight into a fault, long before the others' next
        // event: they are the majority, still computing.
        let mut r = Rendezvous::new(3);
        r.arrive(2, sample(Arch::Aarch64)).unwrap();
        assert_eq!(
            decide(&r),
            Late::WaitOn {
                arrived: Vec::from_slice(&[2]).unwrap()
            }
        );
        let mut w = Watchdog::new(100, 0, 0);
        w.on_arrival(1_000);
        assert_eq!(w.expired(1_101), Some(Expiry::Lag));
        w.wait_on(1_101);
        assert_eq!(w.expired(1_150), None);
        assert_eq!(w.deadline(), Some(1_202));
    }
}
