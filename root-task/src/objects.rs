//! Kernel objects and capability slots of the master.
//!
//! Two pools: a small *persistent* one for what lives as long as the master (the endpoint), and
//! the *arena*, the largest untyped region, for everything of one replica group. When a group
//! ends, revoking the arena destroys all of its objects at once and the next group starts from an
//! empty arena: no leaks between runs, and the arena's size is the group's memory quota.

use core::ops::Range;

use sel4::init_thread::slot::{CNODE, VSPACE};

use crate::count::{self, Kind};
use crate::vspace;

/// Where the master maps the group's frames into its own address space (see [`Objects::frame`]):
/// far above its image, boot info and IPC buffer.
const SHADOW_BASE: usize = 0x1_0000_0000;
const PAGE: usize = sel4::FrameObjectType::GRANULE.bytes();

/// Where the master maps a device frame of its own (the console's).
#[cfg(target_arch = "aarch64")]
const DEVICE_VADDR: usize = 0x8000_0000;

/// A frame of the group, mapped in the master at `addr` for the group's lifetime.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    /// The capability that maps the frame elsewhere (in a replica).
    pub map: sel4::cap::Granule,
    addr: usize,
}

impl Frame {
    /// Where the master sees the frame.
    pub(crate) fn addr(&self) -> usize {
        self.addr
    }

    /// The frame's bytes, as the master sees them.
    ///
    /// # Safety
    /// `Frame` is a copyable handle: the caller must make sure that no other reference to this
    /// frame's bytes (made through any copy of the handle) is used while the returned one is,
    /// and must not use it after the frame is returned to its pool or its group ends.
    pub(crate) unsafe fn bytes(&self) -> &'static mut [u8] {
        // SAFETY: the frame is mapped read-write at `addr` until the group ends (the caller's
        // contract covers the lifetime and the aliasing).
        unsafe { core::slice::from_raw_parts_mut(self.addr as *mut u8, PAGE) }
    }
}

/// Why an object could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AllocError {
    /// The pool's untyped memory is used up: the group's memory quota.
    OutOfMemory,
    /// The root CNode has no free slot left.
    OutOfSlots,
    /// Any other kernel refusal (a master bug).
    Kernel(sel4::Error),
}

impl From<sel4::Error> for AllocError {
    fn from(err: sel4::Error) -> Self {
        match err {
            sel4::Error::NotEnoughMemory => AllocError::OutOfMemory,
            other => AllocError::Kernel(other),
        }
    }
}

pub(crate) struct Objects {
    /// Free slots of the root CNode; `next` moves up from `free.start`.
    free: Range<usize>,
    next: usize,
    /// First slot of the current group: everything from here is the group's.
    group_start: usize,
    persistent: sel4::cap::Untyped,
    arena: sel4::cap::Untyped,
    arena_bytes: usize,
    /// The next free address of the master's view of the group's frames.
    shadow_next: usize,
    /// Slots deleted first when the group ends: threads, address-space roots (a thread holds a
    /// copy of its root's capability: both must go before the address space does) and the tables
    /// of the master's view. With them gone, unmapping the group's frames finds no mapping and
    /// costs no TLB flush; otherwise each of the group's thousand or so frames costs one on every
    /// core, which took seconds per group under QEMU's TCG on aarch64.
    first_to_go: alloc::vec::Vec<usize>,
}

impl Objects {
    pub(crate) fn new(bootinfo: &sel4::BootInfo) -> Self {
        let mut kernel_untyped: heapless::Vec<(usize, usize), 256> = bootinfo
            .untyped_list()
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.is_device())
            .map(|(i, d)| (d.size_bits(), i))
            .take(256)
            .collect();
        kernel_untyped.sort_unstable();
        let (arena_bits, arena_index) = kernel_untyped.pop().expect("no untyped memory");
        let (_, persistent_index) = kernel_untyped.pop().expect("only one untyped region");
        let free = bootinfo.empty().range();
        Self {
            next: free.start,
            group_start: free.start,
            free,
            persistent: bootinfo.untyped().index(persistent_index).cap(),
            arena: bootinfo.untyped().index(arena_index).cap(),
            arena_bytes: 1 << arena_bits,
            shadow_next: SHADOW_BASE,
            first_to_go: alloc::vec::Vec::new(),
        }
    }

    /// The pools' sizes, for the log.
    pub(crate) fn describe(&self) -> alloc::string::String {
        alloc::format!(
            "arena: {} MiB; {} free slots",
            self.arena_bytes >> 20,
            self.free.end - self.next
        )
    }

    /// Bytes a group may use at most.
    pub(crate) fn arena_bytes(&self) -> usize {
        self.arena_bytes
    }

    /// An empty slot of the root CNode.
    pub(crate) fn slot(&mut self) -> Result<usize, AllocError> {
        if self.next >= self.free.end {
            return Err(AllocError::OutOfSlots);
        }
        self.next += 1;
        Ok(self.next - 1)
    }

    fn retype(
        &mut self,
        untyped: sel4::cap::Untyped,
        blueprint: sel4::ObjectBlueprint,
    ) -> Result<sel4::cap::Unspecified, AllocError> {
        let slot = self.slot()?;
        count::note(Kind::Retype);
        untyped
            .untyped_retype(&blueprint, &CNODE.cap().absolute_cptr_for_self(), slot, 1)
            .inspect_err(|_| self.next -= 1)?;
        Ok(sel4::init_thread::Slot::from_index(slot).cap())
    }

    /// An object that lives as long as the master. Call only before the first group.
    pub(crate) fn persistent(
        &mut self,
        blueprint: sel4::ObjectBlueprint,
    ) -> Result<sel4::cap::Unspecified, AllocError> {
        assert_eq!(self.next, self.group_start, "persistent objects come first");
        let cap = self.retype(self.persistent, blueprint)?;
        self.group_start = self.next;
        Ok(cap)
    }

    /// A slot that lives as long as the master. Call only before the first group.
    pub(crate) fn persistent_slot(&mut self) -> Result<usize, AllocError> {
        assert_eq!(self.next, self.group_start, "persistent slots come first");
        let slot = self.slot()?;
        self.group_start = self.next;
        Ok(slot)
    }

    /// The device frame at physical address `paddr`, mapped uncached in the master for as long as
    /// it lives; returns its address. Call only before the first group.
    #[cfg(target_arch = "aarch64")]
    pub(crate) fn persistent_device_frame(
        &mut self,
        bootinfo: &sel4::BootInfo,
        paddr: usize,
    ) -> Result<usize, AllocError> {
        let (index, desc) = bootinfo
            .untyped_list()
            .iter()
            .enumerate()
            .find(|(_, d)| {
                d.is_device() && (d.paddr()..d.paddr() + (1 << d.size_bits())).contains(&paddr)
            })
            .ok_or(AllocError::Kernel(sel4::Error::FailedLookup))?;
        let untyped = bootinfo.untyped().index(index).cap();
        // Retyping takes memory from the untyped's start: use up what lies before the frame in
        // ever smaller untyped children, each deleted again (its memory stays used).
        let scratch = self.persistent_slot()?;
        let mut at = desc.paddr();
        while at != paddr {
            let size_bits = (paddr - at).ilog2() as usize;
            untyped.untyped_retype(
                &sel4::ObjectBlueprint::Untyped { size_bits },
                &CNODE.cap().absolute_cptr_for_self(),
                scratch,
                1,
            )?;
            CNODE
                .cap()
                .absolute_cptr(
                    sel4::init_thread::Slot::<sel4::cap_type::Untyped>::from_index(scratch).cptr(),
                )
                .delete()?;
            at += 1 << size_bits;
        }
        let slot = self.persistent_slot()?;
        untyped.untyped_retype(
            &<sel4::cap_type::Granule as sel4::CapTypeForObjectOfFixedSize>::object_blueprint(),
            &CNODE.cap().absolute_cptr_for_self(),
            slot,
            1,
        )?;
        let frame = sel4::init_thread::Slot::<sel4::cap_type::Granule>::from_index(slot).cap();
        let range = DEVICE_VADDR as u64..DEVICE_VADDR as u64 + 1;
        vspace::map_tables(VSPACE.cap(), range, |blueprint| self.persistent(blueprint))?;
        frame.frame_map(
            VSPACE.cap(),
            DEVICE_VADDR,
            sel4::CapRights::read_write(),
            sel4::VmAttributes::EXECUTE_NEVER,
        )?;
        Ok(DEVICE_VADDR)
    }

    /// A capability to the I/O ports `first..=last`, for as long as the master lives; returns its
    /// slot. Call only before the first group.
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn persistent_io_ports(&mut self, first: u16, last: u16) -> Result<u64, AllocError> {
        let slot = self.persistent_slot()?;
        sel4::init_thread::slot::IO_PORT_CONTROL
            .cap()
            .ioport_control_issue(
                first.into(),
                last.into(),
                &CNODE.cap().absolute_cptr(
                    sel4::init_thread::Slot::<sel4::cap_type::Unspecified>::from_index(slot).cap(),
                ),
            )?;
        Ok(slot as u64)
    }

    /// A second capability of the current group to what `cap` names (a frame is mapped once per
    /// capability).
    pub(crate) fn copy_cap<T: sel4::CapType>(
        &mut self,
        cap: sel4::Cap<T>,
    ) -> Result<sel4::Cap<T>, AllocError> {
        let slot = self.slot()?;
        let copy = sel4::init_thread::Slot::<T>::from_index(slot).cap();
        count::note(Kind::Other);
        CNODE
            .cap()
            .absolute_cptr(copy)
            .copy(&CNODE.cap().absolute_cptr(cap), sel4::CapRights::all())
            .inspect_err(|_| self.next -= 1)?;
        Ok(copy)
    }

    /// An object of the current group.
    pub(crate) fn alloc<T: sel4::CapTypeForObjectOfFixedSize>(
        &mut self,
    ) -> Result<sel4::Cap<T>, AllocError> {
        Ok(self.retype(self.arena, T::object_blueprint())?.cast())
    }

    /// A thread of the current group.
    pub(crate) fn tcb(&mut self) -> Result<sel4::cap::Tcb, AllocError> {
        let tcb = self.alloc::<sel4::cap_type::Tcb>()?;
        self.first_to_go.push(tcb.bits() as usize);
        Ok(tcb)
    }

    /// An address space of the current group.
    pub(crate) fn vspace(&mut self) -> Result<sel4::cap::VSpace, AllocError> {
        let vspace = self.alloc::<sel4::cap_type::VSpace>()?;
        self.first_to_go.push(vspace.bits() as usize);
        Ok(vspace)
    }

    /// A variable-size object (a CNode) of the current group.
    pub(crate) fn alloc_sized<T: sel4::CapTypeForObjectOfVariableSize>(
        &mut self,
        size_bits: usize,
    ) -> Result<sel4::Cap<T>, AllocError> {
        Ok(self
            .retype(self.arena, T::object_blueprint(size_bits))?
            .cast())
    }

    /// An object of the current group by blueprint (translation tables of any level).
    pub(crate) fn alloc_blueprint(
        &mut self,
        blueprint: sel4::ObjectBlueprint,
    ) -> Result<sel4::cap::Unspecified, AllocError> {
        self.retype(self.arena, blueprint)
    }

    /// A new zeroed frame of the group, mapped in the master too (through a second capability:
    /// a capability maps a frame once), so that the master reads and writes it as memory. No
    /// window is mapped and unmapped per access: every unmap is a TLB flush on every core.
    pub(crate) fn frame(&mut self) -> Result<Frame, AllocError> {
        let map = self.alloc::<sel4::cap_type::Granule>()?;
        let view =
            sel4::init_thread::Slot::<sel4::cap_type::Granule>::from_index(self.slot()?).cap();
        count::note(Kind::Other);
        CNODE.cap().absolute_cptr(view).copy(
            &CNODE.cap().absolute_cptr(map),
            sel4::CapRights::read_write(),
        )?;
        let addr = self.shadow_next;
        let map_view = || {
            count::note(Kind::Map);
            view.frame_map(
                VSPACE.cap(),
                addr,
                sel4::CapRights::read_write(),
                sel4::VmAttributes::default(),
            )
        };
        match map_view() {
            Err(sel4::Error::FailedLookup) => {
                let range = addr as u64..addr as u64 + 1;
                vspace::map_tables(VSPACE.cap(), range, |blueprint| {
                    let table = self.alloc_blueprint(blueprint)?;
                    self.first_to_go.push(table.bits() as usize);
                    Ok::<_, AllocError>(table)
                })?;
                map_view()?;
            }
            other => other?,
        }
        self.shadow_next += PAGE;
        Ok(Frame { map, addr })
    }

    /// Destroys every object and capability of the current group.
    pub(crate) fn end_group(&mut self) -> Result<(), sel4::Error> {
        // Taken, not drained: its buffer goes too, so the master's heap is the same after every
        // group whatever its size.
        for slot in core::mem::take(&mut self.first_to_go) {
            CNODE
                .cap()
                .absolute_cptr(
                    sel4::init_thread::Slot::<sel4::cap_type::Unspecified>::from_index(slot).cptr(),
                )
                .delete()?;
        }
        CNODE.cap().absolute_cptr(self.arena).revoke()?;
        // Slots not derived from the arena (badged endpoint copies, saved reply capabilities).
        for slot in self.group_start..self.next {
            CNODE
                .cap()
                .absolute_cptr(
                    sel4::init_thread::Slot::<sel4::cap_type::Unspecified>::from_index(slot).cptr(),
                )
                .delete()?;
        }
        self.next = self.group_start;
        // The frames and the tables of the master's view went with the arena.
        self.shadow_next = SHADOW_BASE;
        Ok(())
    }
}
