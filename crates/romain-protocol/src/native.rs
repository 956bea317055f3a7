//! The native personality: the project's own call ABI (`romain_abi::Call`).

use romain_abi::{Call, CallError, WRITE_CHUNK, pack_bytes, region};
use romain_core::event::{Event, EventKind, Words};
use romain_core::proxy;
use romain_core::summary::{Status, Summary};

use crate::personality::{Action, CallScope, Personality, program_fault};
use crate::shell::{OverQuota, Stop, World};

pub struct Native<'a> {
    /// The run's program arguments.
    args: &'a str,
    /// The memory quota per replica (for messages).
    quota_mb: u64,
    /// The memory quota refused a grow call.
    quota_refused: bool,
    /// Unknown call labels already logged: each is logged once per group.
    unknown_logged: heapless::Vec<u64, 16>,
}

impl<'a> Native<'a> {
    pub fn new(args: &'a str, quota_mb: u64) -> Self {
        Native {
            args,
            quota_mb,
            quota_refused: false,
            unknown_logged: heapless::Vec::new(),
        }
    }
}

/// A reply of one word.
fn word(w: u64) -> Action {
    Action::Reply(Words::from_slice(&[w]).expect("one word fits"))
}

impl Personality for Native<'_> {
    fn perform<W: World>(&mut self, event: &Event, cx: CallScope<'_, '_, W>) -> Action {
        let device = event.words.first() == Some(&region::DEVICE);
        match event.kind {
            EventKind::Call(Call::Args) => {
                let bytes = &self.args.as_bytes()[..self.args.len().min(WRITE_CHUNK)];
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
                Action::Reply(Words::from_slice(&[cx.shell.now(), cx.counter_hz]).expect("fits"))
            }
            EventKind::Call(Call::Random) => word(cx.shell.random()),
            EventKind::Call(Call::Yield) => word(0),
            EventKind::Call(Call::Write) => {
                let mut buf = [0; WRITE_CHUNK];
                word(match proxy::decode_write(&event.words, &mut buf) {
                    Ok(bytes) => {
                        cx.shell.print(bytes);
                        bytes.len() as u64
                    }
                    Err(err) => {
                        log::warn!("write with bad arguments refused");
                        err.as_result_word()
                    }
                })
            }
            EventKind::Call(Call::Exit) => {
                cx.summary.exit_code = Some(proxy::decode_exit(&event.words));
                Action::End
            }
            EventKind::Call(Call::Grow) => self.grow(event, cx),
            // The region's address and length. Nothing is mapped: the replicas' accesses fault
            // to the master (copy & execute).
            EventKind::Call(Call::Attach) => {
                let words = match cx.device.region {
                    Some((base, len)) if device => [base, len],
                    _ => [CallError::BadArgument.as_result_word(), 0],
                };
                Action::Reply(Words::from_slice(&words).expect("fits"))
            }
            // The companion's doorbell rings once for all replicas.
            EventKind::Call(Call::Signal) => word(if cx.device.region.is_some() && device {
                cx.shell.ring_doorbell();
                0
            } else {
                CallError::BadArgument.as_result_word()
            }),
            // Answered now if the companion rang since the last wait (or is gone), else when it
            // rings.
            EventKind::Call(Call::Wait) => word(match cx.device.region {
                Some(_) if device && cx.device.done => CallError::Gone.as_result_word(),
                Some(_) if device && cx.device.rung => {
                    cx.device.rung = false;
                    0
                }
                Some(_) if device => return Action::Hold,
                _ => CallError::BadArgument.as_result_word(),
            }),
            EventKind::UnknownCall { label } => {
                if !self.unknown_logged.contains(&label) && self.unknown_logged.push(label).is_ok()
                {
                    log::warn!("unknown call (label {label:#x}) refused (logged once per label)");
                }
                word(CallError::UnknownCall.as_result_word())
            }
            _ => program_fault(event, cx),
        }
    }

    fn finish(&self, summary: &Summary<'_>) -> Result<(), Stop> {
        if self.quota_refused && summary.exit_code != Some(0) {
            return Err(Stop(
                Status::OutOfMemory,
                alloc::format!(
                    "the program exited with {:?} after the memory quota ({} MiB per replica) refused it more memory",
                    summary.exit_code,
                    self.quota_mb
                ),
            ));
        }
        Ok(())
    }
}

impl Native<'_> {
    /// The grow call: every replica's heap grows alike (their spaces are in step).
    fn grow<W: World>(&mut self, event: &Event, cx: CallScope<'_, '_, W>) -> Action {
        let bytes = event.words.first().copied().unwrap_or(0);
        let mut result = Ok(0);
        for k in 0..cx.replicas {
            result = cx.shell.grow(k, bytes);
        }
        word(match result {
            Ok(old_end) => old_end,
            Err(OverQuota) => {
                if !self.quota_refused {
                    log::warn!(
                        "event {}: grow by {bytes} bytes refused: memory quota of {} MiB per replica",
                        cx.summary.events,
                        self.quota_mb
                    );
                }
                self.quota_refused = true;
                CallError::OutOfMemory.as_result_word()
            }
        })
    }
}
