//! Containment: whatever a program makes the master do, a failure while its group runs ends
//! that group only.
//!
//! The master is built to unwind (`*-sel4-roottask-unwind`; an exhausted heap panics too). A group is built and
//! driven inside [`guarded`]: a panic there (a bug of the personality on some call, an overflow
//! check on a program's value, the group's heap ceiling reached by an infallible allocation,
//! see [`crate::heap`]) unwinds to it, the group's state is dropped on the way, and the group
//! ends with `personality-error` naming the call being performed, or `master-error` for a
//! panic elsewhere. The master tears the group down as after any other stop and runs the rest
//! of the plan. A panic that cannot be contained (outside a group, or while unwinding) aborts:
//! the abort hook prints [`FELL`] so that the QEMU runner stops at once with a failing status.

use alloc::format;
use core::fmt::{self, Write};
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::Relaxed};

use romain_core::event::Event;
use romain_core::summary::{Status, Summary};
use romain_protocol::{Action, CallScope, Personality, Stop, World};
use sel4_root_task::panicking;

/// The line the master prints when it falls (see `scripts/qemu-run.py`).
pub const FELL: &str = romain_records::MASTER_FELL;

/// Runs `f` (a group's build and drive); a panic in it becomes the group's stop.
pub(crate) fn guarded(f: impl FnOnce() -> Result<(), Stop>) -> Result<(), Stop> {
    CALL.clear();
    IN_GROUP.store(true, Relaxed);
    let result = panicking::catch_unwind(core::panic::AssertUnwindSafe(f));
    IN_GROUP.store(false, Relaxed);
    result.unwrap_or_else(|()| {
        Err(if CALL.is_empty() {
            Stop(
                Status::MasterError,
                format!("panic while driving the group: {PANIC}"),
            )
        } else {
            Stop(
                Status::PersonalityError,
                format!("the personality failed performing {CALL}: {PANIC}"),
            )
        })
    })
}

/// The personality `P`, with the call it performs noted for [`guarded`]'s report. A panic leaves
/// the note in place. (A Linux group's personality is a proxy: the personality itself runs in
/// the group's component, where the test switches that make it fail on a chosen call are.)
pub(super) struct Contained<P>(pub P);

impl<P: Personality> Personality for Contained<P> {
    fn fingerprint<W: World>(&mut self, k: usize, event: &Event, shell: &mut W) -> Option<u64> {
        CALL.set(format_args!(
            "{}",
            self.0.call_name(event).unwrap_or("a call")
        ));
        let hash = self.0.fingerprint(k, event, shell);
        CALL.clear();
        hash
    }

    fn perform<W: World>(&mut self, event: &Event, calls: CallScope<'_, '_, W>) -> Action {
        let name = self.0.call_name(event);
        CALL.set(format_args!("{}", name.unwrap_or("a call")));
        let action = self.0.perform(event, calls);
        CALL.clear();
        action
    }

    fn call_name(&self, event: &Event) -> Option<&'static str> {
        self.0.call_name(event)
    }

    fn unrepaired(&self) -> Option<&'static str> {
        self.0.unrepaired()
    }

    fn finish(&self, summary: &Summary<'_>) -> Result<(), Stop> {
        self.0.finish(summary)
    }
}

/// The call being performed, and the last panic's message and place.
static CALL: Text<48> = Text::new();
static PANIC: Text<200> = Text::new();
static IN_GROUP: AtomicBool = AtomicBool::new(false);

/// Notes every panic for [`guarded`]; one outside a group is the master's own failure.
pub(crate) fn install_hooks() {
    panicking::set_hook(&|info: &PanicInfo| {
        PANIC.set(format_args!("{}", info.message()));
        if let Some(at) = info.location() {
            PANIC.append(format_args!(" (at {}:{})", at.file(), at.line()));
        }
        crate::console::put_bytes(b"\n");
        log::error!("panic: {PANIC}");
        if !IN_GROUP.load(Relaxed) {
            log::error!("the panic is outside any group: the master falls");
        }
    });
}

/// A panic that cannot be contained ends in an abort: say so where the host tools look.
fn on_abort(info: Option<&sel4_panicking_env::AbortInfo>) {
    if let Some(info) = info {
        sel4_panicking_env::debug_println!("{info}");
    }
    sel4_panicking_env::debug_println!("\n{FELL}");
}

sel4_panicking_env::register_abort_hook!(on_abort);

/// A short text in a static, written without a lock or `unsafe` (the master is one thread;
/// the hook may run anywhere, even with the heap exhausted). Displayed with every byte that
/// is not printable ASCII as `?`: a program-chosen string can end no line.
struct Text<const N: usize> {
    bytes: [AtomicU8; N],
    len: AtomicUsize,
}

impl<const N: usize> Text<N> {
    const fn new() -> Self {
        Text {
            bytes: [const { AtomicU8::new(0) }; N],
            len: AtomicUsize::new(0),
        }
    }

    fn clear(&self) {
        self.len.store(0, Relaxed);
    }

    fn is_empty(&self) -> bool {
        self.len.load(Relaxed) == 0
    }

    fn set(&self, args: fmt::Arguments<'_>) {
        self.clear();
        self.append(args);
    }

    fn append(&self, args: fmt::Arguments<'_>) {
        let _ = (&mut &*self).write_fmt(args);
    }
}

impl<const N: usize> Write for &Text<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            let at = self.len.load(Relaxed);
            if at == N {
                break;
            }
            self.bytes[at].store(b, Relaxed);
            self.len.store(at + 1, Relaxed);
        }
        Ok(())
    }
}

impl<const N: usize> fmt::Display for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.bytes[..self.len.load(Relaxed).min(N)] {
            let b = b.load(Relaxed);
            f.write_char(romain_records::shown(b).unwrap_or('?'))?;
        }
        Ok(())
    }
}
