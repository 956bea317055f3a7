//! The call proxy: performs an agreed event once, on behalf of all replicas.

use romain_abi::{Call, CallError, WRITE_CHUNK};
use romain_core::event::{Event, EventKind};
use romain_core::proxy;
use romain_core::summary::{Status, Summary};

/// What the group does after an agreed event.
pub(crate) enum Action {
    /// Answer every replica with this result word and let them run on.
    Reply(u64),
    /// The group is over (exit, or a fault of the program).
    End,
}

/// Console state of a group: output is printed once, by the master.
#[derive(Default)]
pub(crate) struct Console {
    /// Whether the last byte printed ended a line (the summary line must start on its own).
    pub at_line_start: bool,
}

impl Console {
    pub(crate) fn new() -> Self {
        Self { at_line_start: true }
    }

    fn print(&mut self, bytes: &[u8]) {
        for &b in bytes {
            sel4::debug_put_char(b);
        }
        if let Some(&last) = bytes.last() {
            self.at_line_start = last == b'\n';
        }
    }

    pub(crate) fn end_line(&mut self) {
        if !self.at_line_start {
            self.print(b"\n");
        }
    }
}

pub(crate) fn handle(event: &Event, console: &mut Console, summary: &mut Summary<'_>) -> Action {
    match event.kind {
        EventKind::Call(Call::Write) => {
            let mut buf = [0; WRITE_CHUNK];
            Action::Reply(match proxy::decode_write(&event.words, &mut buf) {
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
            log::warn!("unknown call (label {label:#x}) refused");
            Action::Reply(CallError::UnknownCall.as_result_word())
        }
        // Every replica faulted the same way at the same place: a bug of the program (or an
        // access outside what it owns), not a hardware fault. The group ends with the reason.
        kind => {
            console.end_line();
            log::error!("program fault in every replica: {kind} at pc {:#x}", event.regs.pc());
            summary.fail(
                Status::AppFault,
                format_args!("{kind} at pc {:#x}", event.regs.pc()),
            );
            Action::End
        }
    }
}
