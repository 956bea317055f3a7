//! x86_64: the decoder against iced-x86's own instruction information, over a large, fixed set
//! of encodings (random byte strings and a sweep over every one- and two-byte opcode with
//! every ModRM byte, under random prefixes), and, on an x86_64 host, against the processor:
//! every instruction the decoder accepts is run by the tests' host executor
//! (`common/executor.rs`) on a host buffer.
//!
//! For every encoding decoded as supported:
//! - `writes()` holds every general-purpose register iced says it writes (explicitly or
//!   implicitly, conditionally or not), the flags bit when iced says it modifies a flag, and
//!   never rsp;
//! - its length is iced's, its memory operand is iced's only one, of the same size, and
//!   `address()` computes iced's virtual address for random register values;
//! - run (x86_64 hosts), it changes no register outside `writes()`, no flag when the flags bit
//!   is clear, no byte outside `address..address + size` (none at all when it only reads), and
//!   the executor's `result()` gives back every register it does not write with the replica's
//!   own value;
//! - a string instruction run for a chunk of its iterations at the addresses
//!   [`StringOp::rebase`] gives it changes no register outside `writes()`, no flag when the
//!   flags bit is clear, and no byte outside the span of the iterations it ran at rdi.

mod common;

use common::Rng;
use iced_x86::{Decoder, DecoderOptions, InstructionInfoFactory, OpAccess, Register};
use romain_cae::x86::{self, Access, FLAGS, Op, RFLAGS_WRITTEN, RSP, Registers, StringOp};

const RANDOM_STRINGS: usize = 150_000;
/// Encodings per (opcode, ModRM) pair of the sweep.
const SWEEP_VARIANTS: usize = 2;

fn random_regs(rng: &mut Rng) -> Registers {
    let mut regs = Registers {
        gpr: [0; 16],
        rflags: 0x202 | (rng.next() & FLAGS),
    };
    for g in &mut regs.gpr {
        *g = rng.value();
    }
    regs
}

/// Encodings: random strings, then every one-byte opcode, two-byte (0f xx) opcode and the
/// three-byte movbe forms, with every ModRM byte, random legacy prefixes, REX, SIB,
/// displacement and immediate bytes.
fn corpus(rng: &mut Rng) -> Vec<[u8; 15]> {
    let mut out = Vec::new();
    for _ in 0..RANDOM_STRINGS {
        let mut b = [0u8; 15];
        rng.bytes(&mut b);
        out.push(b);
    }
    const PREFIXES: &[&[u8]] = &[
        &[],
        &[],
        &[],
        &[0x66],
        &[0xf0],
        &[0xf0],
        &[0x67],
        &[0x2e],
        &[0x36],
        &[0x3e],
        &[0x26],
        &[0x64],
        &[0x65],
        &[0xf2],
        &[0xf3],
        &[0xf0, 0x66],
        &[0x66, 0xf0],
        &[0xf3, 0xf0],
        &[0xf2, 0xf0],
        &[0x67, 0xf0],
    ];
    let mut opcodes: Vec<Vec<u8>> = (0..=255u8).map(|o| vec![o]).collect();
    opcodes.extend((0..=255u8).map(|o| vec![0x0f, o]));
    opcodes.push(vec![0x0f, 0x38, 0xf0]);
    opcodes.push(vec![0x0f, 0x38, 0xf1]);
    for opcode in &opcodes {
        for modrm in 0..=255u8 {
            for _ in 0..SWEEP_VARIANTS {
                let mut b = [0u8; 15];
                rng.bytes(&mut b);
                let mut n = 0;
                let mut put = |x: u8| {
                    b[n] = x;
                    n += 1;
                };
                for &p in PREFIXES[rng.below(PREFIXES.len() as u64) as usize] {
                    put(p);
                }
                if rng.below(2) == 0 {
                    put(0x40 | rng.below(16) as u8);
                }
                for &o in opcode {
                    put(o);
                }
                put(modrm);
                out.push(b);
            }
        }
    }
    out
}

/// iced's account of the instruction: general-purpose registers written (bit i: gpr i), and
/// whether any flag is modified.
fn iced_writes(bytes: &[u8]) -> (u32, bool) {
    let mut decoder = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    let instr = decoder.decode();
    let mut factory = InstructionInfoFactory::new();
    let mut mask = 0;
    for used in factory.info(&instr).used_registers() {
        let full = used.register().full_register();
        let written = matches!(
            used.access(),
            OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite | OpAccess::ReadCondWrite
        );
        if written && full.is_gpr64() {
            mask |= 1 << (full as u32 - Register::RAX as u32);
        }
    }
    (mask, instr.rflags_modified() != 0)
}

/// A register's value for iced's address computation: the 64-bit registers from `regs`, the
/// segment bases of 64-bit mode (cs, ds, es, ss: 0).
fn value_of(regs: &Registers, register: Register) -> Option<u64> {
    if register.is_gpr64() {
        Some(regs.gpr[register as usize - Register::RAX as usize])
    } else if matches!(
        register,
        Register::ES | Register::CS | Register::SS | Register::DS
    ) {
        Some(0)
    } else {
        None
    }
}

#[derive(Default, Debug)]
#[allow(dead_code)] // printed
struct Tally {
    encodings: usize,
    accesses: usize,
    strings: usize,
    /// Accesses whose `writes()` is larger than iced's account.
    larger: usize,
    executed: usize,
    strings_executed: usize,
}

fn check_writes(bytes: &[u8], writes: u32, tally: &mut Tally) {
    let (iced, flags) = iced_writes(bytes);
    assert_eq!(writes & (1 << RSP), 0, "{bytes:02x?}: rsp in writes()");
    assert_eq!(
        iced & !writes,
        0,
        "{bytes:02x?}: iced says it writes {iced:#x}, writes() is {writes:#x}"
    );
    assert!(
        !flags || writes & RFLAGS_WRITTEN != 0,
        "{bytes:02x?}: iced says it modifies flags, writes() is {writes:#x}"
    );
    let exact = iced | if flags { RFLAGS_WRITTEN } else { 0 };
    if writes != exact {
        tally.larger += 1;
    }
}

fn check_access(a: &Access, bytes: &[u8], rng: &mut Rng, tally: &mut Tally) {
    check_writes(bytes, a.writes(), tally);
    let mut decoder = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    let instr = decoder.decode();
    assert_eq!(a.len, instr.len(), "{bytes:02x?}");
    assert_eq!(a.bytes(), &bytes[..a.len]);
    let mut factory = InstructionInfoFactory::new();
    let info = factory.info(&instr);
    let memory = info.used_memory();
    assert_eq!(memory.len(), 1, "{bytes:02x?}: {memory:?}");
    assert_eq!(memory[0].memory_size().size(), a.size, "{bytes:02x?}");
    for _ in 0..3 {
        let regs = random_regs(rng);
        let iced = memory[0]
            .virtual_address(0, |r, _, _| value_of(&regs, r))
            .unwrap_or_else(|| panic!("{bytes:02x?}: {memory:?}"));
        assert_eq!(a.address(&regs), iced, "{bytes:02x?}: {regs:x?}");
        assert_eq!(
            a.span(&regs),
            iced.checked_add(a.size as u64).map(|end| iced..end),
            "{bytes:02x?}"
        );
    }
}

fn check_string(s: &StringOp, bytes: &[u8], tally: &mut Tally) {
    check_writes(bytes, s.writes(), tally);
    let mut decoder = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    let instr = decoder.decode();
    assert_eq!(s.len, instr.len(), "{bytes:02x?}");
    let mut factory = InstructionInfoFactory::new();
    let memory = factory.info(&instr).used_memory().to_vec();
    let base = |r: Register| memory.iter().find(|m| m.base() == r);
    assert_eq!(
        s.has_source(),
        base(Register::RSI).is_some(),
        "{bytes:02x?}"
    );
    assert_eq!(
        s.has_destination(),
        base(Register::RDI).is_some(),
        "{bytes:02x?}"
    );
    assert_eq!(instr.memory_size().size() as u64, s.size, "{bytes:02x?}");
    for m in &memory {
        // iced gives repeated forms an unknown size (the whole string).
        let size = m.memory_size().size() as u64;
        assert!(size == s.size || size == 0, "{bytes:02x?}: {m:?}");
        assert!(
            matches!(m.base(), Register::RSI | Register::RDI),
            "{bytes:02x?}: {m:?}"
        );
    }
    let destination_written = base(Register::RDI).is_some_and(|m| {
        matches!(
            m.access(),
            OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite | OpAccess::ReadCondWrite
        )
    });
    assert_eq!(s.writes_destination(), destination_written, "{bytes:02x?}");
}

#[cfg(target_arch = "x86_64")]
mod run {
    use super::*;
    use common::executor::x86::{self as executor, Rebase};

    /// Runs `instruction` through the host executor with `regs`.
    pub fn execute(instruction: &[u8], regs: &Registers) -> Registers {
        let code = executor::map_code(instruction);
        // SAFETY: the executor's code for an instruction the decoder accepted, whose accesses
        // the callers rebased into their buffers.
        unsafe { executor::execute(code.as_ptr(), regs) }
    }

    /// A buffer of random bytes and its pristine copy: checked (memcmp) and restored after
    /// every run.
    pub struct Buffer {
        pub bytes: Vec<u8>,
        pristine: Vec<u8>,
    }

    impl Buffer {
        pub fn new(rng: &mut Rng) -> Buffer {
            let mut bytes = vec![0u8; 3 * 4096];
            rng.bytes(&mut bytes);
            Buffer {
                pristine: bytes.clone(),
                bytes,
            }
        }

        /// Checks that only bytes for which `allowed` holds changed, and restores them.
        fn check(&mut self, allowed: impl Fn(usize) -> bool, what: &dyn Fn() -> String) {
            if self.bytes != self.pristine {
                for (i, (x, y)) in self.bytes.iter().zip(&self.pristine).enumerate() {
                    assert!(
                        x == y || allowed(i),
                        "{}: byte {i} of the buffer changed",
                        what()
                    );
                }
                self.bytes.copy_from_slice(&self.pristine);
            }
        }
    }

    pub fn access(a: &Access, rng: &mut Rng, buffer: &mut Buffer) {
        let bytes = a.bytes();
        let regs = random_regs(rng);
        // The target keeps the address's alignment modulo 8 (an index-only address moves by
        // multiples of its scale) and lies well inside the buffer, never across a cache line.
        let start = buffer.bytes.as_ptr() as u64;
        let aligned = (start + 4095) & !63;
        let target = aligned + (a.address(&regs) & 7);
        let offset = (target - start) as usize;
        let rebased = a
            .rebase(&regs, target)
            .unwrap_or_else(|| panic!("{bytes:02x?}: cannot rebase"));
        assert_eq!(a.address(&rebased.regs), target, "{bytes:02x?}");
        let after = execute(bytes, &rebased.regs);
        let writes = a.writes();
        for i in (0..16).filter(|&i| i != RSP && writes & (1 << i) == 0) {
            assert_eq!(
                after.gpr[i], rebased.regs.gpr[i],
                "{bytes:02x?}: register {i} changed, writes() is {writes:#x}"
            );
        }
        if writes & RFLAGS_WRITTEN == 0 {
            assert_eq!(
                after.rflags & FLAGS,
                rebased.regs.rflags & FLAGS,
                "{bytes:02x?}: flags changed"
            );
        }
        buffer.check(
            |i| a.writes && (offset..offset + a.size).contains(&i),
            &|| format!("{bytes:02x?} ({} bytes at {offset})", a.size),
        );
        let out = a.result(&regs, &rebased, &after);
        for i in (0..16).filter(|&i| writes & (1 << i) == 0) {
            assert_eq!(
                out.gpr[i], regs.gpr[i],
                "{bytes:02x?}: the replica's register {i} is not its own"
            );
        }
    }

    pub fn string(s: &StringOp, rng: &mut Rng, buffer: &mut Buffer) {
        let bytes = s.bytes();
        let mut regs = random_regs(rng);
        let chunk = rng.below(4);
        let base = buffer.bytes.as_ptr() as u64;
        let source = base + 1024 + rng.below(64);
        let destination = base + 3072 + rng.below(64);
        regs.gpr[x86::RCX] = chunk;
        let rebased = s.rebase(&regs, chunk, Some(source), Some(destination));
        let after = execute(bytes, &rebased);
        let writes = s.writes();
        for i in (0..16).filter(|&i| i != RSP && writes & (1 << i) == 0) {
            assert_eq!(
                after.gpr[i], rebased.gpr[i],
                "{bytes:02x?}: register {i} changed, writes() is {writes:#x}"
            );
        }
        if writes & RFLAGS_WRITTEN == 0 {
            assert_eq!(
                after.rflags & FLAGS,
                rebased.rflags & FLAGS,
                "{bytes:02x?}: flags changed"
            );
        }
        let backward = StringOp::backward(&rebased);
        let iterations = s.iterations(chunk, &after);
        let span = s.span(destination, iterations, backward);
        buffer.check(
            |i| s.writes_destination() && span.contains(&(base + i as u64)),
            &|| format!("{bytes:02x?}"),
        );
    }
}

#[test]
fn the_decoder_agrees_with_iced_and_the_processor() {
    let mut rng = Rng::new(0x5eed_c0de_0086_0064);
    let corpus = corpus(&mut rng);
    let mut tally = Tally {
        encodings: corpus.len(),
        ..Tally::default()
    };
    #[cfg(target_arch = "x86_64")]
    let mut buffer = run::Buffer::new(&mut rng);
    for bytes in &corpus {
        match x86::decode(bytes) {
            Ok(Op::Access(a)) => {
                tally.accesses += 1;
                check_access(&a, bytes, &mut rng, &mut tally);
                assert_eq!(Op::Access(a).writes(), a.writes());
                #[cfg(target_arch = "x86_64")]
                {
                    run::access(&a, &mut rng, &mut buffer);
                    tally.executed += 1;
                }
            }
            Ok(Op::String(s)) => {
                tally.strings += 1;
                check_string(&s, bytes, &mut tally);
                #[cfg(target_arch = "x86_64")]
                {
                    run::string(&s, &mut rng, &mut buffer);
                    tally.strings_executed += 1;
                }
            }
            Err(_) => {}
        }
    }
    println!("{tally:?}");
    // The corpus must exercise the decoder (a change that refused everything would pass
    // the checks above).
    assert!(tally.accesses > 20_000, "{tally:?}");
    assert!(tally.strings > 500, "{tally:?}");
}
