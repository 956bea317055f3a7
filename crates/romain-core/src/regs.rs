//! The user register file of a replica, as seL4's `seL4_UserContext` lays it out.
//!
//! Replicas are built soft-float (see `replica-app/`), so these general-purpose registers, PC, SP,
//! flags and thread-ID registers are the complete user-visible state the master compares.

use core::fmt;

/// Architectures the master runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Aarch64,
    X86_64,
}

/// `seL4_UserContext` field order on aarch64 (libsel4 `sel4_arch/types.h`).
const AARCH64_NAMES: [&str; 36] = [
    "pc",
    "sp",
    "spsr",
    "x0",
    "x1",
    "x2",
    "x3",
    "x4",
    "x5",
    "x6",
    "x7",
    "x8",
    "x16",
    "x17",
    "x18",
    "x29",
    "x30",
    "x9",
    "x10",
    "x11",
    "x12",
    "x13",
    "x14",
    "x15",
    "x19",
    "x20",
    "x21",
    "x22",
    "x23",
    "x24",
    "x25",
    "x26",
    "x27",
    "x28",
    "tpidr_el0",
    "tpidrro_el0",
];

/// `seL4_UserContext` field order on x86_64.
const X86_64_NAMES: [&str; 20] = [
    "rip", "rsp", "rflags", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10",
    "r11", "r12", "r13", "r14", "r15", "fs_base", "gs_base",
];

/// Words in the largest register file of any architecture.
pub const MAX_REGS: usize = AARCH64_NAMES.len();

impl Arch {
    pub const fn name(self) -> &'static str {
        match self {
            Arch::Aarch64 => "aarch64",
            Arch::X86_64 => "x86_64",
        }
    }

    /// Register names in `seL4_UserContext` order.
    pub const fn register_names(self) -> &'static [&'static str] {
        match self {
            Arch::Aarch64 => &AARCH64_NAMES,
            Arch::X86_64 => &X86_64_NAMES,
        }
    }

    pub const fn num_registers(self) -> usize {
        self.register_names().len()
    }

    /// Index of a register by name (for injection specs and reports).
    pub fn register_index(self, name: &str) -> Option<usize> {
        self.register_names().iter().position(|n| *n == name)
    }

    /// Registers whose values at a system call are not the program's state, so they are not
    /// compared there: x86_64 `syscall` overwrites rcx (return address) and r11 (flags), and
    /// seL4's `syscall` entry does not save rsp (the libsel4/rust-sel4 stubs keep the user stack
    /// pointer in r14 across the call, and r14 is compared).
    pub const fn syscall_clobbered(self) -> &'static [usize] {
        match self {
            Arch::Aarch64 => &[],
            Arch::X86_64 => &[1, 5, 13], // rsp, rcx, r11
        }
    }

    /// Length of the system-call instruction (`svc #0`, `syscall`). seL4 reports a thread blocked
    /// in a system call with its PC at that instruction and restarts it there after a register
    /// write; a repaired replica must resume after it instead.
    pub const fn syscall_len(self) -> u64 {
        match self {
            Arch::Aarch64 => 4,
            Arch::X86_64 => 2,
        }
    }

    /// An instruction of `syscall_len` bytes that jumps to itself (`b .`, `jmp .`): what a hang
    /// injection puts in place of a system call.
    pub const fn spin_instruction(self) -> &'static [u8] {
        match self {
            Arch::Aarch64 => &[0x00, 0x00, 0x00, 0x14],
            Arch::X86_64 => &[0xeb, 0xfe],
        }
    }

    /// An instruction that always traps to the master as a user exception (`udf #0`, `ud2`):
    /// the breakpoint of a corrupted-result injection.
    pub const fn trap_instruction(self) -> &'static [u8] {
        match self {
            Arch::Aarch64 => &[0x00, 0x00, 0x00, 0x00],
            Arch::X86_64 => &[0x0f, 0x0b],
        }
    }

    /// Index of the program counter in the register file.
    pub const PC: usize = 0;
    /// Index of the stack pointer in the register file.
    pub const SP: usize = 1;
}

/// A replica's register file: `arch.num_registers()` words in `seL4_UserContext` order.
#[derive(Clone, PartialEq, Eq)]
pub struct RegisterFile {
    arch: Arch,
    words: [u64; MAX_REGS],
}

impl RegisterFile {
    /// A register file from words in `seL4_UserContext` order. Returns `None` if the count does
    /// not match the architecture.
    pub fn new(arch: Arch, words: &[u64]) -> Option<Self> {
        if words.len() != arch.num_registers() {
            return None;
        }
        let mut all = [0; MAX_REGS];
        all[..words.len()].copy_from_slice(words);
        Some(Self { arch, words: all })
    }

    pub fn arch(&self) -> Arch {
        self.arch
    }

    pub fn words(&self) -> &[u64] {
        &self.words[..self.arch.num_registers()]
    }

    pub fn words_mut(&mut self) -> &mut [u64] {
        let n = self.arch.num_registers();
        &mut self.words[..n]
    }

    /// Zeroes the registers the system-call instruction clobbers (see [`Arch::syscall_clobbered`]).
    pub fn clear_syscall_clobbered(&mut self) {
        for &i in self.arch.syscall_clobbered() {
            self.words[i] = 0;
        }
    }

    pub fn pc(&self) -> u64 {
        self.words[Arch::PC]
    }

    pub fn sp(&self) -> u64 {
        self.words[Arch::SP]
    }

    /// The first register that differs from `other`: its index and the XOR of both values.
    pub fn first_difference(&self, other: &Self) -> Option<RegisterDiff> {
        self.words()
            .iter()
            .zip(other.words())
            .position(|(a, b)| a != b)
            .map(|index| RegisterDiff {
                arch: self.arch,
                index,
                xor: self.words[index] ^ other.words[index],
            })
    }
}

impl fmt::Debug for RegisterFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (name, word) in self.arch.register_names().iter().zip(self.words()) {
            m.entry(name, &format_args!("{word:#x}"));
        }
        m.finish()
    }
}

/// One differing register between two register files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterDiff {
    pub arch: Arch,
    pub index: usize,
    /// XOR of the two values: the flipped bits.
    pub xor: u64,
}

impl RegisterDiff {
    pub fn name(&self) -> &'static str {
        self.arch.register_names()[self.index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_libsel4_layout() {
        assert_eq!(Arch::Aarch64.num_registers(), 36);
        assert_eq!(Arch::X86_64.num_registers(), 20);
        assert_eq!(Arch::Aarch64.register_index("pc"), Some(Arch::PC));
        assert_eq!(Arch::X86_64.register_index("rsp"), Some(Arch::SP));
        assert_eq!(Arch::Aarch64.register_index("x30"), Some(16));
        assert_eq!(Arch::X86_64.register_index("r15"), Some(17));
        assert_eq!(Arch::X86_64.register_index("x0"), None);
    }

    #[test]
    fn syscall_clobbered_registers_are_x86_64_only() {
        let names = |arch: Arch| -> std::vec::Vec<&str> {
            arch.syscall_clobbered()
                .iter()
                .map(|&i| arch.register_names()[i])
                .collect()
        };
        assert_eq!(names(Arch::X86_64), ["rsp", "rcx", "r11"]);
        assert!(names(Arch::Aarch64).is_empty());
        let mut r = RegisterFile::new(Arch::X86_64, &[7; 20]).unwrap();
        r.clear_syscall_clobbered();
        assert_eq!(r.words()[5], 0);
        assert_eq!(r.words()[13], 0);
        assert_eq!(r.words()[4], 7);
    }

    #[test]
    fn spin_instructions_replace_a_syscall_exactly() {
        for arch in [Arch::Aarch64, Arch::X86_64] {
            assert_eq!(arch.spin_instruction().len() as u64, arch.syscall_len());
        }
    }

    #[test]
    fn wrong_word_count_is_rejected() {
        assert!(RegisterFile::new(Arch::X86_64, &[0; 36]).is_none());
        assert!(RegisterFile::new(Arch::Aarch64, &[0; 20]).is_none());
    }

    #[test]
    fn every_single_bit_in_every_register_is_a_difference() {
        for arch in [Arch::Aarch64, Arch::X86_64] {
            let base: [u64; MAX_REGS] = core::array::from_fn(|i| 0x1000 + i as u64);
            let a = RegisterFile::new(arch, &base[..arch.num_registers()]).unwrap();
            for index in 0..arch.num_registers() {
                for bit in 0..64 {
                    let mut b = a.clone();
                    b.words_mut()[index] ^= 1 << bit;
                    let d = a.first_difference(&b).expect("a flipped bit must be seen");
                    assert_eq!((d.index, d.xor), (index, 1 << bit));
                    assert_eq!(d.name(), arch.register_names()[index]);
                }
            }
            assert_eq!(a.first_difference(&a.clone()), None);
        }
    }
}
