//! FP/SIMD capture wrapped around a shell, once: every effect that lets a replica run, sets its
//! registers, answers it, repairs or rolls it back, or injects into it goes through the
//! [`Capture`] first; the rest passes straight on. With no capture the wrapper is the shell.
//! The shell's own effects stay raw (one seL4 invocation each), whether the group captures or
//! not.

use alloc::string::String;
use core::ops::Range;

use romain_core::event::Event;
use romain_core::inject::{Injection, Target};
use romain_core::regs::RegisterFile;
use romain_core::summary::Status;
use romain_memory::{Repaired, Scope};

use crate::Input;
use crate::capture::{Arrival, Capture, Threads};
use crate::shell::{BadAddress, Executed, Injected, OverQuota, Shell, Stop, World};

/// A shell the capture can wrap: its raw effects ([`Shell`]), its replicas' threads as the
/// capture drives them ([`Threads`]), and where an injection's description goes.
pub trait CaptureShell: Shell + Threads {
    /// What an injection the capture applied did, for the summary (as the shell's own are).
    fn injected(&mut self, text: String);
}

/// The shell as the core sees it in a group that may capture FP/SIMD state.
pub struct Captured<'a, S> {
    shell: &'a mut S,
    capture: Option<&'a mut Capture>,
}

impl<'a, S: CaptureShell> Captured<'a, S> {
    pub fn new(shell: &'a mut S, capture: Option<&'a mut Capture>) -> Self {
        Captured { shell, capture }
    }

    /// An input as the shell translated it: the core's input, or `None` when it is the
    /// capture's own business (a replica's event that is a routine's trap). A replica's event
    /// arrives with its reply capability kept.
    pub fn input(&mut self, input: Input) -> Result<Option<Input>, Stop> {
        match (self.capture.as_deref_mut(), input) {
            (Some(capture), Input::Arrival { replica, event }) => {
                let raw = event.regs.clone();
                Ok(match capture.arrival(self.shell, replica, event, raw)? {
                    Arrival::Event(event) => Some(Input::Arrival { replica, event }),
                    Arrival::Handled => None,
                })
            }
            (_, input) => Ok(Some(input)),
        }
    }
}

impl<S: CaptureShell> World for Captured<'_, S> {
    fn now(&self) -> u64 {
        self.shell.now()
    }
    fn print(&mut self, bytes: &[u8]) {
        self.shell.print(bytes)
    }
    fn end_line(&mut self) {
        self.shell.end_line()
    }
    fn random(&mut self) -> u64 {
        self.shell.random()
    }
    fn grow(&mut self, k: usize, bytes: u64) -> Result<u64, OverQuota> {
        self.shell.grow(k, bytes)
    }
    fn ring_doorbell(&mut self) {
        self.shell.ring_doorbell()
    }
    fn read_memory(&mut self, k: usize, addr: u64, buf: &mut [u8]) -> Result<(), BadAddress> {
        self.shell.read_memory(k, addr, buf)
    }
    fn write_memory(&mut self, addr: u64, bytes: &[u8]) -> Result<(), BadAddress> {
        self.shell.write_memory(addr, bytes)
    }
    fn map_lazy(&mut self, range: Range<u64>, counted: bool) -> Result<(), OverQuota> {
        self.shell.map_lazy(range, counted)
    }
    fn zero_memory(&mut self, range: Range<u64>) -> Result<(), BadAddress> {
        self.shell.zero_memory(range)
    }
    fn writable(&mut self, k: usize, addr: u64, len: u64) -> Result<(), BadAddress> {
        self.shell.writable(k, addr, len)
    }
    fn exchange(&mut self, send: Option<&[u64]>, receive: &mut [u64]) -> Result<usize, Stop> {
        self.shell.exchange(send, receive)
    }
}

impl<S: CaptureShell> Shell for Captured<'_, S> {
    fn stop(&mut self, k: usize) -> Result<(), Stop> {
        if let Some(capture) = self.capture.as_deref_mut() {
            capture.stopped(k);
        }
        Shell::stop(self.shell, k)
    }

    fn start(&mut self, k: usize) -> Result<(), Stop> {
        if let Some(capture) = self.capture.as_deref_mut()
            && capture.run(self.shell, k, None)?
        {
            return Ok(());
        }
        self.shell.start(k)
    }

    fn forget_reply(&mut self, k: usize) {
        Shell::forget_reply(self.shell, k)
    }

    fn set_registers(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop> {
        Shell::set_registers(self.shell, k, regs)?;
        if let Some(capture) = self.capture.as_deref_mut() {
            capture.registers_set(k, regs);
        }
        Ok(())
    }

    fn restart_at(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop> {
        if let Some(capture) = self.capture.as_deref_mut()
            && capture.run(self.shell, k, Some(regs))?
        {
            return Ok(());
        }
        Shell::restart_at(self.shell, k, regs)
    }

    fn reply(&mut self, k: usize, words: &[u64]) {
        if let Some(capture) = self.capture.as_deref_mut() {
            match capture.reply(self.shell, k, words) {
                Ok(true) => return,
                Ok(false) => {}
                // The replica is left blocked: the watchdog's silence bound ends the run.
                Err(Stop(_, why)) => {
                    log::error!("replica {k}: {why}");
                    return;
                }
            }
        }
        Shell::reply(self.shell, k, words)
    }

    fn repair(
        &mut self,
        good: usize,
        bad: usize,
        regs: &RegisterFile,
        scope: Scope,
    ) -> Result<Repaired, Stop> {
        let repaired = self.shell.repair(good, bad, regs, scope);
        if let Some(capture) = self.capture.as_deref_mut() {
            // The area is one of the pages: the leader's FP/SIMD state, to be loaded.
            capture.registers_set(bad, regs);
            capture.must_restore(bad);
        }
        repaired
    }

    fn add_thread(&mut self, k: usize, t: usize) -> Result<(), Stop> {
        if let Some(capture) = self.capture.as_deref_mut() {
            capture.thread_added(k, t, self.shell.area(k)?);
        }
        self.shell.add_thread(k, t)
    }

    fn select_thread(&mut self, k: usize, t: usize) -> Result<(), Stop> {
        if let Some(capture) = self.capture.as_deref_mut() {
            capture.thread_selected(k, t, self.shell.area(k)?);
        }
        self.shell.select_thread(k, t)
    }

    fn end_thread(&mut self, k: usize, t: usize) -> Result<(), Stop> {
        if let Some(capture) = self.capture.as_deref_mut() {
            capture.thread_ended(k, t);
        }
        self.shell.end_thread(k, t)
    }

    fn roll_back_memory(&mut self, k: usize) -> Result<usize, Stop> {
        if let Some(capture) = self.capture.as_deref_mut() {
            // The area is back at the checkpoint's FP/SIMD state, to be loaded.
            capture.must_restore(k);
        }
        self.shell.roll_back_memory(k)
    }

    fn agree_memory(&mut self, k: usize) -> Result<(), Stop> {
        self.shell.agree_memory(k)
    }

    fn private_digest(&mut self, k: usize, event: &Event) -> Option<u64> {
        self.shell.private_digest(k, event)
    }

    fn execute_shared(&mut self, leader: usize, event: &Event) -> Result<Executed, Stop> {
        self.shell.execute_shared(leader, event)
    }

    fn inject(
        &mut self,
        k: usize,
        at: &Injection<'static>,
        event: Option<&mut Event>,
        running: bool,
    ) -> Result<Injected, Stop> {
        let Some(capture) = self.capture.as_deref_mut() else {
            if at.target.is_fp() {
                return Err(Stop(
                    Status::BadPlan,
                    "an FP/SIMD injection in a group that does not capture FP/SIMD state (FP=off, or a soft-float native program)".into(),
                ));
            }
            return self.shell.inject(k, at, event, running);
        };
        match (event, at.target) {
            (Some(event), Target::Fp { name }) => {
                capture.flip_at_event(self.shell, k, name, at.bit, event)?;
                let text = alloc::format!(
                    "replica {k} event {} FP/SIMD register {name} bit {}",
                    at.event,
                    at.bit
                );
                self.shell.injected(text);
                Ok(Injected::Applied)
            }
            (Some(event), _) => {
                let done = self.shell.inject(k, at, Some(event), running)?;
                if done == Injected::Lost {
                    capture.stopped(k);
                } else if let Some(resume) = capture.parked_registers(k) {
                    // Parked at the save routine's trap: it continues from the event's
                    // registers, injection included.
                    *resume = event.resume_registers();
                }
                Ok(done)
            }
            // Inside a routine: a moment later.
            (None, _) if capture.busy(k) => Ok(Injected::Retry { counted: false }),
            (None, Target::Fp { name }) => {
                capture.flip_now(self.shell, k, name, at.bit, running)?;
                let text = alloc::format!(
                    "replica {k} after {} ticks FP/SIMD register {name} bit {}",
                    at.delay.unwrap_or(0),
                    at.bit
                );
                self.shell.injected(text);
                Ok(Injected::Applied)
            }
            (None, Target::Register { index }) if capture.parked_registers(k).is_some() => {
                let names = capture.arch().register_names();
                let resume = capture.parked_registers(k).expect("parked");
                resume.words_mut()[index] ^= 1u64 << at.bit;
                let text = alloc::format!(
                    "replica {k} after {} ticks register {} bit {}",
                    at.delay.unwrap_or(0),
                    names[index],
                    at.bit
                );
                self.shell.injected(text);
                Ok(Injected::Applied)
            }
            (None, _) => self.shell.inject(k, at, None, running),
        }
    }
}
