//! A Linux group's personality component (`replica-app/personality`, protocol in
//! `romain_remote`): made with the group on the master's core, with an endpoint of its own and
//! its own memory quota, destroyed with the group. The master talks to it only through
//! [`Machine::exchange_with_personality`], which bounds every wait: whatever the component does
//! (fault, panic, exhaust its quota, never answer), the group ends with `personality-error` and
//! the master goes on.

use alloc::vec::Vec;

use core::ops::Range;

use romain_abi::personality::{EXCHANGE_PAGES, EXCHANGE_VA, FILES_VA, LABEL};
use romain_abi::{Call, ReplicaBadge};
use romain_core::event::EventKind;
use romain_core::summary::Status;
use romain_image::{self as image, PAGE_SIZE};
use romain_memory::{Refusal, Tracking};
use romain_protocol::Stop;
use romain_remote::proxy::SharedFile;
use romain_remote::wire::EXCHANGE_LEN;
use sel4::init_thread::slot::CNODE;

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
    /// The master's pages that hold the embedded files, shown to the component at FILES_VA.
    files: Range<usize>,
}

/// The files embedded in the master's image as the component sees them (its pages at
/// `FILES_VA` are the master's, from the first file's page on), and the master's pages they
/// take.
pub(super) fn shared_files() -> (Vec<SharedFile>, Range<usize>) {
    let page = PAGE_SIZE as usize;
    let files = crate::embedded::FILES;
    let bytes = || files.iter().map(|(_, b)| *b).filter(|b| !b.is_empty());
    let start = bytes().map(|b| b.as_ptr() as usize).min().unwrap_or(0) / page * page;
    let end = bytes()
        .map(|b| (b.as_ptr() as usize + b.len()).next_multiple_of(page))
        .max()
        .unwrap_or(start);
    let shared = files
        .iter()
        .map(|(name, b)| SharedFile {
            name,
            addr: match b.is_empty() {
                true => FILES_VA,
                false => FILES_VA + (b.as_ptr() as usize - start) as u64,
            },
            len: b.len() as u64,
        })
        .collect();
    (shared, start..end)
}

/// Builds the component (not started) with `quota_pages` of memory, and the exchange buffer
/// mapped in it: the master's view of the buffer.
pub(super) fn build(
    ctx: &mut Context<'_>,
    quota_pages: usize,
    files: Range<usize>,
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
    Ok((
        Component {
            replica,
            endpoint,
            files,
        },
        buffer,
    ))
}

/// Where the component's reply capability is while it waits for the master.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// It does not wait for the master (not started, or serving).
    #[default]
    No,
    /// In the master's caller slot: the master has received nothing since, and answers with
    /// one `ReplyRecv`.
    InCallerSlot,
    /// Saved in its slot, before the master received from anyone else.
    Saved,
}

impl Machine<'_, '_> {
    /// `World::exchange`: answers the component's waiting call with `send` and waits for its
    /// next message, at most [`ANSWER_MS`]; serves its runtime's own calls and page faults
    /// (its heap) on the way. Within a call's conversation an answer and the next receive are
    /// one system call.
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
        let deadline = arch::counter().saturating_add(arch::ticks_in_ms(ANSWER_MS));
        if let Some(timer) = self.ctx.timer.as_deref_mut() {
            timer.set(Some(deadline));
        }
        count::note(Kind::Recv);
        let waiting = core::mem::take(&mut self.personality_waiting);
        let mut received = match (send, waiting) {
            // One system call: counted once, as a receive.
            (Some(words), Waiting::InCallerSlot) => {
                component.endpoint.reply_recv(message(words), ())
            }
            (Some(words), Waiting::Saved) => {
                component.replica.reply(message(words));
                component.endpoint.recv(())
            }
            _ => component.endpoint.recv(()),
        };
        // What its runtime printed (a panic's message) before it exited.
        let mut said = heapless::String::<240>::new();
        loop {
            let (info, badge) = received;
            if ReplicaBadge::from_word(badge).is_none()
                && badge & (TIMER_BADGE | DOORBELL_BADGE) != 0
            {
                // The master's notification: the time-out, or a doorbell the core gets later.
                self.late_doorbell |= badge & DOORBELL_BADGE != 0;
                if badge & TIMER_BADGE != 0
                    && let Some(timer) = self.ctx.timer.as_deref_mut()
                    && !timer.on_interrupt()
                {
                    // Early (a periodic tick): the deadline stays set.
                    timer.rearm();
                }
                if arch::counter() >= deadline {
                    return Err(ending(&format_args!("no answer within {ANSWER_MS} ms")));
                }
            } else if info.label() == LABEL {
                let n = info.length().min(receive.len());
                sel4::with_ipc_buffer(|ipc| receive[..n].copy_from_slice(&ipc.msg_regs()[..n]));
                self.personality_waiting = Waiting::InCallerSlot;
                return Ok(n);
            } else {
                self.serve_runtime(component, &info, &mut said)
                    .map_err(|why| ending(&why))?;
            }
            count::note(Kind::Recv);
            received = component.endpoint.recv(());
        }
    }

    /// Before the master receives from anyone else: the component's reply capability out of the
    /// caller slot into its own.
    pub(super) fn park_personality(&mut self) {
        if self.personality_waiting == Waiting::InCallerSlot
            && let Some(component) = self.personality
        {
            self.personality_waiting = match component.replica.keep_reply() {
                Ok(()) => Waiting::Saved,
                Err(_) => Waiting::No,
            };
        }
    }

    /// A message of the component's runtime (not of the protocol): its heap's page faults and
    /// growth, its panic's message, its exit. `Err`: why the component is over.
    fn serve_runtime(
        &mut self,
        component: &Component,
        info: &sel4::MessageInfo,
        said: &mut heapless::String<240>,
    ) -> Result<(), alloc::string::String> {
        let (msg, words) = arch::read_message(info).map_err(|e| alloc::format!("{e}"))?;
        match msg.kind {
            EventKind::VmFault { addr, .. }
                if (FILES_VA..FILES_VA + component.files.len() as u64).contains(&addr) =>
            {
                self.share_file_page(component, addr)
                    .map_err(|e| alloc::format!("sharing a file's page: {e:?}"))?;
                reply_to_caller(&[]);
            }
            EventKind::VmFault { addr, .. } => {
                let served = component
                    .replica
                    .with_memory(self.ctx.objects, |space, mmu| space.on_fault(mmu, addr));
                match served {
                    Ok(_) => reply_to_caller(&[]),
                    Err(Refusal::Quota { pages }) => {
                        return Err(alloc::format!(
                            "its memory quota of {pages} pages is used up"
                        ));
                    }
                    Err(_) => return Err(alloc::format!("it faulted ({})", msg.kind)),
                }
            }
            EventKind::Call(Call::Grow) => {
                super::companion::answer_grow(&component.replica, &words)
            }
            EventKind::Call(Call::Write) => {
                let mut buf = [0; romain_abi::WRITE_CHUNK];
                let n = match romain_core::proxy::decode_write(&words, &mut buf) {
                    Ok(bytes) => {
                        // Made printable; its line breaks spaces (see `Ended`).
                        for &b in bytes {
                            let _ = said.push(romain_records::shown(b).unwrap_or(' '));
                        }
                        bytes.len() as u64
                    }
                    Err(err) => err.as_result_word(),
                };
                reply_to_caller(&[n]);
            }
            EventKind::Call(Call::Exit) => {
                let code = romain_core::proxy::decode_exit(&words);
                return Err(alloc::format!("{}", Ended { code, said }));
            }
            EventKind::Call(Call::Time) => {
                reply_to_caller(&[arch::counter(), arch::counter_hz()]);
            }
            other => return Err(alloc::format!("it made {other}")),
        }
        Ok(())
    }
}

impl Machine<'_, '_> {
    /// Maps the master's image page behind `addr` of the files' range into the component,
    /// read-only: a copy of the frame's capability for this group (gone with it).
    fn share_file_page(&mut self, component: &Component, addr: u64) -> Result<(), AllocError> {
        let page = PAGE_SIZE as usize;
        let at = ((addr - FILES_VA) as usize) / page * page;
        let frame = crate::image::frame_of(component.files.start + at)
            .ok_or(AllocError::Kernel(sel4::Error::InvalidArgument))?;
        let objects = &mut *self.ctx.objects;
        let copy =
            sel4::init_thread::Slot::<sel4::cap_type::Granule>::from_index(objects.slot()?).cap();
        count::note(Kind::Other);
        CNODE.cap().absolute_cptr(copy).copy(
            &CNODE.cap().absolute_cptr(frame.cap()),
            sel4::CapRights::read_only(),
        )?;
        crate::memory::map_frame(
            objects,
            component.replica.vspace,
            copy,
            FILES_VA + at as u64,
            sel4::CapRights::read_only(),
        )
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
