//! The threads of a replica in the core: the serial schedule, the switch effects, futex waits
//! and wakes, timeouts on the replicated clock, deadlock and livelock, a vote and a rollback in
//! a thread that is not the first, and a property: whatever order the replicas arrive in, the
//! schedule and every effect are the same.
//!
//! A scripted personality stands for the ABI: the n-th agreed call of the group is the n-th
//! operation of its script, whichever thread makes it.

mod common;

use common::*;
use proptest::prelude::*;
use romain_core::event::Event;
use romain_core::summary::{Status, Summary};
use romain_memory::Tracking;
use romain_protocol::{
    Action, CallScope, Config, Flow, Group, Input, Personality, Stop, ThreadCall, ThreadOp, World,
    thread::Then,
};

/// Where a thread starts (thread t at `START + t * 0x1000`).
const START: u64 = 0x50_0000;
/// The result register (x0 on aarch64).
const RESULT: usize = 3;
const TIMED_OUT: u64 = 110;
const MS: u64 = HZ / 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Plain,
    Spawn,
    /// A thread other than the first ends, waking one waiter on each word.
    Exit(&'static [u64]),
    Wait {
        addr: u64,
        timeout: Option<u64>,
    },
    Wake {
        addr: u64,
        count: u32,
    },
    Requeue {
        from: u64,
        to: u64,
    },
    Yield,
    Sleep(u64),
}

/// The ABI of the tests: the group's calls, in order.
struct Script {
    ops: Vec<Op>,
    next: usize,
}

impl Personality for Script {
    fn perform<W: World>(&mut self, event: &Event, cx: CallScope<'_, '_, W>) -> Action {
        let Some(&op) = self.ops.get(self.next) else {
            cx.summary.exit_code = Some(0);
            return Action::End;
        };
        self.next += 1;
        let mut regs = event.regs.clone();
        regs.words_mut()[0] += 4;
        let now = cx.shell.now();
        let thread = |op| {
            Action::Thread(ThreadCall {
                op,
                regs: regs.clone(),
                result: RESULT,
            })
        };
        match op {
            Op::Plain => Action::Resume(regs.clone()),
            Op::Spawn => match cx.threads.next {
                Some(t) => {
                    let mut child = regs.clone();
                    child.words_mut()[0] = START + 0x1000 * t as u64;
                    thread(ThreadOp::Spawn { child })
                }
                None => Action::Resume(regs.clone()),
            },
            Op::Exit(_) if cx.threads.current == 0 => Action::Resume(regs.clone()),
            Op::Exit(words) => thread(ThreadOp::Exit {
                wake: words.iter().copied().collect(),
                status: 0,
            }),
            Op::Wait { addr, timeout } => thread(ThreadOp::Wait {
                addr,
                bitset: u32::MAX,
                until: timeout.map(|d| now + d),
                timed_out: TIMED_OUT,
            }),
            Op::Wake { addr, count } => thread(ThreadOp::Wake {
                addr,
                bitset: u32::MAX,
                count,
                then: Then::Nothing,
            }),
            Op::Requeue { from, to } => thread(ThreadOp::Wake {
                addr: from,
                bitset: u32::MAX,
                count: 1,
                then: Then::Requeue {
                    to,
                    max: u32::MAX,
                    counted: true,
                },
            }),
            Op::Yield => thread(ThreadOp::Yield),
            Op::Sleep(d) => thread(ThreadOp::Sleep { until: now + d }),
        }
    }
}

struct ThreadRig {
    group: Group<Script>,
    kernel: FakeKernel,
    summary: Summary<'static>,
}

impl ThreadRig {
    fn new(n: usize, tracking: Tracking, ops: &[Op]) -> ThreadRig {
        ThreadRig::with(config(n, tracking, false), ops)
    }

    fn with(config: Config, ops: &[Op]) -> ThreadRig {
        let n = config.replicas;
        let kernel = FakeKernel::new(n);
        let entry = kernel.replicas[0].registers();
        let script = Script {
            ops: ops.to_vec(),
            next: 0,
        };
        ThreadRig {
            group: Group::new(config, script, entry, 0, None),
            kernel,
            summary: Summary::new("aarch64", "test", "tmr", n),
        }
    }

    /// Every replica arrives, in `order`, at its next call.
    fn point(&mut self, order: &[usize]) -> Result<Flow, Stop> {
        let mut flow = Flow::Continue;
        for &k in order {
            let event = self.kernel.event(k, YIELD, &[]);
            flow = self.group.step(
                Input::Arrival { replica: k, event },
                &mut self.kernel,
                &mut self.summary,
            )?;
        }
        Ok(flow)
    }

    fn all(&mut self) -> Result<Flow, Stop> {
        let order: Vec<usize> = (0..self.kernel.replicas.len()).collect();
        self.point(&order)
    }

    /// The thread every replica runs (they agree) and its pc.
    fn running(&self) -> (usize, u64) {
        let r = &self.kernel.replicas;
        assert!(
            r.iter()
                .all(|x| x.thread == r[0].thread && x.regs == r[0].regs)
        );
        (r[0].thread, r[0].regs[0])
    }

    fn result(&self) -> u64 {
        self.kernel.replicas[0].regs[RESULT]
    }
}

fn pc(t: usize) -> u64 {
    START + 0x1000 * t as u64
}

#[test]
fn a_wait_switches_every_replica_to_the_next_thread_and_a_wake_brings_it_back() {
    let a = 0x1000;
    let mut rig = ThreadRig::new(
        3,
        Tracking::Writes,
        &[
            Op::Spawn,
            Op::Wait {
                addr: a,
                timeout: None,
            },
            Op::Wake { addr: a, count: 1 },
            Op::Exit(&[]),
        ],
    );
    let entry = rig.running().1;
    rig.all().unwrap();
    assert_eq!(rig.running(), (0, entry + 4), "the creator goes on");
    assert!((0..3).all(|k| rig.kernel.effects.contains(&Effect::AddThread(k, 1))));
    rig.kernel.effects.clear();
    rig.all().unwrap();
    // Every replica's waiting thread stopped, the next selected, agreed there, restarted.
    let mut expected: Vec<Effect> = (0..3)
        .flat_map(|k| [Effect::Stop(k), Effect::Forget(k)])
        .collect();
    expected.extend((0..3).flat_map(|k| [Effect::Select(k, 1), Effect::Agree(k)]));
    expected.extend((0..3).map(|k| Effect::RestartAt(k, pc(1))));
    assert_eq!(rig.kernel.effects, expected);
    assert_eq!(rig.running(), (1, pc(1)));
    // Thread 1 wakes one: it goes on with 1; then it exits and thread 0 runs on with 0.
    rig.all().unwrap();
    assert_eq!((rig.running(), rig.result()), ((1, pc(1) + 4), 1));
    rig.all().unwrap();
    assert_eq!((rig.running(), rig.result()), ((0, entry + 8), 0));
    assert_eq!(rig.all(), Ok(Flow::End));
    let t = &rig.summary.threads;
    assert_eq!(
        (t.threads, t.switches, t.events.as_slice()),
        (2, 2, &[3, 2][..])
    );
}

#[test]
fn timeouts_fire_earliest_first_on_the_replicated_clock_without_real_time() {
    let (a, b) = (0x1000, 0x2000);
    let mut rig = ThreadRig::new(
        2,
        Tracking::Writes,
        &[
            Op::Spawn,
            Op::Spawn,
            Op::Wait {
                addr: a,
                timeout: Some(10 * MS),
            }, // thread 0
            Op::Sleep(5 * MS), // thread 1
            Op::Wait {
                addr: b,
                timeout: None,
            }, // thread 2
            Op::Wait {
                addr: b,
                timeout: None,
            }, // thread 1, after its sleep
            Op::Wake { addr: b, count: 9 }, // thread 0, timed out
        ],
    );
    for _ in 0..4 {
        rig.all().unwrap();
    }
    assert_eq!(rig.running().0, 2);
    // Everyone waits: the sleeper (5 ms) runs first, then thread 0 times out at 10 ms.
    rig.all().unwrap();
    assert_eq!(rig.running(), (1, pc(1) + 4));
    rig.all().unwrap();
    assert_eq!((rig.running().0, rig.result()), (0, TIMED_OUT));
    assert_eq!(rig.kernel.now, 0, "no real time passed");
    rig.all().unwrap();
    assert_eq!(rig.result(), 2, "threads 1 and 2 woken");
    assert_eq!(rig.summary.status, Status::Ok);
}

#[test]
fn a_wait_that_times_out_gets_its_error_and_every_thread_waiting_for_ever_is_a_deadlock() {
    let (a, b) = (0x1000, 0x2000);
    let mut rig = ThreadRig::new(
        3,
        Tracking::Writes,
        &[
            Op::Spawn,
            Op::Wait {
                addr: a,
                timeout: Some(3 * MS),
            }, // thread 0: times out
            Op::Wait {
                addr: b,
                timeout: None,
            }, // thread 1
            Op::Wait {
                addr: a,
                timeout: None,
            }, // thread 0 again
        ],
    );
    rig.all().unwrap();
    rig.all().unwrap();
    assert_eq!(rig.running().0, 1);
    rig.all().unwrap();
    assert_eq!((rig.running().0, rig.result()), (0, TIMED_OUT));
    let Stop(status, why) = rig.all().unwrap_err();
    assert_eq!(status, Status::Deadlock);
    assert!(
        why.contains("thread 0 on futex 0x1000") && why.contains("thread 1 on futex 0x2000"),
        "{why}"
    );
}

#[test]
fn an_exit_wakes_one_waiter_on_each_word_it_names() {
    let (a, b) = (0x1000, 0x2000);
    let mut rig = ThreadRig::new(
        3,
        Tracking::Writes,
        &[
            Op::Spawn,
            Op::Spawn,
            Op::Wait {
                addr: a,
                timeout: None,
            }, // thread 0
            Op::Wait {
                addr: b,
                timeout: None,
            }, // thread 1
            Op::Exit(&[0x1000, 0x2000]), // thread 2: as a robust futex and a tid word
            Op::Yield,                   // thread 0, woken
        ],
    );
    for _ in 0..5 {
        rig.all().unwrap();
    }
    assert_eq!((rig.running().0, rig.result()), (0, 0), "thread 0 woken");
    rig.all().unwrap();
    assert_eq!((rig.running().0, rig.result()), (1, 0), "thread 1 woken");
    assert_eq!(rig.summary.threads.threads, 3);
}

#[test]
fn requeued_waiters_wait_on_the_new_word() {
    let (a, b) = (0x1000, 0x2000);
    let mut rig = ThreadRig::new(
        2,
        Tracking::Writes,
        &[
            Op::Spawn,
            Op::Spawn,
            Op::Wait {
                addr: a,
                timeout: None,
            }, // thread 0
            Op::Wait {
                addr: a,
                timeout: None,
            }, // thread 1
            Op::Requeue { from: a, to: b }, // thread 2: wakes 0, moves 1
            Op::Wake { addr: a, count: 9 }, // nobody left on a
            Op::Wake { addr: b, count: 9 }, // thread 1
        ],
    );
    for _ in 0..5 {
        rig.all().unwrap();
    }
    assert_eq!(
        (rig.running().0, rig.result()),
        (2, 2),
        "one woken, one moved"
    );
    rig.all().unwrap();
    assert_eq!(rig.result(), 0);
    rig.all().unwrap();
    assert_eq!(rig.result(), 1);
}

#[test]
fn a_flip_in_a_later_thread_is_outvoted_and_repaired_there() {
    let mut rig = ThreadRig::new(
        3,
        Tracking::Writes,
        &[
            Op::Spawn,
            Op::Wait {
                addr: 0x1000,
                timeout: None,
            },
            Op::Plain,
        ],
    );
    rig.all().unwrap();
    rig.all().unwrap();
    assert_eq!(rig.running().0, 1);
    rig.kernel.replicas[2].regs[8] ^= 1 << 4;
    rig.all().unwrap();
    assert_eq!((rig.summary.mismatches, rig.summary.recoveries), (1, 1));
    assert!(rig.kernel.effects.contains(&Effect::Repair {
        good: 0,
        bad: 2,
        pc: pc(1) + 4,
        scope: romain_memory::Scope::Written,
    }));
    assert_eq!(rig.running(), (1, pc(1) + 4));
}

#[test]
fn a_dmr_mismatch_after_a_switch_rolls_back_to_the_switch() {
    let mut rig = ThreadRig::new(
        2,
        Tracking::Checkpoints,
        &[
            Op::Spawn,
            Op::Wait {
                addr: 0x1000,
                timeout: None,
            },
            Op::Plain,
        ],
    );
    rig.all().unwrap();
    rig.all().unwrap();
    rig.kernel.effects.clear();
    rig.kernel.replicas[1].regs[8] ^= 1;
    rig.all().unwrap();
    assert_eq!(rig.summary.rollbacks, 1);
    // Back to where thread 1 was started, in both; the thread table as it was.
    assert!(rig.kernel.effects.contains(&Effect::RestartAt(0, pc(1))));
    assert!(rig.kernel.effects.contains(&Effect::RestartAt(1, pc(1))));
    assert_eq!(rig.running(), (1, pc(1)));
    rig.all().unwrap();
    assert_eq!(rig.running(), (1, pc(1) + 4));
    assert_eq!(rig.summary.threads.events.as_slice(), &[2, 1]);
}

#[test]
fn a_thread_that_spins_while_another_waits_ends_livelock_at_the_silence_bound() {
    let mut rig = ThreadRig::new(
        3,
        Tracking::Writes,
        &[
            Op::Spawn,
            Op::Wait {
                addr: 0x1000,
                timeout: None,
            },
        ],
    );
    rig.all().unwrap();
    rig.all().unwrap();
    rig.kernel.now = SILENCE + 1;
    let Stop(status, why) = rig
        .group
        .step(Input::Tick, &mut rig.kernel, &mut rig.summary)
        .unwrap_err();
    assert_eq!(status, Status::Livelock);
    assert!(
        why.contains("thread 1 made no call") && why.contains("[0]"),
        "{why}"
    );
}

fn op_of(choice: u8, addr: u8) -> Op {
    let addr = 0x1000 * (1 + u64::from(addr % 3));
    match choice % 9 {
        0 | 1 => Op::Plain,
        2 => Op::Spawn,
        3 => Op::Exit([&[][..], &[0x1000], &[0x2000, 0x3000]][usize::from(choice % 3)]),
        4 => Op::Wait {
            addr,
            timeout: (addr != 0x3000).then_some(u64::from(choice) * MS),
        },
        5 => Op::Wake {
            addr,
            count: 1 + u32::from(choice % 3),
        },
        6 => Op::Requeue {
            from: addr,
            to: 0x1000,
        },
        7 => Op::Yield,
        _ => Op::Sleep(u64::from(choice % 7) * MS),
    }
}

/// Runs a script to its end (or its stop) with the replicas arriving in the order `orders`
/// gives for each point; what the core did.
fn run(
    n: usize,
    dmr: bool,
    ops: &[Op],
    orders: &[Vec<usize>],
) -> (Result<Flow, Stop>, Vec<Effect>, String) {
    let tracking = if dmr {
        Tracking::Checkpoints
    } else {
        Tracking::Writes
    };
    let mut rig = ThreadRig::new(n, tracking, ops);
    let mut result = Ok(Flow::Continue);
    for order in orders.iter().cycle().take(ops.len() + 2) {
        let order: Vec<usize> = order.iter().copied().filter(|&k| k < n).collect();
        result = rig.point(&order);
        if result != Ok(Flow::Continue) {
            break;
        }
    }
    (result, rig.kernel.effects, format!("{:?}", rig.summary))
}

proptest! {
    /// Whatever order the replicas arrive in at each point, the core schedules the same
    /// threads and does the same: the same effects in the same order, the same summary
    /// (schedule digest included), the same end.
    #[test]
    fn the_schedule_and_every_effect_do_not_depend_on_the_order_of_arrival(
        n in 2usize..=3,
        dmr in any::<bool>(),
        script in proptest::collection::vec((any::<u8>(), any::<u8>()), 1..60),
        orders in proptest::collection::vec(Just(()).prop_perturb(|_, mut rng| {
            let mut v: Vec<usize> = (0..3).collect();
            for i in (1..v.len()).rev() {
                v.swap(i, (rng.next_u32() as usize) % (i + 1));
            }
            v
        }), 1..8),
    ) {
        let n = if dmr { 2 } else { n };
        let ops: Vec<Op> = script.iter().map(|&(c, a)| op_of(c, a)).collect();
        let first = run(n, dmr, &ops, &[(0..3).collect()]);
        let other = run(n, dmr, &ops, &orders);
        prop_assert_eq!(&first, &other);
    }
}
