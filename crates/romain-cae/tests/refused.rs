//! What the decoders refuse, by real encodings (GNU as: `as` for x86_64,
//! `aarch64-linux-gnu-as -march=armv8.5-a+memtag+crc` for A64, then objdump; `.inst` for the
//! encodings an assembler will not emit), each with the reason the error must give, and what
//! they must keep accepting (the forms the shm demo and rustc's atomics use), with their write
//! sets.

use romain_cae::Unsupported;
use romain_cae::aarch64::{self, Block};
use romain_cae::x86::{self, Op, RFLAGS_WRITTEN};

/// The error names the instruction's bytes, then the reason.
fn assert_names(err: &Unsupported, bytes: &[u8], reason: &str) {
    let text = format!("{err}");
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        text.starts_with(&format!("instruction {}", hex.join(" "))),
        "{bytes:02x?}: {text}"
    );
    assert!(text.contains(reason), "{bytes:02x?}: {text}");
}

#[test]
fn x86_refusals_with_their_reasons() {
    let table: &[(&[u8], &str)] = &[
        // Segment and system registers.
        (&[0x8e, 0x13], "segment register"), // mov ss, word [rbx]
        (&[0x8e, 0x1b], "segment register"), // mov ds, word [rbx]
        (&[0x8e, 0x03], "segment register"), // mov es, word [rbx]
        (&[0x8c, 0x0b], "segment register"), // mov word [rbx], cs
        (&[0x0f, 0x01, 0x23], "not a supported"), // smsw word [rbx]
        (&[0x0f, 0x01, 0x03], "not a supported"), // sgdt [rbx]
        (&[0x0f, 0x22, 0xc0], "not exactly one memory operand"), // mov cr0, rax
        // Base = index: rebasing the base would move the index term too.
        (
            &[0x48, 0x8b, 0x44, 0x5b, 0x08],
            "base and index are the same",
        ), // mov rax, [rbx+rbx*2+8]
        (&[0x48, 0x8b, 0x04, 0x1b], "base and index are the same"), // mov rax, [rbx+rbx*1]
        // Bit tests with a register bit offset reach EA + 8 * (offset / 64).
        (&[0x48, 0x0f, 0xa3, 0x0b], "register bit offset"), // bt qword [rbx], rcx
        (&[0x0f, 0xab, 0x0b], "register bit offset"),       // bts dword [rbx], ecx
        (&[0xf0, 0x48, 0x0f, 0xb3, 0x0b], "register bit offset"), // lock btr qword [rbx], rcx
        (&[0x66, 0xf0, 0x0f, 0xbb, 0x0b], "register bit offset"), // lock btc word [rbx], cx
        // Implicit operands that are address registers: the value would be the rebased one.
        (&[0xf0, 0x48, 0x0f, 0xb1, 0x08], "cmpxchg's implicit rax"), // lock cmpxchg [rax], rcx
        (
            &[0xf0, 0x48, 0x0f, 0xb1, 0x00],
            "address register is also an operand",
        ), // lock cmpxchg [rax], rax
        (&[0x48, 0x0f, 0xb1, 0x10], "cmpxchg's implicit rax"),       // cmpxchg [rax], rdx
        (
            &[0xf0, 0x48, 0x0f, 0xb1, 0x0c, 0xc3],
            "cmpxchg's implicit rax",
        ), // lock cmpxchg [rbx+rax*8], rcx
        (
            &[0xf0, 0x48, 0x0f, 0xb1, 0x14, 0x81],
            "cmpxchg's implicit rax",
        ), // lock cmpxchg [rcx+rax*4], rdx
        // Explicit ones.
        (&[0x48, 0x89, 0x1b], "address register is also an operand"), // mov [rbx], rbx
        (
            &[0x48, 0x0f, 0xc1, 0x1b],
            "address register is also an operand",
        ), // xadd [rbx], rbx
        (&[0x48, 0x87, 0x1b], "address register is also an operand"), // xchg [rbx], rbx
        (
            &[0x48, 0x89, 0x04, 0x43],
            "address register is also an operand",
        ), // mov [rbx+rax*2], rax
        // Addresses that cannot be moved or are not 64-bit.
        (&[0x67, 0x8b, 0x03], "32-bit addressing"), // mov eax, [ebx]
        (&[0x67, 0x41, 0x8b, 0x04, 0x88], "32-bit addressing"), // mov eax, [r8d+ecx*4]
        (
            &[0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x40],
            "absolute address",
        ), // mov rax, [0x40000000]
        (&[0x48, 0xa1, 0, 0, 0, 0, 0x40, 0, 0, 0], "absolute address"), // movabs rax, [0x4000000000]
        (&[0x48, 0x8b, 0x05, 0x10, 0, 0, 0], "rip-relative"),           // mov rax, [rip+0x10]
        (&[0x64, 0x48, 0x8b, 0x03], "fs/gs"),                           // mov rax, fs:[rbx]
        // The stack pointer in any role.
        (&[0x48, 0x03, 0x23], "stack pointer"), // add rsp, [rbx]
        (&[0x48, 0x8b, 0x23], "stack pointer"), // mov rsp, [rbx]
        (&[0x48, 0x89, 0x44, 0x24, 0x08], "stack pointer"), // mov [rsp+8], rax
        (&[0xff, 0x33], "not a supported"),     // push qword [rbx]
        // Prefixes.
        (&[0xf2, 0xf0, 0x01, 0x03], "xacquire"), // xacquire lock add [rbx], eax
        (&[0xf3, 0xf0, 0x0f, 0xc1, 0x03], "xrelease"), // xrelease lock xadd [rbx], eax
        // Neither a plain access nor soft-float.
        (&[0x0f, 0x10, 0x03], "not a supported"), // movups xmm0, [rbx]
        (&[0x48, 0x0f, 0xc3, 0x0b], "not a supported"), // movnti [rbx], rcx
        (&[0x48, 0x0f, 0xc7, 0x0b], "not a supported"), // cmpxchg16b [rbx]
        (&[0x48, 0x8d, 0x03], "not a supported"), // lea rax, [rbx]
        (&[0x48, 0x01, 0xd8], "not exactly one memory operand"), // add rax, rbx
        // String instructions.
        (&[0x67, 0xf3, 0xa4], "narrower than 64 bits"), // rep movsb, 32-bit addresses
        (&[0xf3, 0x6e], "not a supported string"),      // rep outsb
        (&[0x64, 0xac], "fs/gs"),                       // lodsb fs:[rsi]
    ];
    for &(bytes, reason) in table {
        let err = x86::decode(bytes).unwrap_err();
        assert_names(&err, bytes, reason);
    }
}

#[test]
fn x86_keeps_what_the_demo_and_rustc_atomics_use_with_their_write_sets() {
    const RAX: u32 = 1;
    const RCX: u32 = 1 << 1;
    const RDX: u32 = 1 << 2;
    const RSI: u32 = 1 << 6;
    const RDI: u32 = 1 << 7;
    const F: u32 = RFLAGS_WRITTEN;
    let table: &[(&[u8], u32)] = &[
        (&[0x48, 0x8b, 0x03], RAX),                       // mov rax, [rbx]
        (&[0x48, 0x89, 0x03], 0),                         // mov [rbx], rax
        (&[0x8b, 0x44, 0x8b, 0x10], RAX),                 // mov eax, [rbx+rcx*4+0x10]
        (&[0x43, 0x8b, 0x84, 0xec, 0, 1, 0, 0], RAX),     // mov eax, [r12+r13*8+0x100]
        (&[0x48, 0x87, 0x0e], RCX),                       // xchg [rsi], rcx (SeqCst store)
        (&[0xf0, 0x48, 0x0f, 0xc1, 0x07], RAX | F),       // lock xadd [rdi], rax
        (&[0xf0, 0x48, 0x83, 0x06, 0x01], F),             // lock add qword [rsi], 1
        (&[0xf0, 0x48, 0x0f, 0xb1, 0x0b], RAX | F),       // lock cmpxchg [rbx], rcx
        (&[0xf0, 0x48, 0x0f, 0xba, 0x6b, 0x08, 0x3f], F), // lock bts qword [rbx+8], 63
        (&[0x66, 0x0f, 0xba, 0x23, 0x03], F),             // bt word [rbx], 3
        (&[0x48, 0x0f, 0x38, 0xf0, 0x03], RAX),           // movbe rax, [rbx]
        (&[0x48, 0x89, 0x3b], 0),                         // mov [rbx], rdi
        (&[0x48, 0x39, 0x13], F),                         // cmp [rbx], rdx
        (&[0x48, 0x03, 0x13], RDX | F),                   // add rdx, [rbx]
        (&[0x48, 0xf7, 0x13], 0),                         // not qword [rbx]
        (&[0xf3, 0x48, 0xab], RCX | RDI),                 // rep stosq
        (&[0xf3, 0xa4], RCX | RSI | RDI),                 // rep movsb
        (&[0x48, 0xad], RAX | RSI),                       // lodsq
        (&[0xf3, 0xa6], RCX | RSI | RDI | F),             // repe cmpsb
        (&[0xae], RDI | F),                               // scasb
    ];
    for &(bytes, writes) in table {
        let op = x86::decode(bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(op.writes(), writes, "{bytes:02x?}");
        match op {
            Op::Access(a) => assert_eq!(a.len, bytes.len()),
            Op::String(s) => assert_eq!(s.len, bytes.len()),
        }
    }
}

#[test]
fn a64_refusals_with_their_reasons() {
    let table: &[(u32, &str)] = &[
        (0xf900_0000, "stores its own base register"), // str x0, [x0]
        (0xa900_0001, "stores its own base register"), // stp x1, x0, [x0]
        (0xc89f_fc00, "stores its own base register"), // stlr x0, [x0]
        (0xc801_7c00, "stores its own base register"), // stxr w1, x0, [x0]
        (0xc8df_7c01, "LORegions"),                    // ldlar x1, [x0]
        (0xc89f_7c01, "LORegions"),                    // stllr x1, [x0]
        (0xc8a1_7c02, "compare-and-swap"),             // cas x1, x2, [x0]
        (0x4822_7c04, "compare-and-swap"),             // casp x2, x3, x4, x5, [x0]
        (0xc87f_8801, "exclusive pairs"),              // ldaxp x1, x2, [x0]
        (0xc87f_0440, "exclusive pairs"),              // ldxp x0, x1, [x2]
        (0xf8bf_c001, "LSE atomics"),                  // ldapr x1, [x0] (ARMv8.3)
        (0xf820_0041, "LSE atomics"),                  // ldadd x0, x1, [x2]
        (0xf840_0801, "unprivileged"),                 // ldtr x1, [x0]
        (0xf980_0000, "prefetch"),                     // prfm pldl1keep, [x0]
        (0xf820_0401, "pointer-authenticated"),        // ldraa x1, [x0]
        (0x6900_0801, "memory tagging"),               // stgp x1, x2, [x0]
        (0x5800_0000, "literal"),                      // ldr x0, <label>
        (0xb9c0_0020, "unallocated"),                  // size 10, opc 11
        (0xf9c0_0020, "unallocated"),                  // size 11, opc 11
        (0x6840_0441, "unallocated pair"),             // "ldnpsw" (opc 01, L, no-allocate)
        (0xa941_0441, "one register twice"),           // ldp x1, x1, [x2, #16]
        (0xc85e_7c01, "should-be-one"),                // ldxr x1, [x0] with Rs = 30
        (0xc85f_7801, "should-be-one"),                // ldxr x1, [x0] with Rt2 = 30
        (0xc89f_f801, "should-be-one"),                // stlr x1, [x0] with Rt2 = 30
        (0xf940_07e1, "stack pointer"),                // ldr x1, [sp, #8]
        (0xf840_8c00, "writes back to a register it also transfers"), // ldr x0, [x0, #8]!
        (0xc800_7c01, "status overlaps"),              // stxr w0, x1, [x0]
        (0xf860_6800, "base and offset are the same"), // ldr x0, [x0, x0]
        (0x3dc0_0020, "FP/SIMD"),                      // ldr q0, [x1]
        (0xd50b_7423, "not a load or store"),          // dc zva, x3
    ];
    for &(word, reason) in table {
        let err = aarch64::Access::decode(word).unwrap_err();
        assert_names(&err, &word.to_le_bytes(), reason);
        let err = Block::decode(&[word]).unwrap_err();
        assert_names(&err, &word.to_le_bytes(), reason);
    }
}

#[test]
fn a64_exclusive_block_refusals_with_their_reasons() {
    const LDXR: u32 = 0xc85f_7c01; // ldxr x1, [x0]
    const STXR: u32 = 0xc802_7c01; // stxr w2, x1, [x0]
    let table: &[(u32, &str)] = &[
        (0x9100_003f, "writes sp"),                      // mov sp, x1
        (0x8b02_003f, "writes sp or the zero register"), // add xzr, x1, x2
        (0x9100_03e1, "reads the stack pointer"),        // mov x1, sp
        (0xcb22_43e1, "reads the stack pointer"),        // sub x1, sp, w2, uxtw
        (0xb100_0421, "condition flags"),                // adds x1, x1, #1
        (0xf100_043f, "condition flags"),                // cmp x1, #1
        (0x9a82_0021, "condition flags"),                // csel x1, x1, x2, eq
        (0x9a02_0021, "condition flags"),                // adc x1, x1, x2
        (0xfa42_0020, "condition flags"),                // ccmp x1, x2, #0, eq
        (0x1000_0001, "reads the pc"),                   // adr x1, .
        (0x9000_0001, "reads the pc"),                   // adrp x1, .
        (0x9100_2001, "reads the exclusive's base"),     // add x1, x0, #8
        (0xaa00_03e1, "reads the exclusive's base"),     // mov x1, x0
        (0x9100_2000, "writes the exclusive's base"),    // add x0, x0, #8
        (0xd53b_4201, "system-register"),                // mrs x1, nzcv
        (0xd51b_4201, "system-register"),                // msr nzcv, x1
        (0xd503_201f, "system instruction"),             // nop (a hint)
        (0x9ac2_4c21, "does not know"),                  // crc32x w1, w1, x2
        (0xdac1_0041, "does not know"),                  // pacia x1, x2
        (0x925d_fd93, "does not know"),                  // and x19, x12, #<all ones>: reserved
        (0x2a1e_850d, "does not know"),                  // orr w13, w8, w30, lsl #33: reserved
        (0x72d2_ad1a, "does not know"),                  // movk w26, #0x9568, lsl #32: reserved
    ];
    for &(middle, reason) in table {
        let words = [LDXR, middle, STXR];
        let err = Block::decode(&words).unwrap_err();
        let mut bytes = LDXR.to_le_bytes().to_vec();
        bytes.extend(middle.to_le_bytes());
        assert_names(&err, &bytes, reason);
    }
    let blocks: &[(&[u32], &str)] = &[
        // ldxrb w1, [x0]; stxr w2, x1, [x0]: the store covers more than the checked byte.
        (&[0x085f_7c01, STXR], "size differs"),
        // ldxr x0, [x0]: the store-exclusive would use the loaded value as its address.
        (&[0xc85f_7c00, 0xc802_7c01], "loads into its own base"),
        // A branch in between.
        (
            &[LDXR, 0x1400_0000, STXR],
            "not closed by a store-exclusive",
        ),
        // A store-exclusive to another base.
        (&[LDXR, 0xc802_7c61], "not closed by a store-exclusive"),
        // stxr w2, x0, [x0]: stores the (rebased) base.
        (&[LDXR, 0xc802_7c00], "not closed by a store-exclusive"),
    ];
    for &(words, reason) in blocks {
        let err = Block::decode(words).unwrap_err();
        assert!(format!("{err}").contains(reason), "{words:08x?}: {err}");
    }
    assert!(matches!(
        Block::decode(&[]),
        Err(Unsupported::Invalid { len: 0, .. })
    ));
}

#[test]
fn a64_keeps_rustc_atomics_and_plain_accesses_with_their_write_sets() {
    let x = |r: u32| 1u32 << r;
    // rustc's fetch_add / fetch_sub / fetch_or / swap on ARMv8.0, as in shm-demo.
    let blocks: &[(&[u32], u32)] = &[
        // ldaxr x15, [x14]; add x15, x15, #1; stlxr w16, x15, [x14]
        (&[0xc85f_fdcf, 0x9100_05ef, 0xc810_fdcf], x(15) | x(16)),
        // ldaxr x8, [x0]; add x9, x8, x1; stlxr w10, x9, [x0]
        (
            &[0xc85f_fc08, 0x8b01_0109, 0xc80a_fc09],
            x(8) | x(9) | x(10),
        ),
        // ldaxr x8, [x0]; sub x9, x8, #1; stlxr w10, x9, [x0]
        (
            &[0xc85f_fc08, 0xd100_0509, 0xc80a_fc09],
            x(8) | x(9) | x(10),
        ),
        // ldaxr x8, [x0]; orr x9, x8, x1; stlxr w10, x9, [x0]
        (
            &[0xc85f_fc08, 0xaa01_0109, 0xc80a_fc09],
            x(8) | x(9) | x(10),
        ),
        // ldaxrb w8, [x0]; add w9, w8, w1; stlxrb w10, w9, [x0]
        (
            &[0x085f_fc08, 0x0b01_0109, 0x080a_fc09],
            x(8) | x(9) | x(10),
        ),
        // ldaxr x8, [x0]; stlxr w9, x1, [x0] (swap)
        (&[0xc85f_fc08, 0xc809_fc01], x(8) | x(9)),
        // ldaxr x15, [x14]; mov x16, x15; stlxr w17, x16, [x14]
        (
            &[0xc85f_fdcf, 0xaa0f_03f0, 0xc811_fdd0],
            x(15) | x(16) | x(17),
        ),
    ];
    for &(words, writes) in blocks {
        let block = Block::decode(words).unwrap_or_else(|e| panic!("{words:08x?}: {e}"));
        assert_eq!(block.len, words.len());
        assert_eq!(block.writes(), writes, "{words:08x?}");
    }
    let accesses: &[(u32, u32)] = &[
        (0xf940_0020, x(0)),          // ldr x0, [x1]
        (0xf900_0420, 0),             // str x0, [x1, #8]
        (0xf840_8dee, x(14) | x(15)), // ldr x14, [x15, #8]! (write-back)
        (0xf801_0630, x(17)),         // str x16, [x17], #16
        (0xa941_0440, x(0) | x(1)),   // ldp x0, x1, [x2, #16]
        (0xf940_0000, x(0)),          // ldr x0, [x0]
        (0xa940_0841, x(1) | x(2)),   // ldp x1, x2, [x2]
        (0xc8df_fe93, x(19)),         // ldar x19, [x20]
        (0xc89f_fed5, 0),             // stlr x21, [x22]
        (0xf940_001f, 0),             // ldr xzr, [x0]
        (0xc80b_7dac, x(11)),         // stxr w11, x12, [x13] (alone: it fails, harmlessly)
    ];
    for &(word, writes) in accesses {
        let block = Block::decode(&[word]).unwrap_or_else(|e| panic!("{word:08x}: {e}"));
        assert_eq!(block.writes(), writes, "{word:08x}");
        assert_eq!(block.access.writes(), writes, "{word:08x}");
    }
}

#[test]
fn a64_exclusives_and_acquire_release_must_be_aligned() {
    let mut regs = aarch64::Registers::default();
    // ldaxr x15, [x14]: aligned to 8 or refused.
    let block = Block::decode(&[0xc85f_fdcf, 0x9100_05ef, 0xc810_fdcf]).unwrap();
    for (base, ok) in [
        (0x4000_0000u64, true),
        (0x4000_0008, true),
        (0x4000_0004, false),
        (0x4000_0001, false),
    ] {
        regs.x[14] = base;
        match block.span(&regs) {
            Ok(span) => {
                assert!(ok, "{base:#x}");
                assert_eq!(span, base..base + 8);
            }
            Err(e) => {
                assert!(!ok, "{base:#x}");
                assert_names(&e, &0xc85f_fdcfu32.to_le_bytes(), "misaligned");
            }
        }
    }
    // ldarb: any byte is aligned; ldar w: 4 bytes.
    regs.x[20] = 0x4000_0003;
    let ldarb = aarch64::Access::decode(0x08df_fe93).unwrap();
    assert_eq!(ldarb.span(&regs), Ok(0x4000_0003..0x4000_0004));
    let ldar_w = aarch64::Access::decode(0x88df_fe93).unwrap();
    assert!(ldar_w.span(&regs).is_err());
    let stlr_h = aarch64::Access::decode(0x489f_fe93).unwrap(); // stlrh w19, [x20]
    assert!(stlr_h.span(&regs).is_err());
    // Plain loads and pairs may be misaligned (Normal memory).
    regs.x[2] = 0x4000_0003;
    let ldp = aarch64::Access::decode(0xa941_0440).unwrap(); // ldp x0, x1, [x2, #16]
    assert_eq!(ldp.span(&regs), Ok(0x4000_0013..0x4000_0023));
}
