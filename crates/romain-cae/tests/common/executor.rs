//! The host executor of the tests: runs an instruction the decoders accepted, with a given
//! register file, against a host buffer, so that the tests can compare what the decoders say
//! (`writes()`, the bytes accessed) with what the processor does.
//!
//! The master does not work this way: its sandbox runs the instruction at the replicas' own
//! addresses, and nothing is rebased. This executor instead *rebases* the memory operand onto
//! the host buffer (moving the base register, or the index), runs the instruction through a
//! small prologue and epilogue that load and store every general-purpose register, and gives
//! the moved register its own value back. It is written against the crate's public API only:
//! the x86 address registers come from iced-x86's decoding of [`Access::bytes`], the A64 ones
//! from [`aarch64::Access`](romain_cae::aarch64::Access)'s public fields.
//!
//! [`Access::bytes`]: romain_cae::x86::Access::bytes

/// x86_64.
pub mod x86 {
    use iced_x86::{Decoder, DecoderOptions, Register};
    use romain_cae::x86::{Access, FLAGS, RSP, Registers};

    /// Registers with the memory operand moved onto the host buffer.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Rebased {
        pub regs: Registers,
        /// The moved register.
        register: usize,
        /// The moved register's own value, when the instruction does not write it.
        undo: Option<u64>,
    }

    /// Rebasing a decoded access, and undoing it.
    pub trait Rebase {
        /// Registers that make the instruction access `target` instead of
        /// `self.address(regs)`: the base register moved by the difference (or the index, when
        /// the difference divides by the scale). `None` when neither can carry it.
        fn rebase(&self, regs: &Registers, target: u64) -> Option<Rebased>;

        /// The replica's registers after the instruction ran as `after` (rebased): the moved
        /// register gets its own value back unless the instruction may write it
        /// ([`Access::writes`]: its result wins), and flags outside [`FLAGS`] keep the
        /// replica's.
        fn result(&self, before: &Registers, rebased: &Rebased, after: &Registers) -> Registers;
    }

    /// The access's base and index registers (indices in [`Registers::gpr`]) and its scale, by
    /// iced-x86's account of its bytes.
    fn address_registers(access: &Access) -> (Option<usize>, Option<usize>, u64) {
        let instr = Decoder::with_ip(64, access.bytes(), 0, DecoderOptions::NONE).decode();
        let gpr = |r: Register| {
            (r != Register::None).then(|| {
                assert!(r.is_gpr64(), "{:02x?}: {r:?}", access.bytes());
                r as usize - Register::RAX as usize
            })
        };
        (
            gpr(instr.memory_base()),
            gpr(instr.memory_index()),
            instr.memory_index_scale() as u64,
        )
    }

    impl Rebase for Access {
        fn rebase(&self, regs: &Registers, target: u64) -> Option<Rebased> {
            let (base, index, scale) = address_registers(self);
            let delta = target.wrapping_sub(self.address(regs));
            let mut moved = *regs;
            let register = if let Some(b) = base {
                moved.gpr[b] = moved.gpr[b].wrapping_add(delta);
                b
            } else {
                let i = index?;
                if !delta.is_multiple_of(scale) {
                    return None;
                }
                moved.gpr[i] = moved.gpr[i].wrapping_add(delta / scale);
                i
            };
            let written = self.writes() & (1 << register) != 0;
            Some(Rebased {
                regs: moved,
                register,
                undo: (!written).then_some(regs.gpr[register]),
            })
        }

        fn result(&self, before: &Registers, rebased: &Rebased, after: &Registers) -> Registers {
            let mut out = *after;
            if let Some(value) = rebased.undo {
                out.gpr[rebased.register] = value;
            }
            out.rflags = (before.rflags & !FLAGS) | (after.rflags & FLAGS);
            out
        }
    }

    /// Bytes of the executor's code: a prologue and epilogue around the instruction.
    pub const CODE_BYTES: usize = 256;

    /// The frame the executor's code works on; `gpr` is what it gets a pointer to.
    #[cfg(target_arch = "x86_64")]
    #[repr(C)]
    struct Frame {
        /// Where `pushfq` puts the flags before they move into `rflags`.
        scratch: u64,
        gpr: [u64; 16],
        rflags: u64,
        saved_rsp: u64,
    }

    /// Writes the executor's code for `instruction` into `code`: save the caller's
    /// callee-saved registers and stack pointer, load the flags and every general-purpose
    /// register but rsp, run the instruction, store them back, clear DF (the caller's ABI wants
    /// it clear), return. The stack pointer points at the register frame while the instruction
    /// runs (the decoder refuses instructions using rsp).
    pub fn write_code(instruction: &[u8], code: &mut [u8; CODE_BYTES]) -> usize {
        let mut n = 0;
        let mut put = |bytes: &[u8]| {
            code[n..n + bytes.len()].copy_from_slice(bytes);
            n += bytes.len();
        };
        // push rbx; push rbp; push r12; push r13; push r14; push r15
        put(&[0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57]);
        // push qword [rdi + 0x80]; popfq
        put(&[0xff, 0xb7, 0x80, 0, 0, 0, 0x9d]);
        // mov [rdi + 0x88], rsp; mov rsp, rdi
        put(&[0x48, 0x89, 0xa7, 0x88, 0, 0, 0, 0x48, 0x89, 0xfc]);
        for r in (0..16u8).filter(|&r| r as usize != RSP) {
            // mov r, [rsp + 8r]
            put(&[
                0x48 | ((r >> 3) << 2),
                0x8b,
                0x44 | ((r & 7) << 3),
                0x24,
                8 * r,
            ]);
        }
        put(instruction);
        for r in (0..16u8).filter(|&r| r as usize != RSP) {
            // mov [rsp + 8r], r
            put(&[
                0x48 | ((r >> 3) << 2),
                0x89,
                0x44 | ((r & 7) << 3),
                0x24,
                8 * r,
            ]);
        }
        // pushfq; pop qword [rsp + 0x80] (addressed after the pop's increment)
        put(&[0x9c, 0x8f, 0x84, 0x24, 0x80, 0, 0, 0]);
        // cld
        put(&[0xfc]);
        // mov rsp, [rsp + 0x88]
        put(&[0x48, 0x8b, 0xa4, 0x24, 0x88, 0, 0, 0]);
        // pop r15; pop r14; pop r13; pop r12; pop rbp; pop rbx; ret
        put(&[
            0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3,
        ]);
        n
    }

    /// [`write_code`]'s output for `instruction`, in an executable mapping.
    #[cfg(target_arch = "x86_64")]
    pub fn map_code(instruction: &[u8]) -> memmap2::Mmap {
        let mut code = [0u8; CODE_BYTES];
        let n = write_code(instruction, &mut code);
        let mut map = memmap2::MmapMut::map_anon(CODE_BYTES).unwrap();
        map[..n].copy_from_slice(&code[..n]);
        map.make_exec().unwrap()
    }

    /// Runs the instruction with `regs`, through code written by [`write_code`] at `code`, and
    /// returns the registers after it.
    ///
    /// # Safety
    /// `code` must hold [`write_code`]'s output for this instruction in executable memory, and
    /// the memory the instruction accesses with `regs` (rebased) must be mapped and valid to
    /// access.
    #[cfg(target_arch = "x86_64")]
    pub unsafe fn execute(code: *const u8, regs: &Registers) -> Registers {
        let mut frame = Frame {
            scratch: 0,
            gpr: regs.gpr,
            rflags: regs.rflags & FLAGS,
            saved_rsp: 0,
        };
        // SAFETY: the caller guarantees the code; it follows the System V calling convention
        // (it saves and restores every callee-saved register and the stack pointer).
        let run: extern "sysv64" fn(*mut u64) = unsafe { core::mem::transmute(code) };
        run(frame.gpr.as_mut_ptr());
        let _ = frame.scratch;
        let _ = frame.saved_rsp;
        Registers {
            gpr: {
                let mut g = frame.gpr;
                g[RSP] = regs.gpr[RSP];
                g
            },
            rflags: frame.rflags,
        }
    }
}

/// A64.
pub mod aarch64 {
    use romain_cae::aarch64::{Access, Block, Mode, Op, Registers};

    /// Rebasing a decoded load or store, and undoing it.
    pub trait Rebase {
        /// Registers with the base moved so that the instruction accesses `target`, and the
        /// distance it moved.
        fn rebase(&self, regs: &Registers, target: u64) -> (Registers, u64);

        /// The replica's registers after the instruction ran rebased by `delta` and left
        /// `after`: the base is the replica's own again (with its write-back applied), unless a
        /// load wrote it.
        fn result(&self, before: &Registers, delta: u64, after: &Registers) -> Registers;
    }

    impl Rebase for Access {
        fn rebase(&self, regs: &Registers, target: u64) -> (Registers, u64) {
            let delta = target.wrapping_sub(self.address(regs));
            let mut moved = *regs;
            moved.x[self.rn] = moved.x[self.rn].wrapping_add(delta);
            (moved, delta)
        }

        fn result(&self, before: &Registers, delta: u64, after: &Registers) -> Registers {
            let mut out = *after;
            let loads = matches!(
                self.op,
                Op::Load | Op::LoadPair | Op::LoadExclusive | Op::LoadAcquire
            );
            let loaded_into_base = loads && (self.rt == self.rn || self.rt2 == Some(self.rn));
            out.x[self.rn] = match self.mode {
                Mode::PreIndex(_) | Mode::PostIndex(_) => after.x[self.rn].wrapping_sub(delta),
                _ if loaded_into_base => after.x[self.rn],
                _ => before.x[self.rn],
            };
            out
        }
    }

    /// Words of the executor's code.
    pub const CODE_WORDS: usize = 96;

    /// Every register any word of the block may name (all 5-bit register fields).
    fn named(block: &Block) -> u32 {
        let mut mask = 0u32;
        for &w in block.words() {
            for lo in [0, 5, 10, 16] {
                mask |= 1 << ((w >> lo) & 31);
            }
        }
        mask
    }

    /// Writes the executor's code for `block`: save the callee-saved registers, load x0–x30
    /// (but the frame pointer, a register the block does not name) from the frame, run the
    /// block, store them back, return. Returns the number of words.
    pub fn write_code(block: &Block, code: &mut [u32; CODE_WORDS]) -> usize {
        let named = named(block);
        let s = (0..29u32)
            .find(|r| named & (1 << r) == 0)
            .expect("Block::decode refuses a block that names every one of x0-x28");
        let mut n = 0;
        let mut put = |w: u32| {
            code[n] = w;
            n += 1;
        };
        // stp x19, x20, [sp, #-96]!; stp x21..x30 at 16..80
        put(0xa9ba_53f3);
        for (i, pair) in [(21u32, 2u32), (23, 4), (25, 6), (27, 8), (29, 10)] {
            put(0xa900_0000 | (pair << 15) | ((i + 1) << 10) | (31 << 5) | i);
        }
        // mov xS, x0
        put(0xaa00_03e0 | s);
        for r in (0..31u32).filter(|&r| r != s) {
            // ldr xr, [xS, #8r]
            put(0xf940_0000 | (r << 10) | (s << 5) | r);
        }
        for &w in block.words() {
            put(w);
        }
        for r in (0..31u32).filter(|&r| r != s) {
            // str xr, [xS, #8r]
            put(0xf900_0000 | (r << 10) | (s << 5) | r);
        }
        // ldp x29, x30 .. x21, x22; ldp x19, x20, [sp], #96; ret
        for (i, pair) in [(29u32, 10u32), (27, 8), (25, 6), (23, 4), (21, 2)] {
            put(0xa940_0000 | (pair << 15) | ((i + 1) << 10) | (31 << 5) | i);
        }
        put(0xa8c6_53f3);
        put(0xd65f_03c0);
        n
    }

    /// Runs the code [`write_code`] wrote at `code` with `regs`. Returns the registers after
    /// it.
    ///
    /// # Safety
    /// `code` must hold [`write_code`]'s output for the block, in executable memory whose
    /// instruction cache is coherent with it, and the rebased access must be valid.
    #[cfg(target_arch = "aarch64")]
    pub unsafe fn execute(code: *const u8, regs: &Registers) -> Registers {
        let mut frame = [0u64; 31];
        frame.copy_from_slice(&regs.x);
        // SAFETY: the caller guarantees the code; it follows AAPCS64 (saves and restores
        // x19–x30 and leaves sp as it found it).
        let run: extern "C" fn(*mut u64) = unsafe { core::mem::transmute(code) };
        run(frame.as_mut_ptr());
        Registers { x: frame }
    }
}
