//! The initial stack of a Linux program, as the kernel's `create_elf_tables` lays it out: argc,
//! the argv and envp pointer arrays, the auxiliary vector, then the strings and AT_RANDOM's bytes
//! above them.

use alloc::vec::Vec;

use linux_raw_sys::general::{
    AT_CLKTCK, AT_EGID, AT_ENTRY, AT_EUID, AT_EXECFN, AT_GID, AT_HWCAP, AT_HWCAP2, AT_NULL,
    AT_PAGESZ, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PLATFORM, AT_RANDOM, AT_SECURE, AT_UID,
};
use romain_core::regs::Arch;

/// What the program is told at start.
#[derive(Debug, Clone)]
pub struct Start<'a> {
    pub arch: Arch,
    pub argv: &'a [&'a str],
    pub envp: &'a [&'a str],
    /// Where the program headers are in memory, their size and number.
    pub phdr: u64,
    pub phent: u64,
    pub phnum: u64,
    pub entry: u64,
    /// AT_RANDOM's 16 bytes: drawn once, the same in every replica.
    pub random: [u8; 16],
}

/// The uid and gid the program runs as (and is told it runs as).
pub const UID: u64 = 1000;
pub const GID: u64 = 1000;

/// Hardware capabilities the program may use: those whose state the master can replicate.
/// aarch64: FP and ASIMD (HWCAP_FP | HWCAP_ASIMD); never HWCAP_CPUID, which would make glibc read
/// MIDR_EL1 with a trapping `mrs`. x86_64 programs query `cpuid` themselves: AT_HWCAP is only
/// informative there (Linux puts CPUID.1:EDX in it); 0 claims nothing.
pub fn hwcap(arch: Arch) -> (u64, u64) {
    match arch {
        Arch::Aarch64 => ((1 << 0) | (1 << 1), 0),
        Arch::X86_64 => (0, 0),
    }
}

pub fn platform(arch: Arch) -> &'static str {
    match arch {
        Arch::Aarch64 => "aarch64",
        Arch::X86_64 => "x86_64",
    }
}

/// The stack's contents below `top`: the stack pointer the program starts with and the bytes
/// from there up to `top`.
pub fn build(top: u64, start: &Start<'_>) -> (u64, Vec<u8>) {
    // Strings and AT_RANDOM, from the top down.
    let mut strings: Vec<u8> = Vec::new();
    let mut place = |bytes: &[u8], nul: bool| -> u64 {
        let mut b = Vec::from(bytes);
        if nul {
            b.push(0);
        }
        b.extend_from_slice(&strings);
        strings = b;
        top - strings.len() as u64
    };
    let execfn = place(start.argv.first().unwrap_or(&"").as_bytes(), true);
    let platform = place(platform(start.arch).as_bytes(), true);
    let random = place(&start.random, false);
    // The strings of a list, placed last to first so that they lie in order in memory.
    let mut place_all = |list: &[&str]| {
        let mut at: Vec<u64> = list
            .iter()
            .rev()
            .map(|s| place(s.as_bytes(), true))
            .collect();
        at.reverse();
        at
    };
    let envp = place_all(start.envp);
    let argv = place_all(start.argv);
    let (hwcap, hwcap2) = hwcap(start.arch);
    let mut aux: Vec<(u32, u64)> = alloc::vec![
        (AT_PHDR, start.phdr),
        (AT_PHENT, start.phent),
        (AT_PHNUM, start.phnum),
        (AT_PAGESZ, 4096),
        (AT_ENTRY, start.entry),
        (AT_UID, UID),
        (AT_EUID, UID),
        (AT_GID, GID),
        (AT_EGID, GID),
        (AT_SECURE, 0),
        (AT_RANDOM, random),
        (AT_HWCAP, hwcap),
        (AT_CLKTCK, 100),
        (AT_EXECFN, execfn),
        (AT_PLATFORM, platform),
    ];
    if start.arch == Arch::Aarch64 {
        aux.push((AT_HWCAP2, hwcap2));
    }
    aux.push((AT_NULL, 0));
    let mut words: Vec<u64> = Vec::new();
    words.push(argv.len() as u64);
    words.extend(&argv);
    words.push(0);
    words.extend(&envp);
    words.push(0);
    for (key, value) in aux {
        words.extend([key as u64, value]);
    }
    let strings_at = top - strings.len() as u64;
    // The stack pointer is 16-byte aligned at argc.
    let sp = (strings_at - 8 * words.len() as u64) & !15;
    let mut bytes = Vec::with_capacity((top - sp) as usize);
    for w in &words {
        bytes.extend_from_slice(&w.to_le_bytes());
    }
    bytes.resize((strings_at - sp) as usize, 0);
    bytes.extend_from_slice(&strings);
    (sp, bytes)
}
