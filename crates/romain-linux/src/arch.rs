//! How a Linux system call sits in the registers of each architecture, and the trapping
//! instruction the loader puts in place of every system-call instruction.

use romain_core::regs::{Arch, RegisterFile};

/// `udf #0x5c1` ("syscall"): what `svc #0` becomes. seL4 reports an undefined instruction as a
/// user exception whose number is the ESR: EC 0 (unknown reason) with IL set, whatever the
/// immediate. (Not `brk`: a kernel with hypervisor support, as on QEMU here, reports every other
/// exception class of EL0 as a VCPU fault.) The site tells it from other `udf`s.
pub const AARCH64_TRAP: u32 = 0x0000_05c1;
pub const AARCH64_TRAP_ESR: u64 = 1 << 25;
/// `svc #0`.
pub const AARCH64_SVC0: u32 = 0xd400_0001;
/// `ud2`, what x86_64's `syscall` (0f 05) becomes; seL4 reports vector 6 (#UD).
pub const X86_64_TRAP: [u8; 2] = [0x0f, 0x0b];
pub const X86_64_UD_VECTOR: u64 = 6;

// seL4_UserContext indices (romain_core::regs).
const A64_X0: usize = 3;
const A64_X8: usize = 11;
const X86_RAX: usize = 3;
const X86_ARGS: [usize; 6] = [8, 7, 6, 12, 10, 11]; // rdi rsi rdx r10 r8 r9
pub const X86_FS_BASE: usize = 18;
const A64_TPIDR_EL0: usize = 34;

/// A system call as the registers hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syscall {
    pub number: u64,
    pub args: [u64; 6],
}

/// The call in `regs` (at the trap).
pub fn decode(regs: &RegisterFile) -> Syscall {
    let w = regs.words();
    match regs.arch() {
        Arch::Aarch64 => Syscall {
            number: w[A64_X8],
            args: core::array::from_fn(|i| w[A64_X0 + i]),
        },
        Arch::X86_64 => Syscall {
            number: w[X86_RAX],
            args: X86_ARGS.map(|i| w[i]),
        },
    }
}

/// Length of the trapping instruction (the one it replaced).
pub fn trap_len(arch: Arch) -> u64 {
    match arch {
        Arch::Aarch64 => 4,
        Arch::X86_64 => 2,
    }
}

/// Whether a user exception with this number is the trap the loader placed.
pub fn is_trap(arch: Arch, number: u64) -> bool {
    match arch {
        Arch::Aarch64 => number == AARCH64_TRAP_ESR,
        Arch::X86_64 => number == X86_64_UD_VECTOR,
    }
}

/// The registers after the call returned `value`: in x0 or rax, the pc past the trap. On x86_64
/// `syscall` also leaves the return address in rcx and the flags in r11, as Linux does.
pub fn returned(regs: &RegisterFile, value: u64) -> RegisterFile {
    let mut out = regs.clone();
    let arch = regs.arch();
    let w = out.words_mut();
    w[0] = w[0].wrapping_add(trap_len(arch));
    match arch {
        Arch::Aarch64 => w[A64_X0] = value,
        Arch::X86_64 => {
            w[X86_RAX] = value;
            w[5] = w[0]; // rcx
            w[13] = w[2]; // r11 = rflags
        }
    }
    out
}

/// The register a call's result goes in (x0, rax).
pub fn result_register(arch: Arch) -> usize {
    match arch {
        Arch::Aarch64 => A64_X0,
        Arch::X86_64 => X86_RAX,
    }
}

/// The thread pointer register (x86_64 FS base, aarch64 TPIDR_EL0).
pub fn set_thread_pointer(regs: &mut RegisterFile, value: u64) {
    let index = match regs.arch() {
        Arch::Aarch64 => A64_TPIDR_EL0,
        Arch::X86_64 => X86_FS_BASE,
    };
    regs.words_mut()[index] = value;
}

/// The registers a program starts with: everything zero (glibc's `_start` takes a zero rdx / x0
/// as "no rtld_fini") but the entry point and the stack pointer.
pub fn initial(arch: Arch, entry: u64, sp: u64) -> RegisterFile {
    let mut words = [0u64; romain_core::regs::MAX_REGS];
    words[0] = entry;
    words[1] = sp;
    RegisterFile::new(arch, &words[..arch.num_registers()]).expect("right length")
}
