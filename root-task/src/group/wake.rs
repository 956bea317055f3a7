//! What woke the master, checked and translated into the core's inputs.

use romain_abi::{Call, ReplicaBadge};
use romain_core::event::{Event, EventKind};
use romain_core::summary::{Status, Summary};
use romain_memory::Refusal;
use romain_protocol::{Input, Stop};

use super::OrStop;
use super::companion;
use super::machine::{Machine, reply_to_caller};
use crate::arch;
use crate::count::{self, Activity, Kind};
use crate::replica::Replica;
use crate::timer::{DOORBELL_BADGE, TIMER_BADGE};

/// Why the master woke up.
pub(super) enum Wake {
    Message(sel4::MessageInfo, sel4::Badge),
    /// The master's notification (the timer's bit, the doorbell's, or both), or a poll round.
    Notification {
        doorbell: bool,
    },
}

/// Inputs of one wake-up: at most a doorbell (this wake's, or one rung while the master waited
/// for the personality component) and a tick or a message.
pub(super) type Inputs = heapless::Vec<Input, 2>;

impl Machine<'_, '_> {
    /// The next message or notification. With a timer the master blocks until either comes (the
    /// timer set to `deadline`); without one (a board without a timer driver here) it blocks
    /// while there is no deadline and polls otherwise, yielding its core between polls.
    pub(super) fn next_wake(&mut self, deadline: Option<u64>) -> Wake {
        self.park_personality();
        if let Some(timer) = self.ctx.timer.as_deref_mut() {
            timer.set(deadline);
            count::note(Kind::Recv);
            let (info, badge) = self.ctx.endpoint.recv(());
            if ReplicaBadge::from_word(badge).is_some()
                || badge & (TIMER_BADGE | DOORBELL_BADGE) == 0
            {
                return Wake::Message(info, badge);
            }
            if badge & TIMER_BADGE != 0 {
                timer.on_interrupt();
            }
            return Wake::Notification {
                doorbell: badge & DOORBELL_BADGE != 0,
            };
        }
        if deadline.is_none() {
            count::note(Kind::Recv);
            let (info, badge) = self.ctx.endpoint.recv(());
            return Wake::Message(info, badge);
        }
        count::note(Kind::Recv);
        let (info, badge) = self.ctx.endpoint.nb_recv(());
        if badge != 0 {
            return Wake::Message(info, badge);
        }
        count::note(Kind::Other);
        sel4::r#yield();
        Wake::Notification { doorbell: false }
    }

    /// The core's inputs for `wake`. Messages that are no event are handled here: served page
    /// faults, a fired result trap, the companion's calls, the floor measurement's null call.
    pub(super) fn translate(
        &mut self,
        wake: Wake,
        summary: &mut Summary<'_>,
    ) -> Result<Inputs, Stop> {
        let mut inputs = Inputs::new();
        let late = core::mem::take(&mut self.late_doorbell);
        match wake {
            Wake::Notification { doorbell } => {
                if doorbell || late {
                    let _ = inputs.push(Input::Doorbell);
                }
                let _ = inputs.push(Input::Tick);
            }
            Wake::Message(info, badge) => {
                if late {
                    let _ = inputs.push(Input::Doorbell);
                }
                if let Some(input) = self.message(&info, badge, summary)? {
                    let _ = inputs.push(input);
                }
            }
        }
        Ok(inputs)
    }

    fn message(
        &mut self,
        info: &sel4::MessageInfo,
        badge: sel4::Badge,
        summary: &mut Summary<'_>,
    ) -> Result<Option<Input>, Stop> {
        let n = self.replicas.len();
        let Some(badge) = ReplicaBadge::from_word(badge).filter(|b| {
            b.group == self.ctx.group_number
                && ((b.replica as usize) < n || b.replica == ReplicaBadge::COMPANION)
        }) else {
            log::warn!("message with badge {badge:#x} from no replica of this group ignored");
            return Ok(None);
        };
        if badge.replica == ReplicaBadge::COMPANION {
            return companion::serve(self, info, summary);
        }
        if info.label() == Call::Null.label() {
            // The floor measurement: reply at once with the implicit reply capability.
            reply_to_caller(&[0]);
            return Ok(None);
        }
        let replicas = self.replicas;
        let replica = &replicas[badge.replica as usize];
        let protocol = |err: &dyn core::fmt::Display| {
            Stop(
                Status::ProtocolError,
                alloc::format!("replica {}: {err}", replica.index),
            )
        };
        // Read the message before any invocation: invocations reuse the master's IPC buffer.
        let (message, words) = arch::read_message(info).map_err(|e| protocol(&e))?;
        let kind = message.kind;
        if let EventKind::UserException { .. } = kind
            && let Some(trap) = self.trap.take_if(|t| t.replica == replica.index)
        {
            // Its log line, if it fires, is a line of its own (not hashed: output is unchanged).
            self.console.end_line();
            if trap.fire(replica, summary)? {
                return Ok(None);
            }
            self.trap = Some(trap);
        }
        if let EventKind::VmFault { addr, .. } = kind
            && count::during(Activity::Paging, || {
                self.serve_fault(replica, addr, summary)
            })?
        {
            count::received_for(Activity::Paging);
            return Ok(None);
        }
        if !replica.save_reply().or_stop()? {
            let _ = replica.stop();
            return Err(Stop(
                Status::ProtocolError,
                alloc::format!(
                    "replica {}: a message ({kind}) sent without waiting for the reply \
                     (seL4_Send or seL4_NBSend): no event",
                    replica.index
                ),
            ));
        }
        let regs = replica.registers().or_stop()?;
        let kind = message.at(regs.pc()).map_err(|e| protocol(&e))?;
        let event = Event::new(kind, words, regs);
        Ok(Some(Input::Arrival {
            replica: replica.index,
            event,
        }))
    }

    /// Serves a page fault that is the memory manager's (a lazy page, a first write).
    /// `Ok(false)`: the fault is the program's, an event like any other.
    pub(super) fn serve_fault(
        &mut self,
        replica: &Replica,
        addr: u64,
        summary: &mut Summary<'_>,
    ) -> Result<bool, Stop> {
        let served = replica.with_memory(self.ctx.objects, |space, mmu| space.on_fault(mmu, addr));
        match served {
            Ok(_) => {
                summary.memory_faults += 1;
                // The empty reply restarts the faulting instruction.
                reply_to_caller(&[]);
                Ok(true)
            }
            Err(Refusal::NotMine) => Ok(false),
            Err(Refusal::Quota { pages }) => Err(Stop(
                Status::OutOfMemory,
                alloc::format!(
                    "replica {} touched {addr:#x} beyond its memory quota of {pages} pages",
                    replica.index
                ),
            )),
            Err(err) => Err::<bool, _>(err).or_stop(),
        }
    }
}
