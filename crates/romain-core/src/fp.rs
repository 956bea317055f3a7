//! A replica's FP/SIMD state, and the code that moves it between its registers and its memory.
//!
//! seL4 lets the master read and write another thread's integer registers only
//! (`seL4_UserContext`). So the replica stores its FP/SIMD registers itself: the master places
//! two pages at [`STUB_VA`] in every replica, outside the program's layout, a code page with a
//! *save* and a *restore* routine and the *area* page after it, and sends a replica that
//! arrived at an event through the save routine (its pc and, on aarch64, x0 set by the master;
//! every other register as it was, since the routine touches none but x0/x1, which the master
//! puts back). Each routine ends in a trap at a known address that hands the replica back.
//!
//! - aarch64: q0–q31, FPSR, FPCR ([`AARCH64_AREA`] bytes).
//! - x86_64: the FXSAVE image (x87, MXCSR, xmm0–xmm15; [`X86_64_AREA`] bytes). The kernel is built
//!   with `KernelFPU FXSAVE` and enables no AVX state, so this is all there is.
//!
//! The area is an ordinary writable page of the replica: page repair, checkpoints and
//! `REPAIR=written` cover it as any other.

use core::fmt;

use heapless::Vec;

use crate::PAGE_SIZE;
use crate::regs::Arch;

/// The routines' page; the area is the page after it.
pub const STUB_VA: u64 = 0x2f_0000_0000;
pub const AREA_VA: u64 = STUB_VA + PAGE_SIZE;
/// The two pages, which the master reserves in every replica.
pub const PAGES: core::ops::Range<u64> = STUB_VA..AREA_VA + PAGE_SIZE;

pub const AARCH64_AREA: usize = 32 * 16 + 16;
pub const X86_64_AREA: usize = 512;
pub const MAX_AREA: usize = AARCH64_AREA;

/// Where the routines start and trap, as addresses of the replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stubs {
    pub save: u64,
    pub saved: u64,
    pub restore: u64,
    pub restored: u64,
}

/// The code page's bytes (as many as there are; the rest of the page is zero) and where its
/// routines are. Both routines are straight-line code: no stack, no branch, no register but x0
/// (the area, set by the master) and x1 on aarch64, none on x86_64 (rip-relative).
pub fn stubs(arch: Arch) -> (alloc::vec::Vec<u8>, Stubs) {
    let mut code = alloc::vec::Vec::new();
    // Offsets in the page of the save routine's trap and of the restore routine and its trap.
    let (saved, restore, restored) = match arch {
        Arch::Aarch64 => {
            let put = |code: &mut alloc::vec::Vec<u8>, insn: u32| {
                code.extend_from_slice(&insn.to_le_bytes())
            };
            // stp/ldp qT, qT+1, [x0, #16*T]; str/ldr x1, [x0, #off]; mrs/msr x1, fpsr/fpcr.
            let pair = |load: bool, t: u32| {
                (if load { 0xad40_0000 } else { 0xad00_0000 }) | (t << 15) | ((t + 1) << 10) | t
            };
            let word = |load: bool, off: u32| {
                (if load { 0xf940_0000 } else { 0xf900_0000 }) | ((off / 8) << 10) | 1
            };
            const MRS_FPSR: u32 = 0xd53b_4421;
            const MRS_FPCR: u32 = 0xd53b_4401;
            const MSR_FPSR: u32 = 0xd51b_4421;
            const MSR_FPCR: u32 = 0xd51b_4401;
            for t in (0..32).step_by(2) {
                put(&mut code, pair(false, t));
            }
            put(&mut code, MRS_FPSR);
            put(&mut code, word(false, 512));
            put(&mut code, MRS_FPCR);
            put(&mut code, word(false, 520));
            let saved = code.len() as u64;
            put(&mut code, AARCH64_SAVED);
            let restore = code.len() as u64;
            for t in (0..32).step_by(2) {
                put(&mut code, pair(true, t));
            }
            put(&mut code, word(true, 512));
            put(&mut code, MSR_FPSR);
            put(&mut code, word(true, 520));
            put(&mut code, MSR_FPCR);
            let restored = code.len() as u64;
            put(&mut code, AARCH64_RESTORED);
            (saved, restore, restored)
        }
        Arch::X86_64 => {
            // fxsave64 / fxrstor64 [rip + disp32]: REX.W 0f ae /0 or /1, modrm rip-relative.
            let rip_relative = |code: &mut alloc::vec::Vec<u8>, modrm: u8| {
                let end = STUB_VA + code.len() as u64 + 8;
                let disp = (AREA_VA - end) as u32;
                code.extend_from_slice(&[0x48, 0x0f, 0xae, modrm]);
                code.extend_from_slice(&disp.to_le_bytes());
            };
            rip_relative(&mut code, 0x05);
            let saved = code.len() as u64;
            code.extend_from_slice(&UD2);
            let restore = code.len() as u64;
            rip_relative(&mut code, 0x0d);
            let restored = code.len() as u64;
            code.extend_from_slice(&UD2);
            (saved, restore, restored)
        }
    };
    let stubs = Stubs {
        save: STUB_VA,
        saved: STUB_VA + saved,
        restore: STUB_VA + restore,
        restored: STUB_VA + restored,
    };
    (code, stubs)
}

/// `udf #0x5f0` / `udf #0x5f1`: the routines' traps on aarch64 (an undefined instruction is a
/// user exception to seL4; the address tells them from the program's).
const AARCH64_SAVED: u32 = 0x0000_05f0;
const AARCH64_RESTORED: u32 = 0x0000_05f1;
const UD2: [u8; 2] = [0x0f, 0x0b];

/// The area's length on `arch`.
pub fn area_len(arch: Arch) -> usize {
    match arch {
        Arch::Aarch64 => AARCH64_AREA,
        Arch::X86_64 => X86_64_AREA,
    }
}

/// The area before the first event: the FP/SIMD state a thread starts with, which a rollback to
/// the program's start loads. aarch64: all zero (FPCR 0: round to nearest, no traps). x86_64:
/// the state after `fninit` with MXCSR's reset value, as seL4 gives a new thread: x87 control
/// word 0x037f, MXCSR 0x1f80 (every exception masked), everything else zero.
pub fn initial_area(arch: Arch) -> Vec<u8, MAX_AREA> {
    let mut area = Vec::new();
    area.resize(area_len(arch), 0).expect("fits");
    if arch == Arch::X86_64 {
        area[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        area[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
    }
    area
}

/// One replica's FP/SIMD registers at an event: the area's bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct FpState {
    arch: Arch,
    bytes: Vec<u8, MAX_AREA>,
}

impl fmt::Debug for FpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FpState({} bytes)", self.bytes.len())
    }
}

/// The first FP/SIMD register in which two states differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FpDiff {
    pub arch: Arch,
    /// Byte offset of the first differing byte in the area.
    pub offset: usize,
    /// The first differing 64-bit word's xor (little-endian, from its 8-aligned offset).
    pub xor: u64,
}

impl FpDiff {
    /// The register the differing byte belongs to.
    pub fn name(&self) -> FpName {
        FpName::of(self.arch, self.offset)
    }
}

impl fmt::Display for FpDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FP/SIMD register {} (byte {}, xor {:#x})",
            self.name(),
            self.offset,
            self.xor
        )
    }
}

impl FpState {
    /// The state from an area's bytes (`None` if the length is not the area's).
    pub fn new(arch: Arch, bytes: &[u8]) -> Option<FpState> {
        (bytes.len() == area_len(arch)).then(|| FpState {
            arch,
            bytes: Vec::from_slice(bytes).expect("fits"),
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn first_difference(&self, other: &FpState) -> Option<FpDiff> {
        let offset = self
            .bytes
            .iter()
            .zip(&other.bytes)
            .position(|(a, b)| a != b)?;
        let word = |s: &FpState| {
            let at = offset & !7;
            u64::from_le_bytes(s.bytes[at..at + 8].try_into().expect("8 bytes"))
        };
        Some(FpDiff {
            arch: self.arch,
            offset,
            xor: word(self) ^ word(other),
        })
    }
}

/// An FP/SIMD register by name, as fault specs and reports give it: aarch64 `qN`, `dN` (its low
/// 64 bits), `sN` (low 32), `fpsr`, `fpcr`; x86_64 `xmmN`, `stN` (80-bit x87), `mxcsr`, `fcw`,
/// `fsw`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FpName {
    /// Where it is in the area and how many bits wide.
    pub offset: usize,
    pub bits: u32,
    kind: Kind,
    n: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Q,
    D,
    S,
    Fpsr,
    Fpcr,
    Xmm,
    St,
    Mxcsr,
    Fcw,
    Fsw,
    /// An FXSAVE byte outside named registers (tags, last-instruction pointers, reserved).
    Other,
}

impl FpName {
    fn new(kind: Kind, n: u8) -> FpName {
        let (offset, bits) = match kind {
            Kind::Q => (16 * n as usize, 128),
            Kind::D => (16 * n as usize, 64),
            Kind::S => (16 * n as usize, 32),
            Kind::Fpsr => (512, 32),
            Kind::Fpcr => (520, 32),
            Kind::Xmm => (160 + 16 * n as usize, 128),
            Kind::St => (32 + 16 * n as usize, 80),
            Kind::Mxcsr => (24, 32),
            Kind::Fcw => (0, 16),
            Kind::Fsw => (2, 16),
            Kind::Other => (n as usize, 8),
        };
        FpName {
            offset,
            bits,
            kind,
            n,
        }
    }

    /// The register by its name on `arch`.
    pub fn parse(arch: Arch, name: &str) -> Option<FpName> {
        let numbered = |prefix: &str, max: u8| {
            name.strip_prefix(prefix)
                .filter(|n| !n.starts_with('0') || n.len() == 1)
                .and_then(|n| n.parse::<u8>().ok())
                .filter(|&n| n < max)
        };
        let kind = match (arch, name) {
            (Arch::Aarch64, "fpsr") => Some((Kind::Fpsr, 0)),
            (Arch::Aarch64, "fpcr") => Some((Kind::Fpcr, 0)),
            (Arch::X86_64, "mxcsr") => Some((Kind::Mxcsr, 0)),
            (Arch::X86_64, "fcw") => Some((Kind::Fcw, 0)),
            (Arch::X86_64, "fsw") => Some((Kind::Fsw, 0)),
            (Arch::Aarch64, _) => numbered("q", 32)
                .map(|n| (Kind::Q, n))
                .or_else(|| numbered("d", 32).map(|n| (Kind::D, n)))
                .or_else(|| numbered("s", 32).map(|n| (Kind::S, n))),
            (Arch::X86_64, _) => numbered("xmm", 16)
                .map(|n| (Kind::Xmm, n))
                .or_else(|| numbered("st", 8).map(|n| (Kind::St, n))),
        }?;
        Some(FpName::new(kind.0, kind.1))
    }

    /// How many registers campaigns draw from on `arch`: aarch64 q0–q31, fpsr, fpcr; x86_64
    /// xmm0–xmm15, st0–st7, mxcsr.
    pub fn count(arch: Arch) -> usize {
        match arch {
            Arch::Aarch64 => 34,
            Arch::X86_64 => 25,
        }
    }

    /// Register `i` (modulo [`FpName::count`]) of those.
    pub fn nth(arch: Arch, i: usize) -> FpName {
        let i = i % Self::count(arch);
        match arch {
            Arch::Aarch64 if i < 32 => FpName::new(Kind::Q, i as u8),
            Arch::Aarch64 if i == 32 => FpName::new(Kind::Fpsr, 0),
            Arch::Aarch64 => FpName::new(Kind::Fpcr, 0),
            Arch::X86_64 if i < 16 => FpName::new(Kind::Xmm, i as u8),
            Arch::X86_64 if i < 24 => FpName::new(Kind::St, (i - 16) as u8),
            Arch::X86_64 => FpName::new(Kind::Mxcsr, 0),
        }
    }

    /// The register a byte of the area belongs to (the widest name).
    pub fn of(arch: Arch, offset: usize) -> FpName {
        match arch {
            Arch::Aarch64 if offset < 512 => FpName::new(Kind::Q, (offset / 16) as u8),
            Arch::Aarch64 if offset < 520 => FpName::new(Kind::Fpsr, 0),
            Arch::Aarch64 => FpName::new(Kind::Fpcr, 0),
            Arch::X86_64 => match offset {
                0..2 => FpName::new(Kind::Fcw, 0),
                2..4 => FpName::new(Kind::Fsw, 0),
                24..28 => FpName::new(Kind::Mxcsr, 0),
                32..160 if offset % 16 < 10 => FpName::new(Kind::St, ((offset - 32) / 16) as u8),
                160..416 => FpName::new(Kind::Xmm, ((offset - 160) / 16) as u8),
                _ => FpName::new(Kind::Other, offset.min(255) as u8),
            },
        }
    }

    /// Flips bit `bit` (taken modulo the register's width) of this register in `area`.
    pub fn flip(&self, area: &mut [u8], bit: u32) {
        let bit = (bit % self.bits) as usize;
        area[self.offset + bit / 8] ^= 1 << (bit % 8);
    }
}

impl fmt::Display for FpName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Q => write!(f, "q{}", self.n),
            Kind::D => write!(f, "d{}", self.n),
            Kind::S => write!(f, "s{}", self.n),
            Kind::Fpsr => f.write_str("fpsr"),
            Kind::Fpcr => f.write_str("fpcr"),
            Kind::Xmm => write!(f, "xmm{}", self.n),
            Kind::St => write!(f, "st{}", self.n),
            Kind::Mxcsr => f.write_str("mxcsr"),
            Kind::Fcw => f.write_str("fcw"),
            Kind::Fsw => f.write_str("fsw"),
            Kind::Other => write!(f, "fxsave byte {}", self.offset),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_x86::{Decoder, DecoderOptions, Mnemonic};

    #[test]
    fn x86_64_routines_are_fxsave_and_fxrstor_of_the_area_then_a_trap() {
        let (code, at) = stubs(Arch::X86_64);
        let mut decoder = Decoder::with_ip(64, &code, STUB_VA, DecoderOptions::NONE);
        let insns: alloc::vec::Vec<_> = decoder.iter().collect();
        let names: alloc::vec::Vec<_> = insns.iter().map(|i| i.mnemonic()).collect();
        assert_eq!(
            names,
            [
                Mnemonic::Fxsave64,
                Mnemonic::Ud2,
                Mnemonic::Fxrstor64,
                Mnemonic::Ud2
            ]
        );
        assert_eq!(insns[0].memory_displacement64(), AREA_VA);
        assert_eq!(insns[2].memory_displacement64(), AREA_VA);
        assert_eq!(
            [insns[1].ip(), insns[2].ip(), insns[3].ip()],
            [at.saved, at.restore, at.restored]
        );
    }

    #[test]
    fn aarch64_routines_store_and_load_every_q_register_fpsr_and_fpcr() {
        let (code, at) = stubs(Arch::Aarch64);
        let words: alloc::vec::Vec<u32> = code
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
            .collect();
        // As the GNU assembler encodes them.
        assert_eq!(words[0], 0xad00_0400); // stp q0, q1, [x0]
        assert_eq!(words[15], 0xad0f_7c1e); // stp q30, q31, [x0, #480]
        assert_eq!(words[17], 0xf901_0001); // str x1, [x0, #512]
        assert_eq!(words[19], 0xf901_0401); // str x1, [x0, #520]
        let restore = ((at.restore - STUB_VA) / 4) as usize;
        assert_eq!(words[restore], 0xad40_0400); // ldp q0, q1, [x0]
        assert_eq!(at.saved, STUB_VA + 20 * 4);
        assert_eq!(at.restored, at.restore + 20 * 4);
        assert_eq!(words[((at.saved - STUB_VA) / 4) as usize], AARCH64_SAVED);
    }

    #[test]
    fn names_cover_the_area_and_flips_stay_in_the_register() {
        let q5 = FpName::parse(Arch::Aarch64, "q5").unwrap();
        assert_eq!((q5.offset, q5.bits), (80, 128));
        let d5 = FpName::parse(Arch::Aarch64, "d5").unwrap();
        assert_eq!((d5.offset, d5.bits), (80, 64));
        let x3 = FpName::parse(Arch::X86_64, "xmm3").unwrap();
        assert_eq!((x3.offset, x3.bits), (208, 128));
        assert_eq!(FpName::parse(Arch::X86_64, "xmm16"), None);
        assert_eq!(FpName::parse(Arch::X86_64, "q1"), None);
        assert_eq!(FpName::parse(Arch::Aarch64, "q05"), None);
        let mut area = [0u8; X86_64_AREA];
        x3.flip(&mut area, 127 + 128);
        assert_eq!(area[208 + 15], 0x80);
        let a = FpState::new(Arch::X86_64, &[0; X86_64_AREA]).unwrap();
        let b = FpState::new(Arch::X86_64, &area).unwrap();
        let diff = a.first_difference(&b).unwrap();
        assert_eq!(diff.name().to_string(), "xmm3");
        assert_eq!(diff.xor, 0x80 << 56);
        assert_eq!(FpName::of(Arch::Aarch64, 515).to_string(), "fpsr");
        assert_eq!(FpState::new(Arch::Aarch64, &[0; 512]), None);
        let init = initial_area(Arch::X86_64);
        assert_eq!(
            (init.len(), init[0], init[1], init[25]),
            (512, 0x7f, 0x03, 0x1f)
        );
        assert!(initial_area(Arch::Aarch64).iter().all(|&b| b == 0));
    }
}
