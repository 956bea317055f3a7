//! A64: the decoder against an independent one, yaxpeax-arm, over a large, fixed set of
//! encodings: random words, a sweep over every combination of the top ten bits (size, class,
//! V, opc) of the load/store space, and sweeps over the register fields of each supported
//! form; exclusive blocks with random and swept instructions between the load- and the
//! store-exclusive.
//!
//! For every load or store decoded as supported, yaxpeax decodes it to the same kind of
//! access (its opcode), the same base register, access size and write-back, the same address
//! for random register values (computed from yaxpeax's operand), `writes()` is exactly the set
//! of registers yaxpeax's operands say it writes, and a store never stores its base register.
//! For every exclusive block decoded as supported, the instruction between is one of the
//! ARMv8.0 base data-processing instructions by yaxpeax's opcode, none of its operands is sp,
//! a condition or the pc, it neither reads nor writes the base, and `writes()` is exactly the
//! load's, its destination and the store's status.

mod common;

use common::Rng;
use romain_cae::aarch64::{Access, Block, Op, Registers};
use yaxpeax_arch::{Arch, Decoder, U8Reader};
use yaxpeax_arm::armv8::a64::{ARMv8, Instruction, Opcode, Operand, ShiftStyle, SizeCode};

const RANDOM_WORDS: usize = 1_000_000;

fn yax(word: u32) -> Option<Instruction> {
    let bytes = word.to_le_bytes();
    let mut reader = U8Reader::new(&bytes[..]);
    <ARMv8 as Arch>::Decoder::default().decode(&mut reader).ok()
}

fn random_regs(rng: &mut Rng) -> Registers {
    let mut regs = Registers::default();
    for x in &mut regs.x {
        *x = rng.value();
    }
    regs
}

/// What yaxpeax's opcode says the access is: its kind, and its size when the opcode fixes it
/// (otherwise the transferred register's).
fn kind(opcode: Opcode) -> Option<(Op, Option<usize>)> {
    use Opcode::*;
    Some(match opcode {
        LDR | LDUR => (Op::Load, None),
        LDRB | LDURB | LDRSB | LDURSB => (Op::Load, Some(1)),
        LDRH | LDURH | LDRSH | LDURSH => (Op::Load, Some(2)),
        LDRSW | LDURSW => (Op::Load, Some(4)),
        STR | STUR => (Op::Store, None),
        STRB | STURB => (Op::Store, Some(1)),
        STRH | STURH => (Op::Store, Some(2)),
        LDP | LDNP => (Op::LoadPair, None),
        LDPSW => (Op::LoadPair, Some(4)),
        STP | STNP => (Op::StorePair, None),
        LDXR | LDAXR => (Op::LoadExclusive, None),
        LDXRB | LDAXRB => (Op::LoadExclusive, Some(1)),
        LDXRH | LDAXRH => (Op::LoadExclusive, Some(2)),
        STXR | STLXR => (Op::StoreExclusive, None),
        STXRB | STLXRB => (Op::StoreExclusive, Some(1)),
        STXRH | STLXRH => (Op::StoreExclusive, Some(2)),
        LDAR => (Op::LoadAcquire, None),
        LDARB => (Op::LoadAcquire, Some(1)),
        LDARH => (Op::LoadAcquire, Some(2)),
        STLR => (Op::StoreRelease, None),
        STLRB => (Op::StoreRelease, Some(1)),
        STLRH => (Op::StoreRelease, Some(2)),
        _ => return None,
    })
}

fn register(operand: &Operand) -> Option<(SizeCode, u16)> {
    match *operand {
        Operand::Register(size, r) => Some((size, r)),
        _ => None,
    }
}

/// Checks one load or store the decoder accepted against yaxpeax.
fn check_access(word: u32, a: &Access, rng: &mut Rng) {
    let i = yax(word).unwrap_or_else(|| panic!("{word:08x}: accepted, yaxpeax refuses it"));
    let (op, fixed) = kind(i.opcode)
        .unwrap_or_else(|| panic!("{word:08x}: accepted as {:?}, yaxpeax: {i}", a.op));
    assert_eq!(a.op, op, "{word:08x}: {i}");
    let operands: Vec<&Operand> = i
        .operands
        .iter()
        .filter(|o| **o != Operand::Nothing)
        .collect();
    let (memory, values) = operands.split_last().unwrap();
    // A store-exclusive's first operand is its status, the others are transferred.
    let (status, values) = if op == Op::StoreExclusive {
        (register(values[0]), &values[1..])
    } else {
        (None, values)
    };
    let values: Vec<(SizeCode, u16)> = values
        .iter()
        .map(|o| register(o).unwrap_or_else(|| panic!("{word:08x}: {i}")))
        .collect();
    let size = fixed.unwrap_or(match values[0].0 {
        SizeCode::X => 8,
        SizeCode::W => 4,
    });
    assert_eq!(a.size, size, "{word:08x}: {i}");
    assert_eq!(a.len(), size * values.len(), "{word:08x}: {i}");
    assert_eq!(a.rt, values[0].1 as usize, "{word:08x}: {i}");
    assert_eq!(
        a.rt2,
        values.get(1).map(|v| v.1 as usize),
        "{word:08x}: {i}"
    );
    assert_eq!(a.rs, status.map(|s| s.1 as usize), "{word:08x}: {i}");
    let (rn, writeback) = match **memory {
        Operand::RegPreIndex(rn, _, wb) => (rn, wb),
        Operand::RegPostIndex(rn, _) => (rn, true),
        Operand::RegRegOffset(rn, ..) => (rn, false),
        _ => panic!("{word:08x}: {i}"),
    };
    assert_eq!(a.rn, rn as usize, "{word:08x}: {i}");
    assert_ne!(rn, 31, "{word:08x}: sp-based, accepted");
    let bit = |r: u16| if r < 31 { 1u32 << r } else { 0 };
    let mut writes = status.map_or(0, |s| bit(s.1));
    if matches!(
        op,
        Op::Load | Op::LoadPair | Op::LoadExclusive | Op::LoadAcquire
    ) {
        for v in &values {
            writes |= bit(v.1);
        }
    } else {
        for v in &values {
            assert_ne!(v.1, rn, "{word:08x}: stores its own base register: {i}");
        }
    }
    if writeback {
        writes |= bit(rn);
    }
    assert_eq!(a.writes(), writes, "{word:08x}: {i}");
    for _ in 0..2 {
        let regs = random_regs(rng);
        let x = |r: u16| if r == 31 { 0 } else { regs.x[r as usize] };
        let address = match **memory {
            Operand::RegPreIndex(rn, offset, _) => x(rn).wrapping_add(offset as i64 as u64),
            Operand::RegPostIndex(rn, _) => x(rn),
            Operand::RegRegOffset(rn, rm, _, style, amount) => {
                let m = x(rm);
                let offset = match style {
                    ShiftStyle::LSL | ShiftStyle::SXTX => m,
                    ShiftStyle::UXTW => m as u32 as u64,
                    ShiftStyle::SXTW => m as u32 as i32 as i64 as u64,
                    other => panic!("{word:08x}: {other:?}"),
                };
                x(rn).wrapping_add(offset << amount)
            }
            _ => unreachable!(),
        };
        assert_eq!(a.address(&regs), address, "{word:08x}: {i}");
    }
}

/// yaxpeax's opcodes of the data-processing instructions an exclusive block may hold.
fn register_only(opcode: Opcode) -> bool {
    use Opcode::*;
    matches!(
        opcode,
        ADD | SUB
            | AND
            | ORR
            | EOR
            | BIC
            | ORN
            | EON
            | MOVN
            | MOVZ
            | MOVK
            | SBFM
            | BFM
            | UBFM
            | EXTR
            | UDIV
            | SDIV
            | LSLV
            | LSRV
            | ASRV
            | RORV
            | RBIT
            | REV16
            | REV32
            | REV
            | CLZ
            | CLS
            | MADD
            | MSUB
            | SMADDL
            | SMSUBL
            | SMULH
            | UMADDL
            | UMSUBL
            | UMULH
    )
}

/// The general-purpose registers an operand names (bit i: xi; sp and the zero register are
/// bit 31), or `None` for an operand an exclusive block may not have.
fn named(operand: &Operand) -> Option<u32> {
    let bit = |r: u16| 1u32 << r.min(31);
    Some(match *operand {
        Operand::Nothing
        | Operand::Immediate(_)
        | Operand::Imm64(_)
        | Operand::Imm16(_)
        | Operand::ImmShift(..) => 0,
        Operand::Register(_, r) => bit(r) & !(1 << 31),
        Operand::RegShift(_, _, _, r) => bit(r) & !(1 << 31),
        Operand::RegisterOrSP(_, r) if r < 31 => bit(r),
        _ => return None,
    })
}

#[derive(Default, Debug)]
#[allow(dead_code)] // printed
struct Tally {
    words: usize,
    accesses: usize,
    blocks_tried: usize,
    blocks: usize,
    /// Instructions yaxpeax decodes to an allowed opcode and operands that the decoder still
    /// refuses (unallocated variants yaxpeax lets through, or the block's register overlap).
    refused_plausible: usize,
    /// Of those, the ones GNU objdump also calls undefined.
    refused_plausible_undefined: usize,
    /// Words of accepted accesses and blocks checked with GNU objdump.
    objdump_checked: usize,
}

/// Words for GNU objdump's opinion.
#[derive(Default)]
struct ForObjdump {
    accepted: Vec<u32>,
    refused_plausible: Vec<u32>,
}

/// The block `ldaxr; middle; stlxr` with the given registers, checked against yaxpeax.
fn check_block(middle: u32, rng: &mut Rng, tally: &mut Tally, objdump: &mut ForObjdump) {
    let size = rng.below(4) as u32;
    let (rt, rn, rs, rv) = (rng.below(32), rng.below(31), rng.below(32), rng.below(32));
    let load = (size << 30) | 0x085f_fc00 | ((rn as u32) << 5) | rt as u32;
    let store = (size << 30) | 0x0800_fc00 | ((rs as u32) << 16) | ((rn as u32) << 5) | rv as u32;
    let words = [load, middle, store];
    tally.blocks_tried += 1;
    let decoded = Block::decode(&words);
    let Some(i) = yax(middle) else {
        assert!(
            decoded.is_err(),
            "{middle:08x}: accepted, yaxpeax refuses it"
        );
        return;
    };
    let operands = &i.operands;
    // The destination: neither sp nor the zero register.
    let rd = match operands[0] {
        Operand::Register(_, r) | Operand::RegisterOrSP(_, r) if r < 31 => Some(r as u32),
        _ => None,
    };
    let reads: Option<u32> = operands[1..]
        .iter()
        .map(named)
        .try_fold(0, |acc, n| n.map(|n| acc | n));
    // bfm and movk keep bits of their destination.
    let reads = reads.map(|r| {
        r | if matches!(i.opcode, Opcode::BFM | Opcode::MOVK) {
            rd.map_or(0, |d| 1 << d)
        } else {
            0
        }
    });
    let plausible = register_only(i.opcode) && rd.is_some() && reads.is_some();
    let Ok(block) = decoded else {
        let base_free = rd != Some(rn as u32) && reads.is_some_and(|r| r & (1 << rn) == 0);
        let pair_fine = rt != rn && rs != rn && rs != rv && rv != rn;
        if plausible && base_free && pair_fine {
            tally.refused_plausible += 1;
            objdump.refused_plausible.push(middle);
        }
        return;
    };
    tally.blocks += 1;
    objdump.accepted.push(middle);
    assert!(plausible, "{middle:08x}: accepted in a block: {i}");
    let (rd, reads) = (rd.unwrap(), reads.unwrap());
    assert_eq!(block.len, 3, "{middle:08x}: {i}");
    assert_ne!(rd, rn as u32, "{middle:08x}: writes the base: {i}");
    assert_eq!(reads & (1 << rn), 0, "{middle:08x}: reads the base: {i}");
    let bit = |r: u64| if r < 31 { 1u32 << r } else { 0 };
    let writes = bit(rt) | (1 << rd) | bit(rs);
    assert_eq!(block.writes(), writes, "{middle:08x}: {i}");
    assert_eq!(block.writes() & (1 << 31), 0);
}

/// Load/store encodings: every value of bits 31:22 (size, class, V, opc) with random low bits,
/// and register sweeps over templates of every supported form.
fn load_store_words(rng: &mut Rng) -> Vec<u32> {
    let mut out = Vec::new();
    for top in 0..1024u32 {
        for _ in 0..48 {
            out.push((top << 22) | (rng.u32() & 0x003f_ffff));
        }
    }
    // Templates and the fields randomised in them (immediates, rt2, rm and its extend, rs).
    let templates: &[(u32, u32)] = &[
        (0xf940_0000, 0x003f_fc00), // ldr x, [x, #imm]
        (0xb900_0000, 0x003f_fc00), // str w, [x, #imm]
        (0x3940_0000, 0x003f_fc00), // ldrb
        (0x7980_0000, 0x003f_fc00), // ldrsh x
        (0xf840_0c00, 0x001f_f000), // ldr x, [x, #imm]!
        (0xf800_0400, 0x001f_f000), // str x, [x], #imm
        (0xf840_0000, 0x001f_f000), // ldur x
        (0xf860_6800, 0x001f_f000), // ldr x, [x, x]
        (0xb820_5800, 0x001f_f000), // str w, [x, w, uxtw #2]
        (0xa940_0000, 0x003f_fc00), // ldp x
        (0x2980_0000, 0x003f_fc00), // stp w, [x, #imm]!
        (0x6940_0000, 0x003f_fc00), // ldpsw
        (0xa800_0000, 0x003f_fc00), // stnp x
        (0xc85f_7c00, 0),           // ldxr x
        (0x885f_fc00, 0),           // ldaxr w
        (0xc800_7c00, 0x001f_0000), // stxr
        (0x0800_fc00, 0x001f_0000), // stlxrb
        (0xc8df_fc00, 0),           // ldar x
        (0x089f_fc00, 0),           // stlrb
    ];
    for &(template, noise) in templates {
        for rt in 0..32u32 {
            for rn in 0..32u32 {
                for _ in 0..4 {
                    out.push(template | (rng.u32() & noise) | (rn << 5) | rt);
                }
            }
        }
    }
    out
}

#[test]
fn the_decoder_agrees_with_yaxpeax() {
    let mut rng = Rng::new(0x5eed_c0de_a64a_64a6);
    let mut tally = Tally::default();
    let mut words: Vec<u32> = (0..RANDOM_WORDS).map(|_| rng.u32()).collect();
    words.extend(load_store_words(&mut rng));
    tally.words = words.len();
    let mut objdump = ForObjdump::default();
    for &word in &words {
        if let Ok(a) = Access::decode(word) {
            tally.accesses += 1;
            check_access(word, &a, &mut rng);
            objdump.accepted.push(word);
        }
    }
    // Exclusive blocks: random data-processing words, and every value of bits 31:21 with
    // random low bits.
    let dp = |w: u32, k: u64| match k {
        0 => (w & !0x1c00_0000) | 0x1000_0000, // data processing, immediate
        _ => (w & !0x0e00_0000) | 0x0a00_0000, // data processing, register
    };
    for _ in 0..100_000 {
        let (w, k) = (rng.u32(), rng.below(2));
        check_block(dp(w, k), &mut rng, &mut tally, &mut objdump);
    }
    for top in 0..2048u32 {
        for _ in 0..24 {
            let w = (top << 21) | (rng.u32() & 0x001f_ffff);
            check_block(w, &mut rng, &mut tally, &mut objdump);
        }
    }
    // What rustc emits for fetch_add, fetch_sub, fetch_and/or/xor, swap on ARMv8.0.
    for middle in [
        0x9100_05ef,
        0xd100_05ef,
        0x8a10_01ef,
        0xaa10_01ef,
        0xca10_01ef,
    ] {
        let words = [0xc85f_fdcf, middle, 0xc810_fdcf];
        assert!(Block::decode(&words).is_ok(), "{middle:08x}");
    }
    check_with_objdump(&objdump, &mut tally);
    println!("{tally:?}");
    assert!(tally.accesses > 50_000, "{tally:?}");
    assert!(tally.blocks > 10_000, "{tally:?}");
}

/// GNU objdump's disassembly of `words`, one line each (`None` when it is not installed).
fn objdump(words: &[u32]) -> Option<Vec<String>> {
    let path = std::env::temp_dir().join(format!("romain-cae-a64-{}.bin", std::process::id()));
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    std::fs::write(&path, bytes).unwrap();
    let output = std::process::Command::new("aarch64-linux-gnu-objdump")
        .args(["-D", "-b", "binary", "-m", "aarch64"])
        .arg(&path)
        .output();
    let _ = std::fs::remove_file(&path);
    let output = output.ok().filter(|o| o.status.success())?;
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines = vec![String::new(); words.len()];
    for line in text.lines() {
        let Some((offset, rest)) = line.trim_start().split_once(":\t") else {
            continue;
        };
        if let Ok(offset) = usize::from_str_radix(offset, 16)
            && offset % 4 == 0
            && offset / 4 < words.len()
        {
            lines[offset / 4] = rest.to_string();
        }
    }
    Some(lines)
}

/// A third opinion, for the unallocated encodings yaxpeax lets through: GNU objdump (binutils
/// for aarch64) must decode every accepted word, and says which of the refused ones are
/// undefined. Skipped, saying so, when it is not installed.
fn check_with_objdump(words: &ForObjdump, tally: &mut Tally) {
    let Some(accepted) = objdump(&words.accepted) else {
        println!("aarch64-linux-gnu-objdump not installed: the objdump check is skipped");
        return;
    };
    for (word, line) in words.accepted.iter().zip(&accepted) {
        assert!(
            !line.is_empty() && !line.contains("undefined"),
            "{word:08x}: accepted, objdump: {line}"
        );
    }
    tally.objdump_checked = accepted.len();
    let refused = objdump(&words.refused_plausible).unwrap();
    for (word, line) in words.refused_plausible.iter().zip(&refused) {
        if line.contains("undefined") {
            tally.refused_plausible_undefined += 1;
        } else {
            // What objdump decodes but the decoder refuses: the multiply-highs with an Ra field
            // that is not 31 (it should be one: constrained unpredictable).
            let i = yax(*word).unwrap();
            assert!(
                matches!(i.opcode, Opcode::SMULH | Opcode::UMULH) && (word >> 10) & 31 != 31,
                "{word:08x}: refused, but objdump and yaxpeax decode it: {line}"
            );
        }
    }
}
