//! What differs between aarch64 and x86_64 in the master: the cycle counter, the register file
//! and reading a message off an endpoint (checked by `romain_core::message`, for both).

use romain_core::event::Words;
use romain_core::message::{Header, Kernel, Malformed, Message};
use romain_core::regs::{Arch, RegisterFile};

#[cfg(target_arch = "aarch64")]
pub(crate) const ARCH: Arch = Arch::Aarch64;
#[cfg(target_arch = "x86_64")]
pub(crate) const ARCH: Arch = Arch::X86_64;

/// Whether the kernel has hypervisor support (its VCPU fault labels exist).
#[cfg(target_arch = "aarch64")]
pub(crate) const HYPERVISOR: bool = sel4::sel4_cfg_bool!(ARM_HYPERVISOR_SUPPORT);
#[cfg(target_arch = "x86_64")]
pub(crate) const HYPERVISOR: bool = false;

/// The guest's free-running counter: CNTVCT_EL0 on aarch64 (exported to user level by the kernel
/// configuration), the TSC on x86_64.
pub(crate) fn counter() -> u64 {
    let value: u64;
    #[cfg(target_arch = "aarch64")]
    // SAFETY: reads a counter register that KernelArmExportVCNTUser makes readable at EL0.
    unsafe {
        core::arch::asm!("isb", "mrs {v}, cntvct_el0", v = out(reg) value, options(nomem, nostack));
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: rdtsc only reads the time-stamp counter.
    unsafe {
        value = core::arch::x86_64::_rdtsc();
    }
    value
}

/// The TSC's rate, measured against the RTC by the timer (0 until then).
#[cfg(target_arch = "x86_64")]
static TSC_HZ: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Records the TSC's measured rate.
#[cfg(target_arch = "x86_64")]
pub(crate) fn set_counter_hz(hz: u64) {
    TSC_HZ.store(hz, core::sync::atomic::Ordering::Relaxed);
}

/// Frequency of [`counter`] in Hz: CNTFRQ on aarch64, the measured TSC rate on x86_64 (0 where
/// it could not be measured).
pub(crate) fn counter_hz() -> u64 {
    #[cfg(target_arch = "aarch64")]
    {
        let hz: u64;
        // SAFETY: CNTFRQ_EL0 is readable at EL0 whenever a counter is exported to EL0.
        unsafe {
            core::arch::asm!("mrs {v}, cntfrq_el0", v = out(reg) hz, options(nomem, nostack));
        }
        hz
    }
    #[cfg(target_arch = "x86_64")]
    {
        TSC_HZ.load(core::sync::atomic::Ordering::Relaxed)
    }
}

/// Counter ticks in `ms` milliseconds. Where the rate is unknown (an x86_64 machine without the
/// timer), 1 GHz is assumed.
pub(crate) fn ticks_in_ms(ms: u64) -> u64 {
    let hz = match counter_hz() {
        0 => 1_000_000_000,
        hz => hz,
    };
    ms.saturating_mul(hz) / 1000
}

/// Words of `seL4_UserContext`.
const CONTEXT_WORDS: usize = core::mem::size_of::<sel4::UserContext>() / 8;
const _: () = assert!(CONTEXT_WORDS == ARCH.num_registers());

/// The register file of a user context, in `seL4_UserContext` order.
pub(crate) fn register_file(ctx: &sel4::UserContext) -> RegisterFile {
    // SAFETY: seL4_UserContext is a repr(C) struct of CONTEXT_WORDS seL4_Words and nothing else
    // (asserted above against the names in romain-core, which follow libsel4).
    let words: &[u64; CONTEXT_WORDS] = unsafe { &*(ctx.inner() as *const _ as *const _) };
    RegisterFile::new(ARCH, words).expect("word count checked at compile time")
}

/// A user context holding `regs`.
pub(crate) fn user_context(regs: &RegisterFile) -> sel4::UserContext {
    let mut ctx = sel4::UserContext::default();
    // SAFETY: as in `register_file`.
    let words: &mut [u64; CONTEXT_WORDS] = unsafe { &mut *(ctx.inner_mut() as *mut _ as *mut _) };
    words.copy_from_slice(regs.words());
    ctx
}

/// What the kernel may send on an endpoint besides calls (see `romain_core::message`).
const KERNEL: Kernel = Kernel {
    arch: ARCH,
    hypervisor: HYPERVISOR,
};

/// The message just received (on the master's endpoint or the sandbox's), checked (label, exact
/// length, no capabilities) before anything is parsed: a malformed or forged one is the
/// sender's error, never a master fault. Read it before any invocation: invocations reuse the
/// master's IPC buffer.
pub(crate) fn read_message(info: &sel4::MessageInfo) -> Result<(Message, Words), Malformed> {
    let header = Header {
        label: info.label(),
        length: info.length(),
        extra_caps: info.extra_caps(),
        caps_unwrapped: info.caps_unwrapped(),
    };
    sel4::with_ipc_buffer(|ipc| {
        let len = info.length().min(romain_abi::MAX_MESSAGE_WORDS);
        let words = Words::from_slice(&ipc.msg_regs()[..len]).unwrap_or_default();
        KERNEL.check(header, &words).map(|m| (m, words))
    })
}
