//! Copy & execute in the master: a replica access to the shared region, agreed by the vote, is
//! executed here once, by the instruction itself, against the master's own mapping of the region
//! (`romain_cae`), and the resulting registers go to every replica.

use romain_core::regs::RegisterFile;

use crate::objects::Frame;

/// Why an access could not be copied and executed: the program's fault, reported with the
/// instruction.
pub(crate) struct Refused(pub alloc::string::String);

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
    use romain_cae::x86::{self, Access, Registers};
    use romain_core::regs::{Arch, RegisterFile};

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

    /// Executes the instruction at the replica's pc (`bytes`) with `file` against the region;
    /// returns the replica's registers after it.
    pub(super) fn execute(
        region: &super::Region,
        bytes: &[u8],
        file: &RegisterFile,
    ) -> Result<RegisterFile, super::Refused> {
        let refused = |why: alloc::string::String| super::Refused(why);
        let access = Access::decode(&bytes[..15]).map_err(|e| refused(alloc::format!("{e}")))?;
        let regs = registers(file);
        let view = region.view_of(access.address(&regs), access.size)?;
        let rebased = access.rebase(&regs, view).ok_or_else(|| {
            refused("its address cannot be moved onto the master's mapping".into())
        })?;
        let mut code = [0u8; x86::CODE_BYTES];
        let n = x86::write_code(&access, &mut code);
        region.code.bytes()[..n].copy_from_slice(&code[..n]);
        // SAFETY: the code was just written for this access into an executable frame of the
        // master, and the rebased access lies inside the master's mapping of the region.
        let after = unsafe { x86::execute(region.code.bytes().as_ptr(), &rebased.regs) };
        let out = access.result(&regs, &rebased, &after);
        let mut result = file.clone();
        let words = result.words_mut();
        for (i, name) in NAMES.iter().enumerate() {
            words[index(name)] = out.gpr[i];
        }
        words[index("rflags")] = out.rflags;
        words[Arch::PC] += access.len as u64;
        Ok(result)
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
/// registers `regs` once against `region`; returns the registers every replica continues with.
pub(crate) fn execute(
    region: &Region,
    bytes: &[u8],
    regs: &RegisterFile,
) -> Result<RegisterFile, Refused> {
    arch::execute(region, bytes, regs)
}
