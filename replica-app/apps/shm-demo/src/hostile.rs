//! Shared accesses that must never turn copy & execute against the master (`shm-demo+hostile+
//! CASE`): each is refused by the decoder with the instruction's bytes, or, were it let through,
//! could touch nothing but the region in the executor sandbox. The group ends with a named error.

use romain_replica::println;

/// Runs the case `what` against the region of `len` bytes at `base`.
pub fn run(what: &str, base: *mut u8, len: usize) {
    println!("shm-demo: hostile {what}");
    // SAFETY (every block below): none needed beyond the test's purpose: each is an access to
    // the shared region (which faults to the master) that the master must refuse or contain.
    match what {
        // An 8-byte load of the region's last 4 bytes and the 4 after it: refused, or, in the
        // sandbox test's lax mode, run in the sandbox, where the page after the region is not.
        #[cfg(target_arch = "x86_64")]
        "straddle" => unsafe {
            core::arch::asm!("mov {0}, qword ptr [{1}]", out(reg) _, in(reg) base.add(len - 4));
        },
        #[cfg(target_arch = "aarch64")]
        "straddle" => unsafe {
            core::arch::asm!("ldr {0}, [{1}]", out(reg) _, in(reg) base.add(len - 4));
        },
        #[cfg(target_arch = "aarch64")]
        "sp" => unsafe {
            // An exclusive block that writes sp from the region: the master's stack, were it run
            // in the master.
            core::arch::asm!(
                "mov x9, sp",
                "ldxr x1, [{0}]",
                "mov sp, x1",
                "stxr w2, x1, [{0}]",
                "mov sp, x9",
                in(reg) base, out("x1") _, out("x2") _, out("x9") _,
            );
        },
        #[cfg(target_arch = "aarch64")]
        "misaligned" => unsafe {
            core::arch::asm!("ldar {0}, [{1}]", out(reg) _, in(reg) base.add(3));
        },
        #[cfg(target_arch = "aarch64")]
        "misaligned-exclusive" => unsafe {
            core::arch::asm!(
                "ldaxr {0}, [{1}]", "stlxr w3, {0}, [{1}]",
                out(reg) _, in(reg) base.add(4), out("x3") _,
            );
        },
        #[cfg(target_arch = "x86_64")]
        "segment" => unsafe {
            core::arch::asm!("mov ds, word ptr [{0}]", in(reg) base);
        },
        #[cfg(target_arch = "x86_64")]
        "base-index" => unsafe {
            core::arch::asm!("mov {0}, qword ptr [{1} + {1}*2]", out(reg) _, in(reg) base as u64 / 3 + 1);
        },
        #[cfg(target_arch = "x86_64")]
        "bt-register" => unsafe {
            // Bit 70: the qword after the one the operand names (still in the region).
            core::arch::asm!("bts qword ptr [{0}], {1}", in(reg) base, in(reg) 70u64);
        },
        #[cfg(target_arch = "x86_64")]
        "cmpxchg-rax" => unsafe {
            // The implicit rax is the base: rebased in the master, its address would leak.
            core::arch::asm!(
                "lock cmpxchg qword ptr [rax], {0}",
                in(reg) 7u64, inout("rax") base => _,
            );
        },
        #[cfg(target_arch = "x86_64")]
        "string-wrap" => unsafe {
            // A string move whose span wraps past the top of the address space.
            core::arch::asm!(
                "rep movsb",
                inout("rcx") u64::MAX / 2 => _, inout("rsi") base => _, inout("rdi") u64::MAX - 8 => _,
            );
        },
        other => println!("shm-demo: no hostile case {other:?}"),
    }
    println!("shm-demo: the hostile access went through");
}
