//! The companion component: outside the group, its calls served at once and never compared.

use romain_abi::{Call, CallError, ReplicaBadge, region};
use romain_core::event::EventKind;
use romain_core::summary::Summary;
use romain_image::PAGE_SIZE;
use romain_protocol::{Group, Input, Stop};

use super::OrStop;
use super::machine::Machine;
use super::machine::reply_to_caller;
use super::wake::Wake;
use crate::arch;
use crate::objects::AllocError;
use crate::replica::Replica;

/// How long the companion may go on after the replicated program ended.
const COMPANION_GRACE_MS: u64 = 5000;

/// A message of the companion: served at once. `CompanionGone` when it ended.
pub(super) fn serve(
    m: &mut Machine<'_, '_>,
    info: &sel4::MessageInfo,
    summary: &mut Summary<'_>,
) -> Result<Option<Input>, Stop> {
    let companion = m.companion.expect("a companion sent it");
    let (kind, words) = match arch::read_message(info) {
        Ok((message, words)) => (message.kind, words),
        Err(err) => {
            log::error!("companion: {err}; stopped");
            return end(m);
        }
    };
    match kind {
        EventKind::VmFault { addr, .. } => {
            if !m.serve_fault(companion, addr, summary)? {
                log::error!("companion: {kind}; stopped");
                return end(m);
            }
        }
        EventKind::Call(Call::Write) => {
            let mut buf = [0; romain_abi::WRITE_CHUNK];
            match romain_core::proxy::decode_write(&words, &mut buf) {
                Ok(bytes) => {
                    m.console.print_companion(bytes);
                    reply_to_caller(&[bytes.len() as u64]);
                }
                Err(err) => reply_to_caller(&[err.as_result_word()]),
            }
        }
        EventKind::Call(Call::Exit) => {
            let code = romain_core::proxy::decode_exit(&words);
            if code != 0 {
                log::warn!("companion exited with {code}");
            }
            return end(m);
        }
        EventKind::Call(Call::Attach) => match &m.region {
            Some(region) if words.first() == Some(&region::DEVICE) => {
                let (base, frames) = (region.base, region.frames.clone());
                companion.with_memory(m.ctx.objects, |space, mmu| {
                    for (i, frame) in frames.iter().enumerate() {
                        space.add_loaded(mmu, base + i as u64 * PAGE_SIZE, *frame, true)?;
                    }
                    Ok::<(), AllocError>(())
                })?;
                reply_to_caller(&[base, region.len()]);
            }
            _ => reply_to_caller(&[CallError::BadArgument.as_result_word(), 0]),
        },
        EventKind::Call(Call::Grow) => answer_grow(companion, &words),
        EventKind::Call(Call::Time) => reply_to_caller(&[arch::counter(), arch::counter_hz()]),
        EventKind::Call(Call::Yield) | EventKind::Call(Call::Null) => reply_to_caller(&[0]),
        EventKind::Call(Call::Args) => reply_to_caller(&[0]),
        EventKind::Call(_) | EventKind::UnknownCall { .. } => {
            reply_to_caller(&[CallError::UnknownCall.as_result_word()])
        }
        // Any other fault of the companion (a capability fault, an exception) would repeat
        // forever if answered: it ends the companion.
        _ => {
            log::error!(
                "companion: {kind} at pc {:#x}; stopped",
                words.first().unwrap_or(&0)
            );
            return end(m);
        }
    }
    Ok(None)
}

/// Answers the `Grow` call of a component outside the comparison (the companion, the
/// personality component): its heap grows within its quota.
pub(super) fn answer_grow(component: &Replica, words: &[u64]) {
    let bytes = words.first().copied().unwrap_or(0);
    let word = component
        .space
        .borrow_mut()
        .grow(bytes)
        .unwrap_or(CallError::OutOfMemory.as_result_word());
    reply_to_caller(&[word]);
}

/// The companion is gone (exited, faulted, or misbehaved): the core tells replicas waiting for
/// its doorbell.
fn end(m: &mut Machine<'_, '_>) -> Result<Option<Input>, Stop> {
    m.companion.expect("a companion").stop().or_stop()?;
    m.companion_done = true;
    Ok(Some(Input::CompanionGone))
}

/// The replicas are done: the companion gets up to `COMPANION_GRACE_MS` to finish its own work
/// (checking what the replicas left, reporting) before the group is torn down.
pub(super) fn let_finish<P: romain_protocol::Personality>(
    m: &mut Machine<'_, '_>,
    mut capture: Option<&mut romain_protocol::capture::Capture>,
    core: &mut Group<P>,
    summary: &mut Summary<'_>,
) -> Result<(), Stop> {
    if m.companion.is_none() {
        return Ok(());
    }
    let until = arch::counter() + arch::ticks_in_ms(COMPANION_GRACE_MS);
    while !m.companion_done {
        if arch::counter() >= until {
            log::warn!(
                "companion still running {COMPANION_GRACE_MS} ms after the program ended: stopped"
            );
            break;
        }
        // The master's notification (no replica waits any more) only wakes it to look again.
        let Wake::Message(info, badge) = m.next_wake(Some(until)) else {
            continue;
        };
        let from_companion = ReplicaBadge::from_word(badge)
            .is_some_and(|b| b.group == m.ctx.group_number && b.replica == ReplicaBadge::COMPANION);
        if from_companion && let Some(input) = serve(m, &info, summary)? {
            let mut shell = romain_protocol::captured::Captured::new(m, capture.as_deref_mut());
            core.step(input, &mut shell, summary)?;
        }
    }
    Ok(())
}
