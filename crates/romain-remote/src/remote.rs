//! The component's side: a [`World`] whose every operation on the replicas is a message to the
//! master, and whose output joins the effects log.

use alloc::vec::Vec;
use core::ops::Range;

use romain_protocol::{BadAddress, OverQuota, World};

use crate::outbox::{Effect, Outbox};
use crate::wire::{Answer, Ask, DATA_LEN, LOG_AT, Message};

/// The component's link to the master: one seL4 call with the message words, the exchange
/// buffer, and the effects log not sent yet (shared with the component's logger).
pub trait Link {
    /// Sends `words` and waits for the master's answer.
    fn call(&mut self, words: &[u64]) -> Message;
    fn with_buffer<R>(&mut self, f: impl FnOnce(&mut [u8]) -> R) -> R;
    fn with_outbox<R>(&mut self, f: impl FnOnce(&mut Outbox) -> R) -> R;
    /// The `len` bytes the master shares at `addr` (an embedded file, read-only, for the
    /// component's life).
    fn shared(&mut self, addr: u64, len: u64) -> &'static [u8];
}

/// Sends `ask` with the effects log so far: the master's answer.
pub fn ask<L: Link>(link: &mut L, ask: &Ask) -> Message {
    let mut outbox = Outbox::default();
    link.with_outbox(|o| core::mem::swap(o, &mut outbox));
    let log_len = link.with_buffer(|b| outbox.take_into(&mut b[LOG_AT..]));
    link.with_outbox(|o| core::mem::swap(o, &mut outbox));
    link.call(&ask.encode(log_len))
}

/// Adds `effect` to the log, sending the log first when it is full; a payload larger than the
/// log goes in pieces.
pub fn send_effect<L: Link>(link: &mut L, effect: Effect<'_>) {
    match effect {
        Effect::Print(mut bytes) => {
            while !bytes.is_empty() {
                let room = link.with_outbox(|o| o.room());
                if room == 0 {
                    ask(link, &Ask::Flush);
                    continue;
                }
                let (now, later) = bytes.split_at(room.min(bytes.len()));
                if !link.with_outbox(|o| o.push(Effect::Print(now))) {
                    ask(link, &Ask::Flush);
                    continue;
                }
                bytes = later;
            }
        }
        other => {
            if !link.with_outbox(|o| o.push(other)) {
                ask(link, &Ask::Flush);
                // An empty log takes any record but a log line past its size: cut those.
                let cut = match other {
                    Effect::Log(level, text) => Effect::Log(level, &text[..text.len().min(1024)]),
                    other => other,
                };
                link.with_outbox(|o| o.push(cut));
            }
        }
    }
}

/// Sends whatever is in the log.
pub fn flush<L: Link>(link: &mut L) {
    if !link.with_outbox(|o| o.is_empty()) {
        ask(link, &Ask::Flush);
    }
}

/// The replicas and the outside world, as the personality in the component sees them.
pub struct RemoteWorld<'l, L> {
    link: &'l mut L,
    now: u64,
    random: &'l mut u64,
    /// The leading replica's inputs the master sent with the call ([`crate::prefetch`]), until
    /// the call writes memory.
    leader: usize,
    inputs: Vec<(u64, Vec<u8>)>,
}

impl<'l, L: Link> RemoteWorld<'l, L> {
    /// `now`: the master's counter for this call; `random`: the component's random state;
    /// `inputs`: what the master sent of the leading replica's memory.
    pub fn new(
        link: &'l mut L,
        now: u64,
        random: &'l mut u64,
        leader: usize,
        inputs: Vec<(u64, Vec<u8>)>,
    ) -> Self {
        RemoteWorld {
            link,
            now,
            random,
            leader,
            inputs,
        }
    }

    fn answer(&mut self, a: &Ask) -> Answer {
        let words = ask(self.link, a);
        Answer::decode(&words).expect("the master answers every ask")
    }
}

impl<L: Link> World for RemoteWorld<'_, L> {
    fn now(&self) -> u64 {
        self.now
    }

    fn print(&mut self, bytes: &[u8]) {
        send_effect(self.link, Effect::Print(bytes));
    }

    fn end_line(&mut self) {
        send_effect(self.link, Effect::EndLine);
    }

    /// xorshift64*, seeded by the master afresh for every group: drawn once for all replicas.
    fn random(&mut self) -> u64 {
        romain_core::random::xorshift64star(self.random)
    }

    fn grow(&mut self, k: usize, bytes: u64) -> Result<u64, OverQuota> {
        match self.answer(&Ask::Grow { k, bytes }) {
            Answer::Ok([old, ..]) => Ok(old),
            _ => Err(OverQuota),
        }
    }

    fn ring_doorbell(&mut self) {
        send_effect(self.link, Effect::Doorbell);
    }

    fn read_memory(&mut self, k: usize, addr: u64, buf: &mut [u8]) -> Result<(), BadAddress> {
        if k == self.leader && crate::prefetch::read(&self.inputs, addr, buf) {
            return Ok(());
        }
        for (i, piece) in buf.chunks_mut(DATA_LEN).enumerate() {
            let at = addr
                .checked_add((i * DATA_LEN) as u64)
                .ok_or(BadAddress(addr))?;
            let len = piece.len() as u64;
            match self.answer(&Ask::Read { k, addr: at, len }) {
                Answer::Ok(_) => self
                    .link
                    .with_buffer(|b| piece.copy_from_slice(&b[..piece.len()])),
                Answer::Bad(bad) => return Err(BadAddress(bad)),
                _ => return Err(BadAddress(at)),
            }
        }
        Ok(())
    }

    fn write_memory(&mut self, addr: u64, bytes: &[u8]) -> Result<(), BadAddress> {
        // The inputs may be what it overwrites.
        self.inputs.clear();
        for (i, piece) in bytes.chunks(DATA_LEN).enumerate() {
            let at = addr
                .checked_add((i * DATA_LEN) as u64)
                .ok_or(BadAddress(addr))?;
            self.link
                .with_buffer(|b| b[..piece.len()].copy_from_slice(piece));
            let len = piece.len() as u64;
            match self.answer(&Ask::Write { addr: at, len }) {
                Answer::Ok(_) => {}
                Answer::Bad(bad) => return Err(BadAddress(bad)),
                _ => return Err(BadAddress(at)),
            }
        }
        Ok(())
    }

    fn zero_memory(&mut self, range: Range<u64>) -> Result<(), BadAddress> {
        // The inputs may be what it overwrites.
        self.inputs.clear();
        match self.answer(&Ask::Zero {
            start: range.start,
            end: range.end,
        }) {
            Answer::Ok(_) => Ok(()),
            Answer::Bad(bad) => Err(BadAddress(bad)),
            _ => Err(BadAddress(range.start)),
        }
    }

    fn map_lazy(&mut self, range: Range<u64>, counted: bool) -> Result<(), OverQuota> {
        match self.answer(&Ask::MapLazy {
            start: range.start,
            end: range.end,
            counted,
        }) {
            Answer::Ok(_) => Ok(()),
            _ => Err(OverQuota),
        }
    }

    fn writable(&mut self, k: usize, addr: u64, len: u64) -> Result<(), BadAddress> {
        match self.answer(&Ask::Writable { k, addr, len }) {
            Answer::Ok(_) => Ok(()),
            Answer::Bad(bad) => Err(BadAddress(bad)),
            _ => Err(BadAddress(addr)),
        }
    }
}
