//! Misbehaviour straight at the kernel, past the replica runtime: raw seL4 system calls with any
//! number, messages without a reply, forged kernel fault messages, the core's own timer.

use romain_abi::{CALL_LABEL_BASE, Call, slot};
use romain_replica::println;

/// seL4's system call numbers this program names (libsel4's `syscall.h`).
pub const SYS_SEND: i64 = -3;
pub const SYS_NBSEND: i64 = -4;
pub const SYS_DEBUG_PUT_CHAR: i64 = -9;

/// A raw seL4 system call: `number` on capability `dest` with message info `info` and the first
/// four message registers in registers. Returns the message info register afterwards.
pub fn syscall(number: i64, dest: u64, info: u64, mrs: [u64; 4]) -> u64 {
    let out: u64;
    #[cfg(target_arch = "aarch64")]
    // SAFETY: an seL4 system call: the kernel reads x0–x5 and x7, and writes x0–x5 back; nothing
    // of this program's memory is touched.
    unsafe {
        core::arch::asm!(
            "svc 0",
            inout("x0") dest => _,
            inout("x1") info => out,
            inout("x2") mrs[0] => _,
            inout("x3") mrs[1] => _,
            inout("x4") mrs[2] => _,
            inout("x5") mrs[3] => _,
            in("x7") number,
            options(nostack),
        );
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as above, with seL4's x86_64 registers (rdx the number, rdi the capability, rsi the
    // info, r10, r8, r9, r15 the message registers); `syscall` clobbers rcx and r11, and the
    // kernel does not keep rsp, so it is kept in r14 as rust-sel4 does.
    unsafe {
        core::arch::asm!(
            "mov r14, rsp",
            "syscall",
            "mov rsp, r14",
            in("rdx") number,
            inout("rdi") dest => _,
            inout("rsi") info => out,
            inout("r10") mrs[0] => _,
            inout("r8") mrs[1] => _,
            inout("r9") mrs[2] => _,
            inout("r15") mrs[3] => _,
            out("rcx") _,
            out("r11") _,
            out("r14") _,
            options(nostack),
        );
    }
    out
}

/// An seL4 message info word: label, capabilities unwrapped, extra capabilities, length.
pub fn info(label: u64, length: u64) -> u64 {
    (label << 12) | (length & 0x7f)
}

/// The system call `number`, made on the endpoint to the master with a harmless message.
pub fn any_syscall(number: i64) {
    println!("syscall {number}");
    // Flushed by println: what follows may never return.
    let back = syscall(
        number,
        slot::MASTER_EP,
        info(Call::Yield.label(), 0),
        [b'X' as u64; 4],
    );
    println!("syscall {number} returned (info {back:#x})");
}

/// A message without waiting for the reply: not an event, and the replica would run on.
pub fn send(number: i64) {
    println!("about to send without a reply");
    sel4::with_ipc_buffer_mut(|ipc| ipc.msg_regs_mut()[0] = 0);
    syscall(
        number,
        slot::MASTER_EP,
        info(Call::Yield.label(), 1),
        [0; 4],
    );
    println!("ran on after a send");
}

/// `Call`s with kernel fault label `label` and every length from `first` up to the maximum, the
/// message registers made to look like a real fault (the pc where a fault has one).
pub fn forge(label: u64, first: u64) {
    for length in first..=120 {
        sel4::with_ipc_buffer_mut(|ipc| {
            let mrs = ipc.msg_regs_mut();
            mrs.iter_mut().for_each(|w| *w = 0x1000);
            // A capability fault's lookup-failure type: a missing capability.
            mrs[3] = 2;
        });
        let regs = sel4::with_ipc_buffer(|ipc| {
            let m = ipc.msg_regs();
            [m[0], m[1], m[2], m[3]]
        });
        syscall(-1, slot::MASTER_EP, info(label, length), regs);
    }
    println!("label {label}: every length from {first} to 120 answered as a call");
}

/// Labels below the call labels that are no kernel fault, and unknown call labels: unknown
/// calls, refused with an error, at every length.
pub fn unknown_labels() {
    let mut refused = 0;
    for label in [0, 9, 100, CALL_LABEL_BASE - 1, CALL_LABEL_BASE + 999] {
        for length in 0..=120 {
            let _ = syscall(-1, slot::MASTER_EP, info(label, length), [0; 4]);
            if sel4::with_ipc_buffer(|ipc| ipc.msg_regs()[0]) != 0 {
                refused += 1;
            }
        }
    }
    println!("unknown labels: {refused} of 605 calls refused");
}

/// Programs this core's EL1 physical timer to fire at once and reads the physical counter:
/// replicas run on cores 1 and up, the master's watchdog uses core 0's timer.
#[cfg(target_arch = "aarch64")]
pub fn timer() {
    let (mut before, mut after): (u64, u64);
    // SAFETY: system-register accesses the kernel lets EL0 make (KernelArmExportPTMRUser,
    // KernelArmExportPCNTUser); they touch no memory.
    unsafe {
        core::arch::asm!("mrs {v}, cntpct_el0", v = out(reg) before);
        core::arch::asm!(
            "msr cntp_cval_el0, {v}", "msr cntp_ctl_el0, {on}", "isb",
            v = in(reg) 0u64, on = in(reg) 1u64
        );
    }
    let mut spin = 0u64;
    for i in 0..2_000_000u64 {
        spin = spin.wrapping_add(i);
    }
    // SAFETY: as above.
    unsafe {
        core::arch::asm!(
            "msr cntp_tval_el0, {v}", "msr cntp_ctl_el0, {on}", "isb",
            v = in(reg) 1u64, on = in(reg) 1u64
        );
        core::arch::asm!("mrs {v}, cntpct_el0", v = out(reg) after);
    }
    // Only a comparison: the counter's values differ between replicas.
    core::hint::black_box(spin);
    println!(
        "timer: my core's physical timer armed twice; physical counter {}",
        if after > before { "ticking" } else { "stopped" }
    );
}

/// Set by a fault injection in one replica only (`mem:R:E:HOSTILE_SWITCH:0`): that replica then
/// misbehaves while the others do not.
#[unsafe(no_mangle)]
pub static mut HOSTILE_SWITCH: u64 = 0;

/// Steps that misbehave in the replica whose switch was flipped: a debug system call (`debug`)
/// or a send without a reply (`send`).
pub fn one(how: &str) {
    for step in 0..4 {
        // SAFETY: a plain read of this program's own static (single-threaded).
        if unsafe { core::ptr::read_volatile(&raw const HOSTILE_SWITCH) } != 0 {
            match how {
                "send" => {
                    syscall(
                        SYS_SEND,
                        slot::MASTER_EP,
                        info(Call::Yield.label(), 0),
                        [0; 4],
                    );
                }
                _ => {
                    syscall(SYS_DEBUG_PUT_CHAR, 0, b'!' as u64, [0; 4]);
                }
            }
        }
        println!("step {step}");
    }
}
