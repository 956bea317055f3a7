//! Copy & execute's plan for one agreed access, for either architecture (a runtime value, so
//! both are tested on any host): decode the instruction at the replicas' pc, check that it
//! stays in the shared region, split a string instruction into chunks over the region or a
//! bounce page, give the sandbox what to run, check that the instruction changed no register it
//! does not write, and compute the registers every replica continues with.
//!
//! The seL4 side only runs code in the sandbox ([`Sandbox`]) and reads or writes the replicas'
//! own memory ([`Private`]).

use alloc::format;
use alloc::string::String;
use core::ops::Range;

use romain_core::regs::{Arch, RegisterFile};

use crate::aarch64::{self, Block};
use crate::x86::{self, Access, Op, RDI, RSI, StringOp};

/// Why an access cannot be copied and executed: the program's fault, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// Where the instruction runs: a thread with only the shared region (at the replicas'
/// addresses), the code and, on x86_64, the bounce page.
pub trait Sandbox {
    /// Runs `code` from the registers `regs` (their pc is the sandbox's business) to its end;
    /// the registers after it.
    fn run(&mut self, code: &[u8], regs: &RegisterFile) -> Result<RegisterFile, Refused>;
    /// The bounce page, as the master sees it.
    fn bounce(&mut self) -> &mut [u8];
    /// Where the sandbox sees the bounce page.
    fn bounce_va(&self) -> u64;
}

/// The replicas' own memory, for the x86_64 string instructions that move data between it and
/// the region (`rep movsb` into or out of it, `repe cmpsb` against it).
pub trait Private {
    /// The leading replica's bytes at `addr` (the replicas agreed on them) into `buf`.
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Refused>;
    /// `bytes` written at `addr` in every replica.
    fn write(&mut self, addr: u64, bytes: &[u8]) -> Result<(), Refused>;
}

/// Bytes of private memory one chunk of a string instruction may cover: the bounce page.
pub const BOUNCE: u64 = 4096;

/// A group's shared region as copy & execute sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub arch: Arch,
    /// Where the replicas see it.
    pub span: Range<u64>,
    /// The sandbox test's mode (`CAE_LAX=1`): no range check, and every register change is one
    /// the decoder did not announce, as if it had accepted what it should not have.
    pub lax: bool,
}

impl Region {
    pub fn contains(&self, addr: u64) -> bool {
        self.span.contains(&addr)
    }

    /// Checks that `len` bytes at `addr` lie in the region (not in the lax mode).
    fn check(&self, addr: u64, len: u64) -> Result<(), Refused> {
        if self.lax {
            return Ok(());
        }
        let end = addr.checked_add(len);
        if !self.contains(addr) || end.is_none_or(|end| end > self.span.end) {
            return Err(Refused(format!(
                "access of {len} bytes at {addr:#x} leaves the shared region"
            )));
        }
        Ok(())
    }

    /// Executes the access at the start of `bytes` (the instruction at the replicas' pc) with
    /// `regs` once, in the sandbox (a string instruction: its next chunk); the registers every
    /// replica continues with.
    pub fn execute(
        &self,
        sandbox: &mut dyn Sandbox,
        bytes: &[u8],
        regs: &RegisterFile,
        private: &mut dyn Private,
    ) -> Result<RegisterFile, Refused> {
        match self.arch {
            Arch::X86_64 => self.execute_x86(sandbox, bytes, regs, private),
            Arch::Aarch64 => self.execute_a64(sandbox, bytes, regs),
        }
    }

    /// The bytes of a replica's own memory that the access at the start of `bytes` would carry
    /// out to the region (x86_64 `rep movs` from private memory, `cmps`): they leave the sphere
    /// of replication, so they are voted on with the event. A64 has no such instruction.
    pub fn private_source(&self, bytes: &[u8], regs: &RegisterFile) -> Option<Range<u64>> {
        if self.arch != Arch::X86_64 {
            return None;
        }
        let Ok(Op::String(op)) = decode_x86(bytes) else {
            return None;
        };
        let r = x86_file::registers(regs);
        let (chunk, source, _) = self.plan(&op, &r).ok()?;
        let source = source.filter(|s| !s.shared)?;
        op.checked_span(source.addr, chunk, StringOp::backward(&r))
    }

    /// The sandbox's run, then the check that it changed only what the decoder said it writes
    /// (`writes`: register-file indices; none in the lax mode).
    fn run_checked(
        &self,
        sandbox: &mut dyn Sandbox,
        code: &[u8],
        input: &RegisterFile,
        writes: &dyn Fn(usize) -> bool,
    ) -> Result<RegisterFile, Refused> {
        let out = sandbox.run(code, input)?;
        let names = self.arch.register_names();
        for (i, (before, after)) in input.words().iter().zip(out.words()).enumerate() {
            let announced = !self.lax && writes(i);
            if i != Arch::PC
                && before != after
                && !announced
                && !may_change(self.arch, i, *before, *after)
            {
                return Err(Refused(format!(
                    "the instruction changed {} ({before:#x} to {after:#x}), which it does not write",
                    names[i]
                )));
            }
        }
        Ok(out)
    }

    fn execute_x86(
        &self,
        sandbox: &mut dyn Sandbox,
        bytes: &[u8],
        file: &RegisterFile,
        private: &mut dyn Private,
    ) -> Result<RegisterFile, Refused> {
        let regs = x86_file::registers(file);
        let (mut result, len) = match decode_x86(bytes)? {
            Op::Access(access) => (self.access_once(sandbox, &access, file, &regs)?, access.len),
            Op::String(op) => match self.string_chunk(sandbox, &op, file, &regs, private)? {
                (out, true) => (x86_file::with(file, &out), op.len),
                // Iterations are left: the replicas run the instruction again.
                (out, false) => (x86_file::with(file, &out), 0),
            },
        };
        result.words_mut()[Arch::PC] = file.pc() + len as u64;
        Ok(result)
    }

    /// One access, at the replicas' own addresses: nothing is rebased.
    fn access_once(
        &self,
        sandbox: &mut dyn Sandbox,
        access: &Access,
        file: &RegisterFile,
        regs: &x86::Registers,
    ) -> Result<RegisterFile, Refused> {
        let span = access
            .span(regs)
            .ok_or_else(|| Refused("an address that wraps the address space".into()))?;
        self.check(span.start, span.end - span.start)?;
        let writes = x86_file::writes(access.writes());
        self.run_checked(sandbox, access.bytes(), file, &writes)
    }

    /// The next chunk: its iterations and operands (source, destination). The shared operand
    /// may run to the region's edge, a private one over the bounce page's length.
    fn plan(
        &self,
        op: &StringOp,
        regs: &x86::Registers,
    ) -> Result<(u64, Option<Operand>, Option<Operand>), Refused> {
        let backward = StringOp::backward(regs);
        let mut chunk = op.count(regs);
        let mut operand = |addr: u64| {
            let shared = self.contains(addr);
            chunk = chunk.min(if shared {
                op.fit(addr, &self.span, backward)
            } else {
                BOUNCE / op.size
            });
            Operand { addr, shared }
        };
        let source = op.has_source().then(|| operand(regs.gpr[RSI]));
        let destination = op.has_destination().then(|| operand(regs.gpr[RDI]));
        if chunk == 0 {
            return Err(Refused(format!(
                "a {}-byte string element at rsi {:#x} / rdi {:#x} straddles the region's edge",
                op.size, regs.gpr[RSI], regs.gpr[RDI]
            )));
        }
        Ok((chunk, source, destination))
    }

    fn string_chunk(
        &self,
        sandbox: &mut dyn Sandbox,
        op: &StringOp,
        file: &RegisterFile,
        regs: &x86::Registers,
        private: &mut dyn Private,
    ) -> Result<(x86::Registers, bool), Refused> {
        let (chunk, source, destination) = self.plan(op, regs)?;
        let backward = StringOp::backward(regs);
        if source.as_ref().is_some_and(|s| !s.shared)
            && destination.as_ref().is_some_and(|d| !d.shared)
        {
            return Err(Refused(
                "a string instruction with no operand in the region".into(),
            ));
        }
        // The sandbox's address of an operand: in the region (where the replicas see it), or in
        // the bounce page holding the chunk's span of private memory (read in first, unless the
        // chunk only writes it). At most one operand is private.
        let bounce_va = sandbox.bounce_va();
        let mut view = |o: &Operand, read: bool| -> Result<u64, Refused> {
            if o.shared {
                return Ok(o.addr);
            }
            let span = op
                .checked_span(o.addr, chunk, backward)
                .ok_or_else(|| Refused("a string operand that wraps the address space".into()))?;
            let len = (span.end - span.start) as usize;
            let bounce = sandbox.bounce();
            if len > bounce.len() {
                return Err(Refused("a string chunk larger than the bounce page".into()));
            }
            if read {
                private.read(span.start, &mut bounce[..len])?;
            }
            Ok(bounce_va + (o.addr - span.start))
        };
        let source_view = match &source {
            Some(o) => Some(view(o, true)?),
            None => None,
        };
        let destination_view = match &destination {
            Some(o) => Some(view(o, !op.writes_destination())?),
            None => None,
        };
        let input = x86_file::with(file, &op.rebase(regs, chunk, source_view, destination_view));
        let writes = x86_file::writes(op.writes());
        let out = self.run_checked(sandbox, op.bytes(), &input, &writes)?;
        let after = x86_file::registers(&out);
        if let Some(d) = destination.filter(|d| !d.shared && op.writes_destination()) {
            let full = op.span(d.addr, chunk, backward);
            let done = op.span(d.addr, op.iterations(chunk, &after), backward);
            let from = (done.start - full.start) as usize;
            let bytes = &sandbox.bounce()[from..from + (done.end - done.start) as usize];
            private.write(done.start, bytes)?;
        }
        Ok(op.result(regs, chunk, &after))
    }

    fn execute_a64(
        &self,
        sandbox: &mut dyn Sandbox,
        bytes: &[u8],
        file: &RegisterFile,
    ) -> Result<RegisterFile, Refused> {
        let mut words = [0u32; aarch64::MAX_BLOCK];
        for (w, chunk) in words.iter_mut().zip(bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes(chunk.try_into().expect("4 bytes"));
        }
        let block = Block::decode(&words).map_err(|e| Refused(format!("{e}")))?;
        let mut regs = aarch64::Registers::default();
        for r in 0..31 {
            regs.x[r] = file.words()[a64_index(r)];
        }
        // Both halves of an exclusive block, aligned as the architecture requires.
        let span = block.span(&regs).map_err(|e| Refused(format!("{e}")))?;
        self.check(span.start, span.end - span.start)?;
        let mut code = [0u8; 4 * aarch64::MAX_BLOCK];
        for (i, w) in block.words().iter().enumerate() {
            code[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        // The block runs at the replicas' addresses: nothing is rebased.
        let set = block.writes();
        let mut may = [false; 36];
        for r in (0..31).filter(|r| set & (1 << r) != 0) {
            may[a64_index(r)] = true;
        }
        let writes = |i: usize| may.get(i).copied().unwrap_or(false);
        let mut result = self.run_checked(sandbox, &code[..4 * block.len], file, &writes)?;
        result.words_mut()[Arch::PC] = file.pc() + 4 * block.len as u64;
        Ok(result)
    }
}

/// For a corrupted-result injection: the register-file index of the general-purpose register
/// the instruction at the start of `bytes` writes, how many bits it writes, and the
/// instruction's length; `None` when it writes none or changes the flow of control.
pub fn result_register(arch: Arch, bytes: &[u8]) -> Option<(usize, u32, u64)> {
    match arch {
        Arch::X86_64 => {
            let (r, bits, len) = x86::result_register(bytes.get(..15)?)?;
            Some((x86_file::index(x86_file::NAMES[r]), bits, len as u64))
        }
        Arch::Aarch64 => {
            let word = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
            let (r, bits) = aarch64::result_register(word)?;
            let i = match r {
                31 => Arch::Aarch64.register_index("sp")?,
                r => a64_index(r),
            };
            Some((i, bits, 4))
        }
    }
}

/// Register changes that are no instruction's doing, or that none can avoid: aarch64's
/// condition flags (exclusive blocks may compute), x86_64's flags the kernel keeps for itself
/// (interrupts enabled, the reserved bit); the arithmetic flags are in the decoders' sets.
fn may_change(arch: Arch, index: usize, before: u64, after: u64) -> bool {
    match arch {
        Arch::Aarch64 => {
            Some(index) == arch.register_index("spsr") && (before ^ after) & !0xf000_0000 == 0
        }
        Arch::X86_64 => {
            Some(index) == arch.register_index("rflags") && (before ^ after) & x86::FLAGS == 0
        }
    }
}

/// A string instruction's operand: its address, and whether it is in the region.
struct Operand {
    addr: u64,
    shared: bool,
}

fn decode_x86(bytes: &[u8]) -> Result<Op, Refused> {
    let bytes = bytes
        .get(..15)
        .ok_or_else(|| Refused("fewer than 15 instruction bytes to decode".into()))?;
    x86::decode(bytes).map_err(|e| Refused(format!("{e}")))
}

/// The x86_64 mapping between the decoder's registers and seL4's register file.
mod x86_file {
    use romain_core::regs::{Arch, RegisterFile};

    use crate::x86;

    /// seL4_UserContext names of the general-purpose registers in encoding order.
    pub(super) const NAMES: [&str; 16] = [
        "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12",
        "r13", "r14", "r15",
    ];

    pub(super) fn index(name: &str) -> usize {
        Arch::X86_64.register_index(name).expect("x86_64 register")
    }

    pub(super) fn registers(file: &RegisterFile) -> x86::Registers {
        let mut regs = x86::Registers {
            gpr: [0; 16],
            rflags: file.words()[index("rflags")],
        };
        for (i, name) in NAMES.iter().enumerate() {
            regs.gpr[i] = file.words()[index(name)];
        }
        regs
    }

    /// The decoders' write set (bit i: gpr i, bit 16: rflags) as register-file indices.
    pub(super) fn writes(set: u32) -> impl Fn(usize) -> bool {
        let mut indices = [false; 20];
        for (i, name) in NAMES.iter().enumerate() {
            indices[index(name)] = set & (1 << i) != 0;
        }
        indices[index("rflags")] = set & x86::RFLAGS_WRITTEN != 0;
        move |i| indices.get(i).copied().unwrap_or(false)
    }

    /// `file` with the general-purpose registers and flags of `regs`.
    pub(super) fn with(file: &RegisterFile, regs: &x86::Registers) -> RegisterFile {
        let mut out = file.clone();
        let words = out.words_mut();
        for (i, name) in NAMES.iter().enumerate() {
            words[index(name)] = regs.gpr[i];
        }
        words[index("rflags")] = regs.rflags;
        out
    }
}

/// Where xN is in seL4_UserContext (not in numeric order: x16–x18, x29 and x30 come after x8).
fn a64_index(r: usize) -> usize {
    Arch::Aarch64
        .register_names()
        .iter()
        .position(|n| n.strip_prefix('x').and_then(|d| d.parse().ok()) == Some(r))
        .expect("x0..x30")
}
