//! The core's effects as seL4 invocations on the group's replicas.

use alloc::string::String;

use romain_core::event::Event;
use romain_core::inject::Injection;
use romain_core::regs::RegisterFile;
use romain_core::summary::{Status, Summary};
use romain_memory::{self as memory, Repaired, Scope};
use romain_protocol::captured::CaptureShell;
use romain_protocol::{BadAddress, Executed, Injected, OverQuota, Shell, Stop, World};

use super::access::{PrivateMemory, code_at, digest};
use super::build::Built;
use super::inject::{self, ResultTrap};
use super::output::{self, Console};
use super::personality::{Component, Waiting};
use super::{Components, Context, OrStop};
use crate::arch;
use romain_cae::execute::Refused;

use crate::cae::{self, Region};
use crate::count::{self, Activity};
use crate::replica::Replica;
use crate::sandbox::Sandbox;

/// `words` put into the master's IPC buffer as the message registers of a reply.
pub(super) fn message(words: &[u64]) -> sel4::MessageInfo {
    sel4::with_ipc_buffer_mut(|ipc| ipc.msg_regs_mut()[..words.len()].copy_from_slice(words));
    sel4::MessageInfoBuilder::default()
        .length(words.len())
        .build()
}

/// Answers the thread whose message the master just received (the implicit reply capability)
/// with `words`: the messages that are no event (served faults, the floor call, a fired result
/// trap, the companion's calls). Empty words restart a fault's instruction.
pub(super) fn reply_to_caller(words: &[u64]) {
    count::note(count::Kind::Reply);
    let info = message(words);
    sel4::with_ipc_buffer_mut(|ipc| sel4::reply(ipc, info));
}

/// The group as the shell holds it: its replicas and what they share with the outside.
pub(super) struct Machine<'g, 'c> {
    pub ctx: &'g mut Context<'c>,
    pub replicas: &'g [Replica],
    /// The companion component, if any: not a replica, never compared.
    pub companion: Option<&'g Replica>,
    /// A Linux group's personality component, and where its reply capability is.
    pub personality: Option<&'g Component>,
    pub personality_waiting: Waiting,
    /// The companion rang while the master waited for the personality component: the core
    /// hears of it at the next wake.
    pub late_doorbell: bool,
    pub companion_done: bool,
    pub region: Option<Region>,
    pub doorbell: Option<sel4::cap::Notification>,
    pub sandbox: Option<Sandbox>,
    pub console: &'g mut Console,
    /// A memory injection's resolved address (the core holds the injection and times it).
    pub inject_addr: u64,
    /// A corrupted-result injection waiting for its replica to run the instruction.
    pub trap: Option<ResultTrap>,
    /// What an injection just did, for the summary.
    injected: Option<String>,
}

impl<'g, 'c> Machine<'g, 'c> {
    pub(super) fn new(
        ctx: &'g mut Context<'c>,
        replicas: &'g [Replica],
        components: &'g Components,
        built: Built,
        console: &'g mut Console,
    ) -> Self {
        Machine {
            ctx,
            replicas,
            companion: components.companion.as_ref(),
            personality: components.personality.as_ref(),
            personality_waiting: Waiting::No,
            late_doorbell: false,
            companion_done: false,
            region: built.shared,
            doorbell: built.doorbell,
            sandbox: built.sandbox,
            console,
            inject_addr: built.injection.as_ref().map_or(0, |p| p.addr),
            trap: None,
            injected: None,
        }
    }

    /// Records what an injection did in the summary.
    pub(super) fn note_injected(&mut self, summary: &mut Summary<'_>) {
        if let Some(text) = self.injected.take() {
            summary.set_injected(format_args!("{text}"));
            // A log line of its own, not the end of the program's unfinished one.
            self.console.end_line();
            log::warn!("injected: {text}");
        }
    }
}

impl World for Machine<'_, '_> {
    fn now(&self) -> u64 {
        arch::counter()
    }

    fn print(&mut self, bytes: &[u8]) {
        self.console.print(bytes);
    }

    fn end_line(&mut self) {
        self.console.end_line();
    }

    fn random(&mut self) -> u64 {
        output::random()
    }

    fn grow(&mut self, k: usize, bytes: u64) -> Result<u64, OverQuota> {
        self.replicas[k]
            .space
            .borrow_mut()
            .grow(bytes)
            .map_err(|_| OverQuota)
    }

    fn read_memory(&mut self, k: usize, addr: u64, buf: &mut [u8]) -> Result<(), BadAddress> {
        let mut memory = PrivateMemory {
            objects: self.ctx.objects,
            replicas: self.replicas,
            leader: k,
        };
        cae::Private::read(&mut memory, addr, buf).map_err(|_| BadAddress(addr))
    }

    fn write_memory(&mut self, addr: u64, bytes: &[u8]) -> Result<(), BadAddress> {
        let mut memory = PrivateMemory {
            objects: self.ctx.objects,
            replicas: self.replicas,
            leader: 0,
        };
        cae::Private::write(&mut memory, addr, bytes).map_err(|_| BadAddress(addr))
    }

    fn zero_memory(&mut self, range: core::ops::Range<u64>) -> Result<(), BadAddress> {
        if range.end > romain_image::USER_END
            || self
                .replicas
                .iter()
                .any(|r| !r.space.borrow().covers(range.clone()))
        {
            return Err(BadAddress(range.start));
        }
        // Only the pages some replica has: the others are lazy and read as zeros already.
        let first = range.start - range.start % romain_image::PAGE_SIZE;
        let mut pages = alloc::collections::BTreeSet::new();
        for r in self.replicas {
            pages.extend(r.space.borrow().present_in(first..range.end));
        }
        let zeros = [0u8; romain_image::PAGE_SIZE as usize];
        for page in pages {
            let (from, to) = (
                page.max(range.start),
                (page + romain_image::PAGE_SIZE).min(range.end),
            );
            self.write_memory(from, &zeros[..(to - from) as usize])?;
        }
        Ok(())
    }

    fn map_lazy(&mut self, range: core::ops::Range<u64>, counted: bool) -> Result<(), OverQuota> {
        for r in self.replicas {
            r.space
                .borrow_mut()
                .add_lazy(range.clone(), counted)
                .map_err(|_| OverQuota)?;
        }
        Ok(())
    }

    fn ring_doorbell(&mut self) {
        if let Some(bell) = self.doorbell {
            count::note(count::Kind::Other);
            bell.signal();
        }
    }

    fn exchange(&mut self, send: Option<&[u64]>, receive: &mut [u64]) -> Result<usize, Stop> {
        self.exchange_with_personality(send, receive)
    }
}

impl Shell for Machine<'_, '_> {
    fn stop(&mut self, k: usize) -> Result<(), Stop> {
        self.replicas[k].stop().or_stop()
    }

    fn start(&mut self, k: usize) -> Result<(), Stop> {
        self.replicas[k].start().or_stop()
    }

    fn forget_reply(&mut self, k: usize) {
        self.replicas[k].forget_reply();
    }

    fn set_registers(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop> {
        self.replicas[k].set_registers(regs).or_stop()
    }

    fn add_thread(&mut self, k: usize, t: usize) -> Result<(), Stop> {
        Ok(self.replicas[k].add_thread(self.ctx.objects, t)?)
    }

    fn select_thread(&mut self, k: usize, t: usize) -> Result<(), Stop> {
        Ok(self.replicas[k].select_thread(t)?)
    }

    fn restart_at(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop> {
        self.replicas[k].restart_at(regs).or_stop()
    }

    fn reply(&mut self, k: usize, words: &[u64]) {
        self.replicas[k].reply(message(words));
    }

    fn repair(
        &mut self,
        good: usize,
        bad: usize,
        regs: &RegisterFile,
        scope: Scope,
    ) -> Result<Repaired, Stop> {
        let (good, bad) = (&self.replicas[good], &self.replicas[bad]);
        bad.set_registers(regs).or_stop()?;
        let good_space = good.space.borrow();
        bad.with_memory(self.ctx.objects, |space, mmu| {
            memory::repair(&good_space, space, mmu, scope)
        })
        .or_stop()
    }

    fn roll_back_memory(&mut self, k: usize) -> Result<usize, Stop> {
        Ok(self.replicas[k].with_memory(self.ctx.objects, |space, mmu| space.rollback(mmu))?)
    }

    fn agree_memory(&mut self, k: usize) -> Result<(), Stop> {
        Ok(self.replicas[k].with_memory(self.ctx.objects, |space, mmu| space.agree(mmu))?)
    }

    fn private_digest(&mut self, k: usize, event: &Event) -> Option<u64> {
        let replica = &self.replicas[k];
        let region = self.region.as_ref()?;
        let code = code_at(replica, event.regs.pc()).ok()?;
        let span = region.plan().private_source(&code, &event.regs)?;
        Some(digest(replica, span))
    }

    fn execute_shared(&mut self, leader: usize, event: &Event) -> Result<Executed, Stop> {
        // The sandbox's receive would take the caller slot.
        self.park_personality();
        let bytes = code_at(&self.replicas[leader], event.regs.pc())?;
        let region = self
            .region
            .as_ref()
            .expect("the core executes only in the region");
        let sandbox = self.sandbox.as_mut().expect("made with the region");
        let mut private = PrivateMemory {
            objects: self.ctx.objects,
            replicas: self.replicas,
            leader,
        };
        let mut exec = cae::Exec {
            sandbox,
            timer: self.ctx.timer.as_deref_mut(),
        };
        let result = count::during(Activity::Shared, || {
            region
                .plan()
                .execute(&mut exec, &bytes, &event.regs, &mut private)
        });
        // The companion may have rung while the master waited for the sandbox.
        let rung = exec.sandbox.take_rung();
        let regs = result.map_err(|Refused(why)| {
            Stop(
                Status::AppFault,
                alloc::format!("copy & execute at pc {:#x}: {why}", event.regs.pc()),
            )
        })?;
        Ok(Executed { regs, rung })
    }

    fn inject(
        &mut self,
        k: usize,
        at: &Injection<'static>,
        event: Option<&mut Event>,
        running: bool,
    ) -> Result<Injected, Stop> {
        let replica = &self.replicas[k];
        let (result, text) = match event {
            Some(event) => inject::at_event(replica, at, self.inject_addr, event)?,
            None => inject::now(replica, at, running, &mut self.trap)?,
        };
        // In a multithreaded program: which thread the flip hit.
        self.injected = match replica.running_thread() {
            Some(t) => text.map(|text| alloc::format!("{text} (thread {t})")),
            None => text,
        };
        Ok(result)
    }
}

impl CaptureShell for Machine<'_, '_> {
    fn injected(&mut self, text: String) {
        self.injected = Some(text);
    }
}
