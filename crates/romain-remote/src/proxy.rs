//! The master's side: the personality of a Linux group as the core sees it, with the
//! personality itself in the group's component.
//!
//! What the master decides itself stays here: which event is a system call (the rewritten sites
//! are the master's), the hash of what a call passes (read from every replica's memory), the
//! call's name. An agreed call goes to the component; the proxy serves the component's asks
//! against the group's [`World`] until it answers, and turns the answer into the core's
//! [`Action`]. Whatever the component sends is checked; a malformed message, or a component that
//! failed (the shell's [`World::exchange`]), ends the group with `personality-error` naming the
//! call, and the master goes on.

use alloc::string::String;
use core::fmt;

use romain_core::event::Event;
use romain_core::regs::Arch;
use romain_core::summary::Status;
use romain_linux::linux::{self, Class};
use romain_linux::rewrite::Sites;
use romain_protocol::{Action, CallScope, Personality, Stop, World, program_fault};

use crate::Buffer;
use crate::outbox::{Effect, effects};
use crate::wire::{
    Answer, Ask, Config, DATA_LEN, Done, LOG_AT, Message, Outcome, Perform, Request, Setup,
};

/// What the component is set up with (sent with its first call).
#[derive(Debug, Clone)]
pub struct Start {
    pub config: Config,
    pub app: String,
    pub args: String,
    pub stdin: Option<String>,
    pub dump: Option<String>,
}

impl Start {
    /// The strings, in the order they go: app, args, stdin, dump.
    fn strings(&self) -> [Option<&String>; 4] {
        [
            Some(&self.app),
            Some(&self.args),
            self.stdin.as_ref(),
            self.dump.as_ref(),
        ]
    }

    /// Whether the strings fit the exchange buffer's data half together.
    pub fn fits(&self) -> bool {
        self.strings()
            .iter()
            .flatten()
            .map(|s| s.len())
            .sum::<usize>()
            <= DATA_LEN
    }
}

/// A file embedded in the master's image, as the component sees it: the master shares its
/// pages with the component, read-only, at `addr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedFile {
    pub name: &'static str,
    pub addr: u64,
    pub len: u64,
}

/// The files every Linux group may open.
pub type Files = alloc::vec::Vec<SharedFile>;

/// A Linux group's personality, run by its component.
pub struct Proxy<B> {
    arch: Arch,
    sites: Sites,
    buffer: B,
    files: Files,
    fp_captured: bool,
    /// Until the first call: what the component is set up with.
    start: Option<Start>,
}

impl<B: Buffer> Proxy<B> {
    /// `buffer`: the master's view of the exchange buffer.
    pub fn new(arch: Arch, sites: Sites, buffer: B, files: Files, start: Start) -> Self {
        Proxy {
            arch,
            sites,
            buffer,
            files,
            fp_captured: start.config.fp_captured,
            start: Some(start),
        }
    }

    /// Sets the component up: its first message, the set-up request, the files it asks for.
    fn set_up<W: World>(&mut self, world: &mut W, replicas: usize) -> Result<(), Stop> {
        let Some(start) = self.start.take() else {
            return Ok(());
        };
        let mut first = [0u64; romain_abi::MAX_MESSAGE_WORDS];
        let n = world.exchange(None, &mut first)?;
        match self.take(world, &first[..n], replicas)? {
            Taken::Ready => {}
            _ => return Err(malformed("its first message is not `ready`")),
        }
        self.buffer.with(|data| {
            let mut at = 0;
            for s in start.strings().into_iter().flatten() {
                data[at..at + s.len()].copy_from_slice(s.as_bytes());
                at += s.len();
            }
        });
        let len = |s: &String| s.len() as u64;
        let request = Request::Setup(Setup {
            config: start.config,
            app_len: len(&start.app),
            args_len: len(&start.args),
            stdin_len: start.stdin.as_ref().map(len),
            dump_len: start.dump.as_ref().map(len),
        });
        match self.converse(world, request.encode(), replicas)? {
            Some(_) => Err(malformed("it answered the set-up as a call")),
            None => Ok(()),
        }
    }

    /// Sends `message` and serves the component's asks until it is ready (`None`) or has
    /// performed a call.
    fn converse<W: World>(
        &mut self,
        world: &mut W,
        mut message: Message,
        replicas: usize,
    ) -> Result<Option<Done>, Stop> {
        let mut words = [0u64; romain_abi::MAX_MESSAGE_WORDS];
        loop {
            let n = world.exchange(Some(&message), &mut words)?;
            message = match self.take(world, &words[..n], replicas)? {
                Taken::Ready => return Ok(None),
                Taken::Done(done) => return Ok(Some(done)),
                Taken::Answer(answer) => answer.encode(),
            };
        }
    }

    /// Applies a message's effects log and serves its ask.
    fn take<W: World>(
        &mut self,
        world: &mut W,
        words: &[u64],
        replicas: usize,
    ) -> Result<Taken, Stop> {
        let (ask, log_len) =
            Ask::decode(self.arch, words).map_err(|e| malformed(format_args!("{e}")))?;
        self.buffer.with(|b| {
            for effect in effects(&b[LOG_AT..LOG_AT + log_len]) {
                match effect.map_err(|e| malformed(format_args!("{e}")))? {
                    Effect::Print(bytes) => world.print(bytes),
                    Effect::EndLine => world.end_line(),
                    Effect::Doorbell => world.ring_doorbell(),
                    Effect::Log(level, text) => {
                        world.end_line();
                        // One line whatever it holds.
                        log::log!(level, "{}", romain_records::OneLine(text));
                    }
                }
            }
            Ok::<(), Stop>(())
        })?;
        let replica = |k: usize| (k < replicas).then_some(k);
        Ok(Taken::Answer(match ask {
            Ask::Ready => return Ok(Taken::Ready),
            Ask::Done(done) => return Ok(Taken::Done(done)),
            Ask::Flush => Answer::Ok([0; 3]),
            Ask::Read { k, addr, len } => {
                match replica(k) {
                    None => Answer::Bad(addr),
                    Some(k) => self.buffer.with(|b| {
                        match world.read_memory(k, addr, &mut b[..len as usize]) {
                            Ok(()) => Answer::Ok([0; 3]),
                            Err(bad) => Answer::Bad(bad.0),
                        }
                    }),
                }
            }
            Ask::Write { addr, len } => {
                self.buffer
                    .with(|b| match world.write_memory(addr, &b[..len as usize]) {
                        Ok(()) => Answer::Ok([0; 3]),
                        Err(bad) => Answer::Bad(bad.0),
                    })
            }
            Ask::Writable { k, addr, len } => match replica(k) {
                Some(k) if addr.checked_add(len).is_some() => match world.writable(k, addr, len) {
                    Ok(()) => Answer::Ok([0; 3]),
                    Err(bad) => Answer::Bad(bad.0),
                },
                _ => Answer::Bad(addr),
            },
            Ask::Grow { k, bytes } => match replica(k).map(|k| world.grow(k, bytes)) {
                Some(Ok(old)) => Answer::Ok([old, 0, 0]),
                _ => Answer::OverQuota,
            },
            Ask::Zero { start, end } => {
                if start > end {
                    return Err(malformed(format_args!("zeroes {start:#x}..{end:#x}")));
                }
                match world.zero_memory(start..end) {
                    Ok(()) => Answer::Ok([0; 3]),
                    Err(bad) => Answer::Bad(bad.0),
                }
            }
            Ask::MapLazy {
                start,
                end,
                counted,
            } => {
                if start >= end || start % 4096 != 0 || end % 4096 != 0 {
                    return Err(malformed(format_args!(
                        "lazy memory at {start:#x}..{end:#x}"
                    )));
                }
                match world.map_lazy(start..end, counted) {
                    Ok(()) => Answer::Ok([0; 3]),
                    Err(_) => Answer::OverQuota,
                }
            }
            Ask::File { index } => self.file(index),
        }))
    }

    /// Embedded file `index`: its name into the data half, where the component sees it.
    fn file(&mut self, index: u64) -> Answer {
        let Some(file) = usize::try_from(index).ok().and_then(|i| self.files.get(i)) else {
            return Answer::None;
        };
        let name = &file.name.as_bytes()[..file.name.len().min(DATA_LEN)];
        self.buffer.with(|b| b[..name.len()].copy_from_slice(name));
        Answer::Ok([file.addr, file.len, name.len() as u64])
    }

    fn perform_remote<W: World>(
        &mut self,
        event: &Event,
        class: Class,
        cx: &mut CallScope<'_, '_, W>,
    ) -> Result<Option<Done>, Stop> {
        self.set_up(cx.shell, cx.replicas)?;
        let prefetched = match class {
            Class::Vsyscall(_) | Class::Emulated(_) | Class::Other => 0,
            Class::Syscall => {
                let call = romain_linux::arch::decode(&event.regs);
                let inputs = romain_linux::table::lookup(self.arch, call.number)
                    .map(|c| c.inputs(&call.args))
                    .unwrap_or_default();
                let leader = cx.leader;
                let shell = &mut *cx.shell;
                self.buffer
                    .with(|b| crate::prefetch::gather(shell, leader, &inputs, &mut b[..DATA_LEN]))
            }
        };
        let request = Request::Perform(Perform {
            class,
            leader: cx.leader,
            replicas: cx.replicas,
            counter_hz: cx.counter_hz,
            now: cx.shell.now(),
            device: cx.device.clone(),
            regs: event.regs.clone(),
            prefetched: prefetched as u64,
            threads: cx.threads,
        });
        self.converse(cx.shell, request.encode(), cx.replicas)
    }
}

/// What one message of the component came to.
#[allow(clippy::large_enum_variant)]
enum Taken {
    Ready,
    Done(Done),
    Answer(Answer),
}

fn malformed(what: impl fmt::Display) -> Stop {
    Stop::new(
        Status::PersonalityError,
        alloc::format!("the personality component sent {what}"),
    )
}

impl<B: Buffer> Personality for Proxy<B> {
    fn fingerprint<W: World>(&mut self, k: usize, event: &Event, shell: &mut W) -> Option<u64> {
        linux::fingerprint(self.arch, &self.sites, k, event, shell)
    }

    fn perform<W: World>(&mut self, event: &Event, mut cx: CallScope<'_, '_, W>) -> Action {
        let class = match linux::classify(self.arch, &self.sites, event) {
            Class::Other => return program_fault(event, cx),
            class => class,
        };
        match self.perform_remote(event, class, &mut cx) {
            Ok(Some(done)) => apply(done, event, cx),
            Ok(None) => fail(
                &mut cx,
                event,
                self,
                Stop::new(
                    Status::PersonalityError,
                    "it asked for a request instead of answering",
                ),
            ),
            Err(stop) => fail(&mut cx, event, self, stop),
        }
    }

    fn call_name(&self, event: &Event) -> Option<&'static str> {
        linux::call_name(self.arch, &self.sites, event)
    }

    fn unrepaired(&self) -> Option<&'static str> {
        linux::unrepaired(self.fp_captured)
    }
}

/// The component's answer as the core's action, its counts in the summary.
fn apply<W: World>(done: Done, event: &Event, cx: CallScope<'_, '_, W>) -> Action {
    cx.summary.linux_enosys += done.enosys;
    match done.outcome {
        Outcome::Resume(regs) => Action::Resume(regs),
        Outcome::Exit => {
            cx.summary.exit_code = done.exit_code;
            cx.summary.files_written = done.files_written;
            cx.summary.files_hash = done.files_hash;
            Action::End
        }
        Outcome::Fault => program_fault(event, cx),
        Outcome::Thread(call) => Action::Thread(call),
    }
}

/// The group ends: the component failed, or sent what the master cannot take.
fn fail<W: World, B: Buffer>(
    cx: &mut CallScope<'_, '_, W>,
    event: &Event,
    proxy: &Proxy<B>,
    Stop(status, reason): Stop,
) -> Action {
    let call = proxy.call_name(event).unwrap_or("a call");
    cx.shell.end_line();
    log::error!("the personality failed performing {call}: {reason}");
    cx.summary.fail(
        status,
        format_args!("the personality failed performing {call}: {reason}"),
    );
    Action::End
}
