//! Properties of the core over generated inputs.

mod common;

use common::*;
use proptest::prelude::*;
use romain_abi::{Call, region};
use romain_core::event::{Event, EventKind, Words};
use romain_core::regs::RegisterFile;
use romain_memory::Tracking;
use romain_protocol::Input;

/// Replica `k`'s event at one point: the shared base event, perturbed in a register, a word or
/// its kind when `flip` says so.
fn event(base: &[u64], kind: EventKind, words: &[u64], flip: Option<(u8, u8)>) -> Event {
    let mut regs = base.to_vec();
    let mut words = Words::from_slice(words).unwrap();
    let mut kind = kind;
    match flip {
        Some((0, bit)) => regs[3 + (bit as usize % 30)] ^= 1 << (bit % 64),
        Some((1, bit)) => {
            let _ = words.push(bit as u64);
        }
        Some((2, _)) => kind = EventKind::Call(Call::Random),
        _ => {}
    }
    Event::new(kind, words, RegisterFile::new(ARCH, &regs).unwrap())
}

fn kind_of(choice: u8) -> (EventKind, Vec<u64>) {
    match choice % 5 {
        0 => (EventKind::Call(Call::Yield), vec![]),
        1 => (WRITE, write_words("abc")),
        2 => (EventKind::Call(Call::Time), vec![]),
        3 => (EventKind::UnknownCall { label: 0x55 }, vec![9]),
        _ => (EventKind::Call(Call::Grow), vec![4096]),
    }
}

proptest! {
    /// Whatever order the replicas of a point arrive in, the core does the same: the same
    /// effects in the same order, the same summary, the same result.
    #[test]
    fn the_outcome_does_not_depend_on_the_order_of_arrival(
        n in 2usize..=5,
        dmr in any::<bool>(),
        choice in any::<u8>(),
        flips in proptest::collection::vec(proptest::option::weighted(0.3, (0u8..3, any::<u8>())), 5),
        order in Just(()).prop_perturb(|_, mut rng| {
            let mut v: Vec<usize> = (0..5).collect();
            for i in (1..v.len()).rev() {
                v.swap(i, (rng.next_u32() as usize) % (i + 1));
            }
            v
        }),
    ) {
        let n = if dmr { 2 } else { n };
        let tracking = if dmr { Tracking::Checkpoints } else { Tracking::Writes };
        let (kind, words) = kind_of(choice);
        let base = FakeKernel::new(n).replicas[0].regs.clone();
        let events: Vec<Event> = (0..n).map(|k| event(&base, kind, &words, flips[k])).collect();
        let run = |order: &[usize]| {
            let mut rig = Rig::new(n, tracking);
            let mut results = Vec::new();
            for &k in order {
                results.push(rig.step(Input::Arrival { replica: k, event: events[k].clone() }));
            }
            let last = results.pop().unwrap();
            assert!(results.iter().all(|r| r.is_ok()), "only the last arrival decides");
            (last, rig.kernel.effects, rig.kernel.out, rig.summary.to_string())
        };
        let in_order: Vec<usize> = (0..n).collect();
        let shuffled: Vec<usize> = order.into_iter().filter(|&k| k < n).collect();
        prop_assert_eq!(run(&in_order), run(&shuffled));
    }

    /// No sequence of inputs makes the core panic: any replica index, kind, words, time, ring.
    #[test]
    fn no_input_sequence_panics(
        n in 1usize..=4,
        tracking in prop_oneof![Just(Tracking::Off), Just(Tracking::Writes), Just(Tracking::Checkpoints), Just(Tracking::Snapshots)],
        shared in any::<bool>(),
        inputs in proptest::collection::vec((0u8..6, 0usize..6, any::<u8>(), any::<u64>(), proptest::collection::vec(any::<u64>(), 0..6)), 0..60),
    ) {
        let mut rig = Rig::with(config(n, tracking, shared), None);
        for (what, k, choice, x, words) in inputs {
            let input = match what {
                0..=2 => {
                    let kind = match choice % 9 {
                        0 => EventKind::from_call_label(x % 40),
                        1 => EventKind::VmFault { addr: SHARED.start + x % 0x8000, fsr: x, prefetch: false },
                        2 => EventKind::VmFault { addr: x, fsr: 0, prefetch: true },
                        3 => EventKind::CapFault { addr: x },
                        4 => EventKind::UserException { number: x, code: 1 },
                        5 => EventKind::Call(Call::Wait),
                        6 => EventKind::Call(Call::Write),
                        7 => EventKind::Call(Call::Exit),
                        _ => EventKind::UnknownCall { label: x },
                    };
                    let mut words = words;
                    if choice & 0x80 != 0 {
                        words.insert(0, region::DEVICE);
                    }
                    let mut regs = FakeKernel::new(1).replicas[0].regs.clone();
                    let at = (x % regs.len() as u64) as usize;
                    regs[at] ^= (choice as u64) << 3;
                    let event = Event::new(kind, Words::from_slice(&words).unwrap(), RegisterFile::new(ARCH, &regs).unwrap());
                    Input::Arrival { replica: k, event }
                }
                3 => { rig.kernel.now += x % (2 * SILENCE); Input::Tick }
                4 => Input::Doorbell,
                _ => Input::CompanionGone,
            };
            if rig.step(input).is_err() {
                break; // the shell ends the group here
            }
        }
    }
}
