//! One replica: its own VSpace with private copies of every page of the program (text too, so a
//! fault in one replica's code stays in that replica), its CNode slice with the same layout in
//! every replica (see `romain_abi::slot`), an IPC buffer, and a TCB pinned to its own core whose
//! fault endpoint is the master's endpoint, badged with the replica's name.

use core::cell::{Cell, RefCell};

use romain_abi::{ReplicaBadge, slot};
use romain_core::regs::RegisterFile;
use romain_image::{Layout, PAGE_SIZE};
use romain_memory::{Space, Tracking};
use sel4::init_thread::slot::{ASID_POOL, CNODE, TCB};

use crate::arch;
use crate::count::{self, Kind};
use crate::memory::{Frame, Pool, ReplicaMmu};
use crate::objects::{AllocError, Objects};
use crate::vspace;

/// Priority of replica threads: below the master (255), so the master runs whenever it has work.
const REPLICA_PRIORITY: u64 = 100;

pub(crate) struct Replica {
    pub index: usize,
    /// Its threads (a multithreaded program's, in the core's numbering; one otherwise), and
    /// the one that runs: the one every other method addresses.
    threads: RefCell<alloc::vec::Vec<sel4::cap::Tcb>>,
    running: Cell<usize>,
    /// How a thread of it is configured: its core and its IPC buffer (shared by its threads:
    /// a Linux program's threads reach the master through faults, which use none).
    core: usize,
    ipc_buffer: (u64, sel4::cap::Granule),
    pub vspace: sel4::cap::VSpace,
    /// Its slice of the capability space (`romain_abi::slot`).
    pub cnode: sel4::cap::CNode,
    /// Its pages (see `romain_memory`).
    pub space: RefCell<Space<Frame>>,
    /// Checkpoint copies no longer needed, for reuse.
    pub pool: RefCell<Pool>,
    /// Slot of the root CNode where the master keeps the replica's reply capability while the
    /// replica waits at an event.
    pub reply_slot: usize,
    /// An empty slot that [`Replica::save_reply`] copies the reply capability into, to see that
    /// there is one (the copy always fails, differently with and without one).
    probe_slot: usize,
}

/// How the image of a group is loaded into each of its replicas.
pub(crate) struct Program<'a> {
    pub bytes: &'a [u8],
    pub layout: &'a Layout,
    /// Where the heap starts, after the IPC buffer and a guard gap.
    pub heap_base: u64,
    pub quota_pages: usize,
    pub tracking: Tracking,
    /// A Linux program's system-call sites, rewritten into traps as its pages are loaded.
    pub sites: Option<&'a romain_linux::rewrite::Sites>,
    /// FP/SIMD capture: the routines' code, loaded at `romain_core::fp::STUB_VA` with the area
    /// page after it.
    pub fp_stubs: Option<&'a [u8]>,
    /// A Linux program's vDSO (`romain_linux::vdso`), loaded at `vdso::BASE`.
    pub vdso: Option<&'a [u8]>,
}

/// Why a replica could not be built.
pub(crate) enum BuildError {
    Alloc(AllocError),
    /// The image alone takes more pages than the quota.
    Quota {
        pages: usize,
    },
}

impl From<AllocError> for BuildError {
    fn from(err: AllocError) -> Self {
        BuildError::Alloc(err)
    }
}

impl From<sel4::Error> for BuildError {
    fn from(err: sel4::Error) -> Self {
        BuildError::Alloc(err.into())
    }
}

impl Replica {
    /// Builds replica `index` of a group. It does not run until [`Replica::start`]. Pages with
    /// data from the image are loaded now; .bss and heap pages come on first touch.
    pub(crate) fn build(
        objects: &mut Objects,
        program: &Program<'_>,
        endpoint: sel4::cap::Endpoint,
        badge: ReplicaBadge,
        core: usize,
    ) -> Result<Replica, BuildError> {
        let vspace = objects.vspace()?;
        ASID_POOL.cap().asid_pool_assign(vspace)?;

        let layout = program.layout;
        let ipc_buffer_addr = layout.span.end;
        vspace::map_tables(
            vspace,
            layout.span.start..ipc_buffer_addr + PAGE_SIZE,
            |blueprint| objects.alloc_blueprint(blueprint),
        )?;

        let mut space = Space::new(
            layout,
            program.heap_base,
            program.quota_pages,
            program.tracking,
        )
        .map_err(|_| BuildError::Quota {
            pages: program.quota_pages,
        })?;
        let mut pool = Pool::new();
        let mut mmu = ReplicaMmu {
            objects,
            vspace,
            pool: &mut pool,
        };
        let loaded: alloc::vec::Vec<_> =
            layout.pages().filter(|(v, _)| !space.is_lazy(*v)).collect();
        for (vaddr, rights) in loaded {
            let frame = mmu.objects.frame()?;
            // SAFETY: a fresh frame, not mapped anywhere yet: this is the one reference.
            let bytes = unsafe { frame.bytes() };
            if layout.page_has_data(vaddr) {
                layout.fill_page(program.bytes, vaddr, bytes);
            }
            if let Some(sites) = program.sites {
                sites.patch(arch::ARCH, vaddr, bytes);
            }
            space.add_loaded(&mut mmu, vaddr, frame, rights.write)?;
        }
        let ipc_buffer = mmu.objects.frame()?;
        space.add_loaded(&mut mmu, ipc_buffer_addr, ipc_buffer, true)?;
        if let Some(code) = program.fp_stubs {
            // Pages of the replica like any other: compared, repaired and checkpointed.
            let stubs = mmu.objects.frame()?;
            // SAFETY: a fresh frame: the one reference.
            (unsafe { stubs.bytes() })[..code.len()].copy_from_slice(code);
            space.add_loaded(&mut mmu, romain_core::fp::STUB_VA, stubs, false)?;
            let area = mmu.objects.frame()?;
            let initial = romain_core::fp::initial_area(arch::ARCH);
            // SAFETY: a fresh frame: the one reference.
            (unsafe { area.bytes() })[..initial.len()].copy_from_slice(&initial);
            space.add_loaded(&mut mmu, romain_core::fp::AREA_VA, area, true)?;
        }
        if let Some(image) = program.vdso {
            // Code of the program's like any other: its system calls rewritten into traps.
            let page = mmu.objects.frame()?;
            // SAFETY: a fresh frame: the one reference.
            let bytes = unsafe { page.bytes() };
            bytes[..image.len()].copy_from_slice(image);
            if let Some(sites) = program.sites {
                sites.patch(arch::ARCH, romain_linux::vdso::BASE, bytes);
            }
            space.add_loaded(&mut mmu, romain_linux::vdso::BASE, page, false)?;
        }
        let ipc_buffer = ipc_buffer.map;

        // The CNode slice: the badged endpoint in MASTER_EP, nothing else.
        let cnode = objects.alloc_sized::<sel4::cap_type::CNode>(slot::BITS)?;
        cnode
            .absolute_cptr_from_bits_with_depth(slot::MASTER_EP, slot::BITS)
            .mint(
                &CNODE.cap().absolute_cptr(endpoint),
                sel4::CapRights::new(true, false, false, true), // write + grant-reply: Call and faults
                badge.to_word(),
            )?;

        let tcb = thread(objects, cnode, vspace, core, (ipc_buffer_addr, ipc_buffer))?;
        let mut ctx = sel4::UserContext::default();
        *ctx.pc_mut() = program.layout.entry;
        tcb.tcb_write_all_registers(false, &mut ctx)?;

        Ok(Replica {
            index: badge.replica as usize,
            threads: RefCell::new(alloc::vec![tcb]),
            running: Cell::new(0),
            core,
            ipc_buffer: (ipc_buffer_addr, ipc_buffer),
            vspace,
            cnode,
            space: RefCell::new(space),
            pool: RefCell::new(pool),
            reply_slot: objects.slot()?,
            probe_slot: objects.slot()?,
        })
    }

    /// The running thread.
    fn tcb(&self) -> sel4::cap::Tcb {
        self.threads.borrow()[self.running.get()]
    }

    /// Which thread runs, when it has had more than one (for log lines).
    pub(crate) fn running_thread(&self) -> Option<usize> {
        (self.threads.borrow().len() > 1).then(|| self.running.get())
    }

    /// Every thread it has had.
    pub(crate) fn tcbs(&self) -> alloc::vec::Vec<sel4::cap::Tcb> {
        self.threads.borrow().clone()
    }

    /// Makes its thread `t` (the next in number), stopped, in its address space and on its core.
    pub(crate) fn add_thread(&self, objects: &mut Objects, t: usize) -> Result<(), AllocError> {
        if t != self.threads.borrow().len() {
            return Err(AllocError::Kernel(sel4::Error::InvalidArgument));
        }
        let tcb = thread(objects, self.cnode, self.vspace, self.core, self.ipc_buffer)?;
        self.threads.borrow_mut().push(tcb);
        Ok(())
    }

    /// Makes thread `t` the running one (the one the other methods address).
    pub(crate) fn select_thread(&self, t: usize) -> Result<(), AllocError> {
        if t >= self.threads.borrow().len() {
            return Err(AllocError::Kernel(sel4::Error::InvalidArgument));
        }
        self.running.set(t);
        Ok(())
    }

    /// Suspends every thread of it (the group ends).
    pub(crate) fn stop_all(&self) {
        for tcb in self.threads.borrow().iter() {
            count::note(Kind::Other);
            let _ = tcb.tcb_suspend();
        }
    }

    /// Works on the replica's memory with the master's objects.
    pub(crate) fn with_memory<R>(
        &self,
        objects: &mut Objects,
        f: impl FnOnce(&mut Space<Frame>, &mut ReplicaMmu<'_>) -> R,
    ) -> R {
        let mut pool = self.pool.borrow_mut();
        let mut mmu = ReplicaMmu {
            objects,
            vspace: self.vspace,
            pool: &mut pool,
        };
        f(&mut self.space.borrow_mut(), &mut mmu)
    }

    pub(crate) fn start(&self) -> sel4::Result<()> {
        count::note(Kind::Other);
        self.tcb().tcb_resume()
    }

    /// The replica's registers. It must be blocked (at an event).
    pub(crate) fn registers(&self) -> sel4::Result<RegisterFile> {
        count::note(Kind::ReadRegs);
        Ok(arch::register_file(
            &self.tcb().tcb_read_all_registers(false)?,
        ))
    }

    /// Overwrites the replica's registers. It must be blocked (at an event).
    pub(crate) fn set_registers(&self, regs: &RegisterFile) -> sel4::Result<()> {
        count::note(Kind::WriteRegs);
        self.tcb()
            .tcb_write_all_registers(false, &mut arch::user_context(regs))
    }

    /// Keeps the replica's reply capability (it just sent the master a message).
    /// Saves the capability that answers the replica's waiting `Call` or fault. `Ok(false)`: the
    /// message came with none (a `Send` or `NBSend`: the replica runs on), so it is no event.
    pub(crate) fn save_reply(&self) -> sel4::Result<bool> {
        let reply = reply_slot_cptr(self.reply_slot);
        count::note(Kind::Other);
        reply.save_caller()?;
        count::note(Kind::Other);
        // SaveCaller succeeds with nothing to save. Copying from the slot tells: an empty slot is
        // a failed lookup, a reply capability cannot be copied (illegal operation).
        match reply_slot_cptr(self.probe_slot).copy(&reply, sel4::CapRights::all()) {
            Err(sel4::Error::FailedLookup) => Ok(false),
            Err(_) => Ok(true),
            Ok(()) => {
                count::note(Kind::Other);
                reply_slot_cptr(self.probe_slot).delete()?;
                Ok(true)
            }
        }
    }

    /// Keeps the reply capability of the message the master just received, without checking
    /// that there is one (the personality component's: it only ever calls).
    pub(crate) fn keep_reply(&self) -> sel4::Result<()> {
        count::note(Kind::Other);
        reply_slot_cptr(self.reply_slot).save_caller()
    }

    /// Answers the replica's waiting call or fault with `info` (message registers already in the
    /// master's IPC buffer) and lets it run on.
    pub(crate) fn reply(&self, info: sel4::MessageInfo) {
        count::note(Kind::Reply);
        sel4::cap::Endpoint::from_bits(self.reply_slot as u64).send(info);
    }

    pub(crate) fn stop(&self) -> sel4::Result<()> {
        count::note(Kind::Other);
        self.tcb().tcb_suspend()
    }

    /// Drops the saved reply capability, if any (the replica will not be answered at this
    /// point: it is restarted instead).
    pub(crate) fn forget_reply(&self) {
        count::note(Kind::Other);
        let _ = reply_slot_cptr(self.reply_slot).delete();
    }

    /// Makes the replica run from `regs` (cancelling the call it waits in, if any).
    pub(crate) fn restart_at(&self, regs: &RegisterFile) -> sel4::Result<()> {
        count::note(Kind::WriteRegs);
        self.tcb()
            .tcb_write_all_registers(true, &mut arch::user_context(regs))
    }
}

/// A thread of a replica (or component): its fault endpoint the master's, badged as the
/// replica's, in `cnode`'s slot; at the replicas' priority on `core`.
fn thread(
    objects: &mut Objects,
    cnode: sel4::cap::CNode,
    vspace: sel4::cap::VSpace,
    core: usize,
    (ipc_buffer_addr, ipc_buffer): (u64, sel4::cap::Granule),
) -> Result<sel4::cap::Tcb, AllocError> {
    let tcb = objects.tcb()?;
    tcb.tcb_configure(
        sel4::CPtr::from_bits(slot::MASTER_EP),
        cnode,
        sel4::CNodeCapData::new(0, sel4::WORD_SIZE - slot::BITS),
        vspace,
        ipc_buffer_addr,
        ipc_buffer,
    )?;
    tcb.tcb_set_sched_params(TCB.cap(), 0, REPLICA_PRIORITY)?;
    tcb.tcb_set_affinity(core as u64)?;
    Ok(tcb)
}

fn reply_slot_cptr(slot: usize) -> sel4::AbsoluteCPtr {
    CNODE.cap().absolute_cptr(
        sel4::init_thread::Slot::<sel4::cap_type::Unspecified>::from_index(slot).cap(),
    )
}
