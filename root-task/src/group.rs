//! One replica group, from the program's image to its summary line.
//!
//! The master waits on its endpoint. Each message is one replica's event (a call or a fault); the
//! replica stays blocked while the master keeps its reply capability. When all N replicas have
//! arrived at their next event, the master compares the events in full (kind, message words,
//! every register), lets the majority decide, repairs outvoted replicas from a majority replica,
//! performs the event once and answers all replicas with the same result.

use alloc::vec::Vec;

use romain_abi::{Call, MAX_MESSAGE_WORDS, ReplicaBadge};
use romain_core::event::{Event, EventKind, Words};
use romain_core::image::{self, PAGE_SIZE};
use romain_core::inject::{self, Address, Injection, Target};
use romain_core::plan::{self, Mode};
use romain_core::regs::RegisterFile;
use romain_core::rendezvous::Rendezvous;
use romain_core::summary::{Status, Summary};
use romain_core::vote::{Verdict, vote};
use romain_core::watchdog::{self, Late, Watchdog};

use crate::arch::{self, ARCH};
use crate::calls::{self, Action, Console};
use crate::objects::{AllocError, Objects};
use crate::replica::{Program, Replica};
use crate::window::Window;

/// What a group needs from the master.
pub(crate) struct Context<'a> {
    pub objects: &'a mut Objects,
    pub windows: &'a [Window; 2],
    pub endpoint: sel4::cap::Endpoint,
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

/// The core of replica `index`: core 0 is the master's, replicas take the others in turn.
fn core_of(index: usize, cores: usize) -> usize {
    if cores <= 1 {
        0
    } else {
        1 + index % (cores - 1)
    }
}

/// Runs `run.app` with `run.mode.replicas` replicas to its end and returns its summary.
pub(crate) fn run(
    mut ctx: Context<'_>,
    run: &plan::Run<'static>,
    apps: &[(&str, &'static [u8])],
) -> Summary<'static> {
    let (app, mode) = (run.app, run.mode);
    let mut summary = Summary::new(ARCH.name(), app, mode.name(), mode.replicas);
    summary.counter_hz = arch::counter_hz();
    let mut console = Console::new();
    let mut replicas = Vec::new();
    log::info!("run {app} ({}, {} replicas)", mode.name(), mode.replicas);

    let result = build_and_drive(
        &mut ctx,
        run,
        apps,
        &mut replicas,
        &mut console,
        &mut summary,
    );
    if let Err(Stop(status, reason)) = result {
        console.end_line();
        log::error!("{app}: {}: {reason}", status.name());
        summary.fail(status, format_args!("{reason}"));
    }
    for r in &replicas {
        let _ = r.stop();
    }
    if let Err(err) = ctx.objects.end_group() {
        log::error!("tearing down the group failed: {err:?}");
    }
    console.end_line();
    summary
}

fn build_and_drive(
    ctx: &mut Context<'_>,
    run: &plan::Run<'static>,
    apps: &[(&str, &'static [u8])],
    replicas: &mut Vec<Replica>,
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
    let program = Program {
        bytes,
        layout: &layout,
    };
    let injection = run
        .inject
        .map(|spec| Pending::new(spec, bytes, mode))
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
        let replica = Replica::build(
            ctx.objects,
            &ctx.windows[0],
            &program,
            ctx.endpoint,
            badge,
            core,
        )?;
        log::info!(
            "replica {index} on core {core} ({} pages)",
            replica.pages.len()
        );
        summary.cores.push(core).ok();
        replicas.push(replica);
    }

    let start = arch::counter();
    for r in replicas.iter() {
        r.start()?;
    }
    let result = drive(ctx, replicas, run.args, injection, console, summary);
    summary.cycles = arch::counter().wrapping_sub(start);
    result
}

/// The event loop of a started group.
fn drive(
    ctx: &Context<'_>,
    replicas: &[Replica],
    args: &str,
    mut injection: Option<Pending>,
    console: &mut Console,
    summary: &mut Summary<'_>,
) -> Result<(), Stop> {
    let mut group = Group {
        ctx,
        replicas,
        args,
        rendezvous: Rendezvous::new(replicas.len()),
        watchdog: Watchdog::new(arch::ticks_in_ms(crate::embedded::WATCHDOG_MS)),
    };
    loop {
        let Some((info, badge)) = group.next_message() else {
            let busy_from = arch::counter();
            let result = group.on_late(summary);
            summary.master_cycles += arch::counter().wrapping_sub(busy_from);
            result?;
            continue;
        };
        // Everything until the next receive is the master's work: its cost per event.
        let busy_from = arch::counter();
        let flow = group.on_message(&info, badge, &mut injection, console, summary);
        summary.master_cycles += arch::counter().wrapping_sub(busy_from);
        if let Flow::End = flow? {
            return Ok(());
        }
    }
}

enum Flow {
    Continue,
    End,
}

/// A started group's replicas and the point they are collected at.
struct Group<'g> {
    ctx: &'g Context<'g>,
    replicas: &'g [Replica],
    args: &'g str,
    rendezvous: Rendezvous,
    watchdog: Watchdog,
}

impl Group<'_> {
    /// The next message; `None` when the watchdog expired first. While no replica waits at a
    /// point the master blocks; while some do, it polls (seL4 without MCS has no receive with a
    /// timeout, and the master owns no timer device), yielding its core between polls, so only
    /// the time replicas lag behind each other costs a busy core.
    fn next_message(&self) -> Option<(sel4::MessageInfo, sel4::Badge)> {
        if !self.watchdog.armed() {
            return Some(self.ctx.endpoint.recv(()));
        }
        loop {
            let (info, badge) = self.ctx.endpoint.nb_recv(());
            if badge != 0 {
                return Some((info, badge));
            }
            if self.watchdog.expired(arch::counter()) {
                return None;
            }
            sel4::r#yield();
        }
    }

    /// Replicas are late at the current point: a majority goes on and the late ones are repaired
    /// to rejoin it; without a majority the run stops.
    fn on_late(&mut self, summary: &mut Summary<'_>) -> Result<(), Stop> {
        summary.watchdog_fired += 1;
        let point = summary.events + 1;
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
                    let pages = repair(self.ctx, good, bad, &event.regs)?;
                    bad.start()?;
                    log::info!("replica {index} rejoins: registers and {pages} pages");
                    summary.recoveries += 1;
                    summary.pages_copied += pages as u64;
                }
                self.watchdog.on_decision();
                self.watchdog.on_arrival(arch::counter());
                Ok(())
            }
            Late::Hang { missing } => Err(Stop(
                Status::Hang,
                alloc::format!(
                    "replicas {missing:?} did not reach event {point} within {} ms of the first (waited {waited_ms} ms), and no majority can go on",
                    crate::embedded::WATCHDOG_MS
                ),
            )),
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
        let Some(badge) = ReplicaBadge::from_word(badge)
            .filter(|b| b.group == self.ctx.group_number && (b.replica as usize) < n)
        else {
            log::warn!("message with badge {badge:#x} from no replica of this group ignored");
            return Ok(Flow::Continue);
        };
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
        let (kind, words) = read_message(info);
        replica.save_reply()?;
        let mut event = Event::new(kind, words, replica.registers()?);
        let point = summary.events + 1;
        if let Some(p) = injection.take_if(|p| p.at.replica == replica.index && p.at.event == point)
            && let Arrival::Lost = p.apply(self.ctx, replica, &mut event, summary)?
        {
            return Ok(Flow::Continue);
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
    fn decide(&self, console: &mut Console, summary: &mut Summary<'_>) -> Result<Flow, Stop> {
        let events = self.rendezvous.events().expect("complete");
        summary.events += 1;
        summary.compared_words += events
            .iter()
            .map(|e| e.compared_words() as u64)
            .sum::<u64>();
        let leader = match vote(&events) {
            Verdict::Agree => 0,
            Verdict::Majority { leader, outvoted } => {
                summary.mismatches += 1;
                for (index, diff) in outvoted {
                    log::warn!(
                        "event {}: replica {index} outvoted ({diff}); repairing from replica {leader}",
                        summary.events
                    );
                    let (good, bad) = (&self.replicas[leader], &self.replicas[index]);
                    let event = events[leader];
                    let pages = repair(self.ctx, good, bad, &event.resume_registers())?;
                    log::info!("replica {index} repaired: registers and {pages} pages");
                    summary.recoveries += 1;
                    summary.pages_copied += pages as u64;
                }
                leader
            }
            Verdict::NoMajority { a, b, first } => {
                summary.mismatches += 1;
                for (i, e) in events.iter().enumerate() {
                    log::info!(
                        "replica {i} at event {}: {} {:?}",
                        summary.events,
                        e.kind,
                        e.regs
                    );
                }
                return Err(Stop(
                    Status::Mismatch,
                    alloc::format!(
                        "event {} ({}): replicas {a} and {b} differ in {first}, no majority",
                        summary.events,
                        events[a].kind
                    ),
                ));
            }
        };

        match calls::handle(events[leader], self.args, console, summary) {
            Action::End => Ok(Flow::End),
            Action::Reply(words) => {
                sel4::with_ipc_buffer_mut(|ipc| {
                    ipc.msg_regs_mut()[..words.len()].copy_from_slice(&words)
                });
                let reply = sel4::MessageInfoBuilder::default()
                    .length(words.len())
                    .build();
                for r in self.replicas {
                    r.reply(reply.clone());
                }
                Ok(Flow::Continue)
            }
        }
    }
}

/// An injection still to happen, with its address resolved.
struct Pending {
    at: Injection<'static>,
    /// For memory injections: the address of the word.
    addr: u64,
}

impl Pending {
    fn new(spec: &'static str, image: &[u8], mode: Mode) -> Result<Pending, Stop> {
        let bad = |why: alloc::string::String| Stop(Status::BadPlan, why);
        let at = inject::parse(spec, ARCH).map_err(|e| bad(alloc::format!("{e}")))?;
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
            Target::Register { .. } | Target::Hang => 0,
        };
        Ok(Pending { at, addr })
    }

    /// Applies the injection to `replica`, which just arrived at the injection's event.
    fn apply(
        self,
        ctx: &Context<'_>,
        replica: &Replica,
        event: &mut Event,
        summary: &mut Summary<'_>,
    ) -> Result<Arrival, Stop> {
        let mask = 1u64 << self.at.bit;
        let mut arrival = Arrival::Arrived;
        match self.at.target {
            Target::Hang => {
                // Its system call becomes a jump to itself, and it runs on into it.
                let pc = event.regs.pc();
                let spin = ARCH.spin_instruction();
                let page = replica
                    .pages
                    .iter()
                    .find(|p| (p.vaddr..p.vaddr + PAGE_SIZE).contains(&pc))
                    .filter(|p| pc + spin.len() as u64 <= p.vaddr + PAGE_SIZE)
                    .ok_or_else(|| {
                        Stop(
                            Status::BadPlan,
                            alloc::format!("cannot patch code at {pc:#x}"),
                        )
                    })?;
                let offset = (pc - page.vaddr) as usize;
                ctx.windows[0].with(page.alias, |bytes| {
                    bytes[offset..offset + spin.len()].copy_from_slice(spin)
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
            Target::Memory { .. } => {
                let word = self.addr & !7;
                let page = replica
                    .pages
                    .iter()
                    .find(|p| (p.vaddr..p.vaddr + PAGE_SIZE).contains(&word))
                    .ok_or_else(|| {
                        Stop(
                            Status::BadPlan,
                            alloc::format!("{word:#x} is not in the program"),
                        )
                    })?;
                let offset = (word - page.vaddr) as usize;
                ctx.windows[0].with(page.alias, |bytes| {
                    let mut value = [0; 8];
                    value.copy_from_slice(&bytes[offset..offset + 8]);
                    let flipped = u64::from_le_bytes(value) ^ mask;
                    bytes[offset..offset + 8].copy_from_slice(&flipped.to_le_bytes());
                })?;
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

/// The event kind and message words of the message just received.
fn read_message(info: &sel4::MessageInfo) -> (EventKind, Words) {
    sel4::with_ipc_buffer(|ipc| {
        let kind = if EventKind::is_call_label(info.label()) {
            EventKind::from_call_label(info.label())
        } else {
            arch::fault_event(&sel4::Fault::new(ipc, info))
        };
        let len = info.length().min(MAX_MESSAGE_WORDS);
        (
            kind,
            Words::from_slice(&ipc.msg_regs()[..len]).unwrap_or_default(),
        )
    })
}

/// Makes `bad` identical to `good`: registers `regs`, and every page that differs. Returns the
/// number of pages copied.
fn repair(
    ctx: &Context<'_>,
    good: &Replica,
    bad: &Replica,
    regs: &RegisterFile,
) -> Result<usize, Stop> {
    bad.set_registers(regs)?;
    let [src_window, dst_window] = ctx.windows;
    let mut copied = 0;
    for (src, dst) in good.pages.iter().zip(&bad.pages) {
        let differs = src_window.with(src.alias, |src_bytes| {
            dst_window.with(dst.alias, |dst_bytes| {
                let differs = src_bytes != dst_bytes;
                if differs {
                    dst_bytes.copy_from_slice(src_bytes);
                }
                differs
            })
        })??;
        copied += usize::from(differs);
    }
    Ok(copied)
}
