//! System-call sites: every system-call instruction of the program's code becomes a trap of the
//! same length when it is loaded, the same in every replica, so that no Linux call ever runs as
//! an seL4 call (seL4 takes its own number from x7 on aarch64 and from rdx on x86_64, and its
//! x86_64 `syscall` entry loses the user's stack pointer). An x86_64 `syscall` with prefixes
//! (longer than two bytes) becomes the trap and single-byte nops to its length: the call
//! returns past the trap and runs the nops to the next instruction.
//!
//! x86_64 `cpuid`, `rdtsc` and `rdtscp` become the same trap: they read the core they run on,
//! which differs from replica to replica, so the personality answers them once for all, as
//! inputs from outside like the clock ([`crate::emulated`]).

use alloc::vec::Vec;

use iced_x86::{Code, Decoder, DecoderOptions};
use romain_core::regs::Arch;

use crate::arch::{AARCH64_SVC0, AARCH64_TRAP, X86_64_TRAP};
use crate::emulated::Insn;

/// Where the loader put traps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sites {
    /// The rewritten instructions: address and length, sorted by address.
    sites: Vec<(u64, u8)>,
    /// Of those, the instructions emulated (x86_64), sorted by address.
    emulated: Vec<(u64, Insn)>,
    /// A segment had more sites than [`MAX_SITES`] (or than the heap could hold): the image is
    /// refused, the list is incomplete.
    overflowed: bool,
}

/// Most system-call sites of one program (real static programs have hundreds to a few
/// thousand): the list lives on the master's heap.
pub const MAX_SITES: usize = 1 << 18;

/// The longest x86_64 instruction (a site is never longer).
const MAX_LEN: u64 = 15;
/// x86_64's one-byte nop.
const NOP: u8 = 0x90;

impl Sites {
    /// Finds the system-call instructions of one executable segment's bytes at `vaddr`, and adds
    /// them. x86_64 code is decoded from the segment's start with a real decoder (a linear
    /// sweep); aarch64 instructions are the aligned words.
    pub fn scan(&mut self, arch: Arch, vaddr: u64, code: &[u8]) {
        match arch {
            Arch::Aarch64 => {
                // Aligned words only; none past the end of the address space.
                let Some(aligned) = vaddr.checked_next_multiple_of(4) else {
                    return;
                };
                let skip = (aligned - vaddr) as usize;
                let words = code.get(skip..).unwrap_or(&[]).chunks_exact(4);
                for (at, word) in (aligned..=u64::MAX).step_by(4).zip(words) {
                    if let &[a, b, c, d] = word
                        && u32::from_le_bytes([a, b, c, d]) == AARCH64_SVC0
                    {
                        self.add(at, 4);
                    }
                }
            }
            Arch::X86_64 => {
                // The decoder's instruction pointer wraps past the end of the address space: a
                // site must lie whole within the segment as loaded, without wrapping.
                let end = u128::from(vaddr) + code.len() as u128;
                let mut decoder = Decoder::with_ip(64, code, vaddr, DecoderOptions::NONE);
                for insn in &mut decoder {
                    let ip = insn.ip();
                    let emulated = match insn.code() {
                        Code::Syscall => None,
                        Code::Cpuid => Some(Insn::Cpuid),
                        Code::Rdtsc => Some(Insn::Rdtsc),
                        Code::Rdtscp => Some(Insn::Rdtscp),
                        _ => continue,
                    };
                    if ip >= vaddr
                        && u128::from(ip) + insn.len() as u128 <= end
                        && let Ok(len) = u8::try_from(insn.len())
                    {
                        self.add(ip, len);
                        if let Some(what) = emulated
                            && !self.overflowed
                        {
                            self.emulated.push((ip, what));
                        }
                    }
                }
            }
        }
        self.sites.sort_unstable();
        self.sites.dedup_by_key(|s| s.0);
        self.emulated.sort_unstable_by_key(|e| e.0);
        self.emulated.dedup_by_key(|e| e.0);
    }

    fn add(&mut self, at: u64, len: u8) {
        if self.sites.len() >= MAX_SITES || self.sites.try_reserve(1).is_err() {
            self.overflowed = true;
        } else {
            self.sites.push((at, len));
        }
    }

    /// Whether the program had more sites than could be kept: it cannot run.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    pub fn len(&self) -> usize {
        self.sites.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    /// Whether a trap at `pc` is one the loader placed.
    pub fn contains(&self, pc: u64) -> bool {
        self.sites.binary_search_by_key(&pc, |s| s.0).is_ok()
    }

    /// The instruction the trap at `pc` stands for, if it is no system call.
    pub fn emulated(&self, pc: u64) -> Option<Insn> {
        let i = self.emulated.binary_search_by_key(&pc, |e| e.0).ok()?;
        self.emulated.get(i).map(|e| e.1)
    }

    /// Rewrites the sites within one page of the program, loaded at `page` (`bytes` is the
    /// page). A site may straddle two pages on x86_64: each page gets its own bytes.
    pub fn patch(&self, arch: Arch, page: u64, bytes: &mut [u8]) {
        let trap: &[u8] = match arch {
            Arch::Aarch64 => &AARCH64_TRAP.to_le_bytes(),
            Arch::X86_64 => &X86_64_TRAP,
        };
        // In 128 bits: a page at the end of the address space has its end at 2^64.
        let page = u128::from(page);
        let end = page + bytes.len() as u128;
        // No site before this one reaches the page (none is longer than MAX_LEN).
        let first = self
            .sites
            .partition_point(|&(a, _)| u128::from(a) + u128::from(MAX_LEN) <= page);
        let sites = self.sites.get(first..).unwrap_or(&[]);
        for &(site, len) in sites.iter().take_while(|&&(a, _)| u128::from(a) < end) {
            for i in 0..usize::from(len) {
                let at = u128::from(site) + i as u128;
                if (page..end).contains(&at)
                    && let Some(byte) = bytes.get_mut((at - page) as usize)
                {
                    *byte = trap.get(i).copied().unwrap_or(NOP);
                }
            }
        }
    }
}
