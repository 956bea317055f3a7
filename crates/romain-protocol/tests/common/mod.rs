//! A simulated kernel for the group core: replicas with register files and pages, and a record
//! of every effect the core asked for.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use romain_abi::Call;
use romain_core::event::{Event, EventKind, Words};
use romain_core::inject::{Injection, Target};
use romain_core::regs::{Arch, RegisterFile};
use romain_core::summary::Summary;
use romain_memory::{Repaired, Scope, Tracking};
use romain_protocol::native::Native;
use romain_protocol::{
    BadAddress, Config, Executed, Flow, Group, Injected, Input, OverQuota, Shell, Stop, World,
};

pub const ARCH: Arch = Arch::Aarch64;
pub const HZ: u64 = 1_000_000;
pub const LAG: u64 = 1_000;
pub const SILENCE: u64 = 50_000;
pub const SHARED: std::ops::Range<u64> = 0x20_0000_0000..0x20_0000_4000;

/// What the core asked of the shell, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Stop(usize),
    Start(usize),
    Forget(usize),
    SetRegs(usize, u64),
    RestartAt(usize, u64),
    Reply(usize, Vec<u64>),
    Repair {
        good: usize,
        bad: usize,
        pc: u64,
        scope: Scope,
    },
    RollBack(usize),
    Agree(usize),
    Execute(usize),
    Inject(usize, bool),
    Ring,
    AddThread(usize, usize),
    Select(usize, usize),
}

#[derive(Debug, Clone, Default)]
pub struct FakeReplica {
    pub regs: Vec<u64>,
    /// Page address → one word of contents.
    pub pages: BTreeMap<u64, u64>,
    pub agreed: BTreeMap<u64, u64>,
    pub running: bool,
    pub heap_end: u64,
    /// Its threads (the first included) and the one running.
    pub threads: usize,
    pub thread: usize,
}

impl FakeReplica {
    pub fn registers(&self) -> RegisterFile {
        RegisterFile::new(ARCH, &self.regs).unwrap()
    }
    pub fn written(&self) -> BTreeSet<u64> {
        self.pages
            .iter()
            .filter(|(a, v)| self.agreed.get(a) != Some(v))
            .map(|(a, _)| *a)
            .collect()
    }
}

pub struct FakeKernel {
    pub replicas: Vec<FakeReplica>,
    pub now: u64,
    pub out: Vec<u8>,
    pub effects: Vec<Effect>,
    pub heap_limit: u64,
    /// What an injection does: `None` applies it (register flips into the event).
    pub inject_answer: Option<Injected>,
    /// The registers an executed shared access leaves (pc advanced by 4).
    pub rung_during_execute: bool,
}

impl FakeKernel {
    pub fn new(n: usize) -> Self {
        let mut regs = vec![0u64; ARCH.register_names().len()];
        regs[0] = 0x40_1000;
        let replica = FakeReplica {
            regs,
            pages: BTreeMap::from([(0x1000, 7), (0x2000, 9)]),
            agreed: BTreeMap::from([(0x1000, 7), (0x2000, 9)]),
            running: true,
            heap_end: 0x100_0000,
            threads: 1,
            thread: 0,
        };
        FakeKernel {
            replicas: vec![replica; n],
            now: 0,
            out: Vec::new(),
            effects: Vec::new(),
            heap_limit: 0x200_0000,
            inject_answer: None,
            rung_during_execute: false,
        }
    }

    /// Replica `k`'s event of `kind` with `words`, at its current registers.
    pub fn event(&self, k: usize, kind: EventKind, words: &[u64]) -> Event {
        Event::new(
            kind,
            Words::from_slice(words).unwrap(),
            self.replicas[k].registers(),
        )
    }

    pub fn replies(&self, k: usize) -> Vec<Vec<u64>> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Reply(r, w) if *r == k => Some(w.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn count(&self, f: impl Fn(&Effect) -> bool) -> usize {
        self.effects.iter().filter(|e| f(e)).count()
    }
}

impl World for FakeKernel {
    fn now(&self) -> u64 {
        self.now
    }
    fn print(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
    fn end_line(&mut self) {}
    fn random(&mut self) -> u64 {
        4
    }
    fn grow(&mut self, k: usize, bytes: u64) -> Result<u64, OverQuota> {
        let r = &mut self.replicas[k];
        if r.heap_end + bytes > self.heap_limit {
            return Err(OverQuota);
        }
        r.heap_end += bytes;
        Ok(r.heap_end - bytes)
    }
    fn ring_doorbell(&mut self) {
        self.effects.push(Effect::Ring);
    }
    // The native personality passes no buffers by reference (romain-linux tests its own).
    fn read_memory(&mut self, _k: usize, addr: u64, _buf: &mut [u8]) -> Result<(), BadAddress> {
        Err(BadAddress(addr))
    }
    fn write_memory(&mut self, addr: u64, _bytes: &[u8]) -> Result<(), BadAddress> {
        Err(BadAddress(addr))
    }
    fn map_lazy(&mut self, _range: std::ops::Range<u64>, _counted: bool) -> Result<(), OverQuota> {
        Err(OverQuota)
    }
}

impl Shell for FakeKernel {
    fn add_thread(&mut self, k: usize, t: usize) -> Result<(), Stop> {
        assert_eq!(
            t, self.replicas[k].threads,
            "threads are made in number order"
        );
        self.replicas[k].threads += 1;
        self.effects.push(Effect::AddThread(k, t));
        Ok(())
    }
    fn select_thread(&mut self, k: usize, t: usize) -> Result<(), Stop> {
        assert!(t < self.replicas[k].threads);
        assert!(
            !self.replicas[k].running,
            "the running thread was stopped first"
        );
        self.replicas[k].thread = t;
        self.effects.push(Effect::Select(k, t));
        Ok(())
    }
    fn stop(&mut self, k: usize) -> Result<(), Stop> {
        self.replicas[k].running = false;
        self.effects.push(Effect::Stop(k));
        Ok(())
    }
    fn start(&mut self, k: usize) -> Result<(), Stop> {
        self.replicas[k].running = true;
        self.effects.push(Effect::Start(k));
        Ok(())
    }
    fn forget_reply(&mut self, k: usize) {
        self.effects.push(Effect::Forget(k));
    }
    fn set_registers(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop> {
        self.replicas[k].regs = regs.words().to_vec();
        self.effects.push(Effect::SetRegs(k, regs.pc()));
        Ok(())
    }
    fn restart_at(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop> {
        self.replicas[k].regs = regs.words().to_vec();
        self.replicas[k].running = true;
        self.effects.push(Effect::RestartAt(k, regs.pc()));
        Ok(())
    }
    fn reply(&mut self, k: usize, words: &[u64]) {
        self.effects.push(Effect::Reply(k, words.to_vec()));
    }
    fn repair(
        &mut self,
        good: usize,
        bad: usize,
        regs: &RegisterFile,
        scope: Scope,
    ) -> Result<Repaired, Stop> {
        self.effects.push(Effect::Repair {
            good,
            bad,
            pc: regs.pc(),
            scope,
        });
        let (g, b) = (self.replicas[good].clone(), &mut self.replicas[bad]);
        b.regs = regs.words().to_vec();
        let pages: BTreeSet<u64> = match scope {
            Scope::Written => g.written().union(&b.written()).copied().collect(),
            Scope::All => g.pages.keys().chain(b.pages.keys()).copied().collect(),
        };
        let mut done = Repaired {
            compared: 0,
            copied: 0,
        };
        for page in pages {
            done.compared += 1;
            if g.pages.get(&page) != b.pages.get(&page) {
                done.copied += 1;
                match g.pages.get(&page) {
                    Some(v) => b.pages.insert(page, *v),
                    None => b.pages.remove(&page),
                };
            }
        }
        Ok(done)
    }
    fn roll_back_memory(&mut self, k: usize) -> Result<usize, Stop> {
        self.effects.push(Effect::RollBack(k));
        let r = &mut self.replicas[k];
        let restored = r.written().len();
        r.pages = r.agreed.clone();
        Ok(restored)
    }
    fn agree_memory(&mut self, k: usize) -> Result<(), Stop> {
        self.effects.push(Effect::Agree(k));
        let r = &mut self.replicas[k];
        r.agreed = r.pages.clone();
        Ok(())
    }
    fn private_digest(&mut self, k: usize, _event: &Event) -> Option<u64> {
        // The "private bytes" of the fake: replica k's page at 0x2000.
        self.replicas[k].pages.get(&0x2000).copied()
    }
    fn execute_shared(&mut self, leader: usize, event: &Event) -> Result<Executed, Stop> {
        self.effects.push(Effect::Execute(leader));
        let mut regs = event.regs.clone();
        regs.words_mut()[0] += 4;
        regs.words_mut()[1] = 0x5a;
        Ok(Executed {
            regs,
            rung: self.rung_during_execute,
        })
    }
    fn inject(
        &mut self,
        k: usize,
        at: &Injection<'static>,
        event: Option<&mut Event>,
        running: bool,
    ) -> Result<Injected, Stop> {
        self.effects.push(Effect::Inject(k, running));
        if let Some(answer) = self.inject_answer {
            return Ok(answer);
        }
        let mask = 1u64 << at.bit;
        match (at.target, event) {
            (Target::Register { index }, Some(event)) => event.regs.words_mut()[index] ^= mask,
            (Target::Register { index }, None) => self.replicas[k].regs[index] ^= mask,
            (Target::Hang, _) => return Ok(Injected::Lost),
            (Target::Word { .. }, _) => *self.replicas[k].pages.get_mut(&0x2000).unwrap() ^= mask,
            _ => return Ok(Injected::Retry { counted: true }),
        }
        Ok(Injected::Applied)
    }
}

pub fn config(n: usize, tracking: Tracking, shared: bool) -> Config {
    Config {
        replicas: n,
        tracking,
        lag_ticks: LAG,
        silence_ticks: SILENCE,
        lag_ms: 1,
        silence_ms: 50,
        counter_hz: HZ,
        shared: shared.then_some(SHARED),
        retry_ticks: 250,
        replicated_clock: false,
    }
}

/// A group of `n` native replicas, its kernel and its summary.
pub struct Rig {
    pub group: Group<Native<'static>>,
    pub kernel: FakeKernel,
    pub summary: Summary<'static>,
}

impl Rig {
    pub fn new(n: usize, tracking: Tracking) -> Rig {
        Rig::with(config(n, tracking, false), None)
    }

    pub fn with(config: Config, injection: Option<Injection<'static>>) -> Rig {
        let n = config.replicas;
        let kernel = FakeKernel::new(n);
        let entry = kernel.replicas[0].registers();
        Rig {
            group: Group::new(config, Native::new("", 1), entry, 0, injection),
            kernel,
            summary: Summary::new("aarch64", "test", "tmr", n),
        }
    }

    pub fn step(&mut self, input: Input) -> Result<Flow, Stop> {
        self.group.step(input, &mut self.kernel, &mut self.summary)
    }

    /// Replica `k` arrives with `kind` and `words` at its current registers.
    pub fn arrive(&mut self, k: usize, kind: EventKind, words: &[u64]) -> Result<Flow, Stop> {
        let event = self.kernel.event(k, kind, words);
        self.step(Input::Arrival { replica: k, event })
    }

    /// Every replica arrives with the same call; the last arrival's flow.
    pub fn all(&mut self, kind: EventKind, words: &[u64]) -> Result<Flow, Stop> {
        let mut flow = Ok(Flow::Continue);
        for k in 0..self.kernel.replicas.len() {
            flow = self.arrive(k, kind, words);
        }
        flow
    }

    /// Each replica's pc moves on by `by` (it ran), optionally writing a page.
    pub fn run(&mut self, by: u64) {
        for r in &mut self.kernel.replicas {
            r.regs[0] += by;
        }
    }
}

pub fn write_words(text: &str) -> Vec<u64> {
    let mut packed = [0u64; romain_abi::WRITE_CHUNK / 8];
    let n = romain_abi::pack_bytes(text.as_bytes(), &mut packed);
    let mut words = vec![text.len() as u64];
    words.extend_from_slice(&packed[..n]);
    words
}

pub const WRITE: EventKind = EventKind::Call(Call::Write);
pub const EXIT: EventKind = EventKind::Call(Call::Exit);
pub const YIELD: EventKind = EventKind::Call(Call::Yield);
