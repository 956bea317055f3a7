//! Copy & execute in the master: a replica access to the shared region, agreed by the vote, is
//! executed here once, by the instruction itself, against the master's own mapping of the region
//! (`romain_cae`), and the resulting registers go to every replica.

use core::ops::Range;

use romain_core::regs::RegisterFile;

use crate::objects::Frame;

/// Why an access could not be copied and executed: the program's fault, reported with the
/// instruction.
pub(crate) struct Refused(pub alloc::string::String);

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
    /// A frame of the master, executable, where the executor's code is written.
    pub code: Frame,
}

impl Region {
    pub(crate) fn len(&self) -> u64 {
        self.frames.len() as u64 * romain_core::image::PAGE_SIZE
    }

    pub(crate) fn contains(&self, addr: u64) -> bool {
        (self.base..self.base + self.len()).contains(&addr)
    }

    /// The master's address of the `len` bytes at replica address `addr`, which must lie in the
    /// region.
    fn view_of(&self, addr: u64, len: usize) -> Result<u64, Refused> {
        let end = addr.wrapping_add(len as u64);
        if !self.contains(addr) || end > self.base + self.len() || end < addr {
            return Err(Refused(alloc::format!(
                "access of {len} bytes at {addr:#x} leaves the shared region"
            )));
        }
        Ok(self.frames[0].addr() as u64 + (addr - self.base))
    }
}

#[cfg(target_arch = "x86_64")]
mod arch {
    use alloc::vec::Vec;
    use core::ops::Range;

    use romain_cae::x86::{self, Access, Op, RDI, RSI, Registers, StringOp};
    use romain_core::image::PAGE_SIZE;
    use romain_core::regs::{Arch, RegisterFile};

    use super::{Private, Refused};

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

    fn decode(bytes: &[u8]) -> Result<Op, Refused> {
        x86::decode(&bytes[..15]).map_err(|e| Refused(alloc::format!("{e}")))
    }

    /// Executes the instruction at the replica's pc (`bytes`) with `file` against the region;
    /// returns the replica's registers after it.
    pub(super) fn execute(
        region: &super::Region,
        bytes: &[u8],
        file: &RegisterFile,
        private: &mut dyn Private,
    ) -> Result<RegisterFile, Refused> {
        let regs = registers(file);
        let (out, len) = match decode(bytes)? {
            Op::Access(access) => (access_once(region, &access, &regs)?, access.len),
            Op::String(op) => match string_chunk(region, &op, &regs, private)? {
                (out, true) => (out, op.len),
                // Iterations are left: the replicas run the instruction again.
                (out, false) => (out, 0),
            },
        };
        let mut result = file.clone();
        let words = result.words_mut();
        for (i, name) in NAMES.iter().enumerate() {
            words[index(name)] = out.gpr[i];
        }
        words[index("rflags")] = out.rflags;
        words[Arch::PC] += len as u64;
        Ok(result)
    }

    fn run(region: &super::Region, instruction: &[u8], regs: &Registers) -> Registers {
        let mut code = [0u8; x86::CODE_BYTES];
        let n = x86::write_code(instruction, &mut code);
        region.code.bytes()[..n].copy_from_slice(&code[..n]);
        // SAFETY: the code was just written for this instruction into an executable frame of
        // the master, and the callers rebased its accesses into the master's mappings.
        unsafe { x86::execute(region.code.bytes().as_ptr(), regs) }
    }

    fn access_once(
        region: &super::Region,
        access: &Access,
        regs: &Registers,
    ) -> Result<Registers, Refused> {
        let view = region.view_of(access.address(regs), access.size)?;
        let rebased = access.rebase(regs, view).ok_or_else(|| {
            Refused("its address cannot be moved onto the master's mapping".into())
        })?;
        let after = run(region, access.bytes(), &rebased.regs);
        Ok(access.result(regs, &rebased, &after))
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
        op: &StringOp,
        regs: &Registers,
        private: &mut dyn Private,
    ) -> Result<(Registers, bool), Refused> {
        let (chunk, source, destination) = plan(region, op, regs)?;
        let backward = StringOp::backward(regs);
        // The master's address of an operand: in the region, or in a bounce buffer holding the
        // chunk's span of private memory (read in first, unless the chunk only writes it).
        let mut view = |o: &Operand, bounce: &mut Vec<u8>, read: bool| -> Result<u64, Refused> {
            if o.shared {
                return Ok(region.frames[0].addr() as u64 + (o.addr - region.base));
            }
            let span = op.span(o.addr, chunk, backward);
            bounce.resize((span.end - span.start) as usize, 0);
            if read {
                private.read(span.start, bounce)?;
            }
            Ok(bounce.as_ptr() as u64 + (o.addr - span.start))
        };
        let (mut source_bounce, mut destination_bounce) = (Vec::new(), Vec::new());
        let source_view = match &source {
            Some(o) => Some(view(o, &mut source_bounce, true)?),
            None => None,
        };
        let destination_view = match &destination {
            Some(o) => Some(view(o, &mut destination_bounce, !op.writes_destination())?),
            None => None,
        };
        let after = run(
            region,
            op.bytes(),
            &op.rebase(regs, chunk, source_view, destination_view),
        );
        if let Some(d) = destination.filter(|d| !d.shared && op.writes_destination()) {
            let full = op.span(d.addr, chunk, backward);
            let done = op.span(d.addr, op.iterations(chunk, &after), backward);
            let from = (done.start - full.start) as usize;
            private.write(
                done.start,
                &destination_bounce[from..from + (done.end - done.start) as usize],
            )?;
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
        Some(op.span(source.addr, chunk, StringOp::backward(&regs)))
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
        let access = block.access;
        let mut regs = Registers::default();
        for r in 0..31 {
            regs.x[r] = file.words()[index(r)];
        }
        let view = region.view_of(access.address(&regs), access.len())?;
        let (moved, delta) = access.rebase(&regs, view);
        let mut code = [0u32; aarch64::CODE_WORDS];
        let n = aarch64::write_code(&block, &mut code);
        let bytes = region.code.bytes();
        for (i, w) in code[..n].iter().enumerate() {
            bytes[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        unify_instruction_cache(region.code.addr(), 4 * n);
        // SAFETY: the code was just written for this access into an executable frame of the
        // master, its instruction cache made coherent; the rebased access lies inside the
        // master's mapping of the region.
        let after = unsafe { aarch64::execute(bytes.as_ptr(), &moved) };
        let out = access.result(&regs, delta, &after);
        let mut result = file.clone();
        let words = result.words_mut();
        for r in 0..31 {
            words[index(r)] = out.x[r];
        }
        words[Arch::PC] += 4 * block.len as u64;
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

    /// Cleans the data cache and invalidates the instruction cache over the executor's code (the
    /// kernel does it: EL0 may not).
    fn unify_instruction_cache(addr: usize, len: usize) {
        let vspace = sel4::init_thread::slot::VSPACE.cap().bits();
        let err = sel4::with_ipc_buffer_mut(|ipc| {
            ipc.inner_mut().seL4_ARM_VSpace_Unify_Instruction(
                vspace,
                addr as u64,
                (addr + len) as u64,
            )
        });
        if err != 0 {
            log::warn!("instruction cache maintenance failed ({err})");
        }
    }
}

/// Executes the access at the start of `bytes` (the instruction at the replicas' pc) with
/// registers `regs` once against `region` (a string instruction: its next chunk); returns the
/// registers every replica continues with.
pub(crate) fn execute(
    region: &Region,
    bytes: &[u8],
    regs: &RegisterFile,
    private: &mut dyn Private,
) -> Result<RegisterFile, Refused> {
    arch::execute(region, bytes, regs, private)
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
