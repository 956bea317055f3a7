//! Copy & execute: a replica access to the shared region, agreed by the vote, is executed once,
//! by the instruction itself, in the executor sandbox ([`crate::sandbox`]) where the region is
//! mapped at the replicas' address (`romain_cae` decides what may run and what it may write),
//! and the resulting registers go to every replica.

use core::ops::Range;

use romain_core::regs::RegisterFile;

use crate::objects::Frame;
use crate::sandbox::{Failed, Sandbox};
use crate::timer::Timer;

/// Why an access could not be copied and executed: the program's fault, reported with the
/// instruction.
pub(crate) struct Refused(pub alloc::string::String);

impl From<Failed> for Refused {
    fn from(Failed(why): Failed) -> Self {
        Refused(why)
    }
}

/// The sandbox test's mode (`CAE_LAX=1`): no range check, and every register change is one the
/// decoder did not announce, as if the decoder had accepted what it should not have.
pub(crate) const LAX: bool = crate::embedded::CAE_LAX;

/// Where the executor runs, for one access.
pub(crate) struct Exec<'a> {
    pub sandbox: &'a mut Sandbox,
    pub timer: Option<&'a mut Timer>,
}

/// The replicas' own memory, for the x86_64 string instructions that move data between it and
/// the region (`rep movsb` into or out of the region, `repe cmpsb` against it). The private side
/// of such an instruction runs on a bounce buffer of the master, filled from and copied back to
/// the replicas; the shared side runs on the region itself. (A64 has no such instructions.)
#[cfg_attr(target_arch = "aarch64", allow(dead_code))]
pub(crate) trait Private {
    /// The leading replica's bytes at `addr` (the replicas agreed on them) into `buf`.
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Refused>;
    /// `bytes` written at `addr` in every replica.
    fn write(&mut self, addr: u64, bytes: &[u8]) -> Result<(), Refused>;
}

/// The shared region of a group: its frames (consecutive in the master's view) and where
/// replicas see it.
pub(crate) struct Region {
    pub base: u64,
    pub frames: alloc::vec::Vec<Frame>,
}

impl Region {
    pub(crate) fn len(&self) -> u64 {
        self.frames.len() as u64 * romain_core::image::PAGE_SIZE
    }

    pub(crate) fn contains(&self, addr: u64) -> bool {
        (self.base..self.base + self.len()).contains(&addr)
    }

    /// Checks that the `len` bytes at replica address `addr` lie in the region (not in the
    /// sandbox test's lax mode).
    fn check(&self, addr: u64, len: usize) -> Result<(), Refused> {
        if LAX {
            return Ok(());
        }
        let end = addr.checked_add(len as u64);
        if !self.contains(addr) || end.is_none_or(|end| end > self.base + self.len()) {
            return Err(Refused(alloc::format!(
                "access of {len} bytes at {addr:#x} leaves the shared region"
            )));
        }
        Ok(())
    }
}

#[cfg(target_arch = "x86_64")]
mod arch {
    use core::ops::Range;

    use romain_cae::x86::{self, Access, Op, RDI, RSI, Registers, StringOp};
    use romain_core::image::PAGE_SIZE;
    use romain_core::regs::{Arch, RegisterFile};

    use super::{Exec, Private, Refused};
    use crate::sandbox::BOUNCE_VA;

    /// seL4_UserContext names of the general-purpose registers in encoding order.
    const NAMES: [&str; 16] = [
        "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12",
        "r13", "r14", "r15",
    ];

    fn index(name: &str) -> usize {
        Arch::X86_64.register_index(name).expect("x86_64 register")
    }

    fn registers(file: &RegisterFile) -> Registers {
        let mut regs = Registers {
            gpr: [0; 16],
            rflags: file.words()[index("rflags")],
        };
        for (i, name) in NAMES.iter().enumerate() {
            regs.gpr[i] = file.words()[index(name)];
        }
        regs
    }

    /// The decoders' write set (bit i: gpr i, bit 16: rflags) as register-file indices.
    fn writes(set: u32) -> impl Fn(usize) -> bool {
        let set = if super::LAX { 0 } else { set };
        let mut indices = [false; 20];
        for (i, name) in NAMES.iter().enumerate() {
            indices[index(name)] = set & (1 << i) != 0;
        }
        indices[index("rflags")] = set & (1 << 16) != 0;
        move |i| indices.get(i).copied().unwrap_or(false)
    }

    /// `file` with the general-purpose registers and flags of `regs`.
    fn with(file: &RegisterFile, regs: &Registers) -> RegisterFile {
        let mut out = file.clone();
        let words = out.words_mut();
        for (i, name) in NAMES.iter().enumerate() {
            words[index(name)] = regs.gpr[i];
        }
        words[index("rflags")] = regs.rflags;
        out
    }

    fn decode(bytes: &[u8]) -> Result<Op, Refused> {
        x86::decode(&bytes[..15]).map_err(|e| Refused(alloc::format!("{e}")))
    }

    /// Executes the instruction at the replica's pc (`bytes`) with `file` against the region;
    /// returns the replica's registers after it.
    pub(super) fn execute(
        region: &super::Region,
        exec: &mut Exec<'_>,
        bytes: &[u8],
        file: &RegisterFile,
        private: &mut dyn Private,
    ) -> Result<RegisterFile, Refused> {
        let regs = registers(file);
        let (mut result, len) = match decode(bytes)? {
            Op::Access(access) => (access_once(region, exec, &access, file, &regs)?, access.len),
            Op::String(op) => match string_chunk(region, exec, &op, file, &regs, private)? {
                (out, true) => (with(file, &out), op.len),
                // Iterations are left: the replicas run the instruction again.
                (out, false) => (with(file, &out), 0),
            },
        };
        result.words_mut()[Arch::PC] = file.pc() + len as u64;
        Ok(result)
    }

    /// One access, in the sandbox, at the replicas' own addresses: nothing is rebased.
    fn access_once(
        region: &super::Region,
        exec: &mut Exec<'_>,
        access: &Access,
        file: &RegisterFile,
        regs: &Registers,
    ) -> Result<RegisterFile, Refused> {
        let span = access
            .span(regs)
            .ok_or_else(|| Refused("an address that wraps the address space".into()))?;
        region.check(span.start, (span.end - span.start) as usize)?;
        let writes = writes(access.writes());
        Ok(exec
            .sandbox
            .run(access.bytes(), file, &writes, exec.timer.as_deref_mut())?)
    }

    /// Bytes of private memory one chunk of a string instruction may cover: its bounce buffer.
    const BOUNCE: u64 = PAGE_SIZE;

    /// A string instruction's operand: its address, and whether it is in the region.
    struct Operand {
        addr: u64,
        shared: bool,
    }

    /// The next chunk: its iterations and operands (source, destination). The shared operand
    /// may run to the region's edge, a private one over a bounce buffer's length.
    fn plan(
        region: &super::Region,
        op: &StringOp,
        regs: &Registers,
    ) -> Result<(u64, Option<Operand>, Option<Operand>), Refused> {
        let backward = StringOp::backward(regs);
        let mut chunk = op.count(regs);
        let mut operand = |addr: u64| {
            let shared = region.contains(addr);
            chunk = chunk.min(if shared {
                op.fit(addr, &(region.base..region.base + region.len()), backward)
            } else {
                BOUNCE / op.size
            });
            Operand { addr, shared }
        };
        let source = op.has_source().then(|| operand(regs.gpr[RSI]));
        let destination = op.has_destination().then(|| operand(regs.gpr[RDI]));
        if chunk == 0 {
            return Err(Refused(alloc::format!(
                "a {}-byte string element at rsi {:#x} / rdi {:#x} straddles the region's edge",
                op.size,
                regs.gpr[RSI],
                regs.gpr[RDI]
            )));
        }
        Ok((chunk, source, destination))
    }

    fn string_chunk(
        region: &super::Region,
        exec: &mut Exec<'_>,
        op: &StringOp,
        file: &RegisterFile,
        regs: &Registers,
        private: &mut dyn Private,
    ) -> Result<(Registers, bool), Refused> {
        let (chunk, source, destination) = plan(region, op, regs)?;
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
        let bounce = exec.sandbox.bounce();
        let mut view = |o: &Operand, read: bool| -> Result<u64, Refused> {
            if o.shared {
                return Ok(o.addr);
            }
            let span = op
                .checked_span(o.addr, chunk, backward)
                .ok_or_else(|| Refused("a string operand that wraps the address space".into()))?;
            let len = (span.end - span.start) as usize;
            if len > bounce.len() {
                return Err(Refused("a string chunk larger than the bounce page".into()));
            }
            if read {
                private.read(span.start, &mut bounce[..len])?;
            }
            Ok(BOUNCE_VA + (o.addr - span.start))
        };
        let source_view = match &source {
            Some(o) => Some(view(o, true)?),
            None => None,
        };
        let destination_view = match &destination {
            Some(o) => Some(view(o, !op.writes_destination())?),
            None => None,
        };
        let input = with(file, &op.rebase(regs, chunk, source_view, destination_view));
        let writes = writes(op.writes());
        let out = exec
            .sandbox
            .run(op.bytes(), &input, &writes, exec.timer.as_deref_mut())?;
        let after = registers(&out);
        if let Some(d) = destination.filter(|d| !d.shared && op.writes_destination()) {
            let full = op.span(d.addr, chunk, backward);
            let done = op.span(d.addr, op.iterations(chunk, &after), backward);
            let from = (done.start - full.start) as usize;
            let bytes = &exec.sandbox.bounce()[from..from + (done.end - done.start) as usize];
            private.write(done.start, bytes)?;
        }
        Ok(op.result(regs, chunk, &after))
    }

    /// The bytes of the replica's own memory that the instruction at pc (`bytes`) would carry
    /// out to the region, if any.
    pub(super) fn private_source(
        region: &super::Region,
        bytes: &[u8],
        file: &RegisterFile,
    ) -> Option<Range<u64>> {
        let Ok(Op::String(op)) = decode(bytes) else {
            return None;
        };
        let regs = registers(file);
        let (chunk, source, _) = plan(region, &op, &regs).ok()?;
        let source = source.filter(|s| !s.shared)?;
        op.checked_span(source.addr, chunk, StringOp::backward(&regs))
    }

    /// The register-file index of the register the instruction at the start of `bytes` writes,
    /// the bits it writes, and the instruction's length.
    pub(super) fn result_register(bytes: &[u8]) -> Option<(usize, u32, u64)> {
        let (r, bits, len) = x86::result_register(&bytes[..15])?;
        Some((index(NAMES[r]), bits, len as u64))
    }
}

#[cfg(target_arch = "aarch64")]
mod arch {
    use romain_cae::aarch64::{self, Block, Registers};
    use romain_core::regs::{Arch, RegisterFile};

    /// Where xN is in seL4_UserContext (not in numeric order: x16–x18, x29 and x30 come
    /// after x8).
    fn index(r: usize) -> usize {
        let names = Arch::Aarch64.register_names();
        names
            .iter()
            .position(|n| n.strip_prefix('x').and_then(|d| d.parse().ok()) == Some(r))
            .expect("x0..x30")
    }

    pub(super) fn execute(
        region: &super::Region,
        exec: &mut super::Exec<'_>,
        bytes: &[u8],
        file: &RegisterFile,
        _private: &mut dyn super::Private,
    ) -> Result<RegisterFile, super::Refused> {
        let refused = |why: alloc::string::String| super::Refused(why);
        let mut words = [0u32; aarch64::MAX_BLOCK];
        for (w, chunk) in words.iter_mut().zip(bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes(chunk.try_into().expect("4 bytes"));
        }
        let block = Block::decode(&words).map_err(|e| refused(alloc::format!("{e}")))?;
        let mut regs = Registers::default();
        for r in 0..31 {
            regs.x[r] = file.words()[index(r)];
        }
        // Both halves of an exclusive block, aligned as the architecture requires.
        let span = block
            .span(&regs)
            .map_err(|e| refused(alloc::format!("{e}")))?;
        region.check(span.start, (span.end - span.start) as usize)?;
        let mut code = [0u8; 4 * aarch64::MAX_BLOCK];
        for (i, w) in block.words().iter().enumerate() {
            code[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        // The block runs at the replicas' addresses: nothing is rebased.
        let set = if super::LAX { 0 } else { block.writes() };
        let mut may = [false; 36];
        for r in (0..31).filter(|r| set & (1 << r) != 0) {
            may[index(r)] = true;
        }
        let writes = |i: usize| may.get(i).copied().unwrap_or(false);
        let mut result = exec.sandbox.run(
            &code[..4 * block.len],
            file,
            &writes,
            exec.timer.as_deref_mut(),
        )?;
        result.words_mut()[Arch::PC] = file.pc() + 4 * block.len as u64;
        Ok(result)
    }

    pub(super) fn result_register(bytes: &[u8]) -> Option<(usize, u32, u64)> {
        let word = u32::from_le_bytes(bytes[..4].try_into().ok()?);
        let (r, bits) = aarch64::result_register(word)?;
        let i = match r {
            31 => Arch::Aarch64.register_index("sp")?,
            r => index(r),
        };
        Some((i, bits, 4))
    }

    /// A64 has no instruction that moves data between two memory locations.
    pub(super) fn private_source(
        _region: &super::Region,
        _bytes: &[u8],
        _file: &RegisterFile,
    ) -> Option<core::ops::Range<u64>> {
        None
    }
}

/// Executes the access at the start of `bytes` (the instruction at the replicas' pc) with
/// registers `regs` once, in the sandbox, against `region` (a string instruction: its next chunk); returns the
/// registers every replica continues with.
pub(crate) fn execute(
    region: &Region,
    exec: &mut Exec<'_>,
    bytes: &[u8],
    regs: &RegisterFile,
    private: &mut dyn Private,
) -> Result<RegisterFile, Refused> {
    arch::execute(region, exec, bytes, regs, private)
}

/// The bytes of a replica's own memory that the access at the start of `bytes` would carry out
/// to the region (x86_64 `rep movs` from private memory, `cmps`): they leave the sphere of
/// replication, so they are voted on with the event.
pub(crate) fn private_source(
    region: &Region,
    bytes: &[u8],
    regs: &RegisterFile,
) -> Option<Range<u64>> {
    arch::private_source(region, bytes, regs)
}

/// For a corrupted-result injection: the register-file index of the general-purpose register
/// the instruction at the start of `bytes` writes, how many bits it writes, and the
/// instruction's length; `None` when it writes none or changes the flow of control.
pub(crate) fn result_register(bytes: &[u8]) -> Option<(usize, u32, u64)> {
    arch::result_register(bytes)
}
