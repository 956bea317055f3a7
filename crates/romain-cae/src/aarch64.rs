//! aarch64: decoding a faulting load or store, or the exclusive block it opens, to decide
//! whether the master's sandbox may run it and what it may change. The sandbox runs it once, at
//! the replicas' own addresses, with their registers: nothing is rebased.
//!
//! A64 loads and stores are regular enough to decode from their encoding classes (Arm ARM, C4.1
//! "Loads and Stores"): single registers (unsigned, unscaled, pre- and post-indexed immediate,
//! register offset), pairs, exclusives and load-acquire/store-release. FP/SIMD forms (replicas
//! are built soft-float and emit none), LSE atomics and CAS (ARMv8.1; the Cortex-A57 is ARMv8.0),
//! exclusive pairs and cache maintenance are refused by name.
//!
//! Exclusives: a replica's load-exclusive of shared memory faults, so its own monitor is never
//! armed, and its store-exclusive then fails without even touching memory (and without
//! faulting). The master therefore runs the whole exclusive block ([`Block`]) at once: the
//! load-exclusive, the register-only instructions after it, up to the store-exclusive to the
//! same base, as the compiler emits them for an atomic read-modify-write; the pair runs back to
//! back in the sandbox, once, and succeeds or fails as the hardware says.
//!
//! The decoder refuses what it cannot fully describe (see [`Access::decode`] and
//! [`Block::decode`]): whatever it accepts reads and writes only x0–x30 and the accessed bytes,
//! and [`Block::writes`] is a superset (in practice exactly the set) of the registers it may
//! write, for the sandbox to check the run against. [`Block::span`] adds the checks that need
//! the register values: exclusives and acquire/release aligned, no wrap-around; the master
//! checks the bytes against the region.
//!
//! Some refusals give rebasing as their reason (a store of its own base register, an
//! instruction in an exclusive block reading the base): they date from when the master rebased
//! the access onto its own mapping of the region, and are kept, stricter than the sandbox
//! needs, until they are reviewed. The host tests have an executor of their own
//! (`tests/common/executor.rs`).

use core::ops::Range;

use crate::Unsupported;

/// x0–x30 (x31 is the zero register or sp, which copy & execute does not use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Registers {
    pub x: [u64; 31],
}

/// What the instruction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Load,
    Store,
    LoadPair,
    StorePair,
    LoadExclusive,
    StoreExclusive,
    LoadAcquire,
    StoreRelease,
}

impl Op {
    fn loads(self) -> bool {
        matches!(
            self,
            Op::Load | Op::LoadPair | Op::LoadExclusive | Op::LoadAcquire
        )
    }
}

/// How the address is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// base + offset
    Offset(i64),
    /// base + offset, written back to the base first
    PreIndex(i64),
    /// base, then base + offset written back
    PostIndex(i64),
    /// base + extend(rm) << shift
    Register {
        rm: usize,
        extend: Extend,
        shift: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extend {
    Uxtw,
    Lsl,
    Sxtw,
    Sxtx,
}

/// A decoded load or store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub word: u32,
    pub op: Op,
    /// Bytes per register transferred.
    pub size: usize,
    pub rt: usize,
    pub rt2: Option<usize>,
    pub rn: usize,
    /// The status register of a store-exclusive.
    pub rs: Option<usize>,
    pub mode: Mode,
}

fn bits(word: u32, hi: u32, lo: u32) -> u32 {
    (word >> lo) & ((1 << (hi - lo + 1)) - 1)
}

fn sign_extend(value: u32, width: u32) -> i64 {
    let shift = 64 - width;
    ((value as i64) << shift) >> shift
}

/// The error for `word`, naming its bytes.
fn refusal(word: u32, reason: &'static str) -> Unsupported {
    let mut bytes = [0u8; 15];
    bytes[..4].copy_from_slice(&word.to_le_bytes());
    Unsupported::Instruction {
        bytes,
        len: 4,
        reason,
    }
}

/// A single-register load or store from its size and opc fields: opc 00 stores, 01 loads, 10
/// and 11 sign-extend (to 64 and 32 bits) but for the word and doubleword sizes, where 10 is
/// ldrsw / a prefetch and 11 is unallocated.
fn single_op(size_bits: u32, opc: u32) -> Result<Op, &'static str> {
    match (size_bits, opc) {
        (_, 0) => Ok(Op::Store),
        (_, 1) => Ok(Op::Load),
        (3, 2) => Err("prefetch"),
        (2 | 3, 3) => Err("unallocated load/store encoding (size and opc)"),
        _ => Ok(Op::Load),
    }
}

impl Access {
    /// Decodes one A64 load or store. Refused (each with a reason naming it): FP/SIMD forms,
    /// prefetches, unprivileged, literal (pc-relative), LSE atomics, CAS, exclusive pairs,
    /// LORegions and other ARMv8.1+ forms, memory tagging, unallocated size/opc combinations,
    /// "should be one" fields that are not, the stack pointer as base, write-back into a
    /// transferred register, a pair load into one register twice, a store of its own base
    /// register (see the module documentation), a register offset that is the base.
    pub fn decode(word: u32) -> Result<Access, Unsupported> {
        let refuse = |reason| refusal(word, reason);
        let rt = bits(word, 4, 0) as usize;
        let rn = bits(word, 9, 5) as usize;
        let size_bits = bits(word, 31, 30);
        let v = bits(word, 26, 26) == 1;
        let access = if word & 0x3b00_0000 == 0x3900_0000 || word & 0x3b00_0000 == 0x3800_0000 {
            // Single register: unsigned immediate (bits 25:24 = 01), or unscaled, pre- and
            // post-indexed immediate, unprivileged, register offset, atomics (bits 25:24 = 00).
            if v {
                return Err(refuse("FP/SIMD loads and stores (replicas are soft-float)"));
            }
            let unsigned = bits(word, 24, 24) == 1;
            let mode = if unsigned {
                Mode::Offset((bits(word, 21, 10) << size_bits) as i64)
            } else if bits(word, 21, 21) == 0 {
                let imm = sign_extend(bits(word, 20, 12), 9);
                match bits(word, 11, 10) {
                    0 => Mode::Offset(imm),
                    1 => Mode::PostIndex(imm),
                    3 => Mode::PreIndex(imm),
                    _ => return Err(refuse("unprivileged loads and stores")),
                }
            } else if bits(word, 11, 10) == 2 {
                let extend = match bits(word, 15, 13) {
                    2 => Extend::Uxtw,
                    3 => Extend::Lsl,
                    6 => Extend::Sxtw,
                    7 => Extend::Sxtx,
                    _ => return Err(refuse("reserved register extend")),
                };
                let shift = if bits(word, 12, 12) == 1 {
                    size_bits
                } else {
                    0
                };
                Mode::Register {
                    rm: bits(word, 20, 16) as usize,
                    extend,
                    shift,
                }
            } else if bits(word, 11, 10) == 0 {
                return Err(refuse("LSE atomics (ARMv8.1; not on this CPU)"));
            } else {
                return Err(refuse(
                    "not a supported load or store (pointer-authenticated loads)",
                ));
            };
            Access {
                word,
                op: single_op(size_bits, bits(word, 23, 22)).map_err(refuse)?,
                size: 1 << size_bits,
                rt,
                rt2: None,
                rn,
                rs: None,
                mode,
            }
        } else if word & 0x3b00_0000 == 0x1800_0000 {
            return Err(refuse("pc-relative (literal) loads"));
        } else if word & 0x3a00_0000 == 0x2800_0000 {
            // Load/store pair (bits 24:23: 00 no-allocate, 01 post-, 10 offset, 11 pre-index).
            if v {
                return Err(refuse("FP/SIMD loads and stores (replicas are soft-float)"));
            }
            let load = bits(word, 22, 22) == 1;
            let no_allocate = bits(word, 24, 23) == 0;
            let size = match size_bits {
                0 => 4,
                2 => 8,
                1 if load && !no_allocate => 4, // ldpsw
                1 if !load => return Err(refuse("memory tagging (stgp; ARMv8.5)")),
                _ => return Err(refuse("unallocated pair encoding")),
            };
            let imm = sign_extend(bits(word, 21, 15), 7) * size as i64;
            let mode = match bits(word, 24, 23) {
                0 | 2 => Mode::Offset(imm),
                1 => Mode::PostIndex(imm),
                _ => Mode::PreIndex(imm),
            };
            let rt2 = bits(word, 14, 10) as usize;
            if load && rt2 == rt {
                return Err(refuse(
                    "a pair load into one register twice (unpredictable)",
                ));
            }
            Access {
                word,
                op: if load { Op::LoadPair } else { Op::StorePair },
                size,
                rt,
                rt2: Some(rt2),
                rn,
                rs: None,
                mode,
            }
        } else if word & 0x3f00_0000 == 0x0800_0000 {
            // Exclusives and acquire/release: o2 (23), L (22), o1 (21), Rs, o0 (15), Rt2.
            let (o2, load, o1, o0) = (
                bits(word, 23, 23),
                bits(word, 22, 22) == 1,
                bits(word, 21, 21),
                bits(word, 15, 15),
            );
            let rs = bits(word, 20, 16) as usize;
            let op = match (o2, o1, load, o0) {
                (0, 0, true, _) => Op::LoadExclusive,
                (0, 0, false, _) => Op::StoreExclusive,
                (1, 0, true, 1) => Op::LoadAcquire,
                (1, 0, false, 1) => Op::StoreRelease,
                (1, 0, _, _) => {
                    return Err(refuse(
                        "LORegions acquire/release (ARMv8.1; not on this CPU)",
                    ));
                }
                (0, 1, _, _) if size_bits >= 2 => return Err(refuse("exclusive pairs")),
                _ => return Err(refuse("compare-and-swap (ARMv8.1; not on this CPU)")),
            };
            if bits(word, 14, 10) != 31 || (op != Op::StoreExclusive && rs != 31) {
                return Err(refuse(
                    "a should-be-one register field (Rs or Rt2) is not 31 (unpredictable)",
                ));
            }
            Access {
                word,
                op,
                size: 1 << size_bits,
                rt,
                rt2: None,
                rn,
                rs: (op == Op::StoreExclusive).then_some(rs),
                mode: Mode::Offset(0),
            }
        } else {
            return Err(refuse("not a load or store"));
        };
        if access.rn == 31 {
            return Err(refuse("addressed by the stack pointer"));
        }
        let writeback = matches!(access.mode, Mode::PreIndex(_) | Mode::PostIndex(_));
        let overlaps = |r: Option<usize>| r == Some(access.rn);
        if writeback && (access.rt == access.rn || overlaps(access.rt2)) {
            return Err(refuse("writes back to a register it also transfers"));
        }
        if overlaps(access.rs) || access.rs == Some(access.rt) {
            return Err(refuse("store-exclusive status overlaps its operands"));
        }
        if !access.op.loads() && (access.rt == access.rn || overlaps(access.rt2)) {
            return Err(refuse(
                "stores its own base register (the master would store its rebased value)",
            ));
        }
        if let Mode::Register { rm, .. } = access.mode
            && rm == access.rn
        {
            return Err(refuse("base and offset are the same register"));
        }
        Ok(access)
    }

    /// Bytes the instruction transfers.
    pub fn len(&self) -> usize {
        self.size * if self.rt2.is_some() { 2 } else { 1 }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The address accessed with `regs`.
    pub fn address(&self, regs: &Registers) -> u64 {
        let base = regs.x[self.rn];
        match self.mode {
            Mode::Offset(imm) | Mode::PreIndex(imm) => base.wrapping_add(imm as u64),
            Mode::PostIndex(_) => base,
            Mode::Register { rm, extend, shift } => {
                let m = if rm == 31 { 0 } else { regs.x[rm] };
                let offset = match extend {
                    Extend::Uxtw => m as u32 as u64,
                    Extend::Sxtw => m as u32 as i32 as i64 as u64,
                    Extend::Lsl | Extend::Sxtx => m,
                };
                base.wrapping_add(offset << shift)
            }
        }
    }

    /// Whether the access must be aligned to its size (exclusives and acquire/release: a
    /// misaligned one takes an alignment fault whatever the memory type).
    pub fn must_align(&self) -> bool {
        matches!(
            self.op,
            Op::LoadExclusive | Op::StoreExclusive | Op::LoadAcquire | Op::StoreRelease
        )
    }

    /// The bytes accessed with `regs` (`address..address + len`), or why they cannot be: a
    /// misaligned exclusive or acquire/release access ([`Access::must_align`]), or a range
    /// that wraps around the end of the address space.
    pub fn span(&self, regs: &Registers) -> Result<Range<u64>, Unsupported> {
        let start = self.address(regs);
        if self.must_align() && !start.is_multiple_of(self.size as u64) {
            return Err(refusal(
                self.word,
                "misaligned exclusive or acquire/release access (an alignment fault in the master)",
            ));
        }
        let end = start.checked_add(self.len() as u64).ok_or(refusal(
            self.word,
            "the access wraps around the address space",
        ))?;
        Ok(start..end)
    }

    /// The general-purpose registers the instruction may write: bit i for xi. A load's rt
    /// (and rt2), a store-exclusive's status register, the base register of a pre- or
    /// post-indexed access; never the zero register or sp (bit 31).
    pub fn writes(&self) -> u32 {
        let mut mask = 0;
        if self.op.loads() {
            mask |= bit(self.rt as u32) | self.rt2.map_or(0, |r| bit(r as u32));
        }
        mask |= self.rs.map_or(0, |r| bit(r as u32));
        if matches!(self.mode, Mode::PreIndex(_) | Mode::PostIndex(_)) {
            mask |= bit(self.rn as u32);
        }
        mask
    }
}

/// Most instructions in an exclusive block (load-exclusive to store-exclusive).
pub const MAX_BLOCK: usize = 8;

/// What the master's sandbox runs for one agreed access: one load or store, or an exclusive
/// block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// The access (for an exclusive block, its load-exclusive).
    pub access: Access,
    words: [u32; MAX_BLOCK],
    pub len: usize,
}

/// The registers a register-only instruction of an exclusive block reads and writes (bit i:
/// xi; the zero register is in neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RegisterOp {
    reads: u32,
    writes: u32,
}

/// Bit `r` unless `r` is 31 (the zero register where this is called).
fn bit(r: u32) -> u32 {
    if r < 31 { 1 << r } else { 0 }
}

/// Whether a logical immediate's (N, imms) pair is a valid bitmask (DecodeBitMasks: an element
/// size is found and the run of ones is not the whole element).
fn bitmask_valid(sf: bool, n: u32, imms: u32) -> bool {
    if !sf && n == 1 {
        return false;
    }
    let combined = (n << 6) | (!imms & 0x3f);
    if combined < 2 {
        return false; // element size below 2 bits: reserved
    }
    let len = 31 - combined.leading_zeros();
    let levels = (1 << len) - 1;
    imms & levels != levels
}

/// Decodes an instruction between a load-exclusive and its store-exclusive. `None` when it is
/// not data processing at all (a branch, a load or store, a system instruction: the block is
/// not closed); otherwise the registers it reads and writes, or why the master cannot run it.
///
/// Accepted: the ARMv8.0 base data-processing instructions that read and write nothing but
/// x0–x30 (and the zero register as a source): add/sub (immediate, shifted and extended
/// register) and the logical operations without setting flags, move wide, bitfield, extract,
/// the two-source shifts and divisions, the one-source bit and byte reversals and counts, and
/// the three-source multiplies. Refused: anything setting or reading the condition flags (the
/// write set does not describe NZCV), reading the pc (adr, adrp), reading or writing sp,
/// writing the zero register, and every other encoding (unallocated, CRC32, pointer
/// authentication, memory tagging, later extensions) by name.
fn register_op(word: u32) -> Option<Result<RegisterOp, &'static str>> {
    const FLAGS: &str =
        "exclusive block: sets or reads the condition flags, which the executor does not carry";
    const OTHER: &str = "exclusive block: a data-processing instruction the executor does not know (unallocated or not ARMv8.0 base)";
    const SP_READ: &str = "exclusive block: reads the stack pointer";
    let sf = bits(word, 31, 31) == 1;
    let rd = bits(word, 4, 0);
    let rn = bits(word, 9, 5);
    let rm = bits(word, 20, 16);
    let (reads, rd_read): (u32, bool) = if bits(word, 28, 26) == 0b100 {
        // Data processing, immediate.
        match bits(word, 25, 23) {
            0b000 | 0b001 => return Some(Err("exclusive block: reads the pc (adr, adrp)")),
            0b010 => {
                // add/sub immediate: rd and rn are sp when 31.
                if bits(word, 29, 29) == 1 {
                    return Some(Err(FLAGS));
                }
                if rd == 31 {
                    return Some(Err("exclusive block: writes sp or the zero register"));
                }
                if rn == 31 {
                    return Some(Err(SP_READ));
                }
                (bit(rn), false)
            }
            0b100 => {
                // Logical immediate: rd is sp when 31 (but for ands), rn is the zero register.
                if bits(word, 30, 29) == 0b11 {
                    return Some(Err(FLAGS));
                }
                if !bitmask_valid(sf, bits(word, 22, 22), bits(word, 15, 10)) {
                    return Some(Err(OTHER));
                }
                (bit(rn), false)
            }
            0b101 => {
                // Move wide: movn, movz, movk (which keeps the other bits of rd).
                let opc = bits(word, 30, 29);
                if opc == 0b01 || (!sf && bits(word, 22, 22) == 1) {
                    return Some(Err(OTHER));
                }
                (0, opc == 0b11)
            }
            0b110 => {
                // Bitfield: sbfm, bfm (which keeps bits of rd), ubfm.
                let opc = bits(word, 30, 29);
                let n = bits(word, 22, 22) == 1;
                if opc == 0b11 || n != sf || (!sf && (bits(word, 21, 21) | bits(word, 15, 15)) == 1)
                {
                    return Some(Err(OTHER));
                }
                (bit(rn), opc == 0b01)
            }
            0b111 => {
                // Extract.
                let n = bits(word, 22, 22) == 1;
                if bits(word, 30, 29) != 0
                    || bits(word, 21, 21) != 0
                    || n != sf
                    || (!sf && bits(word, 15, 15) == 1)
                {
                    return Some(Err(OTHER));
                }
                (bit(rn) | bit(rm), false)
            }
            _ => return Some(Err(OTHER)), // add/sub with tags (ARMv8.5)
        }
    } else if bits(word, 27, 25) == 0b101 {
        // Data processing, register: op0 (30), op1 (28), op2 (24:21).
        let op1 = bits(word, 28, 28);
        let op2 = bits(word, 24, 21);
        let s = bits(word, 29, 29) == 1;
        match (op1, op2) {
            (0, 0b0000..=0b0111) => {
                // Logical, shifted register: all 31s are the zero register.
                if bits(word, 30, 29) == 0b11 {
                    return Some(Err(FLAGS));
                }
                if !sf && bits(word, 15, 15) == 1 {
                    return Some(Err(OTHER));
                }
                (bit(rn) | bit(rm), false)
            }
            (0, _) if op2 & 1 == 0 => {
                // Add/sub, shifted register: all 31s are the zero register.
                if s {
                    return Some(Err(FLAGS));
                }
                if bits(word, 23, 22) == 0b11 || (!sf && bits(word, 15, 15) == 1) {
                    return Some(Err(OTHER));
                }
                (bit(rn) | bit(rm), false)
            }
            (0, _) => {
                // Add/sub, extended register: rd and rn are sp when 31.
                if s {
                    return Some(Err(FLAGS));
                }
                if bits(word, 23, 22) != 0 || bits(word, 12, 10) > 4 {
                    return Some(Err(OTHER));
                }
                if rd == 31 {
                    return Some(Err("exclusive block: writes sp or the zero register"));
                }
                if rn == 31 {
                    return Some(Err(SP_READ));
                }
                (bit(rn) | bit(rm), false)
            }
            (1, 0b0000 | 0b0010 | 0b0100) => {
                // With carry, flag manipulation, conditional compare, conditional select.
                return Some(Err(FLAGS));
            }
            (1, 0b0110) if bits(word, 30, 30) == 0 => {
                // Two-source: udiv, sdiv, lslv, lsrv, asrv, rorv.
                if s || !matches!(
                    bits(word, 15, 10),
                    0b000010 | 0b000011 | 0b001000..=0b001011
                ) {
                    return Some(Err(OTHER));
                }
                (bit(rn) | bit(rm), false)
            }
            (1, 0b0110) => {
                // One-source: rbit, rev16, rev32/rev, rev, clz, cls.
                let opcode = bits(word, 15, 10);
                if s || rm != 0 || opcode > 0b000101 || (!sf && opcode == 0b000011) {
                    return Some(Err(OTHER));
                }
                (bit(rn), false)
            }
            (1, 0b1000..=0b1111) => {
                // Three-source: madd, msub, smaddl, smsubl, smulh, umaddl, umsubl, umulh.
                let op31 = bits(word, 23, 21);
                let o0 = bits(word, 15, 15);
                let ra = bits(word, 14, 10);
                let valid = bits(word, 30, 29) == 0
                    && match (sf, op31) {
                        (_, 0b000) => true,
                        (true, 0b001 | 0b101) => true,
                        (true, 0b010 | 0b110) => o0 == 0 && ra == 31,
                        _ => false,
                    };
                if !valid {
                    return Some(Err(OTHER));
                }
                (bit(rn) | bit(rm) | bit(ra), false)
            }
            _ => return Some(Err(OTHER)),
        }
    } else {
        return None;
    };
    if rd == 31 {
        return Some(Err("exclusive block: writes sp or the zero register"));
    }
    let reads = reads | if rd_read { bit(rd) } else { 0 };
    Some(Ok(RegisterOp {
        reads,
        writes: bit(rd),
    }))
}

impl Block {
    /// The access at `words[0]`, with the rest of its exclusive block if it opens one.
    ///
    /// An exclusive block is a load-exclusive, register-only instructions (see below), and a
    /// store-exclusive of the same size to the same base register, at most [`MAX_BLOCK`] words.
    /// Refused, besides what [`Access::decode`] refuses: a load-exclusive into its own base; a
    /// store-exclusive of another size (the region check covers the load's bytes); an
    /// instruction in between that reads or writes the base (see the module documentation),
    /// sets or reads the condition flags, reads the pc, reads or writes sp, writes the zero
    /// register, or is not one of the ARMv8.0 base data-processing instructions the decoder
    /// knows; and a block that names every one of x0–x28 (an executor that loads the registers
    /// from a frame, as the host tests' does, needs one of them for the frame's address).
    pub fn decode(words: &[u32]) -> Result<Block, Unsupported> {
        let Some(&first) = words.first() else {
            return Err(Unsupported::Invalid {
                bytes: [0; 15],
                len: 0,
            });
        };
        let access = Access::decode(first)?;
        let mut block = Block {
            access,
            words: [0; MAX_BLOCK],
            len: 1,
        };
        block.words[0] = first;
        if access.op != Op::LoadExclusive {
            return Ok(block);
        }
        // The first word and the one refused.
        let refuse = |word: u32, reason| {
            let mut bytes = [0u8; 15];
            bytes[..4].copy_from_slice(&first.to_le_bytes());
            bytes[4..8].copy_from_slice(&word.to_le_bytes());
            Unsupported::Instruction {
                bytes,
                len: 8,
                reason,
            }
        };
        if access.rt == access.rn {
            return Err(refusal(
                first,
                "exclusive block: the load-exclusive loads into its own base register",
            ));
        }
        let base = 1u32 << access.rn;
        for &word in words.iter().skip(1).take(MAX_BLOCK - 1) {
            if let Ok(store) = Access::decode(word)
                && store.op == Op::StoreExclusive
                && store.rn == access.rn
            {
                if store.size != access.size {
                    return Err(refuse(
                        word,
                        "exclusive block: the store-exclusive's size differs from the load-exclusive's",
                    ));
                }
                block.words[block.len] = word;
                block.len += 1;
                if !(0..29).any(|r| block.named() & (1 << r) == 0) {
                    return Err(refusal(
                        first,
                        "exclusive block: names every register the executor could use for its frame",
                    ));
                }
                return Ok(block);
            }
            if word & 0xffc0_0000 == 0xd500_0000 {
                return Err(refuse(
                    word,
                    "exclusive block: a system instruction or system-register access (not modelled by the executor)",
                ));
            }
            match register_op(word) {
                None => break,
                Some(Err(reason)) => return Err(refuse(word, reason)),
                Some(Ok(op)) if op.writes & base != 0 => {
                    return Err(refuse(
                        word,
                        "exclusive block: writes the exclusive's base register",
                    ));
                }
                Some(Ok(op)) if op.reads & base != 0 => {
                    return Err(refuse(
                        word,
                        "exclusive block: reads the exclusive's base register (the master's rebased address)",
                    ));
                }
                Some(Ok(_)) => {
                    block.words[block.len] = word;
                    block.len += 1;
                }
            }
        }
        Err(refusal(
            first,
            "a load-exclusive not closed by a store-exclusive to the same address within a few register-only instructions",
        ))
    }

    pub fn words(&self) -> &[u32] {
        &self.words[..self.len]
    }

    /// The general-purpose registers the block may write when it runs: bit i for xi (i < 31);
    /// never bit 31 (sp, refused by [`Block::decode`], and the zero register).
    ///
    /// It is the union, over the block's words, of: a load's transferred registers (rt, and rt2
    /// of a pair); the base register of a pre- or post-indexed access (its write-back); a
    /// store-exclusive's status register; the destination of each register-only instruction
    /// of an exclusive block. Registers written as 32-bit W registers count (their upper half
    /// is zeroed). The set is exact or larger (a conditional store-exclusive status always
    /// counts); the condition flags, sp and the FP/SIMD registers are never written by a
    /// decoded block.
    pub fn writes(&self) -> u32 {
        let mut mask = self.access.writes();
        for &word in self.words().iter().skip(1) {
            mask |= match register_op(word) {
                Some(Ok(op)) => op.writes,
                _ => Access::decode(word).map_or(0, |a| a.writes()),
            };
        }
        mask
    }

    /// The replica addresses the block accesses with `regs` (its exclusive's store accesses
    /// the same bytes), or why it cannot run there: an exclusive or acquire/release access not
    /// aligned to its size (an alignment fault, in the master), or bytes that wrap around the
    /// end of the address space. The master must check the range against the region and call
    /// this before running the block.
    pub fn span(&self, regs: &Registers) -> Result<Range<u64>, Unsupported> {
        self.access.span(regs)
    }

    /// Every register any word of the block may name (all 5-bit register fields).
    fn named(&self) -> u32 {
        let mut mask = 0u32;
        for &w in self.words() {
            for (hi, lo) in [(4, 0), (9, 5), (14, 10), (20, 16)] {
                mask |= 1 << bits(w, hi, lo);
            }
        }
        mask
    }
}

/// The register the instruction `word` writes (0–30, or 31 for sp) and how many of its bits (32
/// for a W register): where a corrupted instruction result lands. `None` for instructions that
/// write no general-purpose register (stores, compares into the zero register, system
/// instructions) or change the flow of control (the next instruction would not follow).
pub fn result_register(word: u32) -> Option<(usize, u32)> {
    let rd = bits(word, 4, 0) as usize;
    let width = if bits(word, 31, 31) == 1 { 64 } else { 32 };
    let zero_or = |sp_allowed: bool| match rd {
        31 if sp_allowed => Some((31, width)),
        31 => None,
        r => Some((r, width)),
    };
    let flags = bits(word, 29, 29) == 1;
    match bits(word, 28, 25) {
        // Data processing, immediate.
        0b1000 | 0b1001 => match bits(word, 25, 23) {
            0b000 | 0b001 => (rd != 31).then_some((rd, 64)), // adr, adrp
            0b010 | 0b011 => zero_or(!flags),                // add/sub: sp unless flags
            0b100 => zero_or(bits(word, 30, 29) != 0b11),    // logical: sp unless ands
            _ => zero_or(false),                             // move wide, bitfield, extract
        },
        // Data processing, register.
        0b0101 | 0b1101 => {
            if bits(word, 28, 21) == 0b1101_0010 {
                return None; // conditional compare: flags only
            }
            let extended_add = bits(word, 28, 24) == 0b01011 && bits(word, 21, 21) == 1;
            zero_or(extended_add && !flags)
        }
        // Loads and stores.
        0b0100 | 0b0110 | 0b1100 | 0b1110 => {
            if bits(word, 26, 26) == 1 {
                return None; // FP/SIMD
            }
            if bits(word, 29, 27) == 0b011 {
                // Load register (literal); opc 11 is a prefetch.
                return match bits(word, 31, 30) {
                    0b00 => Some((rd, 32)),
                    0b01 | 0b10 => Some((rd, 64)),
                    _ => None,
                };
            }
            let access = Access::decode(word).ok()?;
            let loaded = matches!(access.op, Op::Load | Op::LoadPair | Op::LoadAcquire);
            (loaded && access.rt != 31).then_some((access.rt, 8 * access.size.max(4) as u32))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodings from GNU as (aarch64-linux-gnu-as -march=armv8.1-a).
    #[test]
    fn decodes_a_table_of_real_encodings() {
        use Mode::*;
        use Op::*;
        /// Encoding, then what it decodes to: op, size, rt, rt2, rn, addressing.
        type Row = (u32, Op, usize, usize, Option<usize>, usize, Mode);
        let table: &[Row] = &[
            (0xf940_0020, Load, 8, 0, None, 1, Offset(0)), // ldr x0, [x1]
            (0xf940_0862, Load, 8, 2, None, 3, Offset(16)), // ldr x2, [x3, #16]
            (0xb900_08a4, Store, 4, 4, None, 5, Offset(8)), // str w4, [x5, #8]
            (0x3940_0ce6, Load, 1, 6, None, 7, Offset(3)), // ldrb w6, [x7, #3]
            (0x7980_0528, Load, 2, 8, None, 9, Offset(2)), // ldrsh x8, [x9, #2]
            (0xb980_056a, Load, 4, 10, None, 11, Offset(4)), // ldrsw x10, [x11, #4]
            (0xf85f_81ac, Load, 8, 12, None, 13, Offset(-8)), // ldur x12, [x13, #-8]
            (0xf840_8dee, Load, 8, 14, None, 15, PreIndex(8)), // ldr x14, [x15, #8]!
            (0xf801_0630, Store, 8, 16, None, 17, PostIndex(16)), // str x16, [x17], #16
            (
                0xf874_7a72,
                Load,
                8,
                18,
                None,
                19,
                Register {
                    rm: 20,
                    extend: Extend::Lsl,
                    shift: 3,
                },
            ), // ldr x18, [x19, x20, lsl #3]
            (
                0xb837_5ad5,
                Store,
                4,
                21,
                None,
                22,
                Register {
                    rm: 23,
                    extend: Extend::Uxtw,
                    shift: 2,
                },
            ), // str w21, [x22, w23, uxtw #2]
            (0xa941_0440, LoadPair, 8, 0, Some(1), 2, Offset(16)), // ldp x0, x1, [x2, #16]
            (0x29bf_10a3, StorePair, 4, 3, Some(4), 5, PreIndex(-8)), // stp w3, w4, [x5, #-8]!
            (0xa8c2_1d06, LoadPair, 8, 6, Some(7), 8, PostIndex(32)), // ldp x6, x7, [x8], #32
            (0xc85f_7d49, LoadExclusive, 8, 9, None, 10, Offset(0)), // ldxr x9, [x10]
            (0x885f_fdee, LoadExclusive, 4, 14, None, 15, Offset(0)), // ldaxr w14, [x15]
            (0xc8df_fe93, LoadAcquire, 8, 19, None, 20, Offset(0)), // ldar x19, [x20]
            (0xc89f_fed5, StoreRelease, 8, 21, None, 22, Offset(0)), // stlr x21, [x22]
            (0xf940_0000, Load, 8, 0, None, 0, Offset(0)), // ldr x0, [x0]
        ];
        for &(word, op, size, rt, rt2, rn, mode) in table {
            let a = Access::decode(word).unwrap_or_else(|e| panic!("{word:08x}: {e}"));
            assert_eq!(
                (a.op, a.size, a.rt, a.rt2, a.rn, a.mode),
                (op, size, rt, rt2, rn, mode),
                "{word:08x}"
            );
        }
        // stxr w11, x12, [x13] and stlxr w16, w17, [x18]: the status register.
        let s = Access::decode(0xc80b_7dac).unwrap();
        assert_eq!(
            (s.op, s.rs, s.rt, s.rn, s.size),
            (StoreExclusive, Some(11), 12, 13, 8)
        );
        let s = Access::decode(0x8810_fe51).unwrap();
        assert_eq!((s.rs, s.rt, s.size), (Some(16), 17, 4));
    }

    #[test]
    fn refuses_what_it_cannot_execute_naming_the_bytes() {
        for (word, reason) in [
            (0xf940_07e1, "stack pointer"),       // ldr x1, [sp, #8]
            (0x3dc0_0020, "FP/SIMD"),             // ldr q0, [x1]
            (0xf820_0041, "LSE atomics"),         // ldadd x0, x1, [x2]
            (0xd50b_7423, "not a load or store"), // dc zva, x3
            (0xc87f_0440, "exclusive pairs"),     // ldxp x0, x1, [x2]
            (0xf840_8def, "writes back"),         // ldr x15, [x15, #8]!
        ] {
            let e = Access::decode(word).unwrap_err();
            let text = format!("{e}");
            assert!(text.contains(reason), "{word:08x}: {text}");
            let le = word.to_le_bytes();
            assert!(
                text.starts_with(&format!(
                    "instruction {:02x} {:02x} {:02x} {:02x}",
                    le[0], le[1], le[2], le[3]
                )),
                "{text}"
            );
        }
    }

    /// What rustc emits for `AtomicU64::fetch_add` on ARMv8.0 (objdump of shm-demo):
    /// `ldaxr x15, [x14]; add x15, x15, #1; stlxr w16, x15, [x14]; cbnz w16, retry`.
    #[test]
    fn an_exclusive_block_decodes_as_one() {
        let words = [0xc85f_fdcf, 0x9100_05ef, 0xc810_fdcf, 0x35ff_ffb0];
        let block = Block::decode(&words).unwrap();
        assert_eq!(block.len, 3, "up to and with the store-exclusive");
        assert_eq!(block.access.op, Op::LoadExclusive);
        assert_eq!(block.words(), &words[..3]);
        // A load-exclusive with no store-exclusive after it (a branch first) is refused.
        let lone = [0xc85f_fdcf, 0x1400_0000, 0xc810_fdcf];
        let e = Block::decode(&lone).unwrap_err();
        assert!(
            format!("{e}").contains("not closed by a store-exclusive"),
            "{e}"
        );
    }

    /// Encodings from GNU as (aarch64-linux-gnu-as, then objdump).
    #[test]
    fn result_registers_of_real_encodings() {
        let table: &[(u32, Option<(usize, u32)>)] = &[
            (0x91000420, Some((0, 64))),  // add x0, x1, #1
            (0x11000420, Some((0, 32))),  // add w0, w1, #1
            (0xd10043ff, Some((31, 64))), // sub sp, sp, #16
            (0xf100043f, None),           // cmp x1, #1 (subs xzr)
            (0x8b020020, Some((0, 64))),  // add x0, x1, x2
            (0xeb02003f, None),           // cmp x1, x2
            (0xaa0103e0, Some((0, 64))),  // mov x0, x1 (orr)
            (0xd2800540, Some((0, 64))),  // mov x0, #42 (movz)
            (0x9b027c20, Some((0, 64))),  // mul x0, x1, x2
            (0x9a821020, Some((0, 64))),  // csel x0, x1, x2, ne
            (0xfa421024, None),           // ccmp x1, x2, #4, ne
            (0xf9400420, Some((0, 64))),  // ldr x0, [x1, #8]
            (0x39400420, Some((0, 32))),  // ldrb w0, [x1, #1]
            (0xa9400841, Some((1, 64))),  // ldp x1, x2, [x2]
            (0xf9000420, None),           // str x0, [x1, #8]
            (0x90000000, Some((0, 64))),  // adrp x0, 0
            (0x94000000, None),           // bl 0
            (0xd65f03c0, None),           // ret
            (0xd4000001, None),           // svc #0
            (0xd503201f, None),           // nop
        ];
        for &(word, expected) in table {
            assert_eq!(result_register(word), expected, "{word:#010x}");
        }
    }
}
