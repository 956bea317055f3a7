//! The executor sandbox: where copy & execute runs an agreed shared access, instead of the root
//! task.
//!
//! The instruction is the replica's, and so are the register values: run in the master, a wrong
//! decode would run with every capability of the system. Here it runs in a thread of the
//! master's making with an address space of its own that holds only the shared region (at the
//! address the replicas see it, so the instruction runs on the replicas' own register values and
//! nothing is rebased), a read-only code page with the instruction followed by a trap, and, on
//! x86_64, a bounce page for a string instruction's private operand. Its CSpace holds only its
//! fault endpoint. Its exit is the trap, a fault delivered to the master; any other fault (it
//! touched something outside those pages), no exit within the bound, or a register changed that
//! the decoder did not say the instruction writes ends the group with a named error. A wrong
//! decode can at worst touch the region, which the access was allowed to touch anyway.

use romain_core::message::{Malformed, Message};
use romain_core::regs::{Arch, RegisterFile};
use sel4::init_thread::slot::{ASID_POOL, CNODE, TCB};

use crate::arch;
use crate::count::{self, Kind};
use crate::objects::{AllocError, Frame, Objects};
use crate::timer::{DOORBELL_BADGE, TIMER_BADGE, Timer};

/// Where the sandbox's code page is: far from the region and from any replica image.
pub(crate) const CODE_VA: u64 = 0x30_0000_0000;
/// Where a string instruction's private operand is, in the sandbox (x86_64).
pub(crate) const BOUNCE_VA: u64 = CODE_VA + 0x10_0000;
/// The badge of the sandbox's fault endpoint, as the master's receive reports it (the bound
/// notification's bits are the timer's and the doorbell's).
const SANDBOX_BADGE: u64 = 1 << 20;
/// The longest an access may take in the sandbox.
const BOUND_MS: u64 = 2000;
/// The sandbox thread's priority: below the master's, like the replicas'.
const PRIORITY: u64 = 100;

/// Why the sandbox gave no result: the group ends with it.
pub(crate) struct Failed(pub alloc::string::String);

pub(crate) struct Sandbox {
    tcb: sel4::cap::Tcb,
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    vspace: sel4::cap::VSpace,
    endpoint: sel4::cap::Endpoint,
    code: Frame,
    bounce: Frame,
    /// The companion rang while the master waited for the sandbox.
    rung: bool,
}

/// The trap that ends the sandbox's code: `ud2` / `udf #0`.
#[cfg(target_arch = "x86_64")]
const TRAP: &[u8] = &[0x0f, 0x0b];
#[cfg(target_arch = "aarch64")]
const TRAP: &[u8] = &[0, 0, 0, 0];

impl Sandbox {
    /// Builds the sandbox for a group's region (`frames` at `base`), on `core`.
    pub(crate) fn new(
        objects: &mut Objects,
        base: u64,
        frames: &[Frame],
        core: usize,
    ) -> Result<Sandbox, AllocError> {
        let vspace = objects.vspace()?;
        ASID_POOL.cap().asid_pool_assign(vspace)?;
        let endpoint = objects.alloc::<sel4::cap_type::Endpoint>()?;
        let cnode = objects.alloc_sized::<sel4::cap_type::CNode>(romain_abi::slot::BITS)?;
        cnode
            .absolute_cptr_from_bits_with_depth(romain_abi::slot::MASTER_EP, romain_abi::slot::BITS)
            .mint(
                &CNODE.cap().absolute_cptr(endpoint),
                sel4::CapRights::new(true, false, false, true),
                SANDBOX_BADGE,
            )?;
        let map = |objects: &mut Objects, cap: sel4::cap::Granule, vaddr: u64, rights| {
            crate::vspace::map_tables(vspace, vaddr..vaddr + 1, |b| objects.alloc_blueprint(b))?;
            cap.frame_map(
                vspace,
                vaddr as usize,
                rights,
                sel4::VmAttributes::default(),
            )?;
            Ok::<(), AllocError>(())
        };
        for (i, frame) in frames.iter().enumerate() {
            // A capability maps a frame once: the companion has the frames' own.
            let cap = objects.copy_cap(frame.map)?;
            map(
                objects,
                cap,
                base + (i as u64) * 4096,
                sel4::CapRights::read_write(),
            )?;
        }
        let code = objects.frame()?;
        map(objects, code.map, CODE_VA, sel4::CapRights::read_only())?;
        let bounce = objects.frame()?;
        map(
            objects,
            bounce.map,
            BOUNCE_VA,
            sel4::CapRights::read_write(),
        )?;

        let tcb = objects.tcb()?;
        tcb.tcb_configure(
            sel4::CPtr::from_bits(romain_abi::slot::MASTER_EP),
            cnode,
            sel4::CNodeCapData::new(0, sel4::WORD_SIZE - romain_abi::slot::BITS),
            vspace,
            0,
            sel4::cap::Granule::from_bits(0),
        )?;
        tcb.tcb_set_sched_params(TCB.cap(), 0, PRIORITY)?;
        tcb.tcb_set_affinity(core as u64)?;
        Ok(Sandbox {
            tcb,
            vspace,
            endpoint,
            code,
            bounce,
            rung: false,
        })
    }

    /// Whether the companion rang while the master waited for the sandbox (since last asked).
    pub(crate) fn take_rung(&mut self) -> bool {
        core::mem::take(&mut self.rung)
    }

    /// The bounce page, as the master sees it.
    pub(crate) fn bounce(&mut self) -> &mut [u8] {
        // SAFETY: the bounce frame is the sandbox's alone (no copy of it is handed out), and the
        // borrow of the sandbox bounds the one reference made here.
        unsafe { self.bounce.bytes() }
    }

    /// Runs `code` (one instruction, or an exclusive block) from the registers `regs` (the pc is
    /// the sandbox's own) to its trap and returns the registers after it (`romain_cae::execute`
    /// checks them against what the decoder said the instruction writes).
    pub(crate) fn run(
        &mut self,
        code: &[u8],
        regs: &RegisterFile,
        mut timer: Option<&mut Timer>,
    ) -> Result<RegisterFile, Failed> {
        // SAFETY: the code frame is the sandbox's alone; the sandbox thread is suspended.
        let page = unsafe { self.code.bytes() };
        let trap_at = code.len();
        if trap_at + TRAP.len() > page.len() {
            return Err(Failed("instruction longer than a page".into()));
        }
        page[..trap_at].copy_from_slice(code);
        page[trap_at..trap_at + TRAP.len()].copy_from_slice(TRAP);
        #[cfg(target_arch = "aarch64")]
        self.unify_instruction_cache(trap_at + TRAP.len());
        let mut input = regs.clone();
        input.words_mut()[Arch::PC] = CODE_VA;
        count::note(Kind::WriteRegs);
        self.tcb
            .tcb_write_all_registers(true, &mut arch::user_context(&input))
            .map_err(|e| Failed(alloc::format!("sandbox start failed: {e:?}")))?;
        let message = self.wait(timer.as_deref_mut());
        // Stopped whatever came: it runs again only from fresh registers.
        count::note(Kind::Other);
        let _ = self.tcb.tcb_suspend();
        if let Some(t) = timer {
            t.rearm();
        }
        let message = message?;
        count::note(Kind::ReadRegs);
        let out = arch::register_file(
            &self
                .tcb
                .tcb_read_all_registers(false)
                .map_err(|e| Failed(alloc::format!("sandbox registers: {e:?}")))?,
        );
        let kind = message
            .and_then(|m| m.at(out.pc()))
            .map_err(|e| Failed(alloc::format!("sandbox: {e}")))?;
        let trap = CODE_VA + trap_at as u64;
        match kind {
            romain_core::event::EventKind::UserException { .. } if out.pc() == trap => {}
            kind => {
                return Err(Failed(alloc::format!(
                    "the instruction did not run to its end in the sandbox: {kind} at pc {:#x}",
                    out.pc()
                )));
            }
        }
        Ok(out)
    }

    /// The sandbox's exit, or the bound passing.
    fn wait(
        &mut self,
        mut timer: Option<&mut Timer>,
    ) -> Result<Result<Message, Malformed>, Failed> {
        let until = arch::counter() + arch::ticks_in_ms(BOUND_MS);
        loop {
            if let Some(t) = timer.as_deref_mut() {
                t.set(Some(until));
            }
            count::note(Kind::Recv);
            let (info, badge) = self.endpoint.recv(());
            if badge == SANDBOX_BADGE {
                return Ok(arch::read_message(&info).map(|(m, _)| m));
            }
            if badge & DOORBELL_BADGE != 0 {
                self.rung = true;
            }
            if badge & TIMER_BADGE != 0
                && let Some(t) = timer.as_deref_mut()
            {
                t.on_interrupt();
            }
            if arch::counter() >= until {
                return Err(Failed(alloc::format!(
                    "the instruction did not end within {BOUND_MS} ms in the sandbox"
                )));
            }
        }
    }

    /// Cleans the data cache and invalidates the instruction cache over the sandbox's code, in
    /// its own address space (EL0 may not).
    #[cfg(target_arch = "aarch64")]
    fn unify_instruction_cache(&self, len: usize) {
        let err = sel4::with_ipc_buffer_mut(|ipc| {
            ipc.inner_mut().seL4_ARM_VSpace_Unify_Instruction(
                self.vspace.bits(),
                CODE_VA,
                CODE_VA + len as u64,
            )
        });
        if err != 0 {
            log::warn!("instruction cache maintenance failed ({err})");
        }
    }
}
