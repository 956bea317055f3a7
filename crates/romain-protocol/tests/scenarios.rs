//! One scenario per path of the protocol, against the simulated kernel of `common`.

mod common;

use common::*;
use romain_abi::{Call, CallError, region};
use romain_core::budget::Budget;
use romain_core::event::EventKind;
use romain_core::inject::{Injection, Target};
use romain_core::summary::Status;
use romain_memory::{Scope, Tracking};
use romain_protocol::native::Native;
use romain_protocol::{Flow, Group, Injected, Input, RESULT_ATTEMPTS};

const X5: usize = 3 + 5;

#[test]
fn tmr_agree_performs_once_and_answers_all() {
    let mut rig = Rig::new(3, Tracking::Writes);
    let words = write_words("hello\n");
    assert_eq!(rig.all(WRITE, &words), Ok(Flow::Continue));
    assert_eq!(rig.kernel.out, b"hello\n", "printed once");
    for k in 0..3 {
        assert_eq!(rig.kernel.replies(k), vec![vec![6]]);
    }
    assert_eq!(rig.kernel.count(|e| matches!(e, Effect::Repair { .. })), 0);
    assert_eq!((rig.summary.events, rig.summary.mismatches), (1, 0));
    rig.run(16);
    assert_eq!(rig.all(EXIT, &[3]), Ok(Flow::End));
    assert_eq!(rig.summary.exit_code, Some(3));
    assert_eq!(rig.summary.events, 2);
}

#[test]
fn tmr_outvote_repairs_registers_and_pages_then_fully_on_the_second() {
    let mut rig = Rig::new(3, Tracking::Writes);
    // Replica 1: a flipped register and a differing written page.
    rig.kernel.replicas[1].regs[X5] ^= 1 << 7;
    rig.kernel.replicas[1].pages.insert(0x1000, 8);
    let pc = rig.kernel.replicas[0].regs[0];
    assert_eq!(rig.all(YIELD, &[]), Ok(Flow::Continue));
    assert_eq!(rig.summary.mismatches, 1);
    assert_eq!(rig.summary.recoveries, 1);
    assert!(rig.kernel.effects.contains(&Effect::Repair {
        good: 0,
        bad: 1,
        pc: pc + 4, // resumes after the svc
        scope: Scope::Written,
    }));
    assert_eq!(rig.kernel.replicas[1].regs, {
        let mut r = rig.kernel.replicas[0].regs.clone();
        r[0] += 4;
        r
    });
    assert_eq!(rig.kernel.replicas[1].pages, rig.kernel.replicas[0].pages);
    assert_eq!(rig.summary.pages_copied, 1);
    // Everyone got the same answer, after the repair.
    for k in 0..3 {
        assert_eq!(rig.kernel.replies(k), vec![vec![0]]);
    }
    // Outvoted again: the whole memory is compared.
    rig.kernel.replicas[1].regs = rig.kernel.replicas[0].regs.clone();
    rig.run(8);
    rig.kernel.replicas[1].regs[X5] ^= 1;
    assert_eq!(rig.all(YIELD, &[]), Ok(Flow::Continue));
    assert!(matches!(
        rig.kernel
            .effects
            .iter()
            .rev()
            .find(|e| matches!(e, Effect::Repair { .. })),
        Some(Effect::Repair {
            bad: 1,
            scope: Scope::All,
            ..
        })
    ));
    assert_eq!(rig.summary.recoveries, 2);
}

#[test]
fn dmr_mismatch_rolls_back_replays_the_checkpoint_call_then_fail_stops() {
    let mut rig = Rig::new(2, Tracking::Checkpoints);
    let words = write_words("once\n");
    let pc1 = rig.kernel.replicas[0].regs[0];
    assert_eq!(rig.all(WRITE, &words), Ok(Flow::Continue));
    // Both run on; replica 1 computes a wrong value and writes a page.
    rig.run(32);
    rig.kernel.replicas[1].regs[X5] = 99;
    rig.kernel.replicas[1].pages.insert(0x2000, 1);
    assert_eq!(rig.all(YIELD, &[]), Ok(Flow::Continue));
    assert_eq!(rig.summary.rollbacks, 1);
    assert_eq!(rig.summary.events, 1, "the mismatched event does not count");
    for k in 0..2 {
        assert!(rig.kernel.effects.contains(&Effect::Stop(k)));
        assert!(rig.kernel.effects.contains(&Effect::RollBack(k)));
        assert!(rig.kernel.effects.contains(&Effect::RestartAt(k, pc1)));
    }
    assert_eq!(
        rig.kernel.replicas[1].pages.get(&0x2000),
        Some(&9),
        "page restored"
    );
    // They repeat the write they were rolled back to: answered from the checkpoint, not printed.
    rig.kernel.replicas[1].regs = rig.kernel.replicas[0].regs.clone();
    let before = rig.kernel.replies(0).len();
    assert_eq!(rig.all(WRITE, &words), Ok(Flow::Continue));
    assert_eq!(rig.kernel.out, b"once\n", "performed once");
    assert_eq!(rig.kernel.replies(0)[before], vec![5]);
    assert_eq!(rig.summary.events, 1);
    // The same mismatch at the same event again: fail-stop.
    rig.run(32);
    rig.kernel.replicas[1].regs[X5] = 99;
    let err = rig.all(YIELD, &[]).unwrap_err();
    assert_eq!(err.0, Status::Mismatch);
    assert!(
        err.1.contains("again after a rollback (fail-stop)"),
        "{}",
        err.1
    );
    assert_eq!(rig.summary.detected, 1);
}

#[test]
fn watchdog_lag_lets_the_majority_go_on_and_repairs_the_straggler() {
    let mut rig = Rig::new(3, Tracking::Writes);
    let pc = rig.kernel.replicas[0].regs[0];
    rig.arrive(0, YIELD, &[]).unwrap();
    rig.arrive(1, YIELD, &[]).unwrap();
    assert_eq!(rig.group.deadline(), Some(LAG + 1));
    rig.kernel.now = LAG;
    rig.step(Input::Tick).unwrap();
    assert_eq!(rig.summary.watchdog_fired, 0, "not yet");
    rig.kernel.now = LAG + 1;
    rig.kernel.replicas[2].regs[0] = 0x9999; // somewhere in a loop
    rig.step(Input::Tick).unwrap();
    assert_eq!(rig.summary.watchdog_fired, 1);
    assert_eq!(rig.summary.recoveries, 1);
    let tail: Vec<_> = rig
        .kernel
        .effects
        .iter()
        .rev()
        .take(4)
        .rev()
        .cloned()
        .collect();
    assert_eq!(
        tail,
        vec![
            Effect::Stop(2),
            Effect::Forget(2),
            // At the majority's system call: it makes the same call again.
            Effect::Repair {
                good: 0,
                bad: 2,
                pc,
                scope: Scope::All
            },
            Effect::Start(2),
        ]
    );
    assert_eq!(
        rig.kernel.replies(0),
        Vec::<Vec<u64>>::new(),
        "nobody answered yet"
    );
    rig.arrive(2, YIELD, &[]).unwrap();
    assert_eq!(rig.summary.events, 1);
    assert_eq!(rig.summary.mismatches, 0);
}

#[test]
fn watchdog_waits_for_the_majority_when_a_minority_arrived_early() {
    let mut rig = Rig::new(3, Tracking::Writes);
    rig.arrive(0, YIELD, &[]).unwrap();
    rig.kernel.now = LAG + 1;
    rig.step(Input::Tick).unwrap();
    assert_eq!(rig.summary.watchdog_fired, 1);
    assert_eq!(
        rig.summary.recoveries, 0,
        "a minority is not outvoting anyone"
    );
    assert!(
        !rig.kernel
            .effects
            .iter()
            .any(|e| matches!(e, Effect::Stop(_)))
    );
    rig.arrive(1, YIELD, &[]).unwrap();
    rig.arrive(2, YIELD, &[]).unwrap();
    assert_eq!((rig.summary.events, rig.summary.mismatches), (1, 0));
}

#[test]
fn dmr_hang_rolls_back_once_then_reports_the_hang() {
    let mut rig = Rig::new(2, Tracking::Checkpoints);
    rig.arrive(0, YIELD, &[]).unwrap();
    rig.kernel.now = LAG + 1;
    rig.step(Input::Tick).unwrap();
    assert_eq!(rig.summary.rollbacks, 1);
    rig.arrive(0, YIELD, &[]).unwrap();
    rig.kernel.now = 2 * LAG + 2;
    let err = rig.step(Input::Tick).unwrap_err();
    assert_eq!(err.0, Status::Hang);
    assert!(
        err.1.contains("replicas [1] did not reach event 1"),
        "{}",
        err.1
    );
}

#[test]
fn silence_bound_ends_the_group() {
    let mut rig = Rig::new(3, Tracking::Writes);
    assert_eq!(rig.group.deadline(), Some(SILENCE + 1));
    rig.kernel.now = SILENCE + 1;
    let err = rig.step(Input::Tick).unwrap_err();
    assert_eq!(err.0, Status::Hang);
    assert!(
        err.1.starts_with("no replica reached event 1 for 50 ms"),
        "{}",
        err.1
    );
}

#[test]
fn a_run_that_spends_its_event_budget_ends_over_budget_before_the_next_call() {
    let mut rig = Rig::new(3, Tracking::Writes);
    let entry = rig.kernel.replicas[0].registers();
    rig.group = Group::new(
        config(3, Tracking::Writes, false),
        Native::new("", 1),
        entry,
        0,
        None,
    )
    .with_budget(Budget {
        events: 2,
        ..Budget::default()
    });
    for _ in 0..2 {
        rig.all(YIELD, &[]).unwrap();
        rig.run(4);
    }
    assert_eq!(rig.summary.events, 2);
    // Every replica at the third call (the silence bound was reset at every event).
    let err = rig.all(YIELD, &[]).unwrap_err();
    assert_eq!(err.0, Status::OverBudget);
    assert!(err.1.contains("budget of 2 events"), "{}", err.1);
    assert_eq!(rig.summary.events, 2, "the third call is not performed");
}

#[test]
fn a_run_that_spends_its_time_budget_ends_over_budget_on_the_timer() {
    let mut rig = Rig::new(2, Tracking::Checkpoints);
    let entry = rig.kernel.replicas[0].registers();
    let budget = Budget {
        ticks: SILENCE / 2,
        ms: 7,
        ..Budget::default()
    };
    rig.group = Group::new(
        config(2, Tracking::Checkpoints, false),
        Native::new("", 1),
        entry,
        0,
        None,
    )
    .with_budget(budget);
    // The budget's end comes before the silence bound's: the timer is set for it.
    assert_eq!(rig.group.deadline(), Some(SILENCE / 2 + 1));
    rig.all(YIELD, &[]).unwrap();
    rig.kernel.now = SILENCE / 2 + 1;
    let err = rig.step(Input::Tick).unwrap_err();
    assert_eq!(err.0, Status::OverBudget);
    assert!(err.1.contains("budget of 7 ms"), "{}", err.1);
}

fn companion_rig() -> Rig {
    Rig::with(config(3, Tracking::Writes, true), None)
}

#[test]
fn companion_wait_is_held_until_the_doorbell_rings() {
    let mut rig = companion_rig();
    let wait = EventKind::Call(Call::Wait);
    rig.all(wait, &[region::DEVICE]).unwrap();
    assert!(rig.kernel.replies(0).is_empty(), "held");
    rig.step(Input::Doorbell).unwrap();
    for k in 0..3 {
        assert_eq!(rig.kernel.replies(k), vec![vec![0]]);
    }
    // A ring before the wait: answered at once, and only once.
    rig.step(Input::Doorbell).unwrap();
    rig.run(4);
    rig.all(wait, &[region::DEVICE]).unwrap();
    assert_eq!(rig.kernel.replies(0).len(), 2);
    rig.run(4);
    rig.all(wait, &[region::DEVICE]).unwrap();
    assert_eq!(rig.kernel.replies(0).len(), 2, "held again");
    // The companion goes: the held wait is told.
    rig.step(Input::CompanionGone).unwrap();
    assert_eq!(
        rig.kernel.replies(0)[2],
        vec![CallError::Gone.as_result_word()]
    );
    rig.run(4);
    rig.all(wait, &[region::DEVICE]).unwrap();
    assert_eq!(
        rig.kernel.replies(0)[3],
        vec![CallError::Gone.as_result_word()]
    );
    // Signal and attach.
    rig.run(4);
    rig.all(EventKind::Call(Call::Signal), &[region::DEVICE])
        .unwrap();
    assert_eq!(
        rig.kernel.count(|e| *e == Effect::Ring),
        1,
        "rung once for all"
    );
    rig.run(4);
    rig.all(EventKind::Call(Call::Attach), &[region::DEVICE])
        .unwrap();
    assert_eq!(
        rig.kernel.replies(2).last().unwrap(),
        &vec![SHARED.start, SHARED.end - SHARED.start]
    );
}

#[test]
fn without_a_companion_device_calls_are_bad_arguments() {
    let mut rig = Rig::new(2, Tracking::Checkpoints);
    rig.all(EventKind::Call(Call::Wait), &[region::DEVICE])
        .unwrap();
    assert_eq!(
        rig.kernel.replies(0),
        vec![vec![CallError::BadArgument.as_result_word()]]
    );
}

#[test]
fn copy_and_execute_is_chosen_after_the_vote() {
    let mut rig = companion_rig();
    let fault = EventKind::VmFault {
        addr: SHARED.start + 8,
        fsr: 0,
        prefetch: false,
    };
    // Replica 2's private bytes about to be copied differ: it is outvoted on them.
    rig.kernel.replicas[2].pages.insert(0x2000, 77);
    let pc = rig.kernel.replicas[0].regs[0];
    rig.all(fault, &[pc, SHARED.start + 8, 0, 0]).unwrap();
    let repair = rig
        .kernel
        .effects
        .iter()
        .position(|e| matches!(e, Effect::Repair { bad: 2, .. }))
        .expect("outvoted on the digest");
    let exec = rig
        .kernel
        .effects
        .iter()
        .position(|e| *e == Effect::Execute(0))
        .expect("executed");
    assert!(repair < exec, "vote first, then execute once");
    assert_eq!(rig.kernel.count(|e| matches!(e, Effect::Execute(_))), 1);
    for k in 0..3 {
        assert!(rig.kernel.effects.contains(&Effect::SetRegs(k, pc + 4)));
        assert_eq!(rig.kernel.replies(k), vec![Vec::<u64>::new()]);
        assert_eq!(rig.kernel.replicas[k].regs[1], 0x5a);
    }
    assert_eq!(rig.summary.shm_accesses, 1);
}

#[test]
fn a_fault_outside_the_region_is_the_programs() {
    let mut rig = companion_rig();
    let fault = EventKind::VmFault {
        addr: 0x10,
        fsr: 0,
        prefetch: false,
    };
    assert_eq!(rig.all(fault, &[0, 0x10, 0, 0]), Ok(Flow::End));
    assert_eq!(rig.summary.status, Status::AppFault);
    assert_eq!(rig.kernel.count(|e| matches!(e, Effect::Execute(_))), 0);
}

#[test]
fn injection_at_an_event_is_outvoted() {
    let at = Injection {
        replica: 1,
        event: 2,
        target: Target::Register { index: X5 },
        bit: 3,
        delay: None,
        thread: None,
    };
    let mut rig = Rig::with(config(3, Tracking::Writes, false), Some(at));
    rig.all(YIELD, &[]).unwrap();
    assert_eq!(rig.kernel.count(|e| matches!(e, Effect::Inject(..))), 0);
    rig.run(4);
    rig.all(YIELD, &[]).unwrap();
    assert_eq!(rig.kernel.count(|e| *e == Effect::Inject(1, false)), 1);
    assert_eq!((rig.summary.mismatches, rig.summary.recoveries), (1, 1));
}

#[test]
fn injection_after_a_delay_flips_a_running_replica() {
    let at = Injection {
        replica: 2,
        event: 0,
        target: Target::Register { index: X5 },
        bit: 0,
        delay: Some(100),
        thread: None,
    };
    let mut rig = Rig::with(config(3, Tracking::Writes, false), Some(at));
    assert_eq!(rig.group.deadline(), Some(100));
    rig.kernel.now = 100;
    rig.step(Input::Tick).unwrap();
    assert_eq!(rig.kernel.effects, vec![Effect::Inject(2, true)]);
    assert_eq!(
        rig.group.deadline(),
        Some(SILENCE + 1),
        "done: only the silence bound left"
    );
    rig.all(YIELD, &[]).unwrap();
    assert_eq!(rig.summary.recoveries, 1);
}

#[test]
fn a_result_injection_with_nothing_at_hand_gives_up_after_its_attempts() {
    let at = Injection {
        replica: 0,
        event: 0,
        target: Target::Result,
        bit: 0,
        delay: Some(10),
        thread: None,
    };
    let mut rig = Rig::with(config(3, Tracking::Off, false), Some(at));
    rig.kernel.inject_answer = Some(Injected::Retry { counted: true });
    let mut tries = 0;
    while let Some(due) = rig.group.deadline().filter(|&d| d < SILENCE) {
        rig.kernel.now = due;
        rig.step(Input::Tick).unwrap();
        tries += 1;
    }
    assert_eq!(tries, RESULT_ATTEMPTS);
}

#[test]
fn hang_injection_loses_the_event_and_the_watchdog_repairs() {
    let at = Injection {
        replica: 1,
        event: 1,
        target: Target::Hang,
        bit: 0,
        delay: None,
        thread: None,
    };
    let mut rig = Rig::with(config(3, Tracking::Writes, false), Some(at));
    rig.all(YIELD, &[]).unwrap();
    assert_eq!(rig.summary.events, 0, "replica 1 never arrived");
    rig.kernel.now = LAG + 1;
    rig.step(Input::Tick).unwrap();
    assert_eq!(rig.summary.recoveries, 1);
    rig.arrive(1, YIELD, &[]).unwrap();
    assert_eq!(rig.summary.events, 1);
}

#[test]
fn unknown_calls_are_refused_and_the_group_goes_on() {
    let mut rig = Rig::new(3, Tracking::Writes);
    let unknown = EventKind::UnknownCall { label: 0x777 };
    rig.all(unknown, &[1, 2]).unwrap();
    assert_eq!(
        rig.kernel.replies(0),
        vec![vec![CallError::UnknownCall.as_result_word()]]
    );
    assert_eq!(rig.summary.status, Status::Ok);
}

#[test]
fn a_replica_arriving_twice_or_unknown_is_a_protocol_error() {
    let mut rig = Rig::new(3, Tracking::Writes);
    rig.arrive(0, YIELD, &[]).unwrap();
    let err = rig.arrive(0, YIELD, &[]).unwrap_err();
    assert_eq!(err.0, Status::ProtocolError);
    let mut rig = Rig::new(3, Tracking::Writes);
    let event = rig.kernel.event(0, YIELD, &[]);
    let err = rig.step(Input::Arrival { replica: 7, event }).unwrap_err();
    assert_eq!(err.0, Status::ProtocolError);
}

#[test]
fn every_replica_faulting_alike_is_the_programs_fault() {
    let mut rig = Rig::new(3, Tracking::Writes);
    let kind = EventKind::CapFault { addr: 0x42 };
    assert_eq!(rig.all(kind, &[0x42]), Ok(Flow::End));
    assert_eq!(rig.summary.status, Status::AppFault);
    assert!(rig.summary.error.contains("pc 0x401000"));
}

#[test]
fn grow_past_the_quota_is_refused_and_a_failed_exit_blames_it() {
    let mut rig = Rig::new(2, Tracking::Checkpoints);
    let grow = EventKind::Call(Call::Grow);
    rig.all(grow, &[0x10_0000]).unwrap();
    assert_eq!(rig.kernel.replies(1), vec![vec![0x100_0000]]);
    rig.run(4);
    rig.all(grow, &[0x1000_0000]).unwrap();
    assert_eq!(
        rig.kernel.replies(1)[1],
        vec![CallError::OutOfMemory.as_result_word()]
    );
    rig.run(4);
    assert_eq!(rig.all(EXIT, &[1]), Ok(Flow::End));
    assert_eq!(
        rig.group.finish(&rig.summary).unwrap_err().0,
        Status::OutOfMemory
    );
}
