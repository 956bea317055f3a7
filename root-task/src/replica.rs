//! One replica: its own VSpace with private copies of every page of the program (text too, so a
//! fault in one replica's code stays in that replica), its CNode slice with the same layout in
//! every replica (see `romain_abi::slot`), an IPC buffer, and a TCB pinned to its own core whose
//! fault endpoint is the master's endpoint, badged with the replica's name.

use alloc::vec::Vec;
use romain_abi::{ReplicaBadge, slot};
use romain_core::image::{Layout, PAGE_SIZE};
use romain_core::regs::RegisterFile;
use sel4::init_thread::slot::{ASID_POOL, CNODE, TCB};

use crate::arch;
use crate::objects::{AllocError, Objects};
use crate::vspace;
use crate::window::Window;

/// Priority of replica threads: below the master (255), so the master runs whenever it has work.
const REPLICA_PRIORITY: u64 = 100;

/// A frame of a replica: where it is mapped, and a second capability to it through which the
/// master maps it into a window (a capability maps a frame once; this one is never mapped in
/// the replica).
pub(crate) struct Page {
    pub vaddr: u64,
    pub alias: sel4::cap::Granule,
}

pub(crate) struct Replica {
    pub index: usize,
    pub tcb: sel4::cap::Tcb,
    pub pages: Vec<Page>,
    /// Slot of the root CNode where the master keeps the replica's reply capability while the
    /// replica waits at an event.
    pub reply_slot: usize,
}

/// How the image of a group is loaded into each of its replicas.
pub(crate) struct Program<'a> {
    pub bytes: &'a [u8],
    pub layout: &'a Layout,
}

impl Replica {
    /// Builds replica `index` of a group. It does not run until [`Replica::start`].
    pub(crate) fn build(
        objects: &mut Objects,
        window: &Window,
        program: &Program<'_>,
        endpoint: sel4::cap::Endpoint,
        badge: ReplicaBadge,
        core: usize,
    ) -> Result<Replica, AllocError> {
        let vspace = objects.alloc::<sel4::cap_type::VSpace>()?;
        ASID_POOL.cap().asid_pool_assign(vspace)?;

        let span = program.layout.span.clone();
        let ipc_buffer_addr = span.end;
        vspace::map_tables(
            vspace,
            span.start..ipc_buffer_addr + PAGE_SIZE,
            |blueprint| objects.alloc_blueprint(blueprint),
        )?;

        let mut pages = Vec::new();
        for (vaddr, rights) in program.layout.pages() {
            let frame = objects.alloc::<sel4::cap_type::Granule>()?;
            if program.layout.page_has_data(vaddr) {
                window.with(frame, |bytes| {
                    program.layout.fill_page(program.bytes, vaddr, bytes)
                })?;
            }
            let cap_rights = if rights.write {
                sel4::CapRights::read_write()
            } else {
                sel4::CapRights::read_only()
            };
            frame.frame_map(
                vspace,
                vaddr as usize,
                cap_rights,
                sel4::VmAttributes::default(),
            )?;
            let alias = objects.slot()?;
            let alias = sel4::init_thread::Slot::<sel4::cap_type::Granule>::from_index(alias).cap();
            CNODE.cap().absolute_cptr(alias).copy(
                &CNODE.cap().absolute_cptr(frame),
                sel4::CapRights::read_write(),
            )?;
            pages.push(Page { vaddr, alias });
        }

        let ipc_buffer = objects.alloc::<sel4::cap_type::Granule>()?;
        ipc_buffer.frame_map(
            vspace,
            ipc_buffer_addr as usize,
            sel4::CapRights::read_write(),
            sel4::VmAttributes::default(),
        )?;

        // The CNode slice: the badged endpoint in MASTER_EP, nothing else.
        let cnode = objects.alloc_sized::<sel4::cap_type::CNode>(slot::BITS)?;
        cnode
            .absolute_cptr_from_bits_with_depth(slot::MASTER_EP, slot::BITS)
            .mint(
                &CNODE.cap().absolute_cptr(endpoint),
                sel4::CapRights::new(true, false, false, true), // write + grant-reply: Call and faults
                badge.to_word(),
            )?;

        let tcb = objects.alloc::<sel4::cap_type::Tcb>()?;
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

        let mut ctx = sel4::UserContext::default();
        *ctx.pc_mut() = program.layout.entry;
        tcb.tcb_write_all_registers(false, &mut ctx)?;

        Ok(Replica {
            index: badge.replica as usize,
            tcb,
            pages,
            reply_slot: objects.slot()?,
        })
    }

    pub(crate) fn start(&self) -> sel4::Result<()> {
        self.tcb.tcb_resume()
    }

    /// The replica's registers. It must be blocked (at an event).
    pub(crate) fn registers(&self) -> sel4::Result<RegisterFile> {
        Ok(arch::register_file(
            &self.tcb.tcb_read_all_registers(false)?,
        ))
    }

    /// Overwrites the replica's registers. It must be blocked (at an event).
    pub(crate) fn set_registers(&self, regs: &RegisterFile) -> sel4::Result<()> {
        self.tcb
            .tcb_write_all_registers(false, &mut arch::user_context(regs))
    }

    /// Keeps the replica's reply capability (it just sent the master a message).
    pub(crate) fn save_reply(&self) -> sel4::Result<()> {
        reply_slot_cptr(self.reply_slot).save_caller()
    }

    /// Answers the replica's waiting call or fault with `info` (message registers already in the
    /// master's IPC buffer) and lets it run on.
    pub(crate) fn reply(&self, info: sel4::MessageInfo) {
        sel4::cap::Endpoint::from_bits(self.reply_slot as u64).send(info);
    }

    pub(crate) fn stop(&self) -> sel4::Result<()> {
        self.tcb.tcb_suspend()
    }

    /// Drops the saved reply capability, if any (the replica will not be answered at this
    /// point: it is restarted instead).
    pub(crate) fn forget_reply(&self) {
        let _ = reply_slot_cptr(self.reply_slot).delete();
    }

    /// Makes the replica run from `regs` (cancelling the call it waits in, if any).
    pub(crate) fn restart_at(&self, regs: &RegisterFile) -> sel4::Result<()> {
        self.tcb
            .tcb_write_all_registers(true, &mut arch::user_context(regs))
    }
}

fn reply_slot_cptr(slot: usize) -> sel4::AbsoluteCPtr {
    CNODE.cap().absolute_cptr(
        sel4::init_thread::Slot::<sel4::cap_type::Unspecified>::from_index(slot).cap(),
    )
}
