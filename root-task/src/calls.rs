//! The call proxy: performs an agreed event once, on behalf of all replicas.

use romain_abi::{Call, CallError, WRITE_CHUNK, pack_bytes};
use romain_core::event::{Event, EventKind, Words};
use romain_core::proxy;
use romain_core::summary::{Status, Summary};

use crate::arch;

/// What the group does after an agreed event.
pub(crate) enum Action {
    /// Answer every replica with these message words (MR0 is the result) and let them run on.
    Reply(Words),
    /// The group is over (exit, or a fault of the program).
    End,
    /// Answered later (a wait for the companion's doorbell).
    Hold,
}

/// Console state of a group: output is printed once, by the master.
#[derive(Default)]
pub(crate) struct Console {
    /// Whether the last byte printed ended a line (the summary line must start on its own).
    pub at_line_start: bool,
    /// FNV-1a of everything the program wrote: what campaigns compare with the golden run.
    pub hash: u64,
    /// Hash only, print nothing (campaign experiments).
    quiet: bool,
    /// Unknown call labels already logged: each is logged once per group.
    unknown_logged: heapless::Vec<u64, 16>,
}

impl Console {
    pub(crate) fn new(quiet: bool) -> Self {
        Self {
            at_line_start: true,
            hash: 0xcbf2_9ce4_8422_2325,
            quiet,
            unknown_logged: heapless::Vec::new(),
        }
    }

    fn print(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.hash = (self.hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        if self.quiet {
            return;
        }
        crate::console::put_bytes(bytes);
        if let Some(&last) = bytes.last() {
            self.at_line_start = last == b'\n';
        }
    }

    pub(crate) fn end_line(&mut self) {
        if !self.at_line_start && !self.quiet {
            crate::console::put_char(b'\n');
            self.at_line_start = true;
        }
    }
}

/// The master's random numbers: xorshift64*, seeded from the cycle counter at the first draw.
/// Drawn once per call and given to every replica, so replicas stay identical.
fn random() -> u64 {
    use core::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        x = arch::counter() | 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    STATE.store(x, Ordering::Relaxed);
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// A reply of one word.
fn word(w: u64) -> Action {
    Action::Reply(Words::from_slice(&[w]).expect("one word fits"))
}

/// Performs the agreed `event` of a run whose program arguments are `args`.
pub(crate) fn handle(
    event: &Event,
    args: &str,
    console: &mut Console,
    summary: &mut Summary<'_>,
) -> Action {
    match event.kind {
        EventKind::Call(Call::Args) => {
            let bytes = &args.as_bytes()[..args.len().min(WRITE_CHUNK)];
            let mut words = Words::new();
            words.push(bytes.len() as u64).expect("room");
            let mut packed = [0; WRITE_CHUNK / 8];
            let n = pack_bytes(bytes, &mut packed);
            words
                .extend_from_slice(&packed[..n])
                .expect("fits a message");
            Action::Reply(words)
        }
        EventKind::Call(Call::Time) => {
            Action::Reply(Words::from_slice(&[arch::counter(), arch::counter_hz()]).expect("fits"))
        }
        EventKind::Call(Call::Random) => word(random()),
        EventKind::Call(Call::Yield) => word(0),
        EventKind::Call(Call::Write) => {
            let mut buf = [0; WRITE_CHUNK];
            word(match proxy::decode_write(&event.words, &mut buf) {
                Ok(bytes) => {
                    console.print(bytes);
                    bytes.len() as u64
                }
                Err(err) => {
                    log::warn!("write with bad arguments refused");
                    err.as_result_word()
                }
            })
        }
        EventKind::Call(Call::Exit) => {
            summary.exit_code = Some(proxy::decode_exit(&event.words));
            Action::End
        }
        EventKind::UnknownCall { label } => {
            if !console.unknown_logged.contains(&label)
                && console.unknown_logged.push(label).is_ok()
            {
                log::warn!("unknown call (label {label:#x}) refused (logged once per label)");
            }
            word(CallError::UnknownCall.as_result_word())
        }
        // Every replica faulted the same way at the same place: a bug of the program (or an
        // access outside what it owns), not a hardware fault. The group ends with the reason.
        kind => {
            console.end_line();
            log::error!(
                "program fault in every replica: {kind} at pc {:#x}",
                event.regs.pc()
            );
            summary.fail(
                Status::AppFault,
                format_args!("{kind} at pc {:#x}", event.regs.pc()),
            );
            Action::End
        }
    }
}
