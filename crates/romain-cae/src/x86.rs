//! x86_64: decoding a faulting access with `iced-x86`, rebasing it, and executing it.

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

/// Index of rsp in [`Registers::gpr`].
pub const RSP: usize = 4;

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
    /// Whether the instruction writes the register used as the base (its result wins).
    writes_base: bool,
    writes_index: bool,
}

fn gpr(register: Register) -> Option<usize> {
    let full = register.full_register();
    (full.is_gpr64()).then(|| full as usize - Register::RAX as usize)
}

impl Access {
    /// Decodes the instruction at the start of `bytes` and checks that the executor handles it.
    pub fn decode(bytes: &[u8]) -> Result<Access, Unsupported> {
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
        let len = instr.len();
        let unsupported = |reason| Unsupported::Instruction {
            bytes: copy,
            len,
            reason,
        };
        if !SUPPORTED.contains(&instr.mnemonic()) {
            return Err(unsupported("not a supported shared-memory access"));
        }
        if instr.has_rep_prefix() || instr.has_repne_prefix() {
            return Err(unsupported("repeated string operations are not supported"));
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
        let base = match instr.memory_base() {
            Register::None => None,
            Register::RIP => return Err(unsupported("rip-relative addressing")),
            r => Some(gpr(r).ok_or(unsupported("the base is not a 64-bit register"))?),
        };
        let index = match instr.memory_index() {
            Register::None => None,
            r => Some(gpr(r).ok_or(unsupported("the index is not a 64-bit register"))?),
        };
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
        let mut writes_base = false;
        let mut writes_index = false;
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
            writes_base |= written && Some(r) == base;
            writes_index |= written && Some(r) == index;
        }
        // A register both addressing the memory and read as a value would be read rebased.
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
        Ok(Access {
            bytes: copy,
            len,
            mnemonic: instr.mnemonic(),
            size: instr.memory_size().size(),
            reads,
            writes,
            base,
            index,
            scale: instr.memory_index_scale(),
            displacement: instr.memory_displacement64(),
            writes_base,
            writes_index,
        })
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

    /// Registers that make the instruction access `target` instead of `self.address(regs)`:
    /// the base register moved by the difference (or the index, when the difference divides by
    /// the scale). `None` when neither can carry it.
    pub fn rebase(&self, regs: &Registers, target: u64) -> Option<Rebased> {
        let delta = target.wrapping_sub(self.address(regs));
        let mut moved = *regs;
        let register = if let Some(b) = self.base {
            moved.gpr[b] = moved.gpr[b].wrapping_add(delta);
            b
        } else {
            let i = self.index?;
            let scale = self.scale as u64;
            if !delta.is_multiple_of(scale) {
                return None;
            }
            moved.gpr[i] = moved.gpr[i].wrapping_add(delta / scale);
            i
        };
        let written = if Some(register) == self.base {
            self.writes_base
        } else {
            self.writes_index
        };
        Some(Rebased {
            regs: moved,
            register,
            undo: (!written).then_some(regs.gpr[register]),
        })
    }

    /// The replica's registers after the instruction ran as `after` (rebased): the moved
    /// register gets its own value back unless the instruction wrote it, flags outside
    /// [`FLAGS`] keep the replica's, and the instruction pointer moves past the instruction.
    pub fn result(&self, before: &Registers, rebased: &Rebased, after: &Registers) -> Registers {
        let mut out = *after;
        if let Some(value) = rebased.undo {
            out.gpr[rebased.register] = value;
        }
        out.rflags = (before.rflags & !FLAGS) | (after.rflags & FLAGS);
        out
    }
}

/// Registers with the memory operand moved onto the master's mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebased {
    pub regs: Registers,
    register: usize,
    /// The moved register's own value, when the instruction does not overwrite it.
    undo: Option<u64>,
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

/// Writes the executor's code for `access` into `code`: save the caller's callee-saved registers
/// and stack pointer, load the flags and every general-purpose register but rsp, run the
/// instruction, store them back, return. The stack pointer points at the register frame while
/// the instruction runs (which is why instructions using rsp are refused).
pub fn write_code(access: &Access, code: &mut [u8; CODE_BYTES]) -> usize {
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
    put(access.bytes());
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
    // mov rsp, [rsp + 0x88]
    put(&[0x48, 0x8b, 0xa4, 0x24, 0x88, 0, 0, 0]);
    // pop r15; pop r14; pop r13; pop r12; pop rbp; pop rbx; ret
    put(&[
        0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3,
    ]);
    n
}

/// Runs the instruction of `access` with `regs`, through code written by [`write_code`] at
/// `code`, and returns the registers after it.
///
/// # Safety
/// `code` must hold [`write_code`]'s output for this access in executable memory, and the
/// memory the instruction accesses with `regs` (rebased) must be mapped and valid to access.
#[cfg(target_arch = "x86_64")]
pub unsafe fn execute(code: *const u8, regs: &Registers) -> Registers {
    let mut frame = Frame {
        scratch: 0,
        gpr: regs.gpr,
        rflags: regs.rflags & FLAGS,
        saved_rsp: 0,
    };
    // SAFETY: the caller guarantees the code; it follows the System V calling convention (it
    // saves and restores every callee-saved register and the stack pointer).
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

#[cfg(test)]
mod tests {
    use super::*;

    const RAX: usize = 0;
    const RCX: usize = 1;
    const RDX: usize = 2;
    const RBX: usize = 3;
    const RSI: usize = 6;
    const RDI: usize = 7;
    const R8: usize = 8;
    const R12: usize = 12;

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

    #[test]
    fn refuses_what_it_cannot_execute_naming_the_bytes() {
        let table: &[(&[u8], &str)] = &[
            (&[0xf3, 0x48, 0xa5], "not a supported"), // rep movsq (string ops: later)
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
    fn rebasing_moves_the_base_or_index_and_undoes_it() {
        let regs = Registers {
            gpr: {
                let mut g = [0; 16];
                g[RSI] = 0x4000_0000;
                g[RCX] = 3;
                g
            },
            rflags: 0x202,
        };
        // mov [rsi+rcx*8+16], rdx
        let a = Access::decode(&[0x48, 0x89, 0x54, 0xce, 0x10]).unwrap();
        assert_eq!(a.address(&regs), 0x4000_0000 + 24 + 16);
        let r = a.rebase(&regs, 0x7000_0028).unwrap();
        assert_eq!(a.address(&r.regs), 0x7000_0028);
        assert_eq!(r.regs.gpr[RCX], 3, "the index stays");
        let out = a.result(&regs, &r, &r.regs);
        assert_eq!(out.gpr[RSI], 0x4000_0000, "the base gets its value back");

        // mov rax, [rax]: the loaded value wins over the undo.
        let load = Access::decode(&[0x48, 0x8b, 0x00]).unwrap();
        let mut regs2 = regs;
        regs2.gpr[RAX] = 0x4000_0000;
        let r = load.rebase(&regs2, 0x7000_0000).unwrap();
        let mut after = r.regs;
        after.gpr[RAX] = 99;
        assert_eq!(load.result(&regs2, &r, &after).gpr[RAX], 99);

        // Index only: [rcx*8 + 0x4000_0000] moves by a multiple of 8, else not at all.
        let idx = Access::decode(&[0x48, 0x8b, 0x04, 0xcd, 0, 0, 0, 0x40]).unwrap();
        assert!(idx.rebase(&regs, 0x7000_0018).is_some());
        assert!(idx.rebase(&regs, 0x7000_0019).is_none());
    }

    /// The executor itself, on this (x86_64) host, against a host buffer standing for the
    /// master's mapping of the shared region.
    #[cfg(target_arch = "x86_64")]
    fn run(bytes: &[u8], regs: &Registers, shared: &mut [u8]) -> Registers {
        let access = Access::decode(bytes).unwrap();
        let replica_addr = access.address(regs);
        let offset = replica_addr - 0x4000_0000;
        let target = shared.as_mut_ptr() as u64 + offset;
        let rebased = access.rebase(regs, target).unwrap();
        let mut code = [0u8; CODE_BYTES];
        let n = write_code(&access, &mut code);
        let mut exec = memmap2::MmapMut::map_anon(CODE_BYTES).unwrap();
        exec[..n].copy_from_slice(&code[..n]);
        let exec = exec.make_exec().unwrap();
        // SAFETY: the code was just written for this access; the rebased address is inside
        // `shared`.
        let after = unsafe { execute(exec.as_ptr(), &rebased.regs) };
        access.result(regs, &rebased, &after)
    }

    #[cfg(target_arch = "x86_64")]
    fn regs_with(pairs: &[(usize, u64)]) -> Registers {
        let mut r = Registers {
            gpr: [0; 16],
            rflags: 0x202,
        };
        for &(i, v) in pairs {
            r.gpr[i] = v;
        }
        r
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_executor_runs_loads_stores_and_atomics_once_against_the_buffer() {
        let base = 0x4000_0000;
        let mut shared = vec![0u8; 4096];
        shared[8..16].copy_from_slice(&41u64.to_le_bytes());

        // mov [rbx+8], ... no: add [rbx+8], rcx  → 41 + 1
        let r = run(
            &[0x48, 0x01, 0x4b, 0x08],
            &regs_with(&[(RBX, base), (RCX, 1)]),
            &mut shared,
        );
        assert_eq!(u64::from_le_bytes(shared[8..16].try_into().unwrap()), 42);
        assert_eq!(r.gpr[RBX], base, "the base register is the replica's again");
        assert_eq!(r.rflags & 0x40, 0, "ZF clear: 42 is not zero");

        // mov rdx, [rbx+8]
        let r = run(
            &[0x48, 0x8b, 0x53, 0x08],
            &regs_with(&[(RBX, base)]),
            &mut shared,
        );
        assert_eq!(r.gpr[RDX], 42);

        // lock xadd [rbx], eax: the old value comes back, the sum stays; 1000 increments, once
        // each, end at exactly 1000.
        for i in 0..1000u64 {
            let r = run(
                &[0xf0, 0x0f, 0xc1, 0x03],
                &regs_with(&[(RBX, base), (RAX, 1)]),
                &mut shared,
            );
            assert_eq!(r.gpr[RAX], i);
        }
        assert_eq!(u32::from_le_bytes(shared[0..4].try_into().unwrap()), 1000);

        // lock cmpxchg [rbx+16], rcx with rax = the current value: swaps and sets ZF.
        shared[16..24].copy_from_slice(&7u64.to_le_bytes());
        let r = run(
            &[0xf0, 0x48, 0x0f, 0xb1, 0x4b, 0x10],
            &regs_with(&[(RBX, base), (RAX, 7), (RCX, 9)]),
            &mut shared,
        );
        assert_eq!(u64::from_le_bytes(shared[16..24].try_into().unwrap()), 9);
        assert_ne!(r.rflags & 0x40, 0, "ZF set");
        // And with a stale rax: no swap, rax gets the current value, ZF clear.
        let r = run(
            &[0xf0, 0x48, 0x0f, 0xb1, 0x4b, 0x10],
            &regs_with(&[(RBX, base), (RAX, 7), (RCX, 5)]),
            &mut shared,
        );
        assert_eq!(u64::from_le_bytes(shared[16..24].try_into().unwrap()), 9);
        assert_eq!((r.gpr[RAX], r.rflags & 0x40), (9, 0));

        // movzx r12d, byte [rsi+rdi*1+3] with a register-indexed address; other registers
        // come back untouched.
        shared[0x103] = 0xfe;
        let r = run(
            &[0x44, 0x0f, 0xb6, 0x64, 0x3e, 0x03],
            &regs_with(&[(RSI, base), (RDI, 0x100), (R8, 77)]),
            &mut shared,
        );
        assert_eq!((r.gpr[R12], r.gpr[RDI], r.gpr[R8]), (0xfe, 0x100, 77));
    }
}
