//! The master's heap, with a ceiling while a group runs.
//!
//! Everything a group makes the master allocate (its files, descriptors, mapping bookkeeping,
//! the buffers of its calls, the core's per-event state) comes from one static heap. While a
//! group runs, an allocation that would take the heap past the group's ceiling fails: the
//! personality answers ENOMEM/ENOSPC where it asks fallibly, and an infallible allocation panics
//! (the handler below), which the group's guard turns into the end of that group
//! ([`crate::group`]). The ceiling leaves [`RESERVE`] for the master to end the group and go
//! on. When the group is torn down its state is dropped and the heap is back where it was: the
//! use logged at each group's end is the same after every group.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

// What `#[root_task(heap_size = ...)]` declares, with the accounting around it.
use sel4_root_task::_private::heap::{
    RawLazyNotificationMutex, StaticDlmalloc, StaticHeap, get_global_allocator_mutex_notification,
};

/// The whole heap.
pub const SIZE: usize = 32 << 20;
/// Kept free for the master while a group runs: tearing the group down, its summary line, the
/// next group's start.
pub const RESERVE: usize = 2 << 20;

static STATIC_HEAP: StaticHeap<SIZE> = StaticHeap::new();

#[global_allocator]
static HEAP: Budgeted = Budgeted {
    inner: StaticDlmalloc::new_with_raw_mutex(
        RawLazyNotificationMutex::new(get_global_allocator_mutex_notification),
        STATIC_HEAP.bounds(),
    ),
    live: AtomicUsize::new(0),
    ceiling: AtomicUsize::new(usize::MAX),
};

struct Budgeted {
    inner: StaticDlmalloc<RawLazyNotificationMutex>,
    /// Bytes allocated and not freed.
    live: AtomicUsize,
    /// Most bytes that may be live (usize::MAX: no group runs).
    ceiling: AtomicUsize,
}

impl Budgeted {
    fn admits(&self, more: usize) -> bool {
        self.live
            .load(Relaxed)
            .checked_add(more)
            .is_some_and(|after| after <= self.ceiling.load(Relaxed))
    }
}

// SAFETY: every call is forwarded unchanged to dlmalloc, which upholds GlobalAlloc's contract;
// the accounting only counts and, past the ceiling, returns null as an allocator may.
unsafe impl GlobalAlloc for Budgeted {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !self.admits(layout.size()) {
            return core::ptr::null_mut();
        }
        // SAFETY: the caller's layout, as GlobalAlloc::alloc requires.
        let p = unsafe { self.inner.alloc(layout) };
        if !p.is_null() {
            self.live.fetch_add(layout.size(), Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: ptr was allocated by alloc/realloc above with this layout.
        unsafe { self.inner.dealloc(ptr, layout) };
        self.live.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() && !self.admits(new_size - layout.size()) {
            return core::ptr::null_mut();
        }
        // SAFETY: the caller's pointer, layout and size, as GlobalAlloc::realloc requires.
        let p = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            self.live.fetch_add(new_size, Relaxed);
            self.live.fetch_sub(layout.size(), Relaxed);
        }
        p
    }
}

/// Bytes of the heap in use now.
pub fn live() -> usize {
    HEAP.live.load(Relaxed)
}

/// The ceiling of a running group: lifted when dropped.
pub struct GroupCeiling(());

/// From now until the returned value is dropped, the heap may grow to all but [`RESERVE`].
pub fn ceiling_for_group() -> GroupCeiling {
    HEAP.ceiling.store(SIZE.saturating_sub(RESERVE), Relaxed);
    GroupCeiling(())
}

impl Drop for GroupCeiling {
    fn drop(&mut self) {
        HEAP.ceiling.store(usize::MAX, Relaxed);
    }
}

/// An infallible allocation that failed: a panic like any other, so that the group's guard
/// catches it (the default handler cannot be unwound from).
#[alloc_error_handler]
fn out_of_heap(layout: Layout) -> ! {
    panic!(
        "memory allocation of {} bytes failed ({} bytes in use)",
        layout.size(),
        live()
    )
}
