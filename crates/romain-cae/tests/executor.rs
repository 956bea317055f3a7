//! The tests' host executor (`common/executor.rs`), which the differential tests rely on:
//! rebasing an access onto a host buffer and undoing it, modulo 2^64 as the processor computes
//! addresses, the code it frames an instruction or an exclusive block with, and, on an x86_64
//! host, running loads, stores and atomics once, and string instructions chunk by chunk as
//! [`StringOp`]'s planning (count, fit, rebase, result) drives them, against host buffers.

mod common;

use common::Rng;
use common::executor::aarch64::{self as a64_executor, Rebase as _};
use common::executor::x86::Rebase as _;
use romain_cae::aarch64::{self, Block};
use romain_cae::x86::{self, RAX, RCX, RDI, RSI, Registers};

const MAX: u64 = u64::MAX;

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

#[test]
fn x86_rebasing_moves_the_base_or_index_and_undoes_it() {
    let regs = regs_with(&[(RSI, 0x4000_0000), (RCX, 3)]);
    // mov [rsi+rcx*8+16], rdx
    let a = x86::Access::decode(&[0x48, 0x89, 0x54, 0xce, 0x10]).unwrap();
    assert_eq!(a.address(&regs), 0x4000_0000 + 24 + 16);
    let r = a.rebase(&regs, 0x7000_0028).unwrap();
    assert_eq!(a.address(&r.regs), 0x7000_0028);
    assert_eq!(r.regs.gpr[RCX], 3, "the index stays");
    let out = a.result(&regs, &r, &r.regs);
    assert_eq!(out.gpr[RSI], 0x4000_0000, "the base gets its value back");

    // mov rax, [rax]: the loaded value wins over the undo.
    let load = x86::Access::decode(&[0x48, 0x8b, 0x00]).unwrap();
    let mut regs2 = regs;
    regs2.gpr[RAX] = 0x4000_0000;
    let r = load.rebase(&regs2, 0x7000_0000).unwrap();
    let mut after = r.regs;
    after.gpr[RAX] = 99;
    assert_eq!(load.result(&regs2, &r, &after).gpr[RAX], 99);

    // Index only: [rcx*8 + 0x4000_0000] moves by a multiple of 8, else not at all.
    let idx = x86::Access::decode(&[0x48, 0x8b, 0x04, 0xcd, 0, 0, 0, 0x40]).unwrap();
    assert!(idx.rebase(&regs, 0x7000_0018).is_some());
    assert!(idx.rebase(&regs, 0x7000_0019).is_none());
}

#[test]
fn x86_rebasing_wraps_modulo_2_64() {
    // mov [rsi+rcx*8+16], rdx
    let a = x86::Access::decode(&[0x48, 0x89, 0x54, 0xce, 0x10]).unwrap();
    let regs = regs_with(&[(RSI, MAX - 24), (RCX, 0)]);
    // Rebasing onto an address near either end moves the base modulo 2^64.
    for target in [0, 1, MAX, MAX - 7, 1 << 63] {
        let r = a.rebase(&regs, target).unwrap();
        assert_eq!(a.address(&r.regs), target);
        assert_eq!(a.result(&regs, &r, &r.regs).gpr[RSI], regs.gpr[RSI]);
    }
    // Index-only [rcx*8 + 0x40000000]: a delta that is not a multiple of 8 cannot be carried.
    let idx = x86::Access::decode(&[0x48, 0x8b, 0x04, 0xcd, 0, 0, 0, 0x40]).unwrap();
    let regs = regs_with(&[(RCX, MAX)]);
    assert_eq!(idx.address(&regs), 0x4000_0000 - 8);
    let r = idx.rebase(&regs, MAX - 7).unwrap();
    assert_eq!(idx.address(&r.regs), MAX - 7);
    assert!(idx.rebase(&regs, MAX).is_none());
}

#[test]
fn a64_rebasing_and_write_back() {
    let mut regs = aarch64::Registers::default();
    regs.x[15] = 0x4000_0000;
    regs.x[20] = 3;
    // ldr x14, [x15, #8]!: accesses base + 8, the base ends at base + 8.
    let pre = aarch64::Access::decode(0xf840_8dee).unwrap();
    assert_eq!(pre.address(&regs), 0x4000_0008);
    let (moved, delta) = pre.rebase(&regs, 0x7000_0008);
    assert_eq!(pre.address(&moved), 0x7000_0008);
    let mut after = moved;
    after.x[15] += 8; // what the hardware's write-back does
    after.x[14] = 55;
    let out = pre.result(&regs, delta, &after);
    assert_eq!((out.x[15], out.x[14]), (0x4000_0008, 55));

    // ldr x18, [x19, x20, lsl #3]
    regs.x[19] = 0x4000_0100;
    let reg = aarch64::Access::decode(0xf874_7a72).unwrap();
    assert_eq!(reg.address(&regs), 0x4000_0118);
    let (moved, delta) = reg.rebase(&regs, 0x9000_0118);
    assert_eq!(moved.x[20], 3);
    assert_eq!(reg.result(&regs, delta, &moved).x[19], 0x4000_0100);

    // ldr x0, [x0]: the loaded value stays.
    regs.x[0] = 0x4000_0000;
    let load = aarch64::Access::decode(0xf940_0000).unwrap();
    let (mut moved, delta) = load.rebase(&regs, 0x7000_0000);
    moved.x[0] = 1234;
    assert_eq!(load.result(&regs, delta, &moved).x[0], 1234);
}

#[test]
fn a64_rebasing_wraps_modulo_2_64() {
    let mut regs = aarch64::Registers::default();
    // ldr x14, [x15, #8]! rebased onto the top: the write-back comes back modulo 2^64.
    let pre = aarch64::Access::decode(0xf840_8dee).unwrap();
    regs.x[15] = 0x4000_0000;
    let (moved, delta) = pre.rebase(&regs, MAX - 7);
    assert_eq!(pre.address(&moved), MAX - 7);
    let mut after = moved;
    after.x[15] = moved.x[15].wrapping_add(8);
    assert_eq!(pre.result(&regs, delta, &after).x[15], 0x4000_0008);
}

/// Random register values and targets near the boundaries: rebasing and undoing it never
/// panic (overflow checks are on in tests), and a rebased access accesses its target.
#[test]
fn rebasing_never_panics_on_boundary_values() {
    let mut rng = Rng::new(0x0f10_0f10);
    let x86: &[&[u8]] = &[
        &[0x48, 0x89, 0x54, 0xce, 0x10],          // mov [rsi+rcx*8+16], rdx
        &[0x48, 0x8b, 0x04, 0xcd, 0, 0, 0, 0x40], // mov rax, [rcx*8+0x40000000]
        &[0xf0, 0x0f, 0xc1, 0x03],                // lock xadd [rbx], eax
        &[0x48, 0x8b, 0x83, 0x00, 0x00, 0x00, 0x80], // mov rax, [rbx-0x80000000]
    ];
    for _ in 0..20_000 {
        let mut regs = Registers {
            gpr: [0; 16],
            rflags: rng.next(),
        };
        for g in &mut regs.gpr {
            *g = rng.value();
        }
        let bytes = x86[rng.below(x86.len() as u64) as usize];
        let a = x86::Access::decode(bytes).unwrap();
        let target = rng.value();
        if let Some(r) = a.rebase(&regs, target) {
            assert_eq!(a.address(&r.regs), target, "{bytes:02x?}");
            let _ = a.result(&regs, &r, &r.regs);
        }
    }
    let a64 = common::A64_ACCESSES;
    for _ in 0..20_000 {
        let mut regs = aarch64::Registers::default();
        for x in &mut regs.x {
            *x = rng.value();
        }
        let words = a64[rng.below(a64.len() as u64) as usize];
        let a = Block::decode(words).unwrap().access;
        let target = rng.value();
        let (moved, delta) = a.rebase(&regs, target);
        assert_eq!(a.address(&moved), target, "{words:08x?}");
        let _ = a.result(&regs, delta, &moved);
    }
}

#[test]
fn a64_the_code_frames_the_instruction() {
    let block = Block::decode(&[0xf940_0862]).unwrap(); // ldr x2, [x3, #16]
    let mut code = [0u32; a64_executor::CODE_WORDS];
    let n = a64_executor::write_code(&block, &mut code);
    // 6 saves, a mov, 30 loads, the instruction, 30 stores, 6 restores, ret.
    assert_eq!(n, 6 + 1 + 30 + 1 + 30 + 6 + 1);
    assert_eq!(code[7 + 30], 0xf940_0862);
    assert_eq!(code[n - 1], 0xd65f_03c0);
    // The frame pointer is none of the registers the instruction names.
    let mov = code[6];
    assert_eq!(mov & 0xffff_ffe0, 0xaa00_03e0);
    assert!(![2, 3].contains(&(mov & 31)), "{mov:08x}");
}

/// What rustc emits for `AtomicU64::fetch_add` on ARMv8.0 (objdump of shm-demo):
/// `ldaxr x15, [x14]; add x15, x15, #1; stlxr w16, x15, [x14]; cbnz w16, retry`.
#[test]
fn a64_an_exclusive_block_runs_as_one() {
    let words = [0xc85f_fdcf, 0x9100_05ef, 0xc810_fdcf, 0x35ff_ffb0];
    let block = Block::decode(&words).unwrap();
    let mut code = [0u32; a64_executor::CODE_WORDS];
    let n = a64_executor::write_code(&block, &mut code);
    assert_eq!(&code[37..40], &words[..3]);
    assert_eq!(n, 6 + 1 + 30 + 3 + 30 + 6 + 1);
}

/// Running instructions on this (x86_64) host.
#[cfg(target_arch = "x86_64")]
mod host {
    use super::*;
    use crate::common::executor::x86 as executor;
    use romain_cae::x86::{Op, StringOp};

    const RDX: usize = 2;
    const RBX: usize = 3;
    const R8: usize = 8;
    const R12: usize = 12;
    /// The direction flag and the zero flag.
    const DF: u64 = 0x400;
    const ZF: u64 = 0x40;

    /// The executor itself, on this (x86_64) host, against a host buffer standing for the shared
    /// region at 0x4000_0000.
    fn run(bytes: &[u8], regs: &Registers, shared: &mut [u8]) -> Registers {
        let access = x86::Access::decode(bytes).unwrap();
        let replica_addr = access.address(regs);
        let offset = replica_addr - 0x4000_0000;
        let target = shared.as_mut_ptr() as u64 + offset;
        let rebased = access.rebase(regs, target).unwrap();
        let code = executor::map_code(access.bytes());
        // SAFETY: the code was just written for this access; the rebased address is inside
        // `shared`.
        let after = unsafe { executor::execute(code.as_ptr(), &rebased.regs) };
        access.result(regs, &rebased, &after)
    }

    #[test]
    fn the_executor_runs_loads_stores_and_atomics_once_against_the_buffer() {
        let base = 0x4000_0000;
        let mut shared = vec![0u8; 4096];
        shared[8..16].copy_from_slice(&41u64.to_le_bytes());

        // add [rbx+8], rcx  → 41 + 1
        let r = run(
            &[0x48, 0x01, 0x4b, 0x08],
            &regs_with(&[(RBX, base), (RCX, 1)]),
            &mut shared,
        );
        assert_eq!(u64::from_le_bytes(shared[8..16].try_into().unwrap()), 42);
        assert_eq!(r.gpr[RBX], base, "the base register is the replica's again");
        assert_eq!(r.rflags & ZF, 0, "ZF clear: 42 is not zero");

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
        assert_ne!(r.rflags & ZF, 0, "ZF set");
        // And with a stale rax: no swap, rax gets the current value, ZF clear.
        let r = run(
            &[0xf0, 0x48, 0x0f, 0xb1, 0x4b, 0x10],
            &regs_with(&[(RBX, base), (RAX, 7), (RCX, 5)]),
            &mut shared,
        );
        assert_eq!(u64::from_le_bytes(shared[16..24].try_into().unwrap()), 9);
        assert_eq!((r.gpr[RAX], r.rflags & ZF), (9, 0));

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

    /// A replica's private memory (pages seen one at a time) and the shared region, both host
    /// buffers; the loop plays the master and the replicas re-executing.
    struct Memory {
        private: Vec<u8>,
        shared: Vec<u8>,
    }

    const PRIVATE: u64 = 0x1000_0000;
    const SHARED: u64 = 0x4000_0000;

    impl Memory {
        fn new() -> Memory {
            Memory {
                private: vec![0; 4 * 4096],
                shared: vec![0; 4 * 4096],
            }
        }

        /// The host address of `addr` and the window it may run on in.
        fn view(&mut self, addr: u64) -> (u64, core::ops::Range<u64>) {
            if (SHARED..SHARED + self.shared.len() as u64).contains(&addr) {
                let window = SHARED..SHARED + self.shared.len() as u64;
                (self.shared.as_mut_ptr() as u64 + (addr - SHARED), window)
            } else {
                assert!((PRIVATE..PRIVATE + self.private.len() as u64).contains(&addr));
                let page = addr & !0xfff;
                (
                    self.private.as_mut_ptr() as u64 + (addr - PRIVATE),
                    page..page + 4096,
                )
            }
        }
    }

    /// Runs a string instruction to its end, chunk by chunk; returns the registers and the number
    /// of chunks.
    fn run_string(bytes: &[u8], regs: &Registers, memory: &mut Memory) -> (Registers, u32) {
        let Ok(Op::String(op)) = x86::decode(bytes) else {
            panic!("{bytes:02x?}")
        };
        let code = executor::map_code(op.bytes());
        let (mut regs, mut chunks) = (*regs, 0);
        loop {
            let backward = StringOp::backward(&regs);
            let mut chunk = op.count(&regs);
            let mut operand = |addr: u64| {
                let (host, window) = memory.view(addr);
                chunk = chunk.min(op.fit(addr, &window, backward));
                host
            };
            let source = op.has_source().then(|| operand(regs.gpr[RSI]));
            let destination = op.has_destination().then(|| operand(regs.gpr[RDI]));
            assert!(chunk > 0);
            let rebased = op.rebase(&regs, chunk, source, destination);
            // SAFETY: the code was just written; the chunk lies inside the buffers.
            let after = unsafe { executor::execute(code.as_ptr(), &rebased) };
            let (out, done) = op.result(&regs, chunk, &after);
            regs = out;
            chunks += 1;
            if done {
                return (regs, chunks);
            }
        }
    }

    #[test]
    fn the_executor_runs_string_instructions_chunk_by_chunk() {
        let mut memory = Memory::new();
        for (i, b) in memory.private.iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }

        // rep movsb: 10000 bytes from private memory (over two page edges: three chunks) into the
        // region.
        let (r, chunks) = run_string(
            &[0xf3, 0xa4],
            &regs_with(&[(RSI, PRIVATE + 100), (RDI, SHARED + 5), (RCX, 10000)]),
            &mut memory,
        );
        assert_eq!(memory.shared[5..10005], memory.private[100..10100]);
        assert_eq!(memory.shared[10005], 0, "not one byte more");
        assert_eq!(
            (r.gpr[RCX], r.gpr[RSI], r.gpr[RDI], chunks),
            (0, PRIVATE + 10100, SHARED + 10005, 3)
        );

        // rep stosq downwards (DF set): five quadwords ending at the one at rdi.
        memory.shared.fill(0);
        let mut regs = regs_with(&[(RDI, SHARED + 0x2000), (RCX, 5), (RAX, 0x1122_3344)]);
        regs.rflags |= DF;
        let (r, _) = run_string(&[0xf3, 0x48, 0xab], &regs, &mut memory);
        for i in 0..5 {
            let at = 0x2000 - 8 * i;
            let word = u64::from_le_bytes(memory.shared[at..at + 8].try_into().unwrap());
            assert_eq!(word, 0x1122_3344, "element {i}");
        }
        assert_eq!(memory.shared[0x2008], 0);
        assert_eq!((r.gpr[RDI], r.gpr[RCX]), (SHARED + 0x2000 - 40, 0));
        assert_ne!(r.rflags & DF, 0, "the replica keeps its direction");
        let flags: u64;
        // SAFETY: reads the flags.
        unsafe { core::arch::asm!("pushfq", "pop {}", out(reg) flags) };
        assert_eq!(flags & DF, 0, "the host's DF is clear again");

        // repe cmpsb: the region holds a copy of private bytes with byte 8 changed.
        memory.shared[0x3000..0x3010].copy_from_slice(&memory.private[0..16]);
        memory.shared[0x3008] ^= 1;
        let (r, _) = run_string(
            &[0xf3, 0xa6],
            &regs_with(&[(RSI, PRIVATE), (RDI, SHARED + 0x3000), (RCX, 16)]),
            &mut memory,
        );
        assert_eq!(
            (r.gpr[RCX], r.gpr[RSI], r.rflags & ZF),
            (16 - 9, PRIVATE + 9, 0)
        );

        // repne scasb: finds the first 0x2a in the region.
        memory.shared[0x3100..0x3120].fill(1);
        memory.shared[0x3113] = 0x2a;
        let (r, _) = run_string(
            &[0xf2, 0xae],
            &regs_with(&[(RDI, SHARED + 0x3100), (RCX, 0x20), (RAX, 0x2a)]),
            &mut memory,
        );
        assert_eq!((r.gpr[RDI], r.rflags & ZF), (SHARED + 0x3114, ZF));

        // lodsq, once: rcx is not touched.
        memory.shared[0x3200..0x3208].copy_from_slice(&77u64.to_le_bytes());
        let (r, _) = run_string(
            &[0x48, 0xad],
            &regs_with(&[(RSI, SHARED + 0x3200), (RCX, 9)]),
            &mut memory,
        );
        assert_eq!(
            (r.gpr[RAX], r.gpr[RSI], r.gpr[RCX]),
            (77, SHARED + 0x3208, 9)
        );
    }
}
