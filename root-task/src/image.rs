//! The master's own image as frames: the embedded files a Linux group's personality component
//! reads are the master's read-only pages, mapped into the component on first touch rather than
//! copied (see `group::personality`).

use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use sel4::init_thread::Slot;

const PAGE: usize = sel4::FrameObjectType::GRANULE.bytes();

/// The slot of the image's first frame, and how many there are.
static FIRST: AtomicUsize = AtomicUsize::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// Notes where the boot info put the image's frames (in address order from the image's start).
pub(crate) fn init(bootinfo: &sel4::BootInfo) {
    let frames = bootinfo.user_image_frames();
    FIRST.store(frames.range().start, Relaxed);
    COUNT.store(frames.range().len(), Relaxed);
}

/// The frame of the master's image that holds `addr`, if the image does.
pub(crate) fn frame_of(addr: usize) -> Option<Slot<sel4::cap_type::Granule>> {
    unsafe extern "C" {
        static __executable_start: usize;
    }
    // Only the symbol's address is taken: the linker defines it at the image's start.
    let start = core::ptr::addr_of!(__executable_start) as usize;
    let index = (addr / PAGE).checked_sub(start / PAGE)?;
    (index < COUNT.load(Relaxed)).then(|| Slot::from_index(FIRST.load(Relaxed) + index))
}
