//! One group's protocol state and its decisions.

use alloc::vec::Vec;
use core::ops::Range;

use romain_abi::CallError;
use romain_core::budget::{Budget, Spent};
use romain_core::event::{Event, EventKind, Words};
use romain_core::inject::Injection;
use romain_core::regs::RegisterFile;
use romain_core::rendezvous::Rendezvous;
use romain_core::summary::{Status, Summary};
use romain_core::vote::{MAX_REPLICAS, Verdict, vote};
use romain_core::watchdog::{self, Expiry, Late, Watchdog};
use romain_memory::{Scope, Tracking};

use crate::personality::{Action, CallScope, Device, Personality};
use crate::schedule::{PROGRAM_HZ, Pick, ProgramClock, Schedule};
use crate::shell::{Injected, Shell, Stop};
use crate::thread::{Then, ThreadCall, ThreadOp};

/// How many times a corrupted-result injection finds no instruction with a register result
/// before it gives up.
pub const RESULT_ATTEMPTS: u64 = 64;

/// A group's fixed parameters.
#[derive(Debug, Clone)]
pub struct Config {
    pub replicas: usize,
    pub tracking: Tracking,
    /// The watchdog's lag and silence bounds, in counter ticks (0: off), and the same in ms
    /// for messages.
    pub lag_ticks: u64,
    pub silence_ticks: u64,
    pub lag_ms: u64,
    pub silence_ms: u64,
    /// Frequency of the master's counter (0 where unknown).
    pub counter_hz: u64,
    /// Where the shared region is, if the group has a companion.
    pub shared: Option<Range<u64>>,
    /// How long a delayed injection that found nothing to do waits before it tries again.
    pub retry_ticks: u64,
    /// The program's clock is the replicated one from its start (Linux programs: the same time
    /// in every run), not the master's until a second thread.
    pub replicated_clock: bool,
}

/// What the master observed.
// An arrival carries its event by value: it is moved once per event; boxing would allocate.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Input {
    /// Replica `replica` arrived at its next event (a checked call or fault it waits in).
    Arrival { replica: usize, event: Event },
    /// Time passed: a watchdog bound or a delayed injection may be due.
    Tick,
    /// The companion rang the master's doorbell.
    Doorbell,
    /// The companion exited or was stopped.
    CompanionGone,
}

/// Whether the group goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The program ended (exit, or a fault of the program in every replica).
    End,
}

/// The state the replicas agreed on last, which a DMR rollback returns them to: the registers
/// at the agreed call (its system-call instruction; at the start, the entry point) and the reply
/// the call got. Memory is checkpointed page by page by the shell.
#[derive(Debug, Clone)]
struct Checkpoint {
    regs: RegisterFile,
    reply: Option<Words>,
}

/// One group's protocol.
pub struct Group<P> {
    config: Config,
    personality: P,
    rendezvous: Rendezvous,
    watchdog: Watchdog,
    checkpoint: Checkpoint,
    /// The event at which the group last rolled back: a second mismatch there is fail-stop.
    rolled_back_at: Option<u64>,
    /// After a rollback the replicas first repeat the agreed call they were rolled back to; it
    /// gets the recorded reply instead of being performed again.
    replaying: bool,
    /// Replicas repaired before: a replica outvoted again is repaired in full (a difference may
    /// hide in a page nobody wrote since, such as a flipped bit in memory).
    repaired: Vec<bool>,
    device: Device,
    /// A wait call the replicas agreed on, answered when the companion rings.
    held: Option<Event>,
    injection: Option<Injection<'static>>,
    /// When a delayed injection is due.
    inject_at: Option<u64>,
    attempts: u64,
    /// The run's budget, and when the group started.
    budget: Budget,
    start: u64,
    /// The program's threads and which one runs.
    schedule: Schedule,
}

impl<P: Personality> Group<P> {
    /// A group whose replicas start at `entry` at time `start`.
    pub fn new(
        config: Config,
        personality: P,
        entry: RegisterFile,
        start: u64,
        injection: Option<Injection<'static>>,
    ) -> Self {
        let n = config.replicas;
        Group {
            rendezvous: Rendezvous::new(n),
            watchdog: Watchdog::new(config.lag_ticks, config.silence_ticks, start),
            checkpoint: Checkpoint {
                regs: entry,
                reply: None,
            },
            rolled_back_at: None,
            replaying: false,
            repaired: alloc::vec![false; n],
            device: Device {
                region: config.shared.as_ref().map(|r| (r.start, r.end - r.start)),
                ..Device::default()
            },
            held: None,
            inject_at: injection.and_then(|i| i.delay).map(|d| start + d),
            injection,
            attempts: 0,
            budget: Budget::default(),
            start,
            // The replicated clock moves a microsecond per agreed event.
            schedule: Schedule::new(Self::clock_hz(&config) / 1_000_000, config.replicated_clock),
            personality,
            config,
        }
    }

    /// The group with a budget for the run (none by default).
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// When the master must look again even if no message comes.
    pub fn deadline(&self) -> Option<u64> {
        [
            self.watchdog.deadline(),
            self.inject_at,
            self.budget.deadline(self.start),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Whether replica `k` waits at the current point.
    pub fn arrived(&self, k: usize) -> bool {
        self.rendezvous.arrived(k)
    }

    /// One input: the core decides and acts through `shell`.
    pub fn step<S: Shell>(
        &mut self,
        input: Input,
        shell: &mut S,
        summary: &mut Summary<'_>,
    ) -> Result<Flow, Stop> {
        match input {
            Input::Arrival { replica, event } => self.on_arrival(replica, event, shell, summary),
            Input::Tick => {
                let now = shell.now();
                if let Some(spent) = self.budget.at(self.start, now) {
                    return Err(over_budget(spent, shell));
                }
                if self.inject_at.is_some_and(|at| now >= at) {
                    self.inject_now(shell)?;
                } else if let Some(expiry) = self.watchdog.expired(now) {
                    self.on_late(expiry, shell, summary)?;
                }
                Ok(Flow::Continue)
            }
            Input::Doorbell => {
                self.device.rung = true;
                self.release_wait(0, shell)?;
                Ok(Flow::Continue)
            }
            Input::CompanionGone => {
                self.device.done = true;
                self.release_wait(CallError::Gone.as_result_word(), shell)?;
                Ok(Flow::Continue)
            }
        }
    }

    /// After the program ended and the companion finished: the personality's last word.
    pub fn finish(&self, summary: &Summary<'_>) -> Result<(), Stop> {
        self.personality.finish(summary)
    }

    fn on_arrival<S: Shell>(
        &mut self,
        k: usize,
        mut event: Event,
        shell: &mut S,
        summary: &mut Summary<'_>,
    ) -> Result<Flow, Stop> {
        if k >= self.config.replicas {
            return Err(Stop(
                Status::ProtocolError,
                alloc::format!("replica {k}: no such replica"),
            ));
        }
        let point = summary.events + 1;
        let (thread, its) = (
            self.schedule.current(),
            self.schedule.events_of(self.schedule.current()) + 1,
        );
        let due = |at: &mut Injection<'static>| {
            at.delay.is_none()
                && at.replica == k
                && match at.thread {
                    None => at.event == point,
                    Some(t) => t == thread && at.event == its,
                }
        };
        if let Some(at) = self.injection.take_if(due)
            && shell.inject(k, &at, Some(&mut event), false)? == Injected::Lost
        {
            return Ok(Flow::Continue);
        }
        if let EventKind::VmFault { addr, .. } = event.kind
            && self.shared(addr)
            && let Some(digest) = shell.private_digest(k, &event)
        {
            // Private bytes about to leave for the region are part of what is compared (after
            // any injection: a bit flipped in them must be caught here).
            let _ = event.words.push(digest);
        } else if let Some(digest) = self.personality.fingerprint(k, &event, shell) {
            // Buffers the call passes by reference are part of what is compared.
            let _ = event.words.push(digest);
        }
        self.watchdog.on_arrival(shell.now());
        match self.rendezvous.arrive(k, event) {
            Ok(false) => return Ok(Flow::Continue),
            Ok(true) => {}
            Err(err) => {
                return Err(Stop(
                    Status::ProtocolError,
                    alloc::format!("replica {k}: {err:?}"),
                ));
            }
        }
        let flow = self.decide(shell, summary);
        self.rendezvous.reset();
        self.watchdog.on_decision();
        flow
    }

    fn shared(&self, addr: u64) -> bool {
        self.config
            .shared
            .as_ref()
            .is_some_and(|r| r.contains(&addr))
    }

    fn rolls_back(&self) -> bool {
        matches!(
            self.config.tracking,
            Tracking::Checkpoints | Tracking::Snapshots
        )
    }

    /// Whether a mismatch or hang at `point` can be answered by a rollback: under DMR, once.
    fn can_roll_back(&self, point: u64) -> bool {
        self.rolls_back() && self.rolled_back_at != Some(point)
    }

    fn after_rollback(&self, point: u64) -> &'static str {
        if self.rolled_back_at == Some(point) {
            " again after a rollback (fail-stop)"
        } else {
            ""
        }
    }

    /// The rate of the program's clock: a replicated clock from the program's start runs in
    /// nanoseconds ([`PROGRAM_HZ`]) whatever the master's counter runs at (x86_64's is measured
    /// at each boot and differs by a few kHz), so that a program reads the same times in every
    /// boot; otherwise it is the master's counter.
    fn clock_hz(config: &Config) -> u64 {
        if config.replicated_clock {
            PROGRAM_HZ
        } else {
            config.counter_hz
        }
    }

    fn ms(&self, ticks: u64) -> u64 {
        // As the shell counts: 1 GHz where the rate is unknown.
        let hz = match self.config.counter_hz {
            0 => 1_000_000_000,
            hz => hz,
        };
        ticks / (hz / 1000).max(1)
    }

    /// Every replica is at the point: compare, vote, repair, perform once, answer all.
    fn decide<S: Shell>(&mut self, shell: &mut S, summary: &mut Summary<'_>) -> Result<Flow, Stop> {
        let events: Vec<Event> = self
            .rendezvous
            .events()
            .expect("complete")
            .into_iter()
            .cloned()
            .collect();
        let refs: heapless::Vec<&Event, MAX_REPLICAS> = events.iter().collect();
        if let Some(spent) = self
            .budget
            .before_event(summary.events + 1)
            .or_else(|| self.budget.at(self.start, shell.now()))
        {
            return Err(over_budget(spent, shell));
        }
        summary.events += 1;
        let point = summary.events;
        summary.compared_words += events
            .iter()
            .map(|e| e.compared_words() as u64)
            .sum::<u64>();
        summary.fp_bytes += events.iter().map(|e| e.fp_bytes() as u64).sum::<u64>();
        let leader = match vote(&refs) {
            Verdict::Agree => 0,
            Verdict::Majority { leader, outvoted } => {
                summary.mismatches += 1;
                // The log lines below are lines of their own on the console.
                shell.end_line();
                for (index, diff) in outvoted {
                    // A replica outvoted again may hide a difference in a page nobody wrote.
                    let scope = if self.repaired[index] {
                        Scope::All
                    } else {
                        Scope::Written
                    };
                    log::warn!(
                        "event {point}: replica {index} outvoted ({diff}); repairing from replica {leader}"
                    );
                    let regs = events[leader].resume_registers();
                    let done = shell.repair(leader, index, &regs, self.scope(scope))?;
                    log::info!(
                        "replica {index} repaired: registers and {} of {} pages compared ({})",
                        done.copied,
                        done.compared,
                        scope_name(scope, self.config.tracking)
                    );
                    if let Some(what) = self.personality.unrepaired() {
                        log::warn!("replica {index}: {what} not repaired");
                    }
                    self.repaired[index] = true;
                    summary.recoveries += 1;
                    summary.pages_compared += done.compared as u64;
                    summary.pages_copied += done.copied as u64;
                }
                leader
            }
            Verdict::NoMajority { a, b, first } => {
                summary.mismatches += 1;
                shell.end_line();
                if self.can_roll_back(point) {
                    log::warn!(
                        "event {point} ({}): replicas {a} and {b} differ in {first}; rolling both back",
                        events[a].kind
                    );
                    summary.events -= 1;
                    self.rollback(point, shell, summary)?;
                    return Ok(Flow::Continue);
                }
                for (i, e) in events.iter().enumerate() {
                    log::info!("replica {i} at event {point}: {} {:?}", e.kind, e.regs);
                }
                if self.config.replicas == 2 {
                    summary.detected += 1;
                }
                return Err(Stop(
                    Status::Mismatch,
                    alloc::format!(
                        "event {point} ({}): replicas {a} and {b} differ in {first}, no majority{}",
                        events[a].kind,
                        self.after_rollback(point)
                    ),
                ));
            }
        };

        let event = &events[leader];
        if !self.replaying {
            self.schedule.on_event();
        }
        let flow = self.act(leader, event, point, shell, summary);
        if self.schedule.threads() > 1 {
            summary.threads = self.schedule.counts();
        }
        flow
    }

    /// Performs the agreed `event` (the leader's) once and lets the replicas go on.
    fn act<S: Shell>(
        &mut self,
        leader: usize,
        event: &Event,
        point: u64,
        shell: &mut S,
        summary: &mut Summary<'_>,
    ) -> Result<Flow, Stop> {
        if let EventKind::VmFault { addr, .. } = event.kind
            && self.shared(addr)
            && !self.replaying
        {
            return self.copy_and_execute(leader, event, shell, summary);
        }
        let action = if self.replaying {
            // The call the replicas were rolled back to: answered as it was the first time.
            self.replaying = false;
            summary.events -= 1;
            Action::Reply(self.checkpoint.reply.clone().unwrap_or_default())
        } else {
            let now = self.schedule.now(shell.now());
            self.personality.perform(
                event,
                CallScope {
                    shell: &mut ProgramClock {
                        world: &mut *shell,
                        now,
                    },
                    summary: &mut *summary,
                    device: &mut self.device,
                    replicas: self.config.replicas,
                    leader,
                    counter_hz: Self::clock_hz(&self.config),
                    threads: self.schedule.view(),
                },
            )
        };
        match action {
            Action::End => Ok(Flow::End),
            Action::Reply(words) => {
                self.answer(event, &words, shell)?;
                Ok(Flow::Continue)
            }
            Action::Hold => {
                self.held = Some(event.clone());
                Ok(Flow::Continue)
            }
            Action::Resume(regs) => self.run_on(regs, point, shell),
            Action::Thread(call) => self.thread_call(call, point, shell, summary),
        }
    }

    /// The running thread continues from `regs`, unless its quantum is over and another
    /// thread can run.
    fn run_on<S: Shell>(
        &mut self,
        regs: RegisterFile,
        point: u64,
        shell: &mut S,
    ) -> Result<Flow, Stop> {
        let now = self.schedule.now(shell.now());
        if self.schedule.live() > 1 && self.schedule.quantum_over(now) {
            self.schedule.set_ready(regs);
            return self.switch(point, shell);
        }
        self.resume_all(regs, shell)?;
        Ok(Flow::Continue)
    }

    /// A thread operation of the running thread.
    fn thread_call<S: Shell>(
        &mut self,
        ThreadCall {
            op,
            mut regs,
            result,
        }: ThreadCall,
        point: u64,
        shell: &mut S,
        summary: &mut Summary<'_>,
    ) -> Result<Flow, Stop> {
        let real = shell.now();
        match op {
            ThreadOp::Spawn { child } => {
                if self.schedule.view().next.is_none() {
                    return Err(Stop::new(
                        Status::PersonalityError,
                        alloc::format!(
                            "a thread past the limit of {} was created",
                            crate::thread::MAX_THREADS
                        ),
                    ));
                }
                let t = self.schedule.spawn(child, real);
                for k in 0..self.config.replicas {
                    shell.add_thread(k, t)?;
                }
                self.run_on(regs, point, shell)
            }
            ThreadOp::Exit { wake, status } => {
                let ended = self.schedule.current();
                self.schedule.exit();
                for addr in wake {
                    self.schedule.wake(addr, u32::MAX, 1);
                }
                if self.schedule.live() == 0 {
                    summary.exit_code = Some(status);
                    return Ok(Flow::End);
                }
                let flow = self.switch(point, shell)?;
                for k in 0..self.config.replicas {
                    shell.end_thread(k, ended)?;
                }
                Ok(flow)
            }
            ThreadOp::Wait {
                addr,
                bitset,
                until,
                timed_out,
            } => {
                self.schedule
                    .wait((addr, bitset, until), regs, result, timed_out);
                self.switch(point, shell)
            }
            ThreadOp::Wake {
                addr,
                bitset,
                count,
                then,
            } => {
                let mut n = self.schedule.wake(addr, bitset, count);
                match then {
                    Then::Nothing => {}
                    Then::Requeue { to, max, counted } => {
                        let moved = self.schedule.requeue(addr, to, max);
                        if counted {
                            n += moved;
                        }
                    }
                    Then::Wake { addr, count } => n += self.schedule.wake(addr, u32::MAX, count),
                }
                if let Some(w) = regs.words_mut().get_mut(result) {
                    *w = u64::from(n);
                }
                self.run_on(regs, point, shell)
            }
            ThreadOp::Yield => {
                if self.schedule.others_runnable(self.schedule.now(real)) {
                    self.schedule.set_ready(regs);
                    return self.switch(point, shell);
                }
                self.resume_all(regs, shell)?;
                Ok(Flow::Continue)
            }
            ThreadOp::Sleep { until } => {
                self.schedule.sleep(until, regs);
                self.switch(point, shell)
            }
        }
    }

    /// The running thread gave way (it waits, sleeps, yielded, exited or used its quantum):
    /// the next runs in every replica, from the registers the core holds for it. The agreed
    /// state there is the new checkpoint.
    fn switch<S: Shell>(&mut self, point: u64, shell: &mut S) -> Result<Flow, Stop> {
        let before = self.schedule.current();
        match self.schedule.pick(point, shell.now()) {
            Pick::Run { thread, regs } if thread == before => {
                self.resume_all(regs, shell)?;
            }
            Pick::Run { thread, regs } => {
                for k in 0..self.config.replicas {
                    shell.stop(k)?;
                    shell.forget_reply(k);
                }
                for k in 0..self.config.replicas {
                    shell.select_thread(k, thread)?;
                    shell.agree_memory(k)?;
                }
                self.checkpoint = Checkpoint {
                    regs: regs.clone(),
                    reply: None,
                };
                for k in 0..self.config.replicas {
                    shell.restart_at(k, &regs)?;
                }
            }
            // Only a thread that still runs stays, and the callers stopped it.
            Pick::Stay => {
                return Err(Stop::new(
                    Status::MasterError,
                    "the schedule kept a thread that gave way",
                ));
            }
            Pick::Deadlock(waits) => {
                shell.end_line();
                return Err(Stop(
                    Status::Deadlock,
                    alloc::format!(
                        "every thread waits and none has a timeout (at event {point}): {waits}"
                    ),
                ));
            }
        }
        Ok(Flow::Continue)
    }

    /// A page repair's scope: only write tracking knows which pages were written.
    fn scope(&self, scope: Scope) -> Scope {
        if self.config.tracking == Tracking::Writes {
            scope
        } else {
            Scope::All
        }
    }

    /// Every replica gets `words` for the agreed `event` and runs on: the new checkpoint.
    fn answer<S: Shell>(
        &mut self,
        event: &Event,
        words: &Words,
        shell: &mut S,
    ) -> Result<(), Stop> {
        for k in 0..self.config.replicas {
            shell.agree_memory(k)?;
        }
        if self.rolls_back() {
            self.checkpoint = Checkpoint {
                regs: event.regs.clone(),
                reply: Some(words.clone()),
            };
        }
        for k in 0..self.config.replicas {
            shell.reply(k, words);
        }
        Ok(())
    }

    /// Answers a held wait call with `word` (0: the companion rang).
    fn release_wait<S: Shell>(&mut self, word: u64, shell: &mut S) -> Result<(), Stop> {
        if let Some(event) = self.held.take() {
            self.device.rung = false;
            self.answer(&event, &Words::from_slice(&[word]).expect("fits"), shell)?;
        }
        Ok(())
    }

    /// The replicas agree on an access to the shared region: it is executed once and every
    /// replica continues after the instruction with the registers it left.
    fn copy_and_execute<S: Shell>(
        &mut self,
        leader: usize,
        event: &Event,
        shell: &mut S,
        summary: &mut Summary<'_>,
    ) -> Result<Flow, Stop> {
        let done = shell.execute_shared(leader, event)?;
        self.device.rung |= done.rung;
        summary.shm_accesses += 1;
        self.resume_all(done.regs, shell)?;
        Ok(Flow::Continue)
    }

    /// Every replica continues from `regs`, after an agreed event that happened once (a shared
    /// access, a call answered in registers): the new checkpoint, which a rollback resumes
    /// after.
    fn resume_all<S: Shell>(&mut self, regs: RegisterFile, shell: &mut S) -> Result<(), Stop> {
        for k in 0..self.config.replicas {
            shell.agree_memory(k)?;
            shell.set_registers(k, &regs)?;
        }
        self.checkpoint = Checkpoint { regs, reply: None };
        for k in 0..self.config.replicas {
            shell.reply(k, &[]);
        }
        Ok(())
    }

    /// Returns every replica to the checkpoint: memory, registers; they re-execute from there.
    fn rollback<S: Shell>(
        &mut self,
        point: u64,
        shell: &mut S,
        summary: &mut Summary<'_>,
    ) -> Result<(), Stop> {
        for k in 0..self.config.replicas {
            shell.stop(k)?;
            shell.forget_reply(k);
        }
        let mut pages = 0;
        for k in 0..self.config.replicas {
            pages += shell.roll_back_memory(k)?;
            shell.restart_at(k, &self.checkpoint.regs)?;
        }
        log::info!(
            "rolled back to event {} ({pages} pages restored); re-executing",
            point - 1
        );
        self.rolled_back_at = Some(point);
        self.replaying = self.checkpoint.reply.is_some();
        summary.rollbacks += 1;
        Ok(())
    }

    /// Replicas are late at the current point: a majority goes on and the late ones are repaired
    /// to rejoin it; without a majority, DMR rolls back once and otherwise the run stops. No
    /// replica arriving anywhere for the silence bound stops the run.
    fn on_late<S: Shell>(
        &mut self,
        expiry: Expiry,
        shell: &mut S,
        summary: &mut Summary<'_>,
    ) -> Result<(), Stop> {
        summary.watchdog_fired += 1;
        shell.end_line();
        let point = summary.events + 1;
        let now = shell.now();
        if expiry == Expiry::Silence && self.schedule.live() > 1 {
            let silent_ms = self.ms(self.watchdog.silent_for(now));
            return Err(Stop(
                Status::Livelock,
                alloc::format!(
                    "thread {} made no call for {silent_ms} ms (SILENCE_MS={}) while threads {:?} wait and threads {:?} are ready to run at its next call: it spins on what another thread would change, or computes longer than the bound",
                    self.schedule.current(),
                    self.config.silence_ms,
                    self.schedule.waiting(),
                    self.schedule.ready(),
                ),
            ));
        }
        if expiry == Expiry::Silence {
            let silent_ms = self.ms(self.watchdog.silent_for(now));
            return Err(Stop(
                Status::Hang,
                alloc::format!(
                    "no replica reached event {point} for {silent_ms} ms (SILENCE_MS={}): the program loops in every replica, or computes longer than the bound",
                    self.config.silence_ms
                ),
            ));
        }
        let waited_ms = self.ms(self.watchdog.waited(now).unwrap_or(0));
        match watchdog::decide(&self.rendezvous) {
            Late::Rejoin { leader, late } => {
                let event = self.rendezvous.event(leader).expect("arrived").clone();
                for index in late {
                    log::warn!(
                        "watchdog: replica {index} late at event {point} ({waited_ms} ms after the first); repairing from replica {leader}"
                    );
                    shell.stop(index)?;
                    shell.forget_reply(index);
                    // Restart it at the majority's system call: it makes the same call again.
                    // In full: a hang may come from anywhere, its code included.
                    let done = shell.repair(leader, index, &event.regs, Scope::All)?;
                    shell.start(index)?;
                    log::info!(
                        "replica {index} rejoins: registers and {} of {} pages",
                        done.copied,
                        done.compared
                    );
                    summary.recoveries += 1;
                    summary.pages_compared += done.compared as u64;
                    summary.pages_copied += done.copied as u64;
                    self.repaired[index] = true;
                }
                self.watchdog.on_decision();
                self.watchdog.on_arrival(shell.now());
                Ok(())
            }
            Late::WaitOn { arrived } => {
                log::warn!(
                    "watchdog: only replicas {arrived:?} reached event {point} ({waited_ms} ms ago); waiting for the majority"
                );
                self.watchdog.wait_on(shell.now());
                Ok(())
            }
            Late::Hang { missing } => {
                if self.can_roll_back(point) {
                    log::warn!(
                        "watchdog: replicas {missing:?} late at event {point} ({waited_ms} ms after the first); rolling back"
                    );
                    self.rollback(point, shell, summary)?;
                    self.rendezvous.reset();
                    self.watchdog.on_decision();
                    return Ok(());
                }
                Err(Stop(
                    Status::Hang,
                    alloc::format!(
                        "replicas {missing:?} did not reach event {point} within {} ms of the first (waited {waited_ms} ms), and no majority can go on{}",
                        self.config.lag_ms,
                        self.after_rollback(point)
                    ),
                ))
            }
        }
    }

    /// A delayed injection is due: the shell flips its replica wherever it is; one that found
    /// nothing to do (a corrupted result with no instruction at hand) is tried again later.
    fn inject_now<S: Shell>(&mut self, shell: &mut S) -> Result<(), Stop> {
        self.inject_at = None;
        let Some(at) = self.injection.take() else {
            return Ok(());
        };
        if at.replica >= self.config.replicas {
            return Err(Stop(
                Status::BadPlan,
                alloc::format!("injection into replica {}: no such replica", at.replica),
            ));
        }
        let running = !self.rendezvous.arrived(at.replica);
        if let Injected::Retry { counted } = shell.inject(at.replica, &at, None, running)? {
            self.attempts += u64::from(counted);
            if self.attempts < RESULT_ATTEMPTS {
                self.inject_at = Some(shell.now() + self.config.retry_ticks.max(1));
                self.injection = Some(at);
            }
        }
        Ok(())
    }
}

fn scope_name(scope: Scope, tracking: Tracking) -> &'static str {
    match (scope, tracking) {
        (Scope::Written, Tracking::Writes) => "pages written since the last agreed event",
        (_, Tracking::Writes) => "all pages: outvoted before",
        _ => "all pages",
    }
}

/// The run's budget is spent: the group ends, the plan goes on.
fn over_budget<S: Shell>(spent: Spent, shell: &mut S) -> Stop {
    shell.end_line();
    Stop(Status::OverBudget, alloc::format!("{spent}"))
}
