//! Windows: pages of the master's address space where it maps a replica frame to read or write
//! it (loading an image, repairing a replica from another).

use crate::objects::{AllocError, Objects};
use crate::vspace;

const PAGE: usize = sel4::FrameObjectType::GRANULE.bytes();

/// Where the windows are: far above the master's image, boot info and IPC buffer.
const WINDOWS_BASE: usize = 0x1_0000_0000;

pub(crate) struct Window {
    addr: usize,
}

impl Window {
    /// Two windows, with the translation tables they need (persistent objects).
    pub(crate) fn create_pair(objects: &mut Objects) -> Result<[Window; 2], AllocError> {
        let range = WINDOWS_BASE as u64..(WINDOWS_BASE + 2 * PAGE) as u64;
        vspace::map_tables(sel4::init_thread::slot::VSPACE.cap(), range, |blueprint| {
            objects.persistent(blueprint)
        })?;
        Ok([
            Window { addr: WINDOWS_BASE },
            Window {
                addr: WINDOWS_BASE + PAGE,
            },
        ])
    }

    /// Maps `frame` here, lets `f` work on its bytes, and unmaps it again.
    pub(crate) fn with<R>(
        &self,
        frame: sel4::cap::Granule,
        f: impl FnOnce(&mut [u8]) -> R,
    ) -> sel4::Result<R> {
        frame.frame_map(
            sel4::init_thread::slot::VSPACE.cap(),
            self.addr,
            sel4::CapRights::read_write(),
            sel4::VmAttributes::default(),
        )?;
        // SAFETY: the frame is mapped read-write at `addr` for the duration of `f`, and no other
        // reference to this window exists (windows are used one call at a time).
        let bytes = unsafe { core::slice::from_raw_parts_mut(self.addr as *mut u8, PAGE) };
        let result = f(bytes);
        frame.frame_unmap()?;
        Ok(result)
    }
}
