//! Full comparison of the N replicas' events at one point, and the majority decision.

use heapless::Vec;

use crate::event::{Difference, Event};

/// Most replicas in one group.
pub const MAX_REPLICAS: usize = 8;

/// The name of a replication mode of `replicas` replicas (as plans and summaries write it).
pub fn mode_name(replicas: usize) -> &'static str {
    match replicas {
        1 => "none",
        2 => "dmr",
        3 => "tmr",
        _ => "nmr",
    }
}

/// What the replicas' events at one point say.
// One verdict lives briefly on the stack per event; boxing would need an allocator in no_std.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every replica's event is identical to the bit.
    Agree,
    /// A strict majority agrees with replica `leader`; each of `outvoted` differs from it as given.
    Majority {
        leader: usize,
        outvoted: Vec<(usize, Difference), MAX_REPLICAS>,
    },
    /// No strict majority (a DMR mismatch or a split vote): replicas `a` and `b` differ, first in
    /// `first`.
    NoMajority {
        a: usize,
        b: usize,
        first: Difference,
    },
}

impl Verdict {
    pub fn agrees(&self) -> bool {
        matches!(self, Verdict::Agree)
    }
}

/// Compares every event with every other and decides.
///
/// Panics if `events` is empty or holds more than [`MAX_REPLICAS`] events (the master never
/// builds such a group).
pub fn vote(events: &[&Event]) -> Verdict {
    assert!(!events.is_empty() && events.len() <= MAX_REPLICAS);
    let n = events.len();
    if events.iter().all(|e| e.difference(events[0]).is_none()) {
        return Verdict::Agree;
    }
    // The candidate with the most agreeing replicas; lowest index wins ties (there are none with
    // a strict majority).
    for leader in 0..n {
        let agreeing = events
            .iter()
            .filter(|e| e.difference(events[leader]).is_none())
            .count();
        if 2 * agreeing > n {
            let outvoted = events
                .iter()
                .enumerate()
                .filter_map(|(i, e)| events[leader].difference(e).map(|d| (i, d)))
                .collect();
            return Verdict::Majority { leader, outvoted };
        }
    }
    let b = (1..n)
        .find(|&i| events[i].difference(events[0]).is_some())
        .unwrap_or(1);
    Verdict::NoMajority {
        a: 0,
        b,
        first: events[0].difference(events[b]).expect("events differ"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::sample;
    use crate::regs::Arch;

    fn flipped(e: &Event, reg: usize, bit: u32) -> Event {
        let mut e = e.clone();
        e.regs.words_mut()[reg] ^= 1 << bit;
        e
    }

    #[test]
    fn unreplicated_and_identical_groups_agree() {
        let e = sample(Arch::Aarch64);
        assert_eq!(vote(&[&e]), Verdict::Agree);
        assert_eq!(vote(&[&e, &e.clone(), &e.clone()]), Verdict::Agree);
    }

    #[test]
    fn tmr_outvotes_any_single_flipped_bit_in_any_replica() {
        for arch in [Arch::Aarch64, Arch::X86_64] {
            let good = sample(arch);
            for bad_replica in 0..3 {
                for reg in 0..arch.num_registers() {
                    for bit in [0, 17, 63] {
                        let bad = flipped(&good, reg, bit);
                        let mut es = [&good, &good, &good];
                        es[bad_replica] = &bad;
                        let Verdict::Majority { leader, outvoted } = vote(&es) else {
                            panic!("no majority for replica {bad_replica} reg {reg} bit {bit}");
                        };
                        assert_ne!(leader, bad_replica);
                        assert_eq!(outvoted.len(), 1);
                        assert_eq!(outvoted[0].0, bad_replica);
                        let Difference::Register(d) = outvoted[0].1 else {
                            panic!()
                        };
                        assert_eq!((d.index, d.xor), (reg, 1 << bit));
                    }
                }
            }
        }
    }

    #[test]
    fn dmr_mismatch_has_no_majority() {
        let good = sample(Arch::X86_64);
        let bad = flipped(&good, 0, 3);
        assert!(matches!(
            vote(&[&good, &bad]),
            Verdict::NoMajority { a: 0, b: 1, .. }
        ));
    }

    #[test]
    fn three_way_split_has_no_majority() {
        let a = sample(Arch::Aarch64);
        let b = flipped(&a, 4, 1);
        let c = flipped(&a, 5, 1);
        assert!(matches!(vote(&[&a, &b, &c]), Verdict::NoMajority { .. }));
    }

    #[test]
    fn five_replicas_outvote_two() {
        let a = sample(Arch::Aarch64);
        let b = flipped(&a, 7, 9);
        let c = flipped(&a, 8, 9);
        let Verdict::Majority { leader, outvoted } = vote(&[&b, &a, &a, &c, &a]) else {
            panic!()
        };
        assert_eq!(leader, 1);
        assert_eq!(
            outvoted.iter().map(|o| o.0).collect::<std::vec::Vec<_>>(),
            [0, 3]
        );
    }
}
