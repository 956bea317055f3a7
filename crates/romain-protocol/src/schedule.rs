//! A replica's threads as the core keeps them, and the serial schedule every replica follows.
//!
//! Thread *t* of every replica is the same logical thread: numbered in creation order, created
//! at the same agreed call. One thread runs at a time in each replica, the same one in all, and
//! the running thread changes only at an agreed call, by a rule over agreed events alone: it
//! runs on until it waits, sleeps, yields, exits or has made [`QUANTUM`] calls; then the next
//! runnable thread in number order (after it, wrapping round) runs. So every replica
//! interleaves its threads alike, and atomics, lock-free code and data races are deterministic.
//!
//! A thread that does not run is held here, not in the replicas: the registers it continues
//! from (its call answered), the same for every replica. Time is the program's clock: the
//! master's until the program first has a second thread, then a replicated clock that moves a
//! fixed step per agreed event and, when every thread waits, jumps to the earliest wake, so
//! timeouts fire in the same order in every replica and every run, with no real waiting.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use romain_core::regs::RegisterFile;
use romain_records::fnv;

use crate::shell::{BadAddress, OverQuota, Stop, World};
use crate::thread::{MAX_CREATED, MAX_THREADS, ThreadView};

/// Calls a thread makes before the next runnable thread gets its turn.
pub const QUANTUM: u32 = 32;

#[derive(Debug, Clone)]
enum State {
    Running,
    /// Runnable: continues from the registers.
    Ready(RegisterFile),
    /// In a futex wait.
    Waiting {
        addr: u64,
        bitset: u32,
        until: Option<u64>,
        regs: RegisterFile,
        result: usize,
        timed_out: u64,
        /// Waiters are woken in the order they began to wait.
        order: u64,
    },
    Sleeping {
        until: u64,
        regs: RegisterFile,
    },
    Exited,
}

/// What runs next.
// Made once per switch and consumed at once.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// The running thread goes on.
    Stay,
    /// Thread `thread` runs, from `regs`.
    Run { thread: usize, regs: RegisterFile },
    /// Every thread waits and none has a timeout: the waits, for the reason.
    Deadlock(String),
}

/// The rate of a program's replicated clock from its start: nanoseconds.
pub const PROGRAM_HZ: u64 = 1_000_000_000;

/// The program's clock.
#[derive(Debug, Clone, Copy)]
struct Clock {
    /// Where the replicated clock started (the master's clock then): `None` while the program
    /// has had one thread.
    base: Option<u64>,
    advanced: u64,
    /// How far it moves per agreed event.
    step: u64,
}

impl Clock {
    fn now(&self, real: u64) -> u64 {
        self.base.map_or(real, |b| b.saturating_add(self.advanced))
    }

    fn replicate(&mut self, real: u64) {
        self.base.get_or_insert(real);
    }

    fn jump_to(&mut self, at: u64, real: u64) {
        let base = *self.base.get_or_insert(real);
        self.advanced = self.advanced.max(at.saturating_sub(base));
    }
}

/// One group's threads (the same in every replica) and its schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    threads: Vec<State>,
    /// Events decided for each thread.
    events: Vec<u64>,
    current: usize,
    /// Calls left in the running thread's quantum.
    left: u32,
    next_order: u64,
    clock: Clock,
    switches: u64,
    digest: u64,
}

impl Schedule {
    /// One thread, the program's first, running; the replicated clock moves `step` ticks per
    /// agreed event once it runs: from the start where `replicated` (at one second: not 0,
    /// which programs may take for a clock not set; the same in every run), else from the
    /// program's first second thread on.
    pub fn new(step: u64, replicated: bool) -> Self {
        Schedule {
            threads: alloc::vec![State::Running],
            events: alloc::vec![0],
            current: 0,
            left: QUANTUM,
            next_order: 0,
            clock: Clock {
                base: replicated.then_some(step.max(1) * 1_000_000),
                advanced: 0,
                step: step.max(1),
            },
            switches: 0,
            digest: fnv::START,
        }
    }

    pub fn current(&self) -> usize {
        self.current
    }

    /// Events decided for thread `t` so far.
    pub fn events_of(&self, t: usize) -> u64 {
        self.events.get(t).copied().unwrap_or(0)
    }

    /// Threads the program has had, its first included.
    pub fn threads(&self) -> usize {
        self.threads.len()
    }

    /// Threads that have not exited.
    pub fn live(&self) -> usize {
        self.threads
            .iter()
            .filter(|s| !matches!(s, State::Exited))
            .count()
    }

    pub fn view(&self) -> ThreadView {
        let live = self.live();
        ThreadView {
            current: self.current,
            next: (live < MAX_THREADS && self.threads.len() < MAX_CREATED)
                .then_some(self.threads.len()),
            live,
        }
    }

    /// The program's clock, given the master's.
    pub fn now(&self, real: u64) -> u64 {
        self.clock.now(real)
    }

    /// An event of the running thread was decided.
    pub fn on_event(&mut self) {
        self.events[self.current] += 1;
        if self.clock.base.is_some() {
            self.clock.advanced = self.clock.advanced.saturating_add(self.clock.step);
        }
    }

    /// A new thread, runnable from `child`: its number. The program's clock is replicated from
    /// now on.
    pub fn spawn(&mut self, child: RegisterFile, real: u64) -> usize {
        self.clock.replicate(real);
        self.threads.push(State::Ready(child));
        self.events.push(0);
        self.threads.len() - 1
    }

    /// The running thread stops running: it continues from `regs` when its turn comes.
    pub fn set_ready(&mut self, regs: RegisterFile) {
        self.threads[self.current] = State::Ready(regs);
    }

    pub fn exit(&mut self) {
        self.threads[self.current] = State::Exited;
    }

    pub fn sleep(&mut self, until: u64, regs: RegisterFile) {
        self.threads[self.current] = State::Sleeping { until, regs };
    }

    pub fn wait(
        &mut self,
        (addr, bitset, until): (u64, u32, Option<u64>),
        regs: RegisterFile,
        result: usize,
        timed_out: u64,
    ) {
        let order = self.next_order;
        self.next_order += 1;
        self.threads[self.current] = State::Waiting {
            addr,
            bitset,
            until,
            regs,
            result,
            timed_out,
            order,
        };
    }

    /// The waiters on `addr` whose bitset meets `bitset`, in the order they began to wait.
    fn waiters(&self, addr: u64, bitset: u32) -> Vec<usize> {
        let mut found: Vec<(u64, usize)> = self
            .threads
            .iter()
            .enumerate()
            .filter_map(|(t, s)| match s {
                State::Waiting {
                    addr: a,
                    bitset: b,
                    order,
                    ..
                } if *a == addr && b & bitset != 0 => Some((*order, t)),
                _ => None,
            })
            .collect();
        found.sort_unstable();
        found.into_iter().map(|(_, t)| t).collect()
    }

    /// Wakes at most `count` waiters on `addr` (bitset meeting `bitset`): how many.
    pub fn wake(&mut self, addr: u64, bitset: u32, count: u32) -> u32 {
        let mut woken = 0;
        for t in self.waiters(addr, bitset).into_iter().take(count as usize) {
            if let State::Waiting {
                mut regs, result, ..
            } = core::mem::replace(&mut self.threads[t], State::Exited)
            {
                if let Some(w) = regs.words_mut().get_mut(result) {
                    *w = 0;
                }
                self.threads[t] = State::Ready(regs);
                woken += 1;
            }
        }
        woken
    }

    /// Moves at most `max` waiters on `from` to wait on `to`: how many.
    pub fn requeue(&mut self, from: u64, to: u64, max: u32) -> u32 {
        let mut moved = 0;
        for t in self.waiters(from, u32::MAX).into_iter().take(max as usize) {
            if let State::Waiting { addr, .. } = &mut self.threads[t] {
                *addr = to;
                moved += 1;
            }
        }
        moved
    }

    /// Takes thread `t` if it can run at `now`: its registers (a timed-out wait's with its
    /// result).
    fn take_runnable(&mut self, t: usize, now: u64) -> Option<RegisterFile> {
        let regs = match &self.threads[t] {
            State::Ready(regs) => regs.clone(),
            State::Sleeping { until, regs } if *until <= now => regs.clone(),
            State::Waiting {
                until: Some(until),
                regs,
                result,
                timed_out,
                ..
            } if *until <= now => {
                let mut regs = regs.clone();
                if let Some(w) = regs.words_mut().get_mut(*result) {
                    *w = *timed_out;
                }
                regs
            }
            _ => return None,
        };
        self.threads[t] = State::Running;
        Some(regs)
    }

    fn runnable(&self, t: usize, now: u64) -> bool {
        match &self.threads[t] {
            State::Ready(_) => true,
            State::Sleeping { until, .. } => *until <= now,
            State::Waiting { until, .. } => until.is_some_and(|u| u <= now),
            State::Running | State::Exited => false,
        }
    }

    /// The running thread made a call: whether its quantum is used up and another thread can
    /// run now (program clock `now`), so that it must give way.
    pub fn quantum_over(&mut self, now: u64) -> bool {
        self.left = self.left.saturating_sub(1);
        if self.left > 0 {
            return false;
        }
        self.left = QUANTUM;
        self.others_runnable(now)
    }

    /// Whether a thread besides the running one can run at `now`.
    pub fn others_runnable(&self, now: u64) -> bool {
        (0..self.threads.len()).any(|t| t != self.current && self.runnable(t, now))
    }

    /// The thread to run at agreed event `point` (with the master's clock `real`): the next
    /// runnable after the running one in number order, wrapping round; the running one goes on
    /// if it still runs and nobody else can; when nobody can, the clock moves to the earliest
    /// wake.
    pub fn pick(&mut self, point: u64, real: u64) -> Pick {
        let n = self.threads.len();
        let now = self.now(real);
        for i in 1..=n {
            let t = (self.current + i) % n;
            if let Some(regs) = self.take_runnable(t, now) {
                return self.run(point, t, regs);
            }
        }
        if matches!(self.threads[self.current], State::Running) {
            self.left = QUANTUM;
            return Pick::Stay;
        }
        let earliest = self
            .threads
            .iter()
            .enumerate()
            .filter_map(|(t, s)| match s {
                State::Sleeping { until, .. } => Some((*until, t)),
                State::Waiting {
                    until: Some(until), ..
                } => Some((*until, t)),
                _ => None,
            })
            .min();
        let Some((until, t)) = earliest else {
            return Pick::Deadlock(self.waits());
        };
        self.clock.jump_to(until, real);
        let regs = self
            .take_runnable(t, self.now(real))
            .expect("due at the clock it moved to");
        self.run(point, t, regs)
    }

    fn run(&mut self, point: u64, t: usize, regs: RegisterFile) -> Pick {
        if t != self.current {
            self.switches += 1;
            self.digest = fnv::continue_with(self.digest, &point.to_le_bytes());
            self.digest = fnv::continue_with(self.digest, &(t as u64).to_le_bytes());
        }
        self.current = t;
        self.threads[t] = State::Running;
        self.left = QUANTUM;
        Pick::Run { thread: t, regs }
    }

    /// What the threads wait for, for a deadlock's reason.
    fn waits(&self) -> String {
        let mut text = String::new();
        for (t, s) in self.threads.iter().enumerate() {
            if let State::Waiting { addr, .. } = s {
                let sep = if text.is_empty() { "" } else { ", " };
                let _ = write!(text, "{sep}thread {t} on futex {addr:#x}");
            }
        }
        text
    }

    /// Threads that would run at the running one's next call (neither waiting nor asleep),
    /// for a livelock's reason.
    pub fn ready(&self) -> Vec<usize> {
        self.threads_where(|s| matches!(s, State::Ready(_)))
    }

    /// Threads that wait (for a livelock's reason): their numbers.
    pub fn waiting(&self) -> Vec<usize> {
        self.threads_where(|s| matches!(s, State::Waiting { .. }))
    }

    fn threads_where(&self, state: impl Fn(&State) -> bool) -> Vec<usize> {
        (0..self.threads.len())
            .filter(|&t| state(&self.threads[t]))
            .collect()
    }

    /// The counts the summary reports.
    pub fn counts(&self) -> romain_core::summary::ThreadCounts {
        let mut counts = romain_core::summary::ThreadCounts {
            threads: self.threads.len() as u64,
            switches: self.switches,
            schedule: self.digest,
            events: heapless::Vec::new(),
        };
        for n in self.events.iter().take(romain_core::summary::SHOWN_THREADS) {
            let _ = counts.events.push(*n);
        }
        counts
    }
}

/// The world as a personality sees it while it performs a call: the program's clock instead
/// of the master's, the rest as it is.
pub struct ProgramClock<'a, W> {
    pub world: &'a mut W,
    pub now: u64,
}

impl<W: World> World for ProgramClock<'_, W> {
    fn now(&self) -> u64 {
        self.now
    }
    fn print(&mut self, bytes: &[u8]) {
        self.world.print(bytes)
    }
    fn end_line(&mut self) {
        self.world.end_line()
    }
    fn random(&mut self) -> u64 {
        self.world.random()
    }
    fn grow(&mut self, k: usize, bytes: u64) -> Result<u64, OverQuota> {
        self.world.grow(k, bytes)
    }
    fn ring_doorbell(&mut self) {
        self.world.ring_doorbell()
    }
    fn read_memory(&mut self, k: usize, addr: u64, buf: &mut [u8]) -> Result<(), BadAddress> {
        self.world.read_memory(k, addr, buf)
    }
    fn zero_memory(&mut self, range: core::ops::Range<u64>) -> Result<(), BadAddress> {
        self.world.zero_memory(range)
    }
    fn write_memory(&mut self, addr: u64, bytes: &[u8]) -> Result<(), BadAddress> {
        self.world.write_memory(addr, bytes)
    }
    fn map_lazy(&mut self, range: core::ops::Range<u64>, counted: bool) -> Result<(), OverQuota> {
        self.world.map_lazy(range, counted)
    }
    fn writable(&mut self, k: usize, addr: u64, len: u64) -> Result<(), BadAddress> {
        self.world.writable(k, addr, len)
    }
    fn exchange(&mut self, send: Option<&[u64]>, receive: &mut [u64]) -> Result<usize, Stop> {
        self.world.exchange(send, receive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use romain_core::regs::Arch;

    #[test]
    fn creations_are_bounded_at_once_and_over_the_programs_life() {
        let regs = RegisterFile::new(Arch::Aarch64, &[0; 36]).unwrap();
        let mut s = Schedule::new(1, true);
        for _ in 1..MAX_THREADS {
            assert!(s.view().next.is_some());
            s.spawn(regs.clone(), 0);
        }
        assert_eq!((s.view().next, s.view().live), (None, MAX_THREADS));
        // Threads that exit make room, up to the life-long bound.
        for t in 1.. {
            s.threads[t] = State::Exited;
            if s.view().next.is_none() {
                break;
            }
            s.spawn(regs.clone(), 0);
        }
        assert_eq!(s.threads(), MAX_CREATED);
    }
}
