//! The seam for what an agreed call means: the native call ABI today, the Linux one next.

use romain_core::event::{Event, Words};
use romain_core::regs::RegisterFile;
use romain_core::summary::{Status, Summary};

use crate::shell::{Stop, World};
use crate::thread::{ThreadCall, ThreadView};

/// What the group does after a personality performed an agreed event.
// Made once per event and consumed at once: no reason to allocate for the words.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Answer every replica with these message words (MR0 is the result) and let them run on.
    Reply(Words),
    /// The group is over (exit, or a fault of the program).
    End,
    /// Answered later (a wait for the companion's doorbell).
    Hold,
    /// Every replica continues with these registers (a trapped call answered in its registers:
    /// the result written, the pc after the trapping instruction).
    Resume(RegisterFile),
    /// A thread operation (creation, exit, futex wait and wake, yield, sleep): the core
    /// performs it on its threads.
    Thread(ThreadCall),
}

/// The group's link to its companion component, as calls see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    /// The shared region (base, length), if the group has a companion.
    pub region: Option<(u64, u64)>,
    /// The companion rang since the replicas last waited.
    pub rung: bool,
    /// The companion exited or was stopped.
    pub done: bool,
}

/// What a personality may use while it performs a call.
pub struct CallScope<'a, 's, S> {
    pub shell: &'a mut S,
    pub summary: &'a mut Summary<'s>,
    pub device: &'a mut Device,
    pub replicas: usize,
    /// The replica whose memory stands for all (the vote's leader).
    pub leader: usize,
    pub counter_hz: u64,
    /// The threads, as far as the call may know them.
    pub threads: ThreadView,
}

/// A call ABI: decodes an agreed event and performs it once for all replicas.
pub trait Personality {
    /// A hash of what `k`'s `event` passes by reference (buffers in the replica's memory), to
    /// be compared with the event: `None` when it passes nothing.
    fn fingerprint<W: World>(&mut self, _k: usize, _event: &Event, _shell: &mut W) -> Option<u64> {
        None
    }

    fn perform<W: World>(&mut self, event: &Event, calls: CallScope<'_, '_, W>) -> Action;

    /// The name of the call `event` makes, if it is one of this ABI's: what a failure of the
    /// personality while performing it is reported as.
    fn call_name(&self, _event: &Event) -> Option<&'static str> {
        None
    }

    /// What a repair cannot restore for this ABI, for the repair's log line.
    fn unrepaired(&self) -> Option<&'static str> {
        None
    }

    /// After the program ended (and the companion finished): whether the run failed after all.
    fn finish(&self, _summary: &Summary<'_>) -> Result<(), Stop> {
        Ok(())
    }
}

/// Every replica faulted the same way at the same place: a bug of the program (or an access
/// outside what it owns), not a hardware fault. The group ends with the reason.
pub fn program_fault<W: World>(event: &Event, cx: CallScope<'_, '_, W>) -> Action {
    cx.shell.end_line();
    log::error!(
        "program fault in every replica: {} at pc {:#x}",
        event.kind,
        event.regs.pc()
    );
    cx.summary.fail(
        Status::AppFault,
        format_args!("{} at pc {:#x}", event.kind, event.regs.pc()),
    );
    Action::End
}
