//! x86_64: decoding a faulting access with `iced-x86`, to decide whether the master's sandbox
//! may run it and what it may change.
//!
//! The sandbox runs the instruction once, at the replicas' own addresses, with their registers:
//! nothing is rebased. [`decode`] tells a plain access ([`Access`]: one memory operand) from a
//! string instruction ([`StringOp`]) and refuses, by name, what it cannot fully describe. What
//! it accepts comes with the bytes it accesses ([`Access::span`]), for the master to check
//! against the region, and the registers it may write ([`Access::writes`],
//! [`StringOp::writes`]), for the sandbox to check the run against.
//!
//! A string instruction is planned in chunks: as many iterations ([`StringOp::count`]) as fit
//! ([`StringOp::fit`]) in the shared region and, for an operand in the replica's own memory, in
//! a bounce buffer the master copies that memory through ([`StringOp::checked_span`]);
//! [`StringOp::rebase`] sets rcx to the chunk and moves rsi or rdi onto the bounce buffer's
//! address, and [`StringOp::result`] gives the replica's registers after the chunk and whether
//! the instruction is finished.
//!
//! Some refusals give rebasing as their reason (an address register that is also an operand or
//! cmpxchg's rax, a base that is also the index, an absolute address): they date from when the
//! master rebased the access onto its own mapping of the region, and are kept, stricter than
//! the sandbox needs, until they are reviewed.
//!
//! The tests run every accepted instruction on an x86_64 host with an executor of their own
//! (`tests/common/executor.rs`).

use core::ops::Range;

use iced_x86::{
    Decoder, DecoderOptions, Instruction, InstructionInfoFactory, Mnemonic, OpAccess, OpKind,
    Register,
};

use crate::Unsupported;

/// General-purpose registers in encoding order (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8–r15),
/// and the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Registers {
    pub gpr: [u64; 16],
    pub rflags: u64,
}

/// Indices in [`Registers::gpr`].
pub const RAX: usize = 0;
pub const RCX: usize = 1;
pub const RSP: usize = 4;
pub const RSI: usize = 6;
pub const RDI: usize = 7;

/// The direction flag: string instructions walk down when it is set.
const DF: u64 = 0x400;
/// The zero flag: repe/repne stop on it.
const ZF: u64 = 0x40;

/// The flags an executed instruction may set: CF, PF, AF, ZF, SF, DF, OF. Everything else keeps
/// the replica's value (TF would single-step the master).
pub const FLAGS: u64 = 0x0cd5;

/// Instructions executed: plain moves and read-modify-write ALU forms, exchanges and the locked
/// atomics, with one memory operand addressed by base (+ index × scale) + displacement.
const SUPPORTED: &[Mnemonic] = &[
    Mnemonic::Mov,
    Mnemonic::Movzx,
    Mnemonic::Movsx,
    Mnemonic::Movsxd,
    Mnemonic::Movbe,
    Mnemonic::Add,
    Mnemonic::Adc,
    Mnemonic::Sub,
    Mnemonic::Sbb,
    Mnemonic::And,
    Mnemonic::Or,
    Mnemonic::Xor,
    Mnemonic::Cmp,
    Mnemonic::Test,
    Mnemonic::Inc,
    Mnemonic::Dec,
    Mnemonic::Neg,
    Mnemonic::Not,
    Mnemonic::Xchg,
    Mnemonic::Cmpxchg,
    Mnemonic::Xadd,
    Mnemonic::Bt,
    Mnemonic::Bts,
    Mnemonic::Btr,
    Mnemonic::Btc,
];

/// An instruction the master's sandbox may run: one memory operand, or a string instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Access(Access),
    String(StringOp),
}

impl Op {
    /// The registers the instruction may write: [`Access::writes`] or [`StringOp::writes`].
    pub fn writes(&self) -> u32 {
        match self {
            Op::Access(a) => a.writes(),
            Op::String(s) => s.writes(),
        }
    }
}

/// Decodes the instruction at the start of `bytes` and checks that the sandbox may run it.
pub fn decode(bytes: &[u8]) -> Result<Op, Unsupported> {
    let (instr, copy, n) = decode_one(bytes)?;
    if is_string(&instr) {
        StringOp::from_instruction(&instr, copy).map(Op::String)
    } else {
        Access::decode(&copy[..n]).map(Op::Access)
    }
}

fn decode_one(bytes: &[u8]) -> Result<(Instruction, [u8; 15], usize), Unsupported> {
    let mut copy = [0u8; 15];
    let n = bytes.len().min(15);
    copy[..n].copy_from_slice(&bytes[..n]);
    let mut decoder = Decoder::with_ip(64, &copy[..n], 0, DecoderOptions::NONE);
    let instr: Instruction = decoder.decode();
    if instr.is_invalid() {
        return Err(Unsupported::Invalid {
            bytes: copy,
            len: n,
        });
    }
    Ok((instr, copy, n))
}

/// Whether an operand is a string instruction's implicit [rsi] or [rdi] (any address size).
fn is_string(instr: &Instruction) -> bool {
    (0..instr.op_count()).any(|i| {
        matches!(
            instr.op_kind(i),
            OpKind::MemorySegSI
                | OpKind::MemorySegESI
                | OpKind::MemorySegRSI
                | OpKind::MemorySegDI
                | OpKind::MemorySegEDI
                | OpKind::MemorySegRDI
                | OpKind::MemoryESDI
                | OpKind::MemoryESEDI
                | OpKind::MemoryESRDI
        )
    })
}

/// The general-purpose register the instruction at the start of `bytes` writes, how many of its
/// bits it writes, and the instruction's length: where a corrupted instruction result lands.
/// `None` for instructions that write none (stores, compares) or change the flow of control
/// (the next instruction would not follow). The stack pointer only when nothing else is written.
pub fn result_register(bytes: &[u8]) -> Option<(usize, u32, usize)> {
    let (instr, _, _) = decode_one(bytes).ok()?;
    if instr.flow_control() != iced_x86::FlowControl::Next {
        return None;
    }
    let mut factory = InstructionInfoFactory::new();
    let mut stack = None;
    for used in factory.info(&instr).used_registers() {
        let written = matches!(
            used.access(),
            OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite | OpAccess::ReadCondWrite
        );
        let Some(r) = gpr(used.register()).filter(|_| written) else {
            continue;
        };
        let found = (r, 8 * used.register().size() as u32, instr.len());
        if r != RSP {
            return Some(found);
        }
        stack = Some(found);
    }
    stack
}

/// A decoded access to (possibly) shared memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    bytes: [u8; 15],
    pub len: usize,
    pub mnemonic: Mnemonic,
    /// Bytes of memory accessed.
    pub size: usize,
    pub reads: bool,
    pub writes: bool,
    base: Option<usize>,
    index: Option<usize>,
    scale: u32,
    displacement: u64,
    /// [`Access::writes`].
    regs_written: u32,
}

/// The bit of the flags in the `writes()` sets (above the sixteen general-purpose registers).
pub const RFLAGS_WRITTEN: u32 = 1 << 16;

/// [`Access::writes`] from the decoder's own table.
fn written_registers(instr: &Instruction) -> u32 {
    use Mnemonic::*;
    let mnemonic = instr.mnemonic();
    let mut mask = 0;
    for i in 0..instr.op_count() {
        if instr.op_kind(i) != OpKind::Register {
            continue;
        }
        let written = match mnemonic {
            Cmp | Test | Bt | Bts | Btr | Btc => false,
            Xchg | Xadd => true,
            _ => i == 0,
        };
        if let Some(r) = gpr(instr.op_register(i)).filter(|_| written) {
            mask |= 1 << r;
        }
    }
    if mnemonic == Cmpxchg {
        mask |= 1 << RAX;
    }
    if !matches!(mnemonic, Mov | Movzx | Movsx | Movsxd | Movbe | Xchg | Not) {
        mask |= RFLAGS_WRITTEN;
    }
    mask
}

fn gpr(register: Register) -> Option<usize> {
    let full = register.full_register();
    (full.is_gpr64()).then(|| full as usize - Register::RAX as usize)
}

impl Access {
    /// Decodes an instruction with one explicit memory operand (not a string instruction: see
    /// [`decode`]).
    ///
    /// Refused, each with a reason naming it: mnemonics outside the supported list; rep,
    /// xacquire and xrelease prefixes; not exactly one memory operand; fs/gs-relative,
    /// rip-relative, 32-bit and absolute (register-less) addresses; a base that is also the
    /// index; register operands that are not general-purpose registers (segment registers, as
    /// in `mov ss, [mem]`) and vector registers; the stack pointer in any role; the bit tests
    /// with a register bit offset (they reach beyond the operand); an address register that is
    /// also read as a value, explicitly or implicitly (cmpxchg's rax); and any register write
    /// the decoder's own table ([`Access::writes`]) does not describe. The refusals of absolute
    /// addresses, of a base that is also the index and of address registers read as values date
    /// from the master that rebased accesses (see the module documentation).
    pub fn decode(bytes: &[u8]) -> Result<Access, Unsupported> {
        let (instr, copy, _) = decode_one(bytes)?;
        let len = instr.len();
        let unsupported = |reason| Unsupported::Instruction {
            bytes: copy,
            len,
            reason,
        };
        let mnemonic = instr.mnemonic();
        if !SUPPORTED.contains(&mnemonic) {
            return Err(unsupported("not a supported shared-memory access"));
        }
        if instr.has_rep_prefix() || instr.has_repne_prefix() {
            return Err(unsupported(
                "rep, xacquire or xrelease prefix (repeated string operations are decoded apart)",
            ));
        }
        let memory = (0..instr.op_count())
            .filter(|&i| instr.op_kind(i) == OpKind::Memory)
            .count();
        if memory != 1 {
            return Err(unsupported("not exactly one memory operand"));
        }
        if instr.segment_prefix() != Register::None
            && matches!(instr.memory_segment(), Register::FS | Register::GS)
        {
            return Err(unsupported("fs/gs-relative addressing"));
        }
        let address_register = |r: Register| match r {
            Register::None => Ok(None),
            Register::RIP => Err(unsupported("rip-relative addressing")),
            r if r.is_gpr64() => Ok(gpr(r)),
            Register::EIP => Err(unsupported("rip-relative addressing")),
            _ => Err(unsupported(
                "32-bit addressing (the address register is not a 64-bit register)",
            )),
        };
        let base = address_register(instr.memory_base())?;
        let index = address_register(instr.memory_index())?;
        if base.is_none() && index.is_none() {
            return Err(unsupported(
                "an absolute address (no register to move it onto the master's mapping)",
            ));
        }
        if base.is_some() && base == index {
            return Err(unsupported(
                "base and index are the same register (rebasing would move both terms)",
            ));
        }
        for i in 0..instr.op_count() {
            if instr.op_kind(i) != OpKind::Register {
                continue;
            }
            let r = instr.op_register(i);
            if r.is_segment_register() {
                return Err(unsupported("a segment register operand"));
            }
            if gpr(r).is_none() {
                return Err(unsupported(
                    "a register operand that is not a general-purpose register",
                ));
            }
        }
        if matches!(
            mnemonic,
            Mnemonic::Bt | Mnemonic::Bts | Mnemonic::Btr | Mnemonic::Btc
        ) && instr.op_kind(1) == OpKind::Register
        {
            return Err(unsupported(
                "a bit test with a register bit offset (it reaches beyond the operand)",
            ));
        }
        let mut factory = InstructionInfoFactory::new();
        let info = factory.info(&instr);
        let (mut reads, mut writes) = (false, false);
        for m in info.used_memory() {
            match m.access() {
                OpAccess::Read | OpAccess::CondRead => reads = true,
                OpAccess::Write | OpAccess::CondWrite => writes = true,
                OpAccess::ReadWrite | OpAccess::ReadCondWrite => {
                    reads = true;
                    writes = true;
                }
                _ => {}
            }
        }
        // Reads of each register by iced's account: an address register has one, for the
        // address; any other is a read of its value.
        let mut value_reads = [0u32; 16];
        let mut written_by_iced = 0u32;
        for used in info.used_registers() {
            let register = used.register();
            if register.is_xmm() || register.is_ymm() || register.is_zmm() {
                return Err(unsupported("vector registers (replicas are soft-float)"));
            }
            let Some(r) = gpr(register) else { continue };
            if r == RSP {
                return Err(unsupported("uses the stack pointer"));
            }
            let written = matches!(
                used.access(),
                OpAccess::Write
                    | OpAccess::CondWrite
                    | OpAccess::ReadWrite
                    | OpAccess::ReadCondWrite
            );
            if written {
                written_by_iced |= 1 << r;
            }
            if matches!(
                used.access(),
                OpAccess::Read | OpAccess::CondRead | OpAccess::ReadWrite | OpAccess::ReadCondWrite
            ) {
                value_reads[r] += 1;
            }
        }
        // A register both addressing the memory and read as a value (see the module docs).
        for i in 0..instr.op_count() {
            if instr.op_kind(i) == OpKind::Register {
                let r = gpr(instr.op_register(i));
                if r.is_some()
                    && (r == base || r == index)
                    && !matches!(info.op_access(i), OpAccess::Write | OpAccess::None)
                {
                    return Err(unsupported(
                        "the address register is also an operand (its value would be rebased)",
                    ));
                }
            }
        }
        if mnemonic == Mnemonic::Cmpxchg && (base == Some(RAX) || index == Some(RAX)) {
            return Err(unsupported(
                "cmpxchg's implicit rax is also an address register (it would compare the rebased value)",
            ));
        }
        for r in [base, index].into_iter().flatten() {
            if value_reads[r] > 1 {
                return Err(unsupported(
                    "an address register is also an implicit operand (its value would be rebased)",
                ));
            }
        }
        let regs_written = written_registers(&instr);
        if written_by_iced & !regs_written != 0
            || (instr.rflags_modified() != 0 && regs_written & RFLAGS_WRITTEN == 0)
        {
            return Err(unsupported(
                "writes registers the decoder does not describe",
            ));
        }
        Ok(Access {
            bytes: copy,
            len,
            mnemonic,
            size: instr.memory_size().size(),
            reads,
            writes,
            base,
            index,
            scale: instr.memory_index_scale(),
            displacement: instr.memory_displacement64(),
            regs_written,
        })
    }

    /// The registers the instruction may write when it runs: bit i for
    /// `gpr[i]` (encoding order: rax = 0, rcx = 1, ... r15 = 15), bit [`RFLAGS_WRITTEN`] (16)
    /// when it may change a status flag (CF, PF, AF, ZF, SF or OF, including leaving one
    /// undefined). A partial write (al, ax, eax: the latter zero-extends) counts as a write of
    /// the whole register. Never rsp (bit 4): instructions using it are refused.
    ///
    /// From the decoder's own table, not from iced's register usage: the first operand of
    /// the moves and ALU forms when it is a register, but for cmp, test and bt, which write
    /// only flags; both operands of xchg and xadd; rax for cmpxchg (conditionally: counted);
    /// the flags for everything but the moves (mov, movzx, movsx, movsxd, movbe), xchg and
    /// not. Exact or larger: [`Access::decode`] refuses an instruction that iced says writes
    /// anything outside it. The memory write is [`Access::writes`](field@Access::writes), a
    /// field.
    pub fn writes(&self) -> u32 {
        self.regs_written
    }

    /// The bytes the instruction accesses with `regs`: `address..address + size`, or `None`
    /// when they wrap around the end of the address space.
    pub fn span(&self, regs: &Registers) -> Option<Range<u64>> {
        let start = self.address(regs);
        Some(start..start.checked_add(self.size as u64)?)
    }

    /// The instruction's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The address the instruction accesses with registers `regs`.
    pub fn address(&self, regs: &Registers) -> u64 {
        let base = self.base.map_or(0, |b| regs.gpr[b]);
        let index = self.index.map_or(0, |i| regs.gpr[i]);
        base.wrapping_add(index.wrapping_mul(self.scale as u64))
            .wrapping_add(self.displacement)
    }
}

/// What a string instruction does per element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringKind {
    /// [rdi] ← [rsi]
    Movs,
    /// [rdi] ← rax
    Stos,
    /// rax ← [rsi]
    Lods,
    /// compare [rsi] with [rdi]
    Cmps,
    /// compare rax with [rdi]
    Scas,
}

/// How often a string instruction runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    Once,
    /// rcx times.
    Rep,
    /// rcx times, or until an element differs (cmps, scas).
    Repe,
    /// rcx times, or until an element is equal (cmps, scas).
    Repne,
}

/// A string instruction: one element per iteration at [rsi] (source) and/or [rdi]
/// (destination), both moving up, or down when DF is set.
///
/// It runs in the master in *chunks*: as many iterations as fit, from the current addresses,
/// in the shared region, and, for an operand in the replica's own memory, in a bounce buffer
/// the master copies that memory through ([`StringOp::rebase`] points rsi or rdi at it). After
/// a chunk the replicas' rcx, rsi and rdi have moved on as the processor would have moved them;
/// when iterations are left, they stay at the instruction and run on themselves (faulting again
/// where it touches the region).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StringOp {
    bytes: [u8; 15],
    pub len: usize,
    pub kind: StringKind,
    /// Bytes per element.
    pub size: u64,
    pub repeat: Repeat,
}

impl StringOp {
    fn from_instruction(instr: &Instruction, bytes: [u8; 15]) -> Result<StringOp, Unsupported> {
        let len = instr.len();
        let unsupported = |reason| Unsupported::Instruction { bytes, len, reason };
        use Mnemonic::*;
        let kind = match instr.mnemonic() {
            Movsb | Movsw | Movsd | Movsq => StringKind::Movs,
            Stosb | Stosw | Stosd | Stosq => StringKind::Stos,
            Lodsb | Lodsw | Lodsd | Lodsq => StringKind::Lods,
            Cmpsb | Cmpsw | Cmpsd | Cmpsq => StringKind::Cmps,
            Scasb | Scasw | Scasd | Scasq => StringKind::Scas,
            _ => return Err(unsupported("not a supported string instruction")),
        };
        let wide = (0..instr.op_count()).all(|i| {
            !matches!(
                instr.op_kind(i),
                OpKind::MemorySegSI
                    | OpKind::MemorySegESI
                    | OpKind::MemorySegDI
                    | OpKind::MemorySegEDI
                    | OpKind::MemoryESDI
                    | OpKind::MemoryESEDI
            )
        });
        if !wide {
            return Err(unsupported("string addresses narrower than 64 bits"));
        }
        if matches!(instr.segment_prefix(), Register::FS | Register::GS) {
            return Err(unsupported("fs/gs-relative addressing"));
        }
        let compares = matches!(kind, StringKind::Cmps | StringKind::Scas);
        let repeat = match (instr.has_rep_prefix(), instr.has_repne_prefix()) {
            (false, false) => Repeat::Once,
            (true, _) if compares => Repeat::Repe,
            (_, true) if compares => Repeat::Repne,
            _ => Repeat::Rep,
        };
        Ok(StringOp {
            bytes,
            len,
            kind,
            size: instr.memory_size().size() as u64,
            repeat,
        })
    }

    /// The instruction's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Whether it reads [rsi].
    pub fn has_source(&self) -> bool {
        matches!(
            self.kind,
            StringKind::Movs | StringKind::Lods | StringKind::Cmps
        )
    }

    /// Whether it accesses [rdi].
    pub fn has_destination(&self) -> bool {
        self.kind != StringKind::Lods
    }

    /// Whether it writes [rdi].
    pub fn writes_destination(&self) -> bool {
        matches!(self.kind, StringKind::Movs | StringKind::Stos)
    }

    /// Iterations left.
    pub fn count(&self, regs: &Registers) -> u64 {
        match self.repeat {
            Repeat::Once => 1,
            _ => regs.gpr[RCX],
        }
    }

    pub fn backward(regs: &Registers) -> bool {
        regs.rflags & DF != 0
    }

    /// Elements that fit in `window` from the one at `addr` on, in the direction of travel: 0
    /// when the element at `addr` is not inside it (or would wrap around the address space).
    pub fn fit(&self, addr: u64, window: &Range<u64>, backward: bool) -> u64 {
        let Some(end) = addr.checked_add(self.size) else {
            return 0;
        };
        if addr < window.start || end > window.end {
            return 0;
        }
        if backward {
            (end - window.start) / self.size
        } else {
            (window.end - addr) / self.size
        }
    }

    /// The bytes `elements` elements from the one at `addr` on cover, clamped to the address
    /// space: the part of them inside `0..u64::MAX`, shorter than `elements × size` when they
    /// would run over either end (see [`StringOp::checked_span`]). Never panics.
    pub fn span(&self, addr: u64, elements: u64, backward: bool) -> Range<u64> {
        let (start, end) = self.exact_span(addr, elements, backward);
        let clamp = |x: i128| x.clamp(0, u64::MAX as i128) as u64;
        clamp(start)..clamp(end)
    }

    /// [`StringOp::span`], or `None` when it would not hold all `elements × size` bytes.
    pub fn checked_span(&self, addr: u64, elements: u64, backward: bool) -> Option<Range<u64>> {
        let (start, end) = self.exact_span(addr, elements, backward);
        let start = u64::try_from(start).ok()?;
        let end = u64::try_from(end).ok()?;
        Some(start..end)
    }

    /// The span without wrapping or clamping (both ends fit in an i128: below 2^68 in magnitude).
    fn exact_span(&self, addr: u64, elements: u64, backward: bool) -> (i128, i128) {
        let bytes = elements as i128 * self.size as i128;
        let addr = addr as i128;
        if backward {
            let top = addr + self.size as i128;
            (top - bytes, top)
        } else {
            (addr, addr + bytes)
        }
    }

    /// The registers the instruction may write, as [`Access::writes`]: rcx when repeated, rsi
    /// when it has a source, rdi when it has a destination, rax for lods, the flags
    /// ([`RFLAGS_WRITTEN`]) for cmps and scas; never rsp. Exact, but for a repeat that
    /// runs no iteration (rcx = 0: it writes nothing).
    pub fn writes(&self) -> u32 {
        let mut mask = 0;
        if self.repeat != Repeat::Once {
            mask |= 1 << RCX;
        }
        if self.has_source() {
            mask |= 1 << RSI;
        }
        if self.has_destination() {
            mask |= 1 << RDI;
        }
        if self.kind == StringKind::Lods {
            mask |= 1 << RAX;
        }
        if matches!(self.kind, StringKind::Cmps | StringKind::Scas) {
            mask |= RFLAGS_WRITTEN;
        }
        mask
    }

    /// Registers that run `chunk` iterations (rcx, when repeated) with the operands at the
    /// addresses `source` (rsi) and `destination` (rdi) where the sandbox sees them: the
    /// replica's own address for an operand in the region, the bounce buffer's for one in the
    /// replica's own memory. `None` keeps the register.
    pub fn rebase(
        &self,
        regs: &Registers,
        chunk: u64,
        source: Option<u64>,
        destination: Option<u64>,
    ) -> Registers {
        let mut moved = *regs;
        if self.repeat != Repeat::Once {
            moved.gpr[RCX] = chunk;
        }
        if let Some(s) = source {
            moved.gpr[RSI] = s;
        }
        if let Some(d) = destination {
            moved.gpr[RDI] = d;
        }
        moved
    }

    /// Iterations a chunk of `chunk` ran, seen in the registers `after` it.
    pub fn iterations(&self, chunk: u64, after: &Registers) -> u64 {
        match self.repeat {
            Repeat::Once => 1,
            _ => chunk.saturating_sub(after.gpr[RCX]),
        }
    }

    /// The replica's registers after a chunk of `chunk` iterations ran from the registers
    /// [`StringOp::rebase`] gave and left `after`: rcx, rsi and rdi moved on from the replica's
    /// own by the iterations done, rax and the flags as the instruction left them when it
    /// writes them; and whether the instruction is finished (its pc then moves past it).
    pub fn result(&self, before: &Registers, chunk: u64, after: &Registers) -> (Registers, bool) {
        let done_iterations = self.iterations(chunk, after);
        let step = done_iterations.wrapping_mul(self.size);
        let walk = |addr: u64| {
            if Self::backward(before) {
                addr.wrapping_sub(step)
            } else {
                addr.wrapping_add(step)
            }
        };
        let mut out = *before;
        if self.repeat != Repeat::Once {
            out.gpr[RCX] = before.gpr[RCX].saturating_sub(done_iterations);
        }
        if self.has_source() {
            out.gpr[RSI] = walk(before.gpr[RSI]);
        }
        if self.has_destination() {
            out.gpr[RDI] = walk(before.gpr[RDI]);
        }
        if self.kind == StringKind::Lods {
            out.gpr[0] = after.gpr[0];
        }
        if matches!(self.kind, StringKind::Cmps | StringKind::Scas) {
            out.rflags = (before.rflags & !FLAGS) | (after.rflags & FLAGS);
        }
        let zero = out.rflags & ZF != 0;
        let done = match self.repeat {
            Repeat::Once => true,
            _ if out.gpr[RCX] == 0 => true,
            Repeat::Repe => !zero,
            Repeat::Repne => zero,
            Repeat::Rep => false,
        };
        (out, done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real encodings (as assemblers emit them) and what they must decode to.
    #[test]
    fn decodes_a_table_of_real_encodings() {
        let table: &[(&[u8], Mnemonic, usize, bool, bool)] = &[
            (&[0x48, 0x8b, 0x03], Mnemonic::Mov, 8, true, false), // mov rax, [rbx]
            (&[0x89, 0x4b, 0x08], Mnemonic::Mov, 4, false, true), // mov [rbx+8], ecx
            (
                &[0x48, 0x89, 0x54, 0xce, 0x10],
                Mnemonic::Mov,
                8,
                false,
                true,
            ), // mov [rsi+rcx*8+16], rdx
            (&[0x0f, 0xb6, 0x07], Mnemonic::Movzx, 1, true, false), // movzx eax, byte [rdi]
            (&[0x48, 0x0f, 0xbf, 0x06], Mnemonic::Movsx, 2, true, false), // movsx rax, word [rsi]
            (&[0x48, 0x63, 0x03], Mnemonic::Movsxd, 4, true, false), // movsxd rax, dword [rbx]
            (&[0xc6, 0x03, 0x2a], Mnemonic::Mov, 1, false, true), // mov byte [rbx], 42
            (&[0x48, 0x01, 0x0b], Mnemonic::Add, 8, true, true),  // add [rbx], rcx
            (&[0x83, 0x2b, 0x01], Mnemonic::Sub, 4, true, true),  // sub dword [rbx], 1
            (&[0x48, 0x39, 0x03], Mnemonic::Cmp, 8, true, false), // cmp [rbx], rax
            (&[0x48, 0x87, 0x03], Mnemonic::Xchg, 8, true, true), // xchg [rbx], rax
            (
                &[0xf0, 0x48, 0x0f, 0xb1, 0x0b],
                Mnemonic::Cmpxchg,
                8,
                true,
                true,
            ), // lock cmpxchg [rbx], rcx
            (&[0xf0, 0x0f, 0xc1, 0x03], Mnemonic::Xadd, 4, true, true), // lock xadd [rbx], eax
            (&[0xf0, 0x48, 0xff, 0x03], Mnemonic::Inc, 8, true, true), // lock inc qword [rbx]
            (&[0x49, 0x8b, 0x04, 0x24], Mnemonic::Mov, 8, true, false), // mov rax, [r12]
        ];
        for &(bytes, mnemonic, size, reads, writes) in table {
            let a = Access::decode(bytes).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                (a.len, a.mnemonic, a.size, a.reads, a.writes),
                (bytes.len(), mnemonic, size, reads, writes),
                "{bytes:02x?}"
            );
        }
    }

    /// String instructions as compilers emit them (memcpy, memset, strlen-like loops).
    #[test]
    fn decodes_string_instructions_with_their_repeat() {
        use StringKind::*;
        let table: &[(&[u8], StringKind, u64, Repeat)] = &[
            (&[0xf3, 0xa4], Movs, 1, Repeat::Rep),       // rep movsb
            (&[0xf3, 0x48, 0xa5], Movs, 8, Repeat::Rep), // rep movsq
            (&[0xf3, 0x48, 0xab], Stos, 8, Repeat::Rep), // rep stosq
            (&[0xaa], Stos, 1, Repeat::Once),            // stosb
            (&[0x48, 0xad], Lods, 8, Repeat::Once),      // lodsq
            (&[0xf3, 0xa6], Cmps, 1, Repeat::Repe),      // repe cmpsb
            (&[0xf2, 0xae], Scas, 1, Repeat::Repne),     // repne scasb
            (&[0x66, 0xf3, 0xa5], Movs, 2, Repeat::Rep), // rep movsw
            (&[0xf3, 0xa5], Movs, 4, Repeat::Rep),       // rep movsd (the string one)
        ];
        for &(bytes, kind, size, repeat) in table {
            let Ok(Op::String(op)) = decode(bytes) else {
                panic!("{bytes:02x?}: {:?}", decode(bytes));
            };
            assert_eq!(
                (op.len, op.kind, op.size, op.repeat),
                (bytes.len(), kind, size, repeat),
                "{bytes:02x?}"
            );
        }
        // Plain accesses still decode as such.
        assert!(matches!(decode(&[0x48, 0x8b, 0x03]), Ok(Op::Access(_))));
        let refused: &[(&[u8], &str)] = &[
            (&[0x67, 0xf3, 0xa4], "narrower than 64 bits"), // rep movsb with 32-bit addresses
            (&[0xf3, 0x6e], "not a supported string"),      // rep outsb
            (&[0x64, 0xac], "fs/gs"),                       // lodsb fs:[rsi]
            (&[0xf2, 0x0f, 0x10, 0x03], "not a supported"), // movsd xmm0, [rbx] (SSE)
        ];
        for &(bytes, reason) in refused {
            let text = format!("{}", decode(bytes).unwrap_err());
            assert!(text.contains(reason), "{bytes:02x?}: {text}");
        }
    }

    #[test]
    fn string_chunks_stop_at_window_edges_in_either_direction() {
        let Ok(Op::String(movsq)) = decode(&[0xf3, 0x48, 0xa5]) else {
            panic!()
        };
        let page = 0x1000..0x2000;
        assert_eq!(movsq.fit(0x1000, &page, false), 512);
        assert_eq!(movsq.fit(0x1ff8, &page, false), 1);
        assert_eq!(movsq.fit(0x1ffc, &page, false), 0, "straddles the edge");
        assert_eq!(movsq.fit(0x1ff8, &page, true), 512);
        assert_eq!(movsq.fit(0x1000, &page, true), 1);
        assert_eq!(movsq.fit(0x0ff8, &page, true), 0, "outside");
        assert_eq!(movsq.span(0x1000, 3, false), 0x1000..0x1018);
        assert_eq!(movsq.span(0x1ff8, 3, true), 0x1fe8..0x2000);
    }

    #[test]
    fn refuses_what_it_cannot_execute_naming_the_bytes() {
        let table: &[(&[u8], &str)] = &[
            (&[0xf3, 0x48, 0xa5], "not a supported"), // rep movsq: see `decode`
            (&[0x48, 0x8b, 0x05, 0, 0, 0, 0], "rip-relative"), // mov rax, [rip]
            (&[0x48, 0x8b, 0x04, 0x24], "stack pointer"), // mov rax, [rsp]
            (&[0xff, 0x33], "not a supported"),       // push qword [rbx]
            (&[0x64, 0x48, 0x8b, 0x03], "fs/gs"),     // mov rax, fs:[rbx]
            (&[0x0f, 0x10, 0x03], "not a supported"), // movups xmm0, [rbx]
            (&[0x48, 0x89, 0x1b], "address register is also an operand"), // mov [rbx], rbx
            (&[0x0f, 0x0b], "not a supported"),       // ud2
            (&[0x48, 0x01, 0xd8], "not exactly one memory operand"), // add rax, rbx
        ];
        for &(bytes, reason) in table {
            let err = Access::decode(bytes).unwrap_err();
            let text = format!("{err}");
            assert!(text.contains(reason), "{bytes:02x?}: {text}");
            let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
            assert!(
                text.starts_with(&format!("instruction {}", hex.join(" "))),
                "{text}"
            );
        }
        assert!(matches!(
            Access::decode(&[0x0f, 0xff]),
            Err(Unsupported::Invalid { .. }) | Err(Unsupported::Instruction { .. })
        ));
    }

    #[test]
    fn result_registers_of_real_encodings() {
        const RAX: usize = 0;
        /// Register, bits written, instruction length.
        type Result = Option<(usize, u32, usize)>;
        let table: &[(&[u8], Result)] = &[
            (&[0x48, 0x01, 0xd8], Some((RAX, 64, 3))), // add rax, rbx
            (&[0x89, 0xd8], Some((RAX, 64, 2))),       // mov eax, ebx: zero-extends into rax
            (&[0x88, 0xd8], Some((RAX, 8, 2))),        // mov al, bl
            (&[0x48, 0x8b, 0x03], Some((RAX, 64, 3))), // mov rax, [rbx]
            (&[0x48, 0x89, 0x03], None),               // mov [rbx], rax
            (&[0x48, 0x39, 0xd8], None),               // cmp rax, rbx
            (&[0x74, 0x00], None),                     // je
            (&[0xc3], None),                           // ret
            (&[0x0f, 0x05], None),                     // syscall
            (&[0x53], Some((RSP, 64, 1))),             // push rbx: only rsp
            (&[0x5b], Some((3, 64, 1))),               // pop rbx: rbx, not rsp
            (&[0x48, 0x0f, 0xaf, 0xc3], Some((RAX, 64, 4))), // imul rax, rbx
        ];
        for &(bytes, expected) in table {
            assert_eq!(result_register(bytes), expected, "{bytes:02x?}");
        }
    }
}
