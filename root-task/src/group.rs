//! One replica group, from the program's image to its summary line.
//!
//! The master waits on its endpoint. Each message is one replica's event (a call or a fault); the
//! replica stays blocked while the master keeps its reply capability. When all N replicas have
//! arrived at their next event, the master compares the events in full (kind, message words,
//! every register), lets the majority decide, repairs outvoted replicas from a majority replica,
//! performs the event once and answers all replicas with the same result.
//!
//! Replica page faults that the memory manager serves (a lazy page, the first write to a
//! write-protected page) are not events: the master serves them at once and the replica goes on.
//! Under DMR the master keeps a checkpoint at the last agreed event (registers, and copies of the
//! pages written since) and answers a mismatch by rolling both replicas back to it.

use alloc::vec::Vec;

use romain_abi::{Call, CallError, ReplicaBadge, region, slot};
use romain_core::event::{Event, EventKind, Words};
use romain_core::image::{self, PAGE_SIZE};
use romain_core::inject::{self, Address, Injection, Target};
use romain_core::memory::{self, Refusal, Scope, Tracking};
use romain_core::plan::{self, Mode};
use romain_core::regs::RegisterFile;
use romain_core::rendezvous::Rendezvous;
use romain_core::summary::{Status, Summary};
use romain_core::vote::{Verdict, vote};
use romain_core::watchdog::{self, Expiry, Late, Watchdog};

use crate::arch::{self, ARCH};
use crate::cae::{self, Region};
use crate::calls::{self, Action, Console};
use crate::memory::Frame;
use crate::objects::{AllocError, Objects};
use crate::replica::{BuildError, Program, Replica};
use crate::sandbox::Sandbox;
use crate::timer::{DOORBELL_BADGE, TIMER_BADGE, Timer};

/// The heap starts this far above the IPC buffer (a guard gap), aligned to it.
const HEAP_GAP: u64 = 2 << 20;

/// Where replicas and the companion see the shared region.
const SHARED_BASE: u64 = 0x20_0000_0000;

/// How long the companion may go on after the replicated program ended.
const COMPANION_GRACE_MS: u64 = 5000;

/// What a group needs from the master.
pub(crate) struct Context<'a> {
    pub objects: &'a mut Objects,
    pub endpoint: sel4::cap::Endpoint,
    /// Wakes the master for the watchdog; `None` where the platform has no timer here.
    pub timer: Option<&'a mut Timer>,
    pub cores: usize,
    pub group_number: u8,
}

/// Why a group stopped early: the status and reason go into its summary.
struct Stop(Status, alloc::string::String);

impl From<AllocError> for Stop {
    fn from(err: AllocError) -> Self {
        match err {
            AllocError::OutOfMemory => {
                Stop(Status::OutOfMemory, "group memory quota exhausted".into())
            }
            AllocError::OutOfSlots => Stop(Status::OutOfMemory, "no capability slots left".into()),
            AllocError::Kernel(e) => Stop(Status::MasterError, alloc::format!("seL4 error {e:?}")),
        }
    }
}

impl From<sel4::Error> for Stop {
    fn from(err: sel4::Error) -> Self {
        Stop(Status::MasterError, alloc::format!("seL4 error {err:?}"))
    }
}

impl From<Refusal<AllocError>> for Stop {
    fn from(err: Refusal<AllocError>) -> Self {
        match err {
            Refusal::Mmu(e) => e.into(),
            Refusal::Quota { pages } => Stop(
                Status::OutOfMemory,
                alloc::format!("memory quota of {pages} pages per replica reached"),
            ),
            Refusal::NotMine => Stop(
                Status::MasterError,
                "memory refused as not a replica's".into(),
            ),
        }
    }
}

/// The core of replica `index`: core 0 is the master's, replicas take the others in turn.
fn core_of(index: usize, cores: usize) -> usize {
    if cores <= 1 {
        0
    } else {
        1 + index % (cores - 1)
    }
}

/// How a run goes, beyond its plan entry.
pub(crate) struct Options {
    /// An injection instead of the plan's spec (a campaign's experiment).
    pub injection: Option<Injection<'static>>,
    /// Hash the program's output without printing it (campaigns).
    pub quiet: bool,
    /// The watchdog's lag and silence bounds, in counter ticks (0: off).
    pub lag_ticks: u64,
    pub silence_ticks: u64,
}

/// Runs `run.app` with `run.mode.replicas` replicas to its end and returns its summary.
pub(crate) fn run(
    mut ctx: Context<'_>,
    run: &plan::Run<'static>,
    apps: &[(&str, &'static [u8])],
    options: &Options,
) -> Summary<'static> {
    let (app, mode) = (run.app, run.mode);
    let mut summary = Summary::new(ARCH.name(), app, mode.name(), mode.replicas);
    summary.kernel = crate::KERNEL;
    summary.counter_hz = arch::counter_hz();
    let mut console = Console::new(options.quiet);
    let mut replicas = Vec::new();
    let mut companion = None;
    log::info!("run {app} ({}, {} replicas)", mode.name(), mode.replicas);

    let result = build_and_drive(
        &mut ctx,
        run,
        apps,
        options,
        &mut replicas,
        &mut companion,
        &mut console,
        &mut summary,
    );
    if let Err(Stop(status, reason)) = result {
        console.end_line();
        log::error!("{app}: {}: {reason}", status.name());
        summary.fail(status, format_args!("{reason}"));
    }
    for r in replicas.iter().chain(&companion) {
        let _ = r.stop();
    }
    if let Err(err) = ctx.objects.end_group() {
        log::error!("tearing down the group failed: {err:?}");
    }
    console.end_line();
    summary.output_hash = console.hash;
    summary
}

fn build_and_drive(
    ctx: &mut Context<'_>,
    run: &plan::Run<'static>,
    apps: &[(&str, &'static [u8])],
    options: &Options,
    replicas: &mut Vec<Replica>,
    companion: &mut Option<Replica>,
    console: &mut Console,
    summary: &mut Summary<'_>,
) -> Result<(), Stop> {
    let (app, mode) = (run.app, run.mode);
    let bytes = apps
        .iter()
        .find(|(name, _)| *name == app)
        .map(|(_, bytes)| *bytes)
        .ok_or_else(|| {
            Stop(
                Status::UnknownApp,
                alloc::format!("no program {app:?} in this image"),
            )
        })?;
    // An image may take at most half the arena per replica: room for tables and objects.
    let max_pages = (ctx.objects.arena_bytes() as u64 / PAGE_SIZE) / (2 * mode.replicas as u64);
    let layout = image::load(bytes, ARCH, max_pages)
        .map_err(|e| Stop(Status::BadImage, alloc::format!("{e}")))?;
    let written = crate::embedded::REPAIR == "written";
    let tracking = match mode.replicas {
        1 => Tracking::Off,
        2 if written => Tracking::Checkpoints,
        2 => Tracking::Snapshots,
        _ if written => Tracking::Writes,
        _ => Tracking::Off,
    };
    summary.repair = if written && mode.replicas > 1 {
        "written"
    } else {
        "all"
    };
    let ipc_buffer_end = layout.span.end + PAGE_SIZE;
    let program = Program {
        bytes,
        layout: &layout,
        heap_base: (ipc_buffer_end + HEAP_GAP).next_multiple_of(HEAP_GAP),
        quota_pages: ((crate::embedded::QUOTA_MB << 20) / PAGE_SIZE) as usize,
        tracking,
    };
    // The shared region's addresses and the sandbox's are the master's: no image or heap there.
    let heap = program.heap_base
        ..program
            .heap_base
            .saturating_add(program.quota_pages as u64 * PAGE_SIZE);
    for reserved in [
        SHARED_BASE..SHARED_BASE + region::DEVICE_PAGES as u64 * PAGE_SIZE,
        crate::sandbox::CODE_VA..crate::sandbox::BOUNCE_VA + PAGE_SIZE,
    ] {
        if layout.reaches(&heap, &reserved) {
            return Err(Stop(
                Status::BadImage,
                alloc::format!(
                    "the image or its heap reaches {:#x}..{:#x}, which the master reserves for shared memory",
                    reserved.start,
                    reserved.end
                ),
            ));
        }
    }
    let injection = match (options.injection, run.inject) {
        (Some(at), _) => Some(at),
        (None, Some(spec)) => Some(
            inject::parse(spec, ARCH).map_err(|e| Stop(Status::BadPlan, alloc::format!("{e}")))?,
        ),
        (None, None) => None,
    }
    .map(|at| Pending::new(at, bytes, mode))
    .transpose()?;

    if mode.replicas >= ctx.cores {
        log::warn!(
            "{} replicas on {} cores: some share a core",
            mode.replicas,
            ctx.cores
        );
    }
    for index in 0..mode.replicas {
        let badge = ReplicaBadge {
            group: ctx.group_number,
            replica: index as u8,
        };
        let core = core_of(index, ctx.cores);
        let replica = Replica::build(ctx.objects, &program, ctx.endpoint, badge, core).map_err(
            |err| match err {
                BuildError::Alloc(e) => Stop::from(e),
                BuildError::Quota { pages } => Stop(
                    Status::OutOfMemory,
                    alloc::format!(
                        "the image needs more than the memory quota of {pages} pages per replica"
                    ),
                ),
            },
        )?;
        log::info!(
            "replica {index} on core {core} ({} pages loaded)",
            replica.space.borrow().len()
        );
        summary.cores.push(core).ok();
        replicas.push(replica);
    }

    // A companion component `<app>-device`, if the image has one: outside the group, sharing a
    // region with it.
    let device = alloc::format!("{app}-device");
    let mut shared = None;
    let mut doorbell = None;
    let mut sandbox = None;
    if let Some((_, device_bytes)) = apps.iter().find(|(name, _)| *name == device) {
        let region = make_region(ctx.objects)?;
        if cae::LAX {
            log::warn!(
                "copy & execute in the sandbox test's lax mode: no range check, no write sets"
            );
        }
        sandbox = Some(
            Sandbox::new(ctx.objects, region.base, &region.frames, SANDBOX_CORE)
                .map_err(|e| Stop(Status::MasterError, alloc::format!("sandbox: {e:?}")))?,
        );
        let device_layout = image::load(device_bytes, ARCH, max_pages)
            .map_err(|e| Stop(Status::BadImage, alloc::format!("{device}: {e}")))?;
        let shared_range = region.base..region.base + region.len();
        if device_layout.reaches(&(0..0), &shared_range) {
            return Err(Stop(
                Status::BadImage,
                alloc::format!("{device}: the image covers the shared region's addresses"),
            ));
        }
        let device_program = Program {
            bytes: device_bytes,
            layout: &device_layout,
            heap_base: (device_layout.span.end + PAGE_SIZE + HEAP_GAP).next_multiple_of(HEAP_GAP),
            quota_pages: program.quota_pages,
            tracking: Tracking::Off,
        };
        let badge = ReplicaBadge {
            group: ctx.group_number,
            replica: ReplicaBadge::COMPANION,
        };
        let c = Replica::build(ctx.objects, &device_program, ctx.endpoint, badge, 0)
            .map_err(|_| Stop(Status::OutOfMemory, alloc::format!("cannot build {device}")))?;
        // Doorbells, real notifications: one the companion waits on (the master signals it for
        // the replicas), and the master's own, which the companion rings.
        let bell = ctx.objects.alloc::<sel4::cap_type::Notification>()?;
        c.cnode
            .absolute_cptr_from_bits_with_depth(slot::DOORBELL_WAIT, slot::BITS)
            .copy(
                &sel4::init_thread::slot::CNODE.cap().absolute_cptr(bell),
                sel4::CapRights::read_only(),
            )?;
        if let Some(timer) = ctx.timer.as_deref() {
            timer.mint_doorbell(c.cnode, slot::DOORBELL_RING)?;
        }
        doorbell = Some(bell);
        log::info!(
            "companion {device} on core 0, sharing {} pages; shared accesses run in a sandbox on core {SANDBOX_CORE}",
            region.frames.len()
        );
        *companion = Some(c);
        shared = Some(region);
    }

    let master_cpu_before = cpu_time(sel4::init_thread::slot::TCB.cap());
    let start = arch::counter();
    for r in replicas.iter().chain(companion.iter()) {
        r.start()?;
    }
    let result = drive(
        ctx,
        replicas,
        Shared {
            companion: companion.as_ref(),
            region: shared,
            doorbell,
            sandbox,
        },
        run.args,
        injection,
        console,
        summary,
        tracking,
        options,
        start,
    );
    summary.cycles = arch::counter().wrapping_sub(start);
    summary.pages = replicas[0].space.borrow().len() as u64;
    summary.replica_cpu = replicas.iter().map(|r| cpu_time(r.tcb)).sum();
    summary.master_cpu = cpu_time(sel4::init_thread::slot::TCB.cap())
        .zip(master_cpu_before)
        .map(|(after, before)| after.wrapping_sub(before));
    result
}

/// The event loop of a started group.
fn drive(
    ctx: &mut Context<'_>,
    replicas: &[Replica],
    shared: Shared<'_>,
    args: &str,
    mut injection: Option<Pending>,
    console: &mut Console,
    summary: &mut Summary<'_>,
    tracking: Tracking,
    options: &Options,
    start: u64,
) -> Result<(), Stop> {
    let entry = replicas[0].registers()?;
    let inject_at = injection
        .as_ref()
        .and_then(|p| p.at.delay)
        .map(|d| start + d);
    let mut group = Group {
        ctx,
        replicas,
        shared,
        args,
        rendezvous: Rendezvous::new(replicas.len()),
        watchdog: Watchdog::new(options.lag_ticks, options.silence_ticks, start),
        inject_at,
        tracking,
        checkpoint: Checkpoint {
            regs: entry,
            reply: None,
        },
        rolled_back_at: None,
        replaying: false,
        repaired: alloc::vec![false; replicas.len()],
        quota_refused: false,
        companion_done: false,
        rung: false,
        held: None,
        trap: None,
    };
    loop {
        let (info, badge) = match group.next_message() {
            Wake::Message(info, badge) => (info, badge),
            Wake::Late(expiry) => {
                let busy_from = arch::counter();
                let result = group.on_late(expiry, summary);
                summary.master_cycles += arch::counter().wrapping_sub(busy_from);
                result?;
                continue;
            }
            Wake::Doorbell => {
                group.release_wait(0)?;
                continue;
            }
            Wake::Inject => {
                group.inject_at = None;
                if let Some(p) = injection.take()
                    && let Some(again) = p.apply_now(&mut group, summary)?
                {
                    // Not at an instruction with a register result: a little later.
                    let retry = arch::ticks_in_ms(RESULT_RETRY_US) / 1000;
                    group.inject_at = Some(arch::counter() + retry.max(1));
                    injection = Some(again);
                }
                continue;
            }
        };
        // Everything until the next receive is the master's work: its cost per event.
        let busy_from = arch::counter();
        let flow = group.on_message(&info, badge, &mut injection, console, summary);
        summary.master_cycles += arch::counter().wrapping_sub(busy_from);
        if let Flow::End = flow? {
            group.let_companion_finish(summary)?;
            if group.quota_refused && summary.exit_code != Some(0) {
                return Err(Stop(
                    Status::OutOfMemory,
                    alloc::format!(
                        "the program exited with {:?} after the memory quota ({} MiB per replica) refused it more memory",
                        summary.exit_code,
                        crate::embedded::QUOTA_MB
                    ),
                ));
            }
            return Ok(());
        }
    }
}

enum Flow {
    Continue,
    End,
}

/// Why the master woke up.
enum Wake {
    Message(sel4::MessageInfo, sel4::Badge),
    /// A watchdog bound passed.
    Late(Expiry),
    /// A delayed injection is due.
    Inject,
    /// The companion rang while the replicas wait for it.
    Doorbell,
}

/// The state the replicas agreed on last, which a DMR rollback returns them to: the registers
/// at the agreed call (its system-call instruction; at the start, the entry point) and the reply
/// the call got. Memory is checkpointed page by page in each replica's space.
struct Checkpoint {
    regs: RegisterFile,
    reply: Option<Words>,
}

/// What a group shares with the world outside it.
struct Shared<'g> {
    /// The companion component, if any: not a replica, never compared.
    companion: Option<&'g Replica>,
    region: Option<Region>,
    /// The notification the companion waits on.
    doorbell: Option<sel4::cap::Notification>,
    /// Where agreed shared accesses are executed.
    sandbox: Option<Sandbox>,
}

/// A started group's replicas and the point they are collected at.
struct Group<'g, 'c> {
    ctx: &'g mut Context<'c>,
    replicas: &'g [Replica],
    shared: Shared<'g>,
    args: &'g str,
    rendezvous: Rendezvous,
    watchdog: Watchdog,
    /// When a delayed injection is due.
    inject_at: Option<u64>,
    tracking: Tracking,
    checkpoint: Checkpoint,
    /// The event at which the group last rolled back: a second mismatch there is fail-stop.
    rolled_back_at: Option<u64>,
    /// After a rollback the replicas first repeat the agreed call they were rolled back to; it
    /// gets the recorded reply instead of being performed again.
    replaying: bool,
    /// Replicas repaired before: a replica outvoted again is repaired in full (a difference may
    /// hide in a page nobody wrote since, such as a flipped bit in memory).
    repaired: Vec<bool>,
    /// The memory quota refused a grow call.
    quota_refused: bool,
    /// The companion exited (or was stopped).
    companion_done: bool,
    /// The companion rang its doorbell since the replicas last waited.
    rung: bool,
    /// A wait call the replicas agreed on, answered when the companion rings.
    held: Option<Event>,
    /// A corrupted-result injection waiting for its replica to run the instruction.
    trap: Option<ResultTrap>,
}

impl Group<'_, '_> {
    /// The next message, or which watchdog bound passed first. With a timer the master blocks
    /// until either comes; without one (a board without a timer driver here) it blocks while no
    /// bound is running and polls otherwise, yielding its core between polls.
    fn next_message(&mut self) -> Wake {
        loop {
            let deadline = match (self.watchdog.deadline(), self.inject_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if let Some(timer) = self.ctx.timer.as_deref_mut() {
                timer.set(deadline);
                let (info, badge) = self.ctx.endpoint.recv(());
                if ReplicaBadge::from_word(badge).is_some()
                    || badge & (TIMER_BADGE | DOORBELL_BADGE) == 0
                {
                    return Wake::Message(info, badge);
                }
                // The master's notification: the timer's bit, the doorbell's, or both.
                if badge & TIMER_BADGE != 0 {
                    timer.on_interrupt();
                }
                if badge & DOORBELL_BADGE != 0 {
                    self.rung = true;
                    if self.held.is_some() {
                        return Wake::Doorbell;
                    }
                }
            } else if deadline.is_none() {
                let (info, badge) = self.ctx.endpoint.recv(());
                return Wake::Message(info, badge);
            } else {
                let (info, badge) = self.ctx.endpoint.nb_recv(());
                if badge != 0 {
                    return Wake::Message(info, badge);
                }
                sel4::r#yield();
            }
            let now = arch::counter();
            if self.inject_at.is_some_and(|at| now >= at) {
                return Wake::Inject;
            }
            if let Some(expiry) = self.watchdog.expired(now) {
                return Wake::Late(expiry);
            }
        }
    }

    /// Replicas are late at the current point: a majority goes on and the late ones are repaired
    /// to rejoin it; without a majority, DMR rolls back once and otherwise the run stops. No
    /// replica arriving anywhere for the silence bound stops the run.
    fn on_late(&mut self, expiry: Expiry, summary: &mut Summary<'_>) -> Result<(), Stop> {
        summary.watchdog_fired += 1;
        let point = summary.events + 1;
        if expiry == Expiry::Silence {
            let silent_ms = arch::ms_in_ticks(self.watchdog.silent_for(arch::counter()));
            return Err(Stop(
                Status::Hang,
                alloc::format!(
                    "no replica reached event {point} for {silent_ms} ms (SILENCE_MS={}): the program loops in every replica, or computes longer than the bound",
                    crate::embedded::SILENCE_MS
                ),
            ));
        }
        let waited = self.watchdog.waited(arch::counter()).unwrap_or(0);
        let waited_ms = arch::ms_in_ticks(waited);
        match watchdog::decide(&self.rendezvous) {
            Late::Rejoin { leader, late } => {
                let good = &self.replicas[leader];
                let event = self.rendezvous.event(leader).expect("arrived").clone();
                for index in late {
                    let bad = &self.replicas[index];
                    log::warn!(
                        "watchdog: replica {index} late at event {point} ({waited_ms} ms after the first); repairing from replica {leader}"
                    );
                    bad.stop()?;
                    bad.forget_reply();
                    // Restart it at the majority's system call: it makes the same call again.
                    // In full: a hang may come from anywhere, its code included.
                    let done = repair(self.ctx, good, bad, &event.regs, Scope::All)?;
                    bad.start()?;
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
                self.watchdog.on_arrival(arch::counter());
                Ok(())
            }
            Late::WaitOn { arrived } => {
                log::warn!(
                    "watchdog: only replicas {arrived:?} reached event {point} ({waited_ms} ms ago); waiting for the majority"
                );
                self.watchdog.wait_on(arch::counter());
                Ok(())
            }
            Late::Hang { missing } => {
                if self.can_roll_back(point) {
                    log::warn!(
                        "watchdog: replicas {missing:?} late at event {point} ({waited_ms} ms after the first); rolling back"
                    );
                    self.rollback(point, summary)?;
                    self.rendezvous.reset();
                    self.watchdog.on_decision();
                    return Ok(());
                }
                Err(Stop(
                    Status::Hang,
                    alloc::format!(
                        "replicas {missing:?} did not reach event {point} within {} ms of the first (waited {waited_ms} ms), and no majority can go on{}",
                        crate::embedded::WATCHDOG_MS,
                        self.after_rollback(point)
                    ),
                ))
            }
        }
    }

    /// Whether a mismatch or hang at `point` can be answered by a rollback: under DMR, once.
    fn can_roll_back(&self, point: u64) -> bool {
        matches!(self.tracking, Tracking::Checkpoints | Tracking::Snapshots)
            && self.rolled_back_at != Some(point)
    }

    fn after_rollback(&self, point: u64) -> &'static str {
        if self.rolled_back_at == Some(point) {
            " again after a rollback (fail-stop)"
        } else {
            ""
        }
    }

    /// Returns every replica to the checkpoint: memory, registers; they re-execute from there.
    fn rollback(&mut self, point: u64, summary: &mut Summary<'_>) -> Result<(), Stop> {
        for r in self.replicas {
            r.stop()?;
            r.forget_reply();
        }
        let mut pages = 0;
        for r in self.replicas {
            pages += r.with_memory(self.ctx.objects, |space, mmu| space.rollback(mmu))?;
            r.restart_at(&self.checkpoint.regs)?;
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

    /// Serves a replica page fault that is the memory manager's (a lazy page, a first write).
    /// `Ok(false)`: the fault is the program's, an event like any other.
    fn serve_fault(
        &mut self,
        replica: &Replica,
        addr: u64,
        summary: &mut Summary<'_>,
    ) -> Result<bool, Stop> {
        let served = replica.with_memory(self.ctx.objects, |space, mmu| space.on_fault(mmu, addr));
        match served {
            Ok(_) => {
                summary.memory_faults += 1;
                // The empty reply restarts the faulting instruction.
                sel4::with_ipc_buffer_mut(|ipc| {
                    sel4::reply(ipc, sel4::MessageInfoBuilder::default().build())
                });
                Ok(true)
            }
            Err(Refusal::NotMine) => Ok(false),
            Err(Refusal::Quota { pages }) => Err(Stop(
                Status::OutOfMemory,
                alloc::format!(
                    "replica {} touched {addr:#x} beyond its memory quota of {pages} pages",
                    replica.index
                ),
            )),
            Err(err) => Err(err.into()),
        }
    }

    /// One message: a replica's event. Decides when it completes the point.
    fn on_message(
        &mut self,
        info: &sel4::MessageInfo,
        badge: sel4::Badge,
        injection: &mut Option<Pending>,
        console: &mut Console,
        summary: &mut Summary<'_>,
    ) -> Result<Flow, Stop> {
        let n = self.replicas.len();
        let Some(badge) = ReplicaBadge::from_word(badge).filter(|b| {
            b.group == self.ctx.group_number
                && ((b.replica as usize) < n || b.replica == ReplicaBadge::COMPANION)
        }) else {
            log::warn!("message with badge {badge:#x} from no replica of this group ignored");
            return Ok(Flow::Continue);
        };
        if badge.replica == ReplicaBadge::COMPANION {
            return self.on_companion(info, summary);
        }
        if info.label() == Call::Null.label() {
            // The floor measurement: reply at once with the implicit reply capability.
            sel4::with_ipc_buffer_mut(|ipc| {
                ipc.msg_regs_mut()[0] = 0;
                sel4::reply(ipc, sel4::MessageInfoBuilder::default().length(1).build());
            });
            return Ok(Flow::Continue);
        }
        let replica = &self.replicas[badge.replica as usize];
        // Read the message before any invocation: invocations reuse the master's IPC buffer.
        let (message, words) = arch::read_message(info).map_err(|err| {
            Stop(
                Status::ProtocolError,
                alloc::format!("replica {}: {err}", replica.index),
            )
        })?;
        let kind = message.kind;
        if let EventKind::UserException { .. } = kind
            && let Some(trap) = self.trap.take_if(|t| t.replica == replica.index)
        {
            if trap.fire(replica, summary)? {
                return Ok(Flow::Continue);
            }
            self.trap = Some(trap);
        }
        if let EventKind::VmFault { addr, .. } = kind
            && self.serve_fault(replica, addr, summary)?
        {
            return Ok(Flow::Continue);
        }
        if !replica.save_reply()? {
            let _ = replica.stop();
            return Err(Stop(
                Status::ProtocolError,
                alloc::format!(
                    "replica {}: a message ({kind}) sent without waiting for the reply \
                     (seL4_Send or seL4_NBSend): no event",
                    replica.index
                ),
            ));
        }
        let regs = replica.registers()?;
        let kind = message.at(regs.pc()).map_err(|err| {
            Stop(
                Status::ProtocolError,
                alloc::format!("replica {}: {err}", replica.index),
            )
        })?;
        let mut event = Event::new(kind, words, regs);
        let point = summary.events + 1;
        if let Some(p) = injection.take_if(|p| p.at.replica == replica.index && p.at.event == point)
            && let Arrival::Lost = p.apply(replica, &mut event, summary)?
        {
            return Ok(Flow::Continue);
        }
        if let EventKind::VmFault { addr, .. } = kind
            && let Some(region) = self.shared.region.as_ref().filter(|r| r.contains(addr))
            && let Ok(code) = code_at(replica, event.regs.pc())
            && let Some(span) = cae::private_source(region, &code, &event.regs)
        {
            // Private bytes about to leave for the region are part of what is compared (after
            // any injection: a bit flipped in them must be caught here).
            let _ = event.words.push(digest(replica, span));
        }
        self.watchdog.on_arrival(arch::counter());
        match self.rendezvous.arrive(replica.index, event) {
            Ok(false) => return Ok(Flow::Continue),
            Ok(true) => {}
            Err(err) => {
                return Err(Stop(
                    Status::ProtocolError,
                    alloc::format!("replica {}: {err:?}", replica.index),
                ));
            }
        }
        let flow = self.decide(console, summary);
        self.rendezvous.reset();
        self.watchdog.on_decision();
        flow
    }

    /// Every replica is at the point: compare, vote, repair, perform once, answer all.
    fn decide(&mut self, console: &mut Console, summary: &mut Summary<'_>) -> Result<Flow, Stop> {
        let events: Vec<Event> = self
            .rendezvous
            .events()
            .expect("complete")
            .into_iter()
            .cloned()
            .collect();
        let refs: heapless::Vec<&Event, { romain_core::vote::MAX_REPLICAS }> =
            events.iter().collect();
        summary.events += 1;
        let point = summary.events;
        summary.compared_words += events
            .iter()
            .map(|e| e.compared_words() as u64)
            .sum::<u64>();
        let leader = match vote(&refs) {
            Verdict::Agree => 0,
            Verdict::Majority { leader, outvoted } => {
                summary.mismatches += 1;
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
                    let (good, bad) = (&self.replicas[leader], &self.replicas[index]);
                    let regs = events[leader].resume_registers();
                    let done = repair(self.ctx, good, bad, &regs, scope)?;
                    log::info!(
                        "replica {index} repaired: registers and {} of {} pages compared ({})",
                        done.copied,
                        done.compared,
                        scope_name(scope, self.tracking)
                    );
                    self.repaired[index] = true;
                    summary.recoveries += 1;
                    summary.pages_compared += done.compared as u64;
                    summary.pages_copied += done.copied as u64;
                }
                leader
            }
            Verdict::NoMajority { a, b, first } => {
                summary.mismatches += 1;
                if self.can_roll_back(point) {
                    log::warn!(
                        "event {point} ({}): replicas {a} and {b} differ in {first}; rolling both back",
                        events[a].kind
                    );
                    summary.events -= 1;
                    self.rollback(point, summary)?;
                    return Ok(Flow::Continue);
                }
                for (i, e) in events.iter().enumerate() {
                    log::info!("replica {i} at event {point}: {} {:?}", e.kind, e.regs);
                }
                if self.replicas.len() == 2 {
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
        if let EventKind::VmFault { addr, .. } = event.kind
            && self
                .shared
                .region
                .as_ref()
                .is_some_and(|r| r.contains(addr))
            && !self.replaying
        {
            return self.copy_and_execute(leader, event, summary);
        }
        let action = if self.replaying {
            // The call the replicas were rolled back to: answered as it was the first time.
            self.replaying = false;
            summary.events -= 1;
            Action::Reply(self.checkpoint.reply.clone().unwrap_or_default())
        } else if event.kind == EventKind::Call(Call::Grow) {
            self.grow(event, summary)
        } else if event.kind == EventKind::Call(Call::Attach) {
            self.attach(event)
        } else if event.kind == EventKind::Call(Call::Signal) {
            self.signal(event)
        } else if event.kind == EventKind::Call(Call::Wait) {
            self.wait(event)
        } else {
            calls::handle(event, self.args, console, summary)
        };
        match action {
            Action::End => Ok(Flow::End),
            Action::Reply(words) => {
                self.answer(event, &words)?;
                Ok(Flow::Continue)
            }
            Action::Hold => {
                self.held = Some(event.clone());
                Ok(Flow::Continue)
            }
        }
    }

    /// Every replica gets `words` for the agreed `event` and runs on.
    fn answer(&mut self, event: &Event, words: &Words) -> Result<(), Stop> {
        self.agree(event, words)?;
        sel4::with_ipc_buffer_mut(|ipc| ipc.msg_regs_mut()[..words.len()].copy_from_slice(words));
        let reply = sel4::MessageInfoBuilder::default()
            .length(words.len())
            .build();
        for r in self.replicas {
            r.reply(reply.clone());
        }
        Ok(())
    }

    /// The signal call: the companion's doorbell rings once for all replicas.
    fn signal(&self, event: &Event) -> Action {
        let word = match (self.shared.doorbell, event.words.first()) {
            (Some(bell), Some(&region::DEVICE)) => {
                bell.signal();
                0
            }
            _ => CallError::BadArgument.as_result_word(),
        };
        Action::Reply(Words::from_slice(&[word]).expect("fits"))
    }

    /// The wait call: answered now if the companion rang since the last wait (or is gone),
    /// else when it rings.
    fn wait(&mut self, event: &Event) -> Action {
        let word = match (self.shared.doorbell, event.words.first()) {
            (Some(_), Some(&region::DEVICE)) if self.companion_done => {
                CallError::Gone.as_result_word()
            }
            (Some(_), Some(&region::DEVICE)) if self.rung => {
                self.rung = false;
                0
            }
            (Some(_), Some(&region::DEVICE)) => return Action::Hold,
            _ => CallError::BadArgument.as_result_word(),
        };
        Action::Reply(Words::from_slice(&[word]).expect("fits"))
    }

    /// Answers a held wait call with `word` (0: the companion rang).
    fn release_wait(&mut self, word: u64) -> Result<(), Stop> {
        if let Some(event) = self.held.take() {
            self.rung = false;
            self.answer(&event, &Words::from_slice(&[word]).expect("fits"))?;
        }
        Ok(())
    }

    /// The replicas agreed on `event` and get `reply`: the new checkpoint.
    fn agree(&mut self, event: &Event, reply: &Words) -> Result<(), Stop> {
        for r in self.replicas {
            r.with_memory(self.ctx.objects, |space, mmu| space.agree(mmu))?;
        }
        if matches!(self.tracking, Tracking::Checkpoints | Tracking::Snapshots) {
            self.checkpoint = Checkpoint {
                regs: event.regs.clone(),
                reply: Some(reply.clone()),
            };
        }
        Ok(())
    }

    /// The attach call of the replicas: the region's address and length. Nothing is mapped:
    /// their accesses fault to the master (copy & execute).
    fn attach(&self, event: &Event) -> Action {
        let words = match (&self.shared.region, event.words.first()) {
            (Some(r), Some(&region::DEVICE)) => [r.base, r.len()],
            _ => [CallError::BadArgument.as_result_word(), 0],
        };
        Action::Reply(Words::from_slice(&words).expect("fits"))
    }

    /// The replicas agree on an access to the shared region: it is executed once, here, and
    /// every replica continues after the instruction with the registers it left.
    fn copy_and_execute(
        &mut self,
        leader: usize,
        event: &Event,
        summary: &mut Summary<'_>,
    ) -> Result<Flow, Stop> {
        let bytes = code_at(&self.replicas[leader], event.regs.pc())?;
        let region = self.shared.region.as_ref().expect("checked by the caller");
        let sandbox = self.shared.sandbox.as_mut().expect("made with the region");
        let mut private = PrivateMemory {
            objects: self.ctx.objects,
            replicas: self.replicas,
            leader,
        };
        let mut exec = cae::Exec {
            sandbox,
            timer: self.ctx.timer.as_deref_mut(),
        };
        let result = cae::execute(region, &mut exec, &bytes, &event.regs, &mut private);
        // The companion may have rung while the master waited for the sandbox.
        self.rung |= exec.sandbox.take_rung();
        let regs = result.map_err(|cae::Refused(why)| {
            Stop(
                Status::AppFault,
                alloc::format!("copy & execute at pc {:#x}: {why}", event.regs.pc()),
            )
        })?;
        summary.shm_accesses += 1;
        for r in self.replicas {
            r.with_memory(self.ctx.objects, |space, mmu| space.agree(mmu))?;
            r.set_registers(&regs)?;
        }
        // A rollback resumes after the access: it happened, and happens once.
        self.checkpoint = Checkpoint { regs, reply: None };
        for r in self.replicas {
            r.reply(sel4::MessageInfoBuilder::default().build());
        }
        Ok(Flow::Continue)
    }

    /// The replicas are done: the companion gets up to `COMPANION_GRACE_MS` to finish its own
    /// work (checking what the replicas left, reporting) before the group is torn down.
    fn let_companion_finish(&mut self, summary: &mut Summary<'_>) -> Result<(), Stop> {
        if self.shared.companion.is_none() {
            return Ok(());
        }
        let until = arch::counter() + arch::ticks_in_ms(COMPANION_GRACE_MS);
        while !self.companion_done {
            if arch::counter() >= until {
                log::warn!(
                    "companion still running {COMPANION_GRACE_MS} ms after the program ended: stopped"
                );
                break;
            }
            let (info, badge) = match self.ctx.timer.as_deref_mut() {
                Some(timer) => {
                    timer.set(Some(until));
                    let (info, badge) = self.ctx.endpoint.recv(());
                    if ReplicaBadge::from_word(badge).is_none() {
                        // The master's notification (no replica waits any more).
                        if badge & TIMER_BADGE != 0 {
                            timer.on_interrupt();
                        }
                        continue;
                    }
                    (info, badge)
                }
                None => {
                    let (info, badge) = self.ctx.endpoint.nb_recv(());
                    if badge == 0 {
                        sel4::r#yield();
                        continue;
                    }
                    (info, badge)
                }
            };
            let from_companion = ReplicaBadge::from_word(badge).is_some_and(|b| {
                b.group == self.ctx.group_number && b.replica == ReplicaBadge::COMPANION
            });
            if from_companion {
                self.on_companion(&info, summary)?;
            }
        }
        Ok(())
    }

    /// A message of the companion component: served at once, never compared.
    fn on_companion(
        &mut self,
        info: &sel4::MessageInfo,
        summary: &mut Summary<'_>,
    ) -> Result<Flow, Stop> {
        let companion = self.shared.companion.expect("a companion sent it");
        let (kind, words) = match arch::read_message(info) {
            Ok((message, words)) => (message.kind, words),
            Err(err) => {
                log::error!("companion: {err}; stopped");
                return self.end_companion(companion).map(|()| Flow::Continue);
            }
        };
        let reply = |words: &[u64]| {
            sel4::with_ipc_buffer_mut(|ipc| {
                ipc.msg_regs_mut()[..words.len()].copy_from_slice(words);
                sel4::reply(
                    ipc,
                    sel4::MessageInfoBuilder::default()
                        .length(words.len())
                        .build(),
                );
            })
        };
        match kind {
            EventKind::VmFault { addr, .. } => {
                if !self.serve_fault(companion, addr, summary)? {
                    log::error!("companion: {kind}; stopped");
                    self.end_companion(companion)?;
                }
            }
            EventKind::Call(Call::Write) => {
                let mut buf = [0; romain_abi::WRITE_CHUNK];
                match romain_core::proxy::decode_write(&words, &mut buf) {
                    Ok(bytes) => {
                        crate::console::put_bytes(bytes);
                        reply(&[bytes.len() as u64]);
                    }
                    Err(err) => reply(&[err.as_result_word()]),
                }
            }
            EventKind::Call(Call::Exit) => {
                let code = romain_core::proxy::decode_exit(&words);
                if code != 0 {
                    log::warn!("companion exited with {code}");
                }
                self.end_companion(companion)?;
            }
            EventKind::Call(Call::Attach) => match &self.shared.region {
                Some(region) if words.first() == Some(&region::DEVICE) => {
                    let (base, frames) = (region.base, region.frames.clone());
                    companion.with_memory(self.ctx.objects, |space, mmu| {
                        for (i, frame) in frames.iter().enumerate() {
                            space.add_loaded(mmu, base + i as u64 * PAGE_SIZE, *frame, true)?;
                        }
                        Ok::<(), AllocError>(())
                    })?;
                    reply(&[base, region.len()]);
                }
                _ => reply(&[CallError::BadArgument.as_result_word(), 0]),
            },
            EventKind::Call(Call::Grow) => {
                let bytes = words.first().copied().unwrap_or(0);
                let word = companion
                    .space
                    .borrow_mut()
                    .grow(bytes)
                    .unwrap_or(CallError::OutOfMemory.as_result_word());
                reply(&[word]);
            }
            EventKind::Call(Call::Time) => reply(&[arch::counter(), arch::counter_hz()]),
            EventKind::Call(Call::Yield) | EventKind::Call(Call::Null) => reply(&[0]),
            EventKind::Call(Call::Args) => reply(&[0]),
            EventKind::Call(_) | EventKind::UnknownCall { .. } => {
                reply(&[CallError::UnknownCall.as_result_word()])
            }
            // Any other fault of the companion (a capability fault, an exception) would repeat
            // forever if answered: it ends the companion.
            _ => {
                log::error!(
                    "companion: {kind} at pc {:#x}; stopped",
                    words.first().unwrap_or(&0)
                );
                self.end_companion(companion)?;
            }
        }
        Ok(Flow::Continue)
    }

    /// The companion is gone (exited, faulted, or misbehaved): replicas waiting for its
    /// doorbell are told.
    fn end_companion(&mut self, companion: &Replica) -> Result<(), Stop> {
        companion.stop()?;
        self.companion_done = true;
        self.release_wait(CallError::Gone.as_result_word())
    }

    /// The grow call: every replica's heap grows alike (their spaces are in step).
    fn grow(&mut self, event: &Event, summary: &mut Summary<'_>) -> Action {
        let bytes = event.words.first().copied().unwrap_or(0);
        let mut result = Ok(0);
        for r in self.replicas {
            result = r.space.borrow_mut().grow(bytes);
        }
        let word = match result {
            Ok(old_end) => old_end,
            Err(_) => {
                if !self.quota_refused {
                    log::warn!(
                        "event {}: grow by {bytes} bytes refused: memory quota of {} MiB per replica",
                        summary.events,
                        crate::embedded::QUOTA_MB
                    );
                }
                self.quota_refused = true;
                CallError::OutOfMemory.as_result_word()
            }
        };
        Action::Reply(Words::from_slice(&[word]).expect("one word fits"))
    }
}

fn scope_name(scope: Scope, tracking: Tracking) -> &'static str {
    match (scope, tracking) {
        (Scope::Written, Tracking::Writes) => "pages written since the last agreed event",
        (_, Tracking::Writes) => "all pages: outvoted before",
        _ => "all pages",
    }
}

/// How many instructions without a register result a corrupted-result injection passes by
/// before it gives up, and how long it waits in between (also while its replica waits at an
/// event).
const RESULT_ATTEMPTS: u64 = 64;
const RESULT_RETRY_US: u64 = 250;

/// A corrupted-result injection underway: a breakpoint after the instruction the replica was
/// stopped at, in its private code; when the replica traps there, the instruction has run, and
/// the register it wrote gets its bit flipped.
struct ResultTrap {
    replica: usize,
    /// The breakpoint's address (the next instruction's) and the code it replaced.
    addr: u64,
    saved: heapless::Vec<u8, 4>,
    /// Register-file index of the instruction's result, and the bit to flip.
    register: usize,
    bit: u32,
    pc: u64,
    ticks: u64,
}

impl ResultTrap {
    /// Writes the breakpoint after the instruction at `pc`, if that instruction writes a
    /// register and the breakpoint fits in the same page.
    fn plant(replica: &Replica, pc: u64, bit: u32, ticks: u64) -> Option<ResultTrap> {
        let code = code_at(replica, pc).ok()?;
        let (register, bits, len) = cae::result_register(&code)?;
        let addr = pc + len;
        let saved = patch_code(replica, addr, ARCH.trap_instruction())?;
        Some(ResultTrap {
            replica: replica.index,
            addr,
            saved,
            register,
            bit: bit % bits,
            pc,
            ticks,
        })
    }

    /// `replica` trapped: if at the breakpoint, restores the code, flips the result and lets the
    /// replica go on with the next instruction. Returns whether it was the breakpoint.
    fn fire(&self, replica: &Replica, summary: &mut Summary<'_>) -> Result<bool, Stop> {
        let mut regs = replica.registers()?;
        if regs.pc() != self.addr {
            return Ok(false);
        }
        if patch_code(replica, self.addr, &self.saved).is_none() {
            return Ok(false);
        }
        regs.words_mut()[self.register] ^= 1u64 << self.bit;
        replica.set_registers(&regs)?;
        // The empty reply restarts the replica at its pc: the original next instruction.
        sel4::with_ipc_buffer_mut(|ipc| {
            sel4::reply(ipc, sel4::MessageInfoBuilder::default().build())
        });
        summary.set_injected(format_args!(
            "replica {} after {} ticks: result of the instruction at {:#x}, register {} bit {}",
            self.replica,
            self.ticks,
            self.pc,
            ARCH.register_names()[self.register],
            self.bit
        ));
        log::warn!("injected: {}", summary.injected.as_deref().unwrap_or(""));
        Ok(true)
    }
}

/// An injection still to happen, with its address resolved.
struct Pending {
    at: Injection<'static>,
    /// For memory injections: the address of the word.
    addr: u64,
    /// For a corrupted result: the instructions without a register result passed by so far.
    attempts: u64,
}

impl Pending {
    fn new(at: Injection<'static>, image: &[u8], mode: Mode) -> Result<Pending, Stop> {
        let bad = |why: alloc::string::String| Stop(Status::BadPlan, why);
        if at.replica >= mode.replicas {
            return Err(bad(alloc::format!(
                "no replica {} in {}",
                at.replica,
                mode.name()
            )));
        }
        let addr = match at.target {
            Target::Memory {
                addr: Address::Absolute(a),
            } => a,
            Target::Memory {
                addr: Address::Symbol { name, offset },
            } => {
                image::symbol_address(image, name)
                    .ok_or_else(|| bad(alloc::format!("the program has no symbol {name:?}")))?
                    + offset
            }
            Target::Register { .. } | Target::Word { .. } | Target::Hang | Target::Result => 0,
        };
        Ok(Pending {
            at,
            addr,
            attempts: 0,
        })
    }

    /// Applies a delayed injection: the replica is stopped wherever it is (unless it waits at an
    /// event already), flipped and let go on. A corrupted-result injection instead plants its
    /// breakpoint; it comes back (to be tried again) when the replica is at no instruction with a
    /// register result.
    fn apply_now(
        mut self,
        group: &mut Group<'_, '_>,
        summary: &mut Summary<'_>,
    ) -> Result<Option<Pending>, Stop> {
        let replica = &group.replicas[self.at.replica];
        let running = !group.rendezvous.arrived(replica.index);
        match self.at.target {
            Target::Register { index } => {
                if running {
                    replica.stop()?;
                }
                let mut regs = replica.registers()?;
                regs.words_mut()[index] ^= 1u64 << self.at.bit;
                replica.set_registers(&regs)?;
                if running {
                    replica.start()?;
                }
                summary.set_injected(format_args!(
                    "replica {} after {} ticks register {} bit {}",
                    replica.index,
                    self.at.delay.unwrap_or(0),
                    ARCH.register_names()[index],
                    self.at.bit
                ));
                log::warn!("injected: {}", summary.injected.as_deref().unwrap_or(""));
            }
            Target::Result => {
                if !running {
                    // Waiting at an event: the injection is due in computation, later.
                    return Ok(Some(self));
                }
                replica.stop()?;
                let pc = replica.registers()?.pc();
                let trap = ResultTrap::plant(replica, pc, self.at.bit, self.at.delay.unwrap_or(0));
                replica.start()?;
                match trap {
                    Some(trap) => group.trap = Some(trap),
                    None => {
                        self.attempts += 1;
                        return Ok((self.attempts < RESULT_ATTEMPTS).then_some(self));
                    }
                }
            }
            _ => {}
        }
        Ok(None)
    }

    /// Applies the injection to `replica`, which just arrived at the injection's event.
    fn apply(
        self,
        replica: &Replica,
        event: &mut Event,
        summary: &mut Summary<'_>,
    ) -> Result<Arrival, Stop> {
        let mask = 1u64 << self.at.bit;
        let mut arrival = Arrival::Arrived;
        match self.at.target {
            // Timed, not at an event: see `apply_now`.
            Target::Result => {}
            Target::Hang => {
                // Its system call becomes a jump to itself, and it runs on into it.
                let pc = event.regs.pc();
                patch_code(replica, pc, ARCH.spin_instruction()).ok_or_else(|| {
                    Stop(
                        Status::BadPlan,
                        alloc::format!("cannot patch code at {pc:#x}"),
                    )
                })?;
                replica.forget_reply();
                replica.restart_at(&event.regs)?;
                summary.set_injected(format_args!(
                    "replica {} event {} hang",
                    replica.index, self.at.event
                ));
                arrival = Arrival::Lost;
            }
            Target::Register { index } => {
                event.regs.words_mut()[index] ^= mask;
                replica.set_registers(&event.resume_registers())?;
                let name = ARCH.register_names()[index];
                summary.set_injected(format_args!(
                    "replica {} event {} register {name} bit {}",
                    replica.index, self.at.event, self.at.bit
                ));
            }
            Target::Word { code, choice } => {
                let (vaddr, frame) = {
                    let space = replica.space.borrow();
                    let pages: Vec<(u64, Frame)> = space
                        .pages()
                        .filter(|(_, p)| p.writable != code)
                        .map(|(v, p)| (v, p.frame))
                        .collect();
                    if pages.is_empty() {
                        return Err(Stop(Status::BadPlan, "no such pages to flip in".into()));
                    }
                    pages[(choice % pages.len() as u64) as usize]
                };
                let words = (PAGE_SIZE / 8) as usize;
                let offset = 8 * ((choice >> 32) as usize % words);
                let bytes = &mut frame.bytes()[offset..offset + 8];
                let flipped = u64::from_le_bytes(bytes.try_into().expect("8 bytes")) ^ mask;
                bytes.copy_from_slice(&flipped.to_le_bytes());
                summary.set_injected(format_args!(
                    "replica {} event {} {} word {:#x} bit {}",
                    replica.index,
                    self.at.event,
                    if code { "code" } else { "data" },
                    vaddr + offset as u64,
                    self.at.bit
                ));
            }
            Target::Memory { .. } => {
                let word = self.addr & !7;
                let (vaddr, frame) = page_of(replica, word).ok_or_else(|| {
                    Stop(
                        Status::BadPlan,
                        alloc::format!("{word:#x} is not in the replica's memory (yet)"),
                    )
                })?;
                let offset = (word - vaddr) as usize;
                let bytes = &mut frame.bytes()[offset..offset + 8];
                let flipped = u64::from_le_bytes(bytes.try_into().expect("8 bytes")) ^ mask;
                bytes.copy_from_slice(&flipped.to_le_bytes());
                summary.set_injected(format_args!(
                    "replica {} event {} memory {word:#x} bit {}",
                    replica.index, self.at.event, self.at.bit
                ));
            }
        }
        log::warn!("injected: {}", summary.injected.as_deref().unwrap_or(""));
        Ok(arrival)
    }
}

/// Whether an event reached the master after an injection.
enum Arrival {
    Arrived,
    /// The replica was sent off into a hang instead.
    Lost,
}

/// The CPU time the kernel accounted to `tcb` so far (its timestamp counter); only the debug
/// kernel accounts it.
#[sel4::sel4_cfg(BENCHMARK_TRACK_UTILISATION)]
fn cpu_time(tcb: sel4::cap::Tcb) -> Option<u64> {
    sel4::benchmark_get_thread_utilisation(tcb);
    // BENCHMARK_TCB_UTILISATION is the first word.
    Some(sel4::with_ipc_buffer(|ipc| ipc.msg_regs()[0]))
}

#[sel4::sel4_cfg(not(BENCHMARK_TRACK_UTILISATION))]
fn cpu_time(_tcb: sel4::cap::Tcb) -> Option<u64> {
    None
}

/// A shared region of `region::DEVICE_PAGES` frames, consecutive in the master's view, and a
/// frame for the executor's code.
fn make_region(objects: &mut Objects) -> Result<Region, Stop> {
    let mut frames: Vec<Frame> = Vec::new();
    for i in 0..region::DEVICE_PAGES {
        let frame = objects.frame()?;
        if i > 0 && frame.addr() != frames[0].addr() + i * PAGE_SIZE as usize {
            return Err(Stop(
                Status::MasterError,
                "shared region frames not consecutive".into(),
            ));
        }
        frames.push(frame);
    }
    Ok(Region {
        base: SHARED_BASE,
        frames,
    })
}

/// The core the executor sandbox runs on: the master's, so that an access costs no switch to
/// another core and back. (On aarch64 every user thread could program its core's timer, which on
/// core 0 is the watchdog's: the decoders admit no system instruction, and the master re-arms
/// its timer after every sandbox run.)
const SANDBOX_CORE: usize = 0;

/// The page of `replica` holding `addr`, if it has one.
/// The code at `pc` in `replica`'s own memory: an x86_64 instruction, or an aarch64 exclusive
/// block (it may end at the end of a page).
fn code_at(replica: &Replica, pc: u64) -> Result<[u8; 32], Stop> {
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        match page_of(replica, pc + i as u64) {
            Some((vaddr, frame)) => *b = frame.bytes()[(pc + i as u64 - vaddr) as usize],
            None if i > 0 => break,
            None => {
                return Err(Stop(
                    Status::AppFault,
                    alloc::format!("copy & execute: no code at pc {pc:#x}"),
                ));
            }
        }
    }
    Ok(bytes)
}

/// `replica`'s memory over `span`, page by page: each piece's addresses and its bytes (`None`
/// for a page the replica does not have).
fn pieces(
    replica: &Replica,
    span: core::ops::Range<u64>,
) -> impl Iterator<Item = (core::ops::Range<u64>, Option<&'static [u8]>)> + '_ {
    let mut at = span.start;
    core::iter::from_fn(move || {
        if at >= span.end {
            return None;
        }
        let end = span.end.min(at - at % PAGE_SIZE + PAGE_SIZE);
        let bytes = page_of(replica, at).map(|(vaddr, frame)| {
            &frame.bytes()[(at - vaddr) as usize..(end - vaddr) as usize] as &'static [u8]
        });
        let piece = (at..end, bytes);
        at = end;
        Some(piece)
    })
}

/// FNV-1a over `replica`'s bytes in `span` (a page not there yet reads as zeros, as it would).
fn digest(replica: &Replica, span: core::ops::Range<u64>) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut mix = |byte: u8| hash = (hash ^ byte as u64).wrapping_mul(0x0100_0000_01b3);
    for (range, bytes) in pieces(replica, span) {
        match bytes {
            Some(bytes) => bytes.iter().for_each(|&b| mix(b)),
            None => range.for_each(|_| mix(0)),
        }
    }
    hash
}

/// The replicas' own memory as copy & execute's string instructions see it: read from the
/// leading replica, written into every replica.
#[cfg_attr(target_arch = "aarch64", allow(dead_code))]
struct PrivateMemory<'a> {
    objects: &'a mut Objects,
    replicas: &'a [Replica],
    leader: usize,
}

impl cae::Private for PrivateMemory<'_> {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), cae::Refused> {
        let leader = &self.replicas[self.leader];
        for (range, bytes) in pieces(leader, addr..addr + buf.len() as u64) {
            let to = &mut buf[(range.start - addr) as usize..(range.end - addr) as usize];
            match bytes {
                Some(bytes) => to.copy_from_slice(bytes),
                // A lazy page not there yet: zeros, as the replica would read.
                None if leader
                    .space
                    .borrow()
                    .is_lazy(range.start - range.start % PAGE_SIZE) =>
                {
                    to.fill(0)
                }
                None => {
                    return Err(cae::Refused(alloc::format!(
                        "reads {:#x}, which is not the program's memory",
                        range.start
                    )));
                }
            }
        }
        Ok(())
    }

    fn write(&mut self, addr: u64, bytes: &[u8]) -> Result<(), cae::Refused> {
        let end = addr + bytes.len() as u64;
        for r in self.replicas {
            let mut page = addr - addr % PAGE_SIZE;
            while page < end {
                self.writable(r, page)?;
                let (_, frame) = page_of(r, page).expect("made present");
                let (from, to) = (addr.max(page), end.min(page + PAGE_SIZE));
                frame.bytes()[(from - page) as usize..(to - page) as usize]
                    .copy_from_slice(&bytes[(from - addr) as usize..(to - addr) as usize]);
                page += PAGE_SIZE;
            }
        }
        Ok(())
    }
}

#[cfg_attr(target_arch = "aarch64", allow(dead_code))]
impl PrivateMemory<'_> {
    /// Makes `replica`'s page at `vaddr` present and writable as the replica's own store would
    /// have: a lazy page is brought in, a write-protected one made writable (and saved first,
    /// for a rollback).
    fn writable(&mut self, replica: &Replica, vaddr: u64) -> Result<(), cae::Refused> {
        let refused = |why: alloc::string::String| Err(cae::Refused(why));
        let present = replica.space.borrow().page_at(vaddr).is_some();
        match replica.with_memory(self.objects, |space, mmu| space.on_fault(mmu, vaddr)) {
            Ok(_) => {}
            Err(Refusal::NotMine) if present => {}
            Err(Refusal::NotMine) => {
                return refused(alloc::format!(
                    "writes {vaddr:#x}, which is not the program's memory"
                ));
            }
            Err(Refusal::Quota { pages }) => {
                return refused(alloc::format!(
                    "writes {vaddr:#x}, beyond the memory quota of {pages} pages"
                ));
            }
            Err(Refusal::Mmu(err)) => {
                return refused(alloc::format!("no memory for {vaddr:#x}: {err:?}"));
            }
        }
        if !replica
            .space
            .borrow()
            .page_at(vaddr)
            .is_some_and(|(_, p)| p.writable)
        {
            return refused(alloc::format!("writes read-only memory at {vaddr:#x}"));
        }
        Ok(())
    }
}

/// Writes `code` (an instruction: up to 4 bytes, within one page) at `addr` of `replica`'s
/// private code; returns the bytes it replaced. Under QEMU's TCG the write is seen at once;
/// hardware also needs the instruction cache made coherent.
fn patch_code(replica: &Replica, addr: u64, code: &[u8]) -> Option<heapless::Vec<u8, 4>> {
    let (vaddr, frame) =
        page_of(replica, addr).filter(|(v, _)| addr + code.len() as u64 <= v + PAGE_SIZE)?;
    let at = (addr - vaddr) as usize..(addr - vaddr) as usize + code.len();
    let saved = heapless::Vec::from_slice(&frame.bytes()[at.clone()]).ok()?;
    frame.bytes()[at].copy_from_slice(code);
    Some(saved)
}

fn page_of(replica: &Replica, addr: u64) -> Option<(u64, Frame)> {
    let space = replica.space.borrow();
    space.page_at(addr).map(|(vaddr, page)| (vaddr, page.frame))
}

/// Makes `bad` identical to `good`: registers `regs`, and the pages in `scope` that differ.
fn repair(
    ctx: &mut Context<'_>,
    good: &Replica,
    bad: &Replica,
    regs: &RegisterFile,
    scope: Scope,
) -> Result<memory::Repaired, Stop> {
    bad.set_registers(regs)?;
    let good_space = good.space.borrow();
    let scope = if good_space.tracking() == Tracking::Writes {
        scope
    } else {
        Scope::All
    };
    Ok(bad.with_memory(ctx.objects, |space, mmu| {
        memory::repair(&good_space, space, mmu, scope)
    })?)
}
