//! The FP/SIMD capture against a fake replica that runs the save and restore routines as the
//! real ones do (save: FP/SIMD registers into the area, restore: back; each ends in a trap at a
//! known address) and a program whose result passes through an FP/SIMD register across every
//! call or fault.

use proptest::prelude::*;
use romain_abi::Call;
use romain_core::event::{Event, EventKind, Words};
use romain_core::fp::{self, FpName, Stubs};
use romain_core::regs::{Arch, RegisterFile};
use romain_protocol::Stop;
use romain_protocol::capture::{Arrival, Capture, Threads};

/// The program's system-call instruction (a call) and its rewritten-site trap (a fault).
const CALL_PC: u64 = 0x40_1000;
const TRAP_PC: u64 = 0x40_2000;
/// Counts the program's rounds (not clobbered by a system call on either architecture).
const ROUNDS: usize = 7;
/// aarch64's x0, which the routines take as the area's address: the program also keeps a
/// value in it, so a replica that continued from a routine's registers would show.
const X0: usize = 3;
const ANSWER: u64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Thread {
    /// Resumed: it runs from its registers at the next step.
    Running,
    /// Sent a message and waits for an answer (or a restart).
    Blocked,
    Stopped,
}

#[derive(Debug, Clone)]
struct Replica {
    regs: RegisterFile,
    /// Its live FP/SIMD registers, in the area's layout.
    fpu: Vec<u8>,
    /// Its area page, as the master sees it.
    area: Vec<u8>,
    thread: Thread,
    reply_cap: bool,
    /// Answers its calls received.
    answers: usize,
}

/// Where the program keeps its value in the area: the low half of q0 / xmm0.
fn at(arch: Arch) -> std::ops::Range<usize> {
    let offset = match arch {
        Arch::Aarch64 => 0,
        Arch::X86_64 => 160,
    };
    assert_eq!(FpName::of(arch, offset), FpName::nth(arch, 0));
    offset..offset + 8
}

/// One round of the program: its value, in the first vector register, goes through an
/// operation that keeps every earlier flip visible.
fn round(arch: Arch, fpu: &mut [u8]) {
    let v = u64::from_le_bytes(fpu[at(arch)].try_into().unwrap());
    fpu[at(arch)].copy_from_slice(&v.wrapping_mul(3).wrapping_add(1).to_le_bytes());
}

struct Fake {
    arch: Arch,
    stubs: Stubs,
    replicas: Vec<Replica>,
    /// Faults instead of calls (a Linux program's rewritten system-call sites).
    faults: bool,
    log: Vec<String>,
}

impl Fake {
    fn new(arch: Arch, n: usize, faults: bool) -> Fake {
        let mut words = vec![0u64; arch.num_registers()];
        words[Arch::PC] = if faults { TRAP_PC } else { CALL_PC } + arch.syscall_len();
        words[X0] = 0x1234;
        let mut fpu = fp::initial_area(arch).to_vec();
        fpu[at(arch)].copy_from_slice(&5u64.to_le_bytes());
        let replica = Replica {
            regs: RegisterFile::new(arch, &words).unwrap(),
            fpu,
            area: fp::initial_area(arch).to_vec(),
            thread: Thread::Running,
            reply_cap: false,
            answers: 0,
        };
        Fake {
            arch,
            stubs: fp::stubs(arch).1,
            replicas: vec![replica; n],
            faults,
            log: Vec::new(),
        }
    }

    fn site(&self) -> u64 {
        if self.faults { TRAP_PC } else { CALL_PC }
    }

    fn trap(regs: &RegisterFile) -> Event {
        Event::new(
            EventKind::UserException { number: 6, code: 0 },
            Words::new(),
            regs.clone(),
        )
    }

    /// Runs replica `k` until it sends its next message: the event as read and its registers.
    fn step(&mut self, k: usize) -> (Event, RegisterFile) {
        let (arch, stubs, site, faults) = (self.arch, self.stubs, self.site(), self.faults);
        let r = &mut self.replicas[k];
        assert_eq!(
            r.thread,
            Thread::Running,
            "replica {k} steps only when resumed"
        );
        let pc = r.regs.pc();
        let event = if pc == stubs.save || pc == stubs.restore {
            if arch == Arch::Aarch64 {
                assert_eq!(r.regs.words()[X0], fp::AREA_VA, "the area's address in x0");
            }
            let trap_pc = if pc == stubs.save {
                r.area.copy_from_slice(&r.fpu);
                stubs.saved
            } else {
                r.fpu.copy_from_slice(&r.area);
                stubs.restored
            };
            r.regs.words_mut()[Arch::PC] = trap_pc;
            Self::trap(&r.regs)
        } else {
            if pc == site + arch.syscall_len() {
                // After the system call: the next round, up to the next one.
                round(arch, &mut r.fpu);
                r.regs.words_mut()[ROUNDS] += 1;
                r.regs.words_mut()[X0] += 1;
                r.regs.words_mut()[Arch::PC] = site;
            }
            assert_eq!(
                r.regs.pc(),
                site,
                "replica {k} ran into unknown code at {pc:#x}"
            );
            if faults {
                Self::trap(&r.regs)
            } else {
                let event = Event::new(EventKind::Call(Call::Yield), Words::new(), r.regs.clone());
                // The kernel clobbers them in the call.
                r.regs = event.regs.clone();
                event
            }
        };
        r.thread = Thread::Blocked;
        r.reply_cap = true;
        (event, self.replicas[k].regs.clone())
    }
}

impl Threads for Fake {
    fn registers(&mut self, k: usize) -> Result<RegisterFile, Stop> {
        Ok(self.replicas[k].regs.clone())
    }

    fn set_registers(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop> {
        self.log.push(format!("set {k} {:#x}", regs.pc()));
        self.replicas[k].regs = regs.clone();
        Ok(())
    }

    fn restart_at(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop> {
        self.log.push(format!("restart {k} {:#x}", regs.pc()));
        let r = &mut self.replicas[k];
        assert!(
            !r.reply_cap,
            "replica {k} restarted with its reply capability kept"
        );
        r.regs = regs.clone();
        r.thread = Thread::Running;
        Ok(())
    }

    fn forget_reply(&mut self, k: usize) {
        self.replicas[k].reply_cap = false;
    }

    fn reply(&mut self, k: usize, words: &[u64]) {
        self.log.push(format!("reply {k} {words:?}"));
        let len = self.arch.syscall_len();
        let r = &mut self.replicas[k];
        assert!(
            r.reply_cap,
            "replica {k} answered without a reply capability"
        );
        assert_eq!(r.thread, Thread::Blocked);
        r.reply_cap = false;
        r.thread = Thread::Running;
        if !words.is_empty() {
            assert_eq!(words, [ANSWER], "a call's answer");
            assert_eq!(r.regs.pc(), CALL_PC, "answered in its call");
            r.answers += 1;
            r.regs.words_mut()[Arch::PC] += len;
        }
    }

    fn stop(&mut self, k: usize) -> Result<(), Stop> {
        self.replicas[k].thread = Thread::Stopped;
        Ok(())
    }

    fn area(&mut self, k: usize) -> Result<&mut [u8], Stop> {
        Ok(&mut self.replicas[k].area)
    }
}

/// The fake with the capture and the part of the core that answers an agreed event.
struct Rig {
    fake: Fake,
    capture: Capture,
    /// The events handed on to the core, per replica.
    events: Vec<Vec<Event>>,
}

impl Rig {
    fn new(arch: Arch, n: usize, faults: bool) -> Rig {
        let fake = Fake::new(arch, n, faults);
        let capture = Capture::new(arch, fake.stubs, n);
        Rig {
            fake,
            capture,
            events: vec![Vec::new(); n],
        }
    }

    /// Runs replica `k` until the capture hands on its next event.
    fn next_event(&mut self, k: usize) -> Event {
        for _ in 0..10 {
            let (event, raw) = self.fake.step(k);
            match self.capture.arrival(&mut self.fake, k, event, raw).unwrap() {
                Arrival::Event(event) => {
                    self.events[k].push(event.clone());
                    return event;
                }
                Arrival::Handled => {}
            }
        }
        panic!(
            "replica {k}: no event after ten messages: {:?}",
            self.fake.log
        );
    }

    /// The core's answer to `k`'s agreed `event`, as `Machine` applies it.
    fn answer(&mut self, k: usize, event: &Event) {
        if event.kind.is_call() {
            self.reply(k, &[ANSWER]);
        } else {
            // A Linux call served: it continues after its site.
            let resume = self.resumed(event);
            self.set_registers(k, &resume);
            self.reply(k, &[]);
        }
    }

    fn resumed(&self, event: &Event) -> RegisterFile {
        let mut regs = event.resume_registers();
        if !event.kind.is_call() {
            regs.words_mut()[Arch::PC] += self.fake.arch.syscall_len();
        }
        regs
    }

    fn reply(&mut self, k: usize, words: &[u64]) {
        if !self.capture.reply(&mut self.fake, k, words).unwrap() {
            self.fake.reply(k, words);
        }
    }

    fn set_registers(&mut self, k: usize, regs: &RegisterFile) {
        self.fake.set_registers(k, regs).unwrap();
        self.capture.registers_set(k, regs);
    }

    /// A TMR repair of `bad` at the current point: the leader's registers (`event`'s) and its
    /// area page.
    fn repair(&mut self, bad: usize, area: Vec<u8>, event: &Event) {
        let regs = event.resume_registers();
        self.set_registers(bad, &regs);
        self.capture.must_restore(bad);
        self.fake.replicas[bad].area = area;
    }

    /// A DMR rollback of `k` to a checkpoint (its area and the event's registers).
    fn roll_back(&mut self, k: usize, area: &[u8], event: &Event) {
        self.capture.must_restore(k);
        self.fake.replicas[k].area = area.to_vec();
        let regs = self.resumed(event);
        self.fake.forget_reply(k);
        if !self.capture.run(&mut self.fake, k, Some(&regs)).unwrap() {
            self.fake.restart_at(k, &regs).unwrap();
        }
    }

    fn value(&self, k: usize) -> u64 {
        let arch = self.fake.arch;
        u64::from_le_bytes(self.fake.replicas[k].fpu[at(arch)].try_into().unwrap())
    }
}

fn first_value(event: &Event) -> u64 {
    let arch = event.regs.arch();
    u64::from_le_bytes(
        event.fp.as_ref().unwrap().bytes()[at(arch)]
            .try_into()
            .unwrap(),
    )
}

/// The program's value after `rounds` rounds from 5.
fn after(rounds: usize) -> u64 {
    next(5, rounds)
}

fn next(mut v: u64, rounds: usize) -> u64 {
    for _ in 0..rounds {
        v = v.wrapping_mul(3).wrapping_add(1);
    }
    v
}

const SHAPES: [(Arch, bool); 4] = [
    (Arch::Aarch64, false),
    (Arch::Aarch64, true),
    (Arch::X86_64, false),
    (Arch::X86_64, true),
];

#[test]
fn every_event_carries_the_fp_simd_state_it_was_made_with() {
    for (arch, faults) in SHAPES {
        let mut rig = Rig::new(arch, 1, faults);
        for n in 1..=5 {
            let event = rig.next_event(0);
            let fp = event.fp.as_ref().expect("captured");
            assert_eq!(
                fp.bytes(),
                &rig.fake.replicas[0].fpu[..],
                "{arch:?} {faults}"
            );
            assert_eq!(fp.bytes().len(), fp::area_len(arch));
            assert_eq!(first_value(&event), after(n), "one round per event");
            assert_eq!(event.regs.words()[ROUNDS], n as u64);
            assert_eq!(
                event.regs.words()[X0],
                0x1234 + n as u64,
                "the program's x0"
            );
            assert_eq!(
                event.regs.pc(),
                rig.fake.site(),
                "the event as the program made it"
            );
            rig.answer(0, &event);
        }
        // A call made again after the save is answered once, not twice.
        let answers = if faults { 0 } else { 5 };
        assert_eq!(rig.fake.replicas[0].answers, answers, "{arch:?} {faults}");
    }
}

#[test]
fn a_repair_loads_the_leaders_fp_simd_state_and_the_replicas_agree_after() {
    for (arch, faults) in SHAPES {
        let mut rig = Rig::new(arch, 3, faults);
        for round in 1..=6 {
            if round == 3 {
                // A transient fault in replica 1's FP/SIMD register before this event.
                rig.fake.replicas[1].fpu[2] ^= 0x10;
            }
            let events: Vec<Event> = (0..3).map(|k| rig.next_event(k)).collect();
            let differs = events[1].difference(&events[0]).is_some();
            assert_eq!(differs, round == 3, "{arch:?} {faults} round {round}");
            assert!(events[2].difference(&events[0]).is_none());
            if differs {
                let leader = rig.fake.replicas[0].area.clone();
                rig.repair(1, leader, &events[0]);
            }
            for (k, event) in events.iter().enumerate() {
                rig.answer(k, event);
            }
        }
        assert_eq!(rig.fake.replicas[1].fpu, rig.fake.replicas[0].fpu);
        if !faults {
            assert!(
                rig.fake.replicas.iter().all(|r| r.answers == 6),
                "each call answered once"
            );
        }
    }
}

#[test]
fn a_rollback_restores_the_checkpoints_fp_simd_state() {
    for (arch, faults) in SHAPES {
        let mut rig = Rig::new(arch, 1, faults);
        let first = rig.next_event(0);
        let checkpoint = rig.fake.replicas[0].area.clone();
        rig.answer(0, &first);
        let second = rig.next_event(0);
        rig.answer(0, &second);
        let third = rig.next_event(0);
        assert_eq!(first_value(&third), after(3));
        // Back to the first event's state: the rounds after it run again from its value.
        rig.roll_back(0, &checkpoint, &first);
        let again = rig.next_event(0);
        assert!(
            again.difference(&second).is_none(),
            "{arch:?} {faults}: {:?}",
            again.difference(&second)
        );
        assert_eq!(rig.value(0), after(2));
    }
}

#[test]
fn a_flip_at_an_event_is_compared_and_loaded_into_the_registers() {
    for (arch, faults) in SHAPES {
        let mut rig = Rig::new(arch, 1, faults);
        let mut event = rig.next_event(0);
        let name = FpName::parse(arch, if arch == Arch::Aarch64 { "d0" } else { "xmm0" }).unwrap();
        let clean = event.clone();
        rig.capture
            .flip_at_event(&mut rig.fake, 0, name, 40, &mut event)
            .unwrap();
        assert_eq!(first_value(&event), after(1) ^ 1 << 40, "in the event");
        assert!(event.difference(&clean).is_some());
        rig.answer(0, &event);
        let event = rig.next_event(0);
        assert_eq!(
            first_value(&event),
            next(after(1) ^ 1 << 40, 1),
            "{arch:?} {faults}"
        );
    }
}

#[test]
fn a_delayed_flip_reaches_a_running_replica_and_a_waiting_one_after_the_agreement() {
    for (arch, faults) in SHAPES {
        let name = FpName::nth(arch, 0);
        // Running: stopped, saved, flipped, restored, resumed where it was.
        let mut rig = Rig::new(arch, 1, faults);
        let event = rig.next_event(0);
        rig.answer(0, &event);
        assert!(!rig.capture.busy(0));
        rig.capture
            .flip_now(&mut rig.fake, 0, name, 3, true)
            .unwrap();
        assert!(rig.capture.busy(0), "inside the routines");
        let expected = next(after(1) ^ 1 << 3, 1);
        let event = rig.next_event(0);
        assert_eq!(first_value(&event), expected, "{arch:?} {faults}");
        assert_eq!(event.regs.words()[ROUNDS], 2, "no round lost or repeated");

        // Waiting at an event: the area (the next checkpoint) stays clean until it runs on.
        let mut rig = Rig::new(arch, 1, faults);
        let event = rig.next_event(0);
        rig.capture
            .flip_now(&mut rig.fake, 0, name, 3, false)
            .unwrap();
        assert_eq!(
            rig.fake.replicas[0].area, rig.fake.replicas[0].fpu,
            "not yet"
        );
        rig.answer(0, &event);
        let event = rig.next_event(0);
        assert_eq!(first_value(&event), expected, "{arch:?} {faults}");
    }
}

/// What the core may do to a replica at an event, besides answering it.
#[derive(Debug, Clone, Copy)]
enum Action {
    Answer,
    /// The area overwritten (a repair from a replica whose state is `value`).
    Repair(u64),
    RollBack,
    FlipAt(u8, u8),
    FlipLater(u8, u8),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => Just(Action::Answer),
        1 => any::<u64>().prop_map(Action::Repair),
        1 => Just(Action::RollBack),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(r, b)| Action::FlipAt(r, b)),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(r, b)| Action::FlipLater(r, b)),
    ]
}

proptest! {
    /// Whatever the core does at the events, the replica continues from exactly the FP/SIMD
    /// state it was given: the next event shows one round applied to it, and every call is
    /// answered once.
    #[test]
    fn the_replica_continues_from_the_state_it_was_given(
        x86 in any::<bool>(),
        faults in any::<bool>(),
        actions in proptest::collection::vec(action(), 1..30),
    ) {
        let arch = if x86 { Arch::X86_64 } else { Arch::Aarch64 };
        let mut rig = Rig::new(arch, 1, faults);
        let mut event = rig.next_event(0);
        let mut checkpoint = (rig.fake.replicas[0].area.clone(), event.clone());
        let mut calls = 0;
        for action in actions {
            // The FP/SIMD state it should continue from, and the rounds done by then.
            let (mut expected, rounds) = match action {
                Action::RollBack => {
                    let (area, at) = checkpoint.clone();
                    (area, at.regs.words()[ROUNDS])
                }
                _ => (event.fp.as_ref().unwrap().bytes().to_vec(), event.regs.words()[ROUNDS]),
            };
            match action {
                Action::Answer => rig.answer(0, &event),
                Action::Repair(value) => {
                    let mut area = rig.fake.replicas[0].area.clone();
                    area[at(arch)].copy_from_slice(&value.to_le_bytes());
                    expected = area.clone();
                    rig.repair(0, area, &event);
                    rig.answer(0, &event);
                }
                Action::RollBack => {
                    let (area, at) = checkpoint.clone();
                    rig.roll_back(0, &area, &at);
                }
                Action::FlipAt(r, bit) => {
                    let name = FpName::nth(arch, r as usize);
                    rig.capture.flip_at_event(&mut rig.fake, 0, name, bit as u32, &mut event).unwrap();
                    name.flip(&mut expected, bit as u32);
                    prop_assert_eq!(event.fp.as_ref().unwrap().bytes(), &expected[..]);
                    rig.answer(0, &event);
                }
                Action::FlipLater(r, bit) => {
                    let name = FpName::nth(arch, r as usize);
                    rig.capture.flip_now(&mut rig.fake, 0, name, bit as u32, false).unwrap();
                    name.flip(&mut expected, bit as u32);
                    rig.answer(0, &event);
                }
            }
            if event.kind.is_call() && !matches!(action, Action::RollBack) {
                calls += 1;
            }
            event = rig.next_event(0);
            round(arch, &mut expected);
            prop_assert_eq!(event.fp.as_ref().unwrap().bytes(), &expected[..], "after {:?}", action);
            prop_assert_eq!(event.regs.words()[ROUNDS], rounds + 1);
            prop_assert_eq!(rig.fake.replicas[0].answers, calls);
            if matches!(action, Action::Answer) {
                // An agreement: the next checkpoint.
                checkpoint = (rig.fake.replicas[0].area.clone(), event.clone());
            }
        }
    }
}
