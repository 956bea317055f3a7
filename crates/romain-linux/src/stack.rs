//! The initial stack of a Linux program, as the kernel's `create_elf_tables` lays it out: argc,
//! the argv and envp pointer arrays, the auxiliary vector, then the strings and AT_RANDOM's bytes
//! above them.

use alloc::vec::Vec;

use linux_raw_sys::general::{
    AT_CLKTCK, AT_EGID, AT_ENTRY, AT_EUID, AT_EXECFN, AT_GID, AT_HWCAP, AT_HWCAP2, AT_NULL,
    AT_PAGESZ, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PLATFORM, AT_RANDOM, AT_SECURE, AT_SYSINFO_EHDR,
    AT_UID,
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
    /// Where the vDSO is (AT_SYSINFO_EHDR), if the program has one ([`crate::vdso`]).
    pub vdso: Option<u64>,
}

/// The program's process id (and its one thread's): not 1, which programs take for init
/// (sash, for one, then warns that it is the init process).
pub const PID: u64 = 100;

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

/// The initial stack would not fit: larger than a quarter of the stack (as Linux limits argv
/// and envp, E2BIG) or than the memory below `top`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooBig;

/// Most bytes the initial stack may take: a quarter of the stack, as Linux allows argv and envp.
pub const MAX_INITIAL: u64 = crate::linux::STACK_SIZE / 4;

/// The stack's contents below `top`: the stack pointer the program starts with and the bytes
/// from there up to `top`. Never panics: if the stack would not fit ([`try_build`]'s error), an
/// empty stack at `top` (the program then faults at its first read of argc).
pub fn build(top: u64, start: &Start<'_>) -> (u64, Vec<u8>) {
    try_build(top, start).unwrap_or_else(|TooBig| {
        log::error!("the initial stack (argv, envp) does not fit below {top:#x}");
        (top, Vec::new())
    })
}

/// Bytes the initial stack takes at most (strings, words, alignment), or `None` past `u64`.
fn size(start: &Start<'_>) -> Option<u64> {
    let strings = |list: &[&str]| {
        list.iter()
            .try_fold(0u64, |n, s| n.checked_add(s.len() as u64)?.checked_add(1))
    };
    let execfn = start.argv.first().map_or(0, |s| s.len() as u64) + 1;
    let platform = platform(start.arch).len() as u64 + 1;
    let text = strings(start.argv)?
        .checked_add(strings(start.envp)?)?
        .checked_add(execfn + platform + 16)?;
    // argc, argv and envp with their NULLs, at most 17 auxv pairs; 15 bytes of alignment.
    let words = (start.argv.len() as u64)
        .checked_add(start.envp.len() as u64)?
        .checked_add(3 + 2 * 17)?
        .checked_mul(8)?;
    text.checked_add(words)?.checked_add(15)
}

/// [`build`], or [`TooBig`].
pub fn try_build<'a>(top: u64, start: &'a Start<'a>) -> Result<(u64, Vec<u8>), TooBig> {
    match size(start) {
        Some(n) if n <= MAX_INITIAL && n <= top => {}
        _ => return Err(TooBig),
    }
    // Every subtraction from `top` below takes at most `size` bytes in all.
    // Strings and AT_RANDOM, from the top down: `pieces` in the order they are placed (the
    // first one highest), `used` the bytes below `top` so far.
    let mut pieces: Vec<(&[u8], bool)> = Vec::new();
    let mut used: u64 = 0;
    let mut place = |bytes: &'a [u8], nul: bool| -> u64 {
        pieces.push((bytes, nul));
        used += bytes.len() as u64 + u64::from(nul);
        top - used
    };
    let execfn = place(start.argv.first().unwrap_or(&"").as_bytes(), true);
    let platform = place(platform(start.arch).as_bytes(), true);
    let random = place(&start.random, false);
    // The strings of a list, placed last to first so that they lie in order in memory.
    let mut place_all = |list: &'a [&'a str]| {
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
    if let Some(vdso) = start.vdso {
        aux.push((AT_SYSINFO_EHDR, vdso));
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
    let mut strings: Vec<u8> = Vec::with_capacity(used as usize);
    for (piece, nul) in pieces.iter().rev() {
        strings.extend_from_slice(piece);
        if *nul {
            strings.push(0);
        }
    }
    let strings_at = top - used;
    // The stack pointer is 16-byte aligned at argc.
    let sp = (strings_at - 8 * words.len() as u64) & !15;
    let mut bytes = Vec::with_capacity((top - sp) as usize);
    for w in &words {
        bytes.extend_from_slice(&w.to_le_bytes());
    }
    bytes.resize((strings_at - sp) as usize, 0);
    bytes.extend_from_slice(&strings);
    Ok((sp, bytes))
}
