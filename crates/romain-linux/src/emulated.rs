//! x86_64 instructions that read the core they run on, answered once for all replicas as
//! inputs from outside (like the clock). The loader rewrites each into the trap
//! ([`crate::rewrite`]):
//! - `cpuid` reports the core's APIC IDs, so replicas on different cores would read different
//!   values and differ at their next call (Go's runtime start keeps a `cpuid` result in rbx up
//!   to its first system call): the personality executes it where it runs and gives every
//!   replica the result with the core's identity cleared;
//! - `rdtsc` and `rdtscp` read the time stamp counter (Go seeds its random numbers from it):
//!   every replica reads the program's clock, in the master's counter ticks (the TSC), and
//!   `rdtscp`'s processor number 0.

use romain_core::regs::{Arch, RegisterFile};

/// rax, rbx, rcx and rdx in the x86_64 register file (seL4_UserContext order).
const RAX: usize = 3;
const RCX: usize = 5;
const RDX: usize = 6;

/// An instruction the loader rewrote into the trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insn {
    Cpuid,
    Rdtsc,
    Rdtscp,
}

impl Insn {
    pub fn name(self) -> &'static str {
        match self {
            Insn::Cpuid => "cpuid",
            Insn::Rdtsc => "rdtsc",
            Insn::Rdtscp => "rdtscp",
        }
    }
}

/// The registers after the instruction the trap at `regs` stands for; `now`: the program's
/// clock.
pub fn answer(insn: Insn, regs: &RegisterFile, now: u64) -> RegisterFile {
    match insn {
        Insn::Cpuid => cpuid(regs),
        Insn::Rdtsc | Insn::Rdtscp => {
            let mut out = regs.clone();
            let w = out.words_mut();
            w[RAX] = now & 0xffff_ffff;
            w[RDX] = now >> 32;
            if insn == Insn::Rdtscp {
                w[RCX] = 0;
            }
            w[Arch::PC] = w[Arch::PC].wrapping_add(crate::arch::trap_len(Arch::X86_64));
            out
        }
    }
}

/// The registers after the `cpuid` the trap at `regs` stands for.
fn cpuid(regs: &RegisterFile) -> RegisterFile {
    let mut out = regs.clone();
    let w = out.words_mut();
    let (leaf, sub) = (w[RAX] as u32, w[RAX + 2] as u32);
    let result = same_on_every_core(leaf, executed(leaf, sub));
    for (i, v) in result.into_iter().enumerate() {
        w[RAX + i] = u64::from(v);
    }
    w[Arch::PC] = w[Arch::PC].wrapping_add(crate::arch::trap_len(Arch::X86_64));
    out
}

/// The result of `cpuid` on the core the personality runs on (none elsewhere than x86_64).
fn executed(leaf: u32, sub: u32) -> [u32; 4] {
    #[cfg(target_arch = "x86_64")]
    {
        let r = core::arch::x86_64::__cpuid_count(leaf, sub);
        [r.eax, r.ebx, r.ecx, r.edx]
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (leaf, sub);
        [0; 4]
    }
}

/// A result with what tells cores apart cleared: the initial APIC ID (leaf 1, EBX bits
/// 24–31), the x2APIC ID (leaves 0xb and 0x1f, EDX) and AMD's extended APIC ID (0x8000001e).
pub fn same_on_every_core(leaf: u32, [mut a, mut b, c, mut d]: [u32; 4]) -> [u32; 4] {
    match leaf {
        1 => b &= 0x00ff_ffff,
        0xb | 0x1f => d = 0,
        0x8000_001e => a = 0,
        _ => {}
    }
    [a, b, c, d]
}
