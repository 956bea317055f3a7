//! A Linux group's personality component (`replica-app/personality`, protocol in
//! `romain_remote`): made with the group on the master's core, with an endpoint of its own and
//! its own memory quota, destroyed with the group. The master talks to it only through
//! [`Machine::exchange_with_personality`], which bounds every wait: whatever the component does
//! (fault, panic, exhaust its quota, never answer), the group ends with `personality-error` and
//! the master goes on.

use alloc::vec::Vec;

use romain_abi::personality::{EXCHANGE_PAGES, EXCHANGE_VA, LABEL};
use romain_abi::{Call, CallError, ReplicaBadge};
use romain_core::event::EventKind;
use romain_core::summary::Status;
use romain_image::{self as image, PAGE_SIZE};
use romain_memory::{Refusal, Tracking};
use romain_protocol::Stop;
use romain_remote::wire::EXCHANGE_LEN;

use super::Context;
use super::machine::{Machine, message, reply_to_caller};
use crate::arch::{self, ARCH};
use crate::count::{self, Kind};
use crate::objects::AllocError;
use crate::replica::{BuildError, Program, Replica};
use crate::timer::{DOORBELL_BADGE, TIMER_BADGE};

/// How long the component may take over one message, in milliseconds of the master's clock.
/// Every call's work is bounded (1 MiB per call); this bounds a component that loops.
pub(crate) const ANSWER_MS: u64 = 20_000;

/// The component: its thread and address space, and the endpoint only it sends on.
pub(crate) struct Component {
    pub replica: Replica,
    pub endpoint: sel4::cap::Endpoint,
}

/// Builds the component (not started) with `quota_pages` of memory, and the exchange buffer
/// mapped in it: the master's view of the buffer.
pub(super) fn build(
    ctx: &mut Context<'_>,
    quota_pages: usize,
) -> Result<(Component, &'static mut [u8]), Stop> {
    let bytes = crate::embedded::PERSONALITY;
    let failed = |what: &dyn core::fmt::Display| {
        Stop(
            Status::MasterError,
            alloc::format!("the personality component: {what}"),
        )
    };
    let layout = image::load(bytes, ARCH, quota_pages as u64).map_err(|e| failed(&e))?;
    let gap = super::build::HEAP_GAP;
    let program = Program {
        bytes,
        layout: &layout,
        heap_base: (layout.span.end + PAGE_SIZE + gap).next_multiple_of(gap),
        quota_pages,
        tracking: Tracking::Off,
        sites: None,
        fp_stubs: None,
        vdso: None,
    };
    let endpoint = ctx.objects.alloc::<sel4::cap_type::Endpoint>()?;
    let badge = ReplicaBadge {
        group: ctx.group_number,
        replica: ReplicaBadge::PERSONALITY,
    };
    let replica =
        Replica::build(ctx.objects, &program, endpoint, badge, 0).map_err(|err| match err {
            BuildError::Alloc(e) => Stop::from(e),
            BuildError::Quota { pages } => failed(&alloc::format!("more than {pages} pages")),
        })?;
    let mut frames: Vec<crate::memory::Frame> = Vec::with_capacity(EXCHANGE_PAGES);
    for i in 0..EXCHANGE_PAGES {
        let frame = ctx.objects.frame()?;
        // The master's views of a group's frames are consecutive (`Objects::frame`).
        if i > 0 && frame.addr() != frames[0].addr() + i * PAGE_SIZE as usize {
            return Err(failed(
                &"exchange buffer not consecutive in the master's view",
            ));
        }
        frames.push(frame);
    }
    replica.with_memory(ctx.objects, |space, mmu| {
        for (i, frame) in frames.iter().enumerate() {
            space.add_loaded(mmu, EXCHANGE_VA + i as u64 * PAGE_SIZE, *frame, true)?;
        }
        Ok::<(), AllocError>(())
    })?;
    // SAFETY: EXCHANGE_PAGES fresh frames of the group, consecutive in the master's view
    // (checked above), mapped there until the group ends; the slice goes to the group's proxy,
    // which is dropped before the group ends, and the component writes the buffer only while
    // the master waits for it.
    let buffer =
        unsafe { core::slice::from_raw_parts_mut(frames[0].addr() as *mut u8, EXCHANGE_LEN) };
    Ok((Component { replica, endpoint }, buffer))
}

impl Machine<'_, '_> {
    /// `World::exchange`: answers the component's waiting call with `send` and waits for its
    /// next message, at most [`ANSWER_MS`]; serves its runtime's own calls and page faults
    /// (its heap) on the way.
    pub(super) fn exchange_with_personality(
        &mut self,
        send: Option<&[u64]>,
        receive: &mut [u64],
    ) -> Result<usize, Stop> {
        let Some(component) = self.personality else {
            return Err(Stop::new(Status::MasterError, "no personality component"));
        };
        let ending = |why: &dyn core::fmt::Display| {
            let _ = component.replica.stop();
            Stop(Status::PersonalityError, alloc::format!("{why}"))
        };
        if let Some(words) = send {
            component.replica.reply(message(words));
        }
        let deadline = arch::counter().saturating_add(arch::ticks_in_ms(ANSWER_MS));
        // What its runtime printed (a panic's message) before it exited.
        let mut said = heapless::String::<240>::new();
        loop {
            if let Some(timer) = self.ctx.timer.as_deref_mut() {
                timer.set(Some(deadline));
            }
            count::note(Kind::Recv);
            let (info, badge) = component.endpoint.recv(());
            if ReplicaBadge::from_word(badge).is_none()
                && badge & (TIMER_BADGE | DOORBELL_BADGE) != 0
            {
                // The master's notification: the time-out, or a doorbell the core gets later.
                self.late_doorbell |= badge & DOORBELL_BADGE != 0;
                if badge & TIMER_BADGE != 0
                    && let Some(timer) = self.ctx.timer.as_deref_mut()
                {
                    timer.on_interrupt();
                }
                if arch::counter() >= deadline {
                    return Err(ending(&format_args!("no answer within {ANSWER_MS} ms")));
                }
                continue;
            }
            if info.label() == LABEL {
                let n = info.length().min(receive.len());
                sel4::with_ipc_buffer(|ipc| receive[..n].copy_from_slice(&ipc.msg_regs()[..n]));
                if !component
                    .replica
                    .save_reply()
                    .map_err(|e| ending(&format_args!("{e:?}")))?
                {
                    return Err(ending(&"a message sent without waiting for the answer"));
                }
                return Ok(n);
            }
            let (msg, words) =
                arch::read_message(&info).map_err(|e| ending(&format_args!("{e}")))?;
            match msg.kind {
                EventKind::VmFault { addr, .. } => {
                    let served = component
                        .replica
                        .with_memory(self.ctx.objects, |space, mmu| space.on_fault(mmu, addr));
                    match served {
                        Ok(_) => reply_to_caller(&[]),
                        Err(Refusal::Quota { pages }) => {
                            return Err(ending(&format_args!(
                                "its memory quota of {pages} pages is used up"
                            )));
                        }
                        Err(_) => {
                            return Err(ending(&format_args!("{} (it faulted)", msg.kind)));
                        }
                    }
                }
                EventKind::Call(Call::Grow) => {
                    let bytes = words.first().copied().unwrap_or(0);
                    let word = component
                        .replica
                        .space
                        .borrow_mut()
                        .grow(bytes)
                        .unwrap_or(CallError::OutOfMemory.as_result_word());
                    reply_to_caller(&[word]);
                }
                EventKind::Call(Call::Write) => {
                    let mut buf = [0; romain_abi::WRITE_CHUNK];
                    let n = match romain_core::proxy::decode_write(&words, &mut buf) {
                        Ok(bytes) => {
                            for &b in bytes {
                                let c = if (0x20..0x7f).contains(&b) {
                                    b as char
                                } else {
                                    ' '
                                };
                                let _ = said.push(c);
                            }
                            bytes.len() as u64
                        }
                        Err(err) => err.as_result_word(),
                    };
                    reply_to_caller(&[n]);
                }
                EventKind::Call(Call::Exit) => {
                    let code = romain_core::proxy::decode_exit(&words);
                    return Err(ending(&Ended { code, said: &said }));
                }
                EventKind::Call(Call::Time) => {
                    reply_to_caller(&[arch::counter(), arch::counter_hz()]);
                }
                other => return Err(ending(&format_args!("it made {other}"))),
            }
        }
    }
}

/// The component ended: its panic's message first (the summary keeps a line's start), then
/// where it was.
struct Ended<'a> {
    code: i64,
    said: &'a str,
}

impl core::fmt::Display for Ended<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let said = self.said.trim();
        let said = said.strip_prefix("replica panicked: ").unwrap_or(said);
        // "panicked at FILE:LINE:COL:" then the message (its line break made a space).
        match said
            .strip_prefix("panicked at ")
            .and_then(|rest| rest.split_once(": "))
        {
            Some((at, message)) => write!(
                f,
                "{} (the component panicked at {at}, exit {})",
                message.trim(),
                self.code
            ),
            None if said.is_empty() => write!(f, "the component exited with {}", self.code),
            None => {
                f.write_str(said)?;
                write!(f, " (the component exited with {})", self.code)
            }
        }
    }
}
