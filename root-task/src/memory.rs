//! The seL4 side of a replica's memory ([`romain_memory`]): frames from the group's arena,
//! mapped into the replica's VSpace, and read and written by the master through its own mapping
//! of every group frame ([`Objects::frame`]).

use alloc::vec::Vec;

use romain_memory::Mmu;

use crate::count::{self, Kind};
pub(crate) use crate::objects::Frame;
use crate::objects::{AllocError, Objects};
use crate::vspace;

/// Frames that were checkpoint copies, for reuse (the arena only grows within a group).
pub(crate) type Pool = Vec<Frame>;

/// What one replica's memory needs from the master, for the length of one operation.
pub(crate) struct ReplicaMmu<'a> {
    pub objects: &'a mut Objects,
    pub vspace: sel4::cap::VSpace,
    pub pool: &'a mut Pool,
}

/// Maps `frame` at `vaddr` of `vspace` (a replica's or a component's) with `rights`, making the
/// translation tables the address lacks from the group's arena.
pub(crate) fn map_frame(
    objects: &mut Objects,
    vspace: sel4::cap::VSpace,
    frame: sel4::cap::Granule,
    vaddr: u64,
    rights: sel4::CapRights,
) -> Result<(), AllocError> {
    let map = || {
        count::note(Kind::Map);
        frame.frame_map(
            vspace,
            vaddr as usize,
            rights.clone(),
            sel4::VmAttributes::default(),
        )
    };
    match map() {
        Err(sel4::Error::FailedLookup) => {
            // A page in a region without translation tables yet.
            vspace::map_tables(vspace, vaddr..vaddr + 1, |blueprint| {
                objects.alloc_blueprint(blueprint)
            })?;
            Ok(map()?)
        }
        other => Ok(other?),
    }
}

impl Mmu for ReplicaMmu<'_> {
    type Frame = Frame;
    type Error = AllocError;

    fn alloc(&mut self) -> Result<Frame, AllocError> {
        match self.pool.pop() {
            Some(frame) => {
                // SAFETY: a frame back from the pool is nobody's: the one reference.
                unsafe { frame.bytes() }.fill(0);
                Ok(frame)
            }
            None => self.objects.frame(),
        }
    }

    fn map(&mut self, frame: Frame, vaddr: u64, writable: bool) -> Result<(), AllocError> {
        let rights = if writable {
            sel4::CapRights::read_write()
        } else {
            sel4::CapRights::read_only()
        };
        // Mapping a mapped frame again at the same address changes its rights.
        map_frame(self.objects, self.vspace, frame.map, vaddr, rights)
    }

    fn copy(&mut self, from: Frame, to: Frame) -> Result<bool, AllocError> {
        if from.addr() == to.addr() {
            return Ok(false);
        }
        // SAFETY: two distinct frames (checked above), one reference to each, used here only.
        let (from, to) = unsafe { (from.bytes(), to.bytes()) };
        let differs = from != to;
        if differs {
            to.copy_from_slice(from);
        }
        Ok(differs)
    }

    fn zero(&mut self, frame: Frame) -> Result<bool, AllocError> {
        // SAFETY: the one reference to the frame, used here only.
        let bytes = unsafe { frame.bytes() };
        let nonzero = bytes.iter().any(|&b| b != 0);
        bytes.fill(0);
        Ok(nonzero)
    }

    fn release(&mut self, frame: Frame) {
        self.pool.push(frame);
    }
}
