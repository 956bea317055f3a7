//! The effects log: what the component did to the outside world while performing a call, in
//! order, carried in the exchange buffer's second half with its next message and applied by the
//! master before it serves that message. A record is a tag byte, a 32-bit length and the bytes.

use alloc::vec::Vec;

use crate::wire::{LOG_LEN, WireError};

const PRINT: u8 = 1;
const END_LINE: u8 = 2;
const DOORBELL: u8 = 3;
const LOG: u8 = 4;

/// Bytes a record takes besides its payload.
pub const HEADER: usize = 5;

/// One effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect<'a> {
    /// The program's output.
    Print(&'a [u8]),
    /// End an unfinished output line (a log line follows).
    EndLine,
    /// Ring the companion's doorbell.
    Doorbell,
    /// A log line of the personality, at this level.
    Log(log::Level, &'a [u8]),
}

/// The effects not yet sent, at most [`LOG_LEN`] bytes.
#[derive(Debug, Default)]
pub struct Outbox {
    bytes: Vec<u8>,
}

impl Outbox {
    pub const fn new() -> Self {
        Outbox { bytes: Vec::new() }
    }

    /// Adds `effect` if it fits: `false` when the log must be sent first. A payload larger than
    /// the log never fits: split it.
    pub fn push(&mut self, effect: Effect<'_>) -> bool {
        let (tag, payload, level): (u8, &[u8], Option<u8>) = match effect {
            Effect::Print(bytes) => (PRINT, bytes, None),
            Effect::EndLine => (END_LINE, &[], None),
            Effect::Doorbell => (DOORBELL, &[], None),
            Effect::Log(level, text) => (LOG, text, Some(level as u8)),
        };
        let len = payload.len() + level.map_or(0, |_| 1);
        if self.bytes.len() + HEADER + len > LOG_LEN {
            return false;
        }
        if self.bytes.try_reserve(HEADER + len).is_err() {
            return false;
        }
        self.bytes.push(tag);
        self.bytes.extend_from_slice(&(len as u32).to_le_bytes());
        self.bytes.extend(level);
        self.bytes.extend_from_slice(payload);
        true
    }

    /// Room left for a payload.
    pub fn room(&self) -> usize {
        LOG_LEN.saturating_sub(self.bytes.len() + HEADER + 1)
    }

    /// Copies the log into `log` (the buffer's second half) and empties it: its length.
    pub fn take_into(&mut self, log: &mut [u8]) -> usize {
        let n = self.bytes.len();
        log[..n].copy_from_slice(&self.bytes);
        self.bytes.clear();
        n
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// The effects of a log, in order; an error for a record that does not parse (the rest is
/// dropped).
pub fn effects(mut log: &[u8]) -> impl Iterator<Item = Result<Effect<'_>, WireError>> {
    core::iter::from_fn(move || {
        if log.is_empty() {
            return None;
        }
        let parsed = (|| {
            let (&tag, rest) = log.split_first().ok_or(WireError::Log)?;
            let len = rest.get(..4).ok_or(WireError::Log)?;
            let len = u32::from_le_bytes(len.try_into().map_err(|_| WireError::Log)?) as usize;
            let payload = rest.get(4..4 + len).ok_or(WireError::Log)?;
            let effect = match tag {
                PRINT => Effect::Print(payload),
                END_LINE => Effect::EndLine,
                DOORBELL => Effect::Doorbell,
                LOG => {
                    let (&level, text) = payload.split_first().ok_or(WireError::Log)?;
                    let level = [
                        log::Level::Error,
                        log::Level::Warn,
                        log::Level::Info,
                        log::Level::Debug,
                        log::Level::Trace,
                    ]
                    .into_iter()
                    .find(|l| *l as u8 == level)
                    .ok_or(WireError::Log)?;
                    Effect::Log(level, text)
                }
                _ => return Err(WireError::Log),
            };
            Ok((effect, &rest[4 + len..]))
        })();
        match parsed {
            Ok((effect, rest)) => {
                log = rest;
                Some(Ok(effect))
            }
            Err(e) => {
                log = &[];
                Some(Err(e))
            }
        }
    })
}
