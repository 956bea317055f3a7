//! System-call sites: every system-call instruction of the program's code becomes a trap of the
//! same length when it is loaded, the same in every replica, so that no Linux call ever runs as
//! an seL4 call (seL4 takes its own number from x7 on aarch64 and from rdx on x86_64, and its
//! x86_64 `syscall` entry loses the user's stack pointer).

use alloc::vec::Vec;

use iced_x86::{Code, Decoder, DecoderOptions};
use romain_core::regs::Arch;

use crate::arch::{AARCH64_SVC0, AARCH64_TRAP, X86_64_TRAP};

/// Where the loader put traps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sites {
    /// Sorted addresses of the rewritten instructions.
    addrs: Vec<u64>,
}

impl Sites {
    /// Finds the system-call instructions of one executable segment's bytes at `vaddr`, and adds
    /// them. x86_64 code is decoded from the segment's start with a real decoder (a linear
    /// sweep); aarch64 instructions are the aligned words.
    pub fn scan(&mut self, arch: Arch, vaddr: u64, code: &[u8]) {
        match arch {
            Arch::Aarch64 => {
                let skip = (vaddr.next_multiple_of(4) - vaddr) as usize;
                for (i, word) in code.get(skip..).unwrap_or(&[]).chunks_exact(4).enumerate() {
                    if u32::from_le_bytes(word.try_into().expect("4 bytes")) == AARCH64_SVC0 {
                        self.addrs.push(vaddr + (skip + 4 * i) as u64);
                    }
                }
            }
            Arch::X86_64 => {
                let mut decoder = Decoder::with_ip(64, code, vaddr, DecoderOptions::NONE);
                for insn in &mut decoder {
                    if insn.code() == Code::Syscall {
                        self.addrs.push(insn.ip());
                    }
                }
            }
        }
        self.addrs.sort_unstable();
        self.addrs.dedup();
    }

    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    /// Whether a trap at `pc` is one the loader placed.
    pub fn contains(&self, pc: u64) -> bool {
        self.addrs.binary_search(&pc).is_ok()
    }

    /// Rewrites the sites within one page of the program, loaded at `page` (`bytes` is the
    /// page). A site may straddle two pages on x86_64: each page gets its own bytes.
    pub fn patch(&self, arch: Arch, page: u64, bytes: &mut [u8]) {
        let trap: &[u8] = match arch {
            Arch::Aarch64 => &AARCH64_TRAP.to_le_bytes(),
            Arch::X86_64 => &X86_64_TRAP,
        };
        let end = page + bytes.len() as u64;
        let first = self
            .addrs
            .partition_point(|&a| a + (trap.len() as u64) <= page);
        for &site in self.addrs[first..].iter().take_while(|&&a| a < end) {
            for (i, &b) in trap.iter().enumerate() {
                let at = site + i as u64;
                if (page..end).contains(&at) {
                    bytes[(at - page) as usize] = b;
                }
            }
        }
    }
}
