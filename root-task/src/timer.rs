//! A deadline for the watchdog, delivered as a notification bound to the master's thread: the
//! master blocks in its receive until a replica's message or the deadline, whichever comes first.
//! No polling, so a watchdog costs no core while replicas compute.
//!
//! - aarch64: the EL1 physical generic timer of core 0, a one-shot compare against the physical
//!   counter, exported to user level by `KernelArmExportPTMRUser`; its interrupt is PPI 30 of
//!   core 0. The timer registers are per core and only the master runs on core 0 (replicas take
//!   cores 1 and up), so no replica can touch them.
//! - x86_64: the CMOS real-time clock's periodic interrupt (IRQ 8 through the I/O APIC) at 8 Hz;
//!   the master checks its deadline at each tick, so a deadline is late by up to 125 ms.

use sel4::init_thread::slot::{CNODE, IRQ_CONTROL, TCB};

use crate::objects::{AllocError, Objects};

/// The badge of the timer's notification, as the master's receive reports it. Replica badges
/// carry `ReplicaBadge::MARK`, so this one cannot be mistaken for a replica.
pub(crate) const TIMER_BADGE: u64 = 1;
/// The badge a companion component's doorbell rings the same notification with (its bits and
/// the timer's arrive ORed together when both came).
pub(crate) const DOORBELL_BADGE: u64 = 2;

pub(crate) struct Timer {
    /// The notification bound to the master's thread (unbadged: badged copies are minted from it).
    notification: sel4::cap::Notification,
    handler: sel4::cap::IrqHandler,
    #[cfg(target_arch = "x86_64")]
    port: sel4::cap::Unspecified,
    /// Counter ticks ([`crate::arch::counter`]) at which to wake the master.
    deadline: Option<u64>,
}

impl Timer {
    /// Sets the timer up and binds its notification to the master's thread. `fine`: campaigns
    /// time injections within runs of milliseconds (the x86_64 RTC then ticks at 1024 Hz).
    pub(crate) fn new(objects: &mut Objects, fine: bool) -> Result<Timer, AllocError> {
        use sel4::CapTypeForObjectOfFixedSize;
        let notification = objects
            .persistent(sel4::cap_type::Notification::object_blueprint())?
            .cast::<sel4::cap_type::Notification>();
        let badged = sel4::init_thread::Slot::<sel4::cap_type::Notification>::from_index(
            objects.persistent_slot()?,
        )
        .cap();
        CNODE.cap().absolute_cptr(badged).mint(
            &CNODE.cap().absolute_cptr(notification),
            sel4::CapRights::all(),
            TIMER_BADGE,
        )?;
        let handler = sel4::init_thread::Slot::<sel4::cap_type::IrqHandler>::from_index(
            objects.persistent_slot()?,
        )
        .cap();
        let dst = CNODE.cap().absolute_cptr(handler);
        #[cfg(target_arch = "aarch64")]
        {
            /// The non-secure EL1 physical timer's interrupt (a PPI).
            const PHYSICAL_TIMER_PPI: u64 = 30;
            IRQ_CONTROL
                .cap()
                .irq_control_get_trigger_core(PHYSICAL_TIMER_PPI, false, 0, &dst)?;
        }
        #[cfg(target_arch = "x86_64")]
        let port = {
            /// The RTC's ISA interrupt, wired to the same I/O APIC pin.
            const RTC_PIN: u64 = 8;
            IRQ_CONTROL
                .cap()
                .irq_control_get_ioapic(0, RTC_PIN, 0, 0, RTC_PIN, &dst)?;
            let port = sel4::init_thread::Slot::<sel4::cap_type::Unspecified>::from_index(
                objects.persistent_slot()?,
            )
            .cap();
            sel4::init_thread::slot::IO_PORT_CONTROL
                .cap()
                .ioport_control_issue(
                    rtc::INDEX as u64,
                    rtc::DATA as u64,
                    &CNODE.cap().absolute_cptr(port),
                )?;
            port
        };
        handler.irq_handler_set_notification(badged)?;
        TCB.cap().tcb_bind_notification(notification)?;
        let timer = Timer {
            notification,
            handler,
            #[cfg(target_arch = "x86_64")]
            port,
            deadline: None,
        };
        #[cfg(target_arch = "x86_64")]
        timer.start_rtc(if fine {
            rtc::RATE_1024HZ
        } else {
            rtc::RATE_8HZ
        })?;
        #[cfg(not(target_arch = "x86_64"))]
        let _ = fine;
        Ok(timer)
    }

    /// Wakes the master at counter value `deadline` (or never).
    pub(crate) fn set(&mut self, deadline: Option<u64>) {
        if self.deadline == deadline {
            return;
        }
        self.deadline = deadline;
        #[cfg(target_arch = "aarch64")]
        match deadline {
            Some(at) => {
                // The compare runs on the physical counter; `counter` reads the virtual one.
                let ticks = at.saturating_sub(crate::arch::counter()).max(1);
                let value = physical_counter() + ticks;
                // SAFETY: EL0 may write the physical timer's registers (KernelArmExportPTMRUser);
                // only the master runs on this core.
                unsafe {
                    core::arch::asm!(
                        "msr cntp_cval_el0, {v}", "msr cntp_ctl_el0, {on}", "isb",
                        v = in(reg) value, on = in(reg) 1u64, options(nostack)
                    );
                }
            }
            None => disable(),
        }
    }

    /// Writes the deadline into the timer again, whatever the master last wrote: after something
    /// else ran on the master's core (the executor sandbox).
    pub(crate) fn rearm(&mut self) {
        let deadline = self.deadline.take();
        #[cfg(target_arch = "aarch64")]
        if deadline.is_none() {
            disable();
        }
        self.set(deadline);
    }

    /// Puts a capability to the master's notification, badged [`DOORBELL_BADGE`] and good for
    /// signalling only, into `slot` of `cnode`: a companion's doorbell.
    pub(crate) fn mint_doorbell(&self, cnode: sel4::cap::CNode, slot: u64) -> sel4::Result<()> {
        cnode
            .absolute_cptr_from_bits_with_depth(slot, romain_abi::slot::BITS)
            .mint(
                &CNODE.cap().absolute_cptr(self.notification),
                sel4::CapRights::write_only(),
                DOORBELL_BADGE,
            )
    }

    /// Between groups: takes whatever is pending on the notification, so that a doorbell the
    /// last group's companion rang is not the next group's (a pending tick is acknowledged, so
    /// the timer fires again).
    pub(crate) fn clear_pending(&mut self) -> bool {
        let (_, badge) = self.notification.poll();
        if badge & TIMER_BADGE != 0 {
            self.on_interrupt();
        }
        badge & DOORBELL_BADGE != 0
    }

    /// The timer's notification arrived: acknowledges it. Returns whether the deadline passed.
    pub(crate) fn on_interrupt(&mut self) -> bool {
        #[cfg(target_arch = "aarch64")]
        disable();
        #[cfg(target_arch = "x86_64")]
        {
            // Reading register C acknowledges the RTC's interrupt and lets it fire again.
            let _ = self.rtc_read(rtc::C);
        }
        crate::count::note(crate::count::Kind::Other);
        if let Err(err) = self.handler.irq_handler_ack() {
            log::error!("timer interrupt acknowledgement failed: {err:?}");
        }
        let passed = self.deadline.is_some_and(|at| crate::arch::counter() >= at);
        #[cfg(target_arch = "aarch64")]
        if !passed {
            // Woken early (a stale interrupt): arm again.
            let deadline = self.deadline.take();
            self.set(deadline);
        }
        if passed {
            self.deadline = None;
        }
        passed
    }
}

#[cfg(target_arch = "aarch64")]
fn physical_counter() -> u64 {
    let value: u64;
    // SAFETY: reads the physical counter, exported to EL0 (KernelArmExportPCNTUser).
    unsafe {
        core::arch::asm!("isb", "mrs {v}, cntpct_el0", v = out(reg) value, options(nomem, nostack));
    }
    value
}

#[cfg(target_arch = "aarch64")]
fn disable() {
    // SAFETY: as in `Timer::set`.
    unsafe {
        core::arch::asm!("msr cntp_ctl_el0, {off}", "isb", off = in(reg) 0u64, options(nostack));
    }
}

#[cfg(target_arch = "x86_64")]
mod rtc {
    /// I/O ports of the CMOS RTC: register index (bit 7 masks NMIs) and data.
    pub const INDEX: u16 = 0x70;
    pub const DATA: u16 = 0x71;
    pub const A: u8 = 0x0a;
    pub const B: u8 = 0x0b;
    pub const C: u8 = 0x0c;
    /// Register A's rates for 8 Hz and 1024 Hz (32768 Hz >> (rate - 1)).
    pub const RATE_8HZ: u8 = 13;
    pub const RATE_1024HZ: u8 = 6;
    /// Register B's periodic-interrupt enable.
    pub const PIE: u8 = 0x40;
}

#[cfg(target_arch = "x86_64")]
impl Timer {
    /// Measures the TSC's rate over half a second of RTC ticks, for the watchdog's bounds and
    /// the summaries' `counter_hz`: x86_64 does not tell it. Call before any replica runs: the
    /// endpoint's only messages then are the timer's.
    pub(crate) fn calibrate(&mut self, endpoint: sel4::cap::Endpoint, fine: bool) -> u64 {
        let ticks_per_half_second = if fine { 512 } else { 4 };
        let mut tick = || {
            while endpoint.recv(()).1 != TIMER_BADGE {}
            self.on_interrupt();
            crate::arch::counter()
        };
        let start = tick();
        let mut end = start;
        for _ in 0..ticks_per_half_second {
            end = tick();
        }
        (end - start) * 2
    }

    fn start_rtc(&self, rate: u8) -> sel4::Result<()> {
        let a = self.rtc_read(rtc::A)?;
        self.rtc_write(rtc::A, (a & 0xf0) | rate)?;
        let b = self.rtc_read(rtc::B)?;
        self.rtc_write(rtc::B, b | rtc::PIE)?;
        self.rtc_read(rtc::C).map(drop)
    }

    fn rtc_read(&self, register: u8) -> sel4::Result<u8> {
        self.out8(rtc::INDEX, 0x80 | register)?;
        let port = self.port.bits();
        crate::count::note(crate::count::Kind::Other);
        sel4::with_ipc_buffer_mut(|ipc| {
            let ret = ipc.inner_mut().seL4_X86_IOPort_In8(port, rtc::DATA);
            check(ret.error as _).map(|()| ret.result)
        })
    }

    fn rtc_write(&self, register: u8, value: u8) -> sel4::Result<()> {
        self.out8(rtc::INDEX, 0x80 | register)?;
        self.out8(rtc::DATA, value)
    }

    fn out8(&self, port: u16, value: u8) -> sel4::Result<()> {
        let cap = self.port.bits();
        crate::count::note(crate::count::Kind::Other);
        sel4::with_ipc_buffer_mut(|ipc| {
            check(
                ipc.inner_mut()
                    .seL4_X86_IOPort_Out8(cap, port.into(), value.into()) as _,
            )
        })
    }
}

#[cfg(target_arch = "x86_64")]
fn check(err: sel4::sys::seL4_Error::Type) -> sel4::Result<()> {
    sel4::Error::from_sys(err).map_or(Ok(()), Err)
}
