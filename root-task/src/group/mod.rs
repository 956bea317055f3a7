//! One replica group, from the program's image to its summary line: the seL4 shell around the
//! protocol core.
//!
//! The master waits on its endpoint. Each message is one replica's event (a call or a fault); the
//! replica stays blocked while the master keeps its reply capability. The shell checks the
//! message, reads the replica's registers and steps the core (`romain_protocol`), which compares
//! the N events when all have arrived, votes, and asks the shell (`Machine`) to repair, roll
//! back, perform the agreed call once and answer every replica.
//!
//! - [`build`]: the program's image into N replicas, the companion and its shared region;
//! - [`wake`]: what woke the master, translated into the core's inputs;
//! - [`machine`]: the core's effects, as seL4 invocations;
//! - [`companion`]: the companion component's calls, served at once and never compared;
//! - [`personality`]: a Linux group's personality component, and the master's bounded waits
//!   for it;
//! - [`contain`]: a panic while the group runs ends the group, not the master;
//! - [`fp`]: the replicas as FP/SIMD capture sees them (`romain_protocol::capture` decides);
//! - [`inject`]: applying a fault injection (the core decides when);
//! - [`access`]: reading and patching replica memory;
//! - [`output`]: the group's console output and random numbers.

mod access;
mod build;
mod companion;
pub(crate) mod contain;
mod fp;
mod inject;
mod machine;
mod output;
mod personality;
mod wake;

use alloc::vec::Vec;

use romain_core::summary::{Status, Summary};
use romain_memory::Refusal;
use romain_plan as plan;
use romain_protocol::capture::Capture;
use romain_protocol::captured::Captured;
use romain_protocol::native::Native;
use romain_protocol::{Flow, Group, Personality, Stop};

use crate::arch::{self, ARCH};
use crate::objects::{AllocError, Objects};
use crate::replica::Replica;
use crate::timer::Timer;
use personality::Component;

use machine::Machine;
use output::Console;

/// What a group needs from the master.
pub(crate) struct Context<'a> {
    pub objects: &'a mut Objects,
    pub endpoint: sel4::cap::Endpoint,
    /// Wakes the master for the watchdog; `None` where the platform has no timer here.
    pub timer: Option<&'a mut Timer>,
    pub cores: usize,
    pub group_number: u8,
}

/// How a run goes, beyond its plan entry.
pub(crate) struct Options {
    /// An injection instead of the plan's spec (a campaign's experiment).
    pub injection: Option<romain_core::inject::Injection<'static>>,
    /// Hash the program's output without printing it (campaigns).
    pub quiet: bool,
    /// The watchdog's lag and silence bounds, in counter ticks (0: off).
    pub lag_ticks: u64,
    pub silence_ticks: u64,
}

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

/// A group's components besides its replicas: outside the comparison, destroyed with it.
#[derive(Default)]
pub(super) struct Components {
    /// The companion of its shared region (`<app>-device`).
    pub companion: Option<Replica>,
    /// A Linux group's personality.
    pub personality: Option<Component>,
}

impl Components {
    fn threads(&self) -> impl Iterator<Item = &Replica> {
        self.companion
            .iter()
            .chain(self.personality.as_ref().map(|c| &c.replica))
    }
}

/// Errors of seL4 and of the memory manager as a group's stop.
pub(super) trait OrStop<T> {
    fn or_stop(self) -> Result<T, Stop>;
}

impl<T> OrStop<T> for Result<T, sel4::Error> {
    fn or_stop(self) -> Result<T, Stop> {
        self.map_err(|e| AllocError::from(e).into())
    }
}

impl<T> OrStop<T> for Result<T, Refusal<AllocError>> {
    fn or_stop(self) -> Result<T, Stop> {
        self.map_err(|err| match err {
            Refusal::Mmu(e) => e.into(),
            Refusal::Quota { pages } => Stop(
                Status::OutOfMemory,
                alloc::format!("memory quota of {pages} pages per replica reached"),
            ),
            Refusal::NotMine => Stop(
                Status::MasterError,
                "memory refused as not a replica's".into(),
            ),
        })
    }
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
    let mut components = Components::default();
    log::info!("run {app} ({}, {} replicas)", mode.name(), mode.replicas);

    let ceiling = crate::heap::ceiling_for_group();
    // When the replicas started: what the run spent is counted from there, after the drive or
    // after a panic that cut it short alike.
    let started = core::cell::Cell::new(None);
    let result = contain::guarded(|| {
        build::build(
            &mut ctx,
            run,
            apps,
            options,
            &mut replicas,
            &mut components,
            &mut summary,
        )
        .and_then(|built| {
            start_and_drive(
                &mut ctx,
                run,
                options,
                built,
                &replicas,
                &components,
                &mut console,
                &mut summary,
                &started,
            )
        })
    });
    drop(ceiling);
    if let Some(since) = started.get() {
        account(&mut summary, &replicas, since);
    }
    if let Some(component) = &components.personality {
        console.end_line();
        log::info!(
            "{app}: the personality component had {} pages",
            component.replica.space.borrow().len()
        );
    }
    if let Err(Stop(status, reason)) = result {
        console.end_line();
        log::error!("{app}: {}: {reason}", status.name());
        summary.fail(status, format_args!("{reason}"));
    }
    for r in replicas.iter().chain(components.threads()) {
        r.stop_all();
    }
    if let Err(err) = ctx.objects.end_group() {
        log::error!("tearing down the group failed: {err:?}");
    }
    // Nothing of this group reaches the next: no pending doorbell, a fresh random source.
    if let Some(timer) = ctx.timer.as_deref_mut()
        && timer.clear_pending()
    {
        log::info!("{app}: a doorbell rung after the group ended was dropped");
    }
    output::reseed();
    console.end_line();
    summary.output_hash = console.hash;
    drop(replicas);
    drop(components);
    log::info!(
        "{app}: master heap in use after the group: {} bytes",
        crate::heap::live()
    );
    summary
}

#[allow(clippy::too_many_arguments)]
fn start_and_drive(
    ctx: &mut Context<'_>,
    run: &plan::Run<'static>,
    options: &Options,
    mut built: build::Built,
    replicas: &[Replica],
    components: &Components,
    console: &mut Console,
    summary: &mut Summary<'_>,
    started: &core::cell::Cell<Option<Started>>,
) -> Result<(), Stop> {
    let entry = replicas[0].registers().or_stop()?;
    let master_cpu_before = cpu_time(sel4::init_thread::slot::TCB.cap());
    let invocations_before = crate::count::snapshot();
    // The start is the first agreed state: a rollback before the first agreed event returns
    // every page to it (snapshots copy the writable pages now).
    for r in replicas {
        r.with_memory(ctx.objects, |space, mmu| space.agree(mmu))?;
    }
    let start = arch::counter();
    started.set(Some(Started {
        counter: start,
        invocations: invocations_before,
        master_cpu: master_cpu_before,
    }));
    for r in replicas.iter().chain(components.threads()) {
        r.start().or_stop()?;
    }
    let config = romain_protocol::Config {
        replicas: replicas.len(),
        tracking: built.tracking,
        lag_ticks: options.lag_ticks,
        silence_ticks: options.silence_ticks,
        lag_ms: crate::embedded::WATCHDOG_MS,
        silence_ms: crate::embedded::SILENCE_MS,
        counter_hz: arch::counter_hz(),
        shared: built.shared.as_ref().map(|r| r.base..r.base + r.len()),
        retry_ticks: arch::ticks_in_ms(inject::RESULT_RETRY_US) / 1000,
        // A Linux program's time is the replicated clock from its start: the same in every run.
        replicated_clock: built.linux.is_some(),
    };
    let defaults = plan::Budget {
        events: Some(crate::embedded::BUDGET_EVENTS),
        ms: Some(crate::embedded::BUDGET_MS),
    };
    let budget = run.budget.or(defaults);
    let (events, ms) = (budget.events.unwrap_or(0), budget.ms.unwrap_or(0));
    let budget = romain_core::budget::Budget {
        events,
        ticks: arch::ticks_in_ms(ms),
        ms,
    };
    let injection = built.injection.as_ref().map(|p| p.at);
    let linux = built.linux.take();
    let mut capture = built
        .fp
        .map(|stubs| Capture::new(arch::ARCH, stubs, replicas.len()));
    let mut machine = Machine::new(ctx, replicas, components, built, console);
    // The personality: the program's call ABI.
    let result = match linux {
        Some(linux) => drive(
            &mut machine,
            capture.as_mut(),
            &mut Group::new(config, contain::Contained(linux), entry, start, injection)
                .with_budget(budget),
            summary,
        ),
        None => drive(
            &mut machine,
            capture.as_mut(),
            &mut Group::new(
                config,
                contain::Contained(Native::new(run.args, crate::embedded::QUOTA_MB)),
                entry,
                start,
                injection,
            )
            .with_budget(budget),
            summary,
        ),
    };
    result
}

/// Where a run's accounting starts: the counter, the invocations and the master's CPU time when
/// its replicas were started.
#[derive(Clone, Copy)]
struct Started {
    counter: u64,
    invocations: romain_core::summary::Invocations,
    master_cpu: Option<u64>,
}

/// What the run spent since `since`: cycles, invocations, pages, CPU time.
fn account(summary: &mut Summary<'_>, replicas: &[Replica], since: Started) {
    summary.cycles = arch::counter().wrapping_sub(since.counter);
    summary.invocations = crate::count::snapshot().since(&since.invocations);
    summary.pages = replicas
        .first()
        .map_or(0, |r| r.space.borrow().len() as u64);
    summary.replica_cpu = replicas.iter().flat_map(|r| r.tcbs()).map(cpu_time).sum();
    summary.master_cpu = cpu_time(sel4::init_thread::slot::TCB.cap())
        .zip(since.master_cpu)
        .map(|(after, before)| after.wrapping_sub(before));
}

/// The event loop of a started group: receive, translate, step the core (which applies its
/// effects through the machine, wrapped in the FP/SIMD capture where the group has one).
fn drive<P: Personality>(
    machine: &mut Machine<'_, '_>,
    mut capture: Option<&mut Capture>,
    core: &mut Group<P>,
    summary: &mut Summary<'_>,
) -> Result<(), Stop> {
    loop {
        let wake = machine.next_wake(core.deadline());
        // Everything until the next receive is the master's work: its cost per event.
        let busy_from = arch::counter();
        let mut flow = Flow::Continue;
        for input in machine.translate(wake, summary)? {
            let mut shell = Captured::new(machine, capture.as_deref_mut());
            // A capture routine's trap is nothing for the core.
            let Some(input) = shell.input(input)? else {
                continue;
            };
            let stepped = core.step(input, &mut shell, summary);
            // Also when the step stops the group: a fault injected at the event where DMR
            // then detects it was injected.
            machine.note_injected(summary);
            flow = stepped?;
            if flow == Flow::End {
                break;
            }
        }
        summary.master_cycles += arch::counter().wrapping_sub(busy_from);
        if flow == Flow::End {
            companion::let_finish(machine, capture, core, summary)?;
            return core.finish(summary);
        }
    }
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
