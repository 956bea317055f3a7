//! Arithmetic on replica registers (addresses, spans, windows, counts) near the ends of the
//! address space: it wraps as the processor does, or is checked, and never panics (these tests
//! run with overflow checks) nor yields a huge span from a small one.

mod common;

use core::ops::Range;

use common::Rng;
use romain_cae::aarch64::{self, Block};
use romain_cae::x86::{self, Op, RCX, RDI, RSI, Registers, StringOp};

const MAX: u64 = u64::MAX;

fn x86_regs(pairs: &[(usize, u64)]) -> Registers {
    let mut regs = Registers {
        gpr: [0; 16],
        rflags: 0x202,
    };
    for &(i, v) in pairs {
        regs.gpr[i] = v;
    }
    regs
}

fn string(bytes: &[u8]) -> StringOp {
    match x86::decode(bytes) {
        Ok(Op::String(s)) => s,
        other => panic!("{other:?}"),
    }
}

#[test]
fn x86_addresses_wrap_and_spans_are_checked() {
    const RBX: usize = 3;
    // mov [rsi+rcx*8+16], rdx
    let a = x86::Access::decode(&[0x48, 0x89, 0x54, 0xce, 0x10]).unwrap();
    let regs = x86_regs(&[(RSI, MAX), (RCX, MAX)]);
    // MAX + 8 * MAX + 16 = -1 - 8 + 16 = 7 (mod 2^64), as the processor computes it.
    assert_eq!(a.address(&regs), 7);
    assert_eq!(a.span(&regs), Some(7..15));
    let regs = x86_regs(&[(RSI, MAX - 20), (RCX, 0)]);
    assert_eq!(a.address(&regs), MAX - 4);
    assert_eq!(a.span(&regs), None, "8 bytes at MAX - 4 wrap");
    let regs = x86_regs(&[(RSI, MAX - 24), (RCX, 0)]);
    assert_eq!(a.span(&regs), Some(MAX - 8..MAX));
    // The last byte of the address space cannot end a Range: that counts as wrapping.
    let top = x86_regs(&[(RSI, MAX - 23), (RCX, 0)]);
    assert_eq!(a.span(&top), None);
    // Index-only [rcx*8 + 0x40000000].
    let idx = x86::Access::decode(&[0x48, 0x8b, 0x04, 0xcd, 0, 0, 0, 0x40]).unwrap();
    let regs = x86_regs(&[(RCX, MAX)]);
    assert_eq!(idx.address(&regs), 0x4000_0000 - 8);
    // mov rax, [rbx - 8] with rbx = 0.
    let neg = x86::Access::decode(&[0x48, 0x8b, 0x43, 0xf8]).unwrap();
    assert_eq!(neg.address(&x86_regs(&[(RBX, 0)])), MAX - 7);
    assert_eq!(neg.span(&x86_regs(&[(RBX, MAX)])), Some(MAX - 8..MAX));
    assert_eq!(neg.span(&x86_regs(&[(RBX, 0)])), None);
    assert_eq!(neg.span(&x86_regs(&[(RBX, 4)])), None);
    assert_eq!(neg.span(&x86_regs(&[(RBX, 8)])), Some(0..8));
}

#[test]
fn x86_string_windows_and_spans_near_the_ends() {
    let movsq = string(&[0xf3, 0x48, 0xa5]);
    let all = 0..MAX;
    // An element that would wrap fits nowhere.
    assert_eq!(movsq.fit(MAX - 3, &all, false), 0);
    assert_eq!(movsq.fit(MAX - 3, &all, true), 0);
    assert_eq!(movsq.fit(MAX - 7, &all, false), 0, "its last byte is MAX");
    assert_eq!(movsq.fit(MAX - 8, &all, false), 1);
    assert_eq!(movsq.fit(MAX - 8, &all, true), (MAX - 8 + 8) / 8);
    assert_eq!(movsq.fit(0, &all, true), 1);
    // Empty and inverted windows.
    let inverted = Range {
        start: 0x2000,
        end: 0x1000,
    };
    assert_eq!(movsq.fit(0x1000, &inverted, false), 0);
    assert_eq!(movsq.fit(0x1000, &(0x1000..0x1000), true), 0);
    // Spans: exact when they fit, clamped (and refused by checked_span) when they would wrap.
    assert_eq!(movsq.span(MAX - 16, 2, false), MAX - 16..MAX);
    assert_eq!(movsq.checked_span(MAX - 16, 2, false), Some(MAX - 16..MAX));
    assert_eq!(movsq.span(MAX - 16, 3, false), MAX - 16..MAX);
    assert_eq!(movsq.checked_span(MAX - 16, 3, false), None);
    assert_eq!(movsq.span(8, 2, true), 0..16);
    assert_eq!(movsq.checked_span(8, 2, true), Some(0..16));
    assert_eq!(movsq.span(8, 3, true), 0..16);
    assert_eq!(movsq.checked_span(8, 3, true), None);
    assert_eq!(movsq.span(MAX - 3, 1, true), MAX - 3..MAX, "top clamped");
    assert_eq!(movsq.checked_span(MAX - 3, 1, true), None);
    assert_eq!(
        movsq.span(0, MAX, false),
        0..MAX,
        "elements × size saturates"
    );
    assert_eq!(movsq.checked_span(0, MAX, false), None);
    assert_eq!(movsq.checked_span(0, 0, true), Some(8..8));
    // A chunk never exceeds the window even when rcx is huge.
    let regs = x86_regs(&[(RCX, MAX), (RSI, 0x1000), (RDI, 0x4000_0000)]);
    assert_eq!(movsq.count(&regs), MAX);
    let chunk = movsq
        .count(&regs)
        .min(movsq.fit(0x4000_0000, &(0x4000_0000..0x4000_1000), false));
    assert_eq!(chunk, 512);
    assert_eq!(
        movsq.checked_span(0x4000_0000, chunk, false),
        Some(0x4000_0000..0x4000_1000)
    );
}

#[test]
fn x86_string_results_saturate_counts_and_wrap_addresses() {
    let movsb = string(&[0xf3, 0xa4]);
    // After-registers that claim more iterations than the chunk (impossible, but counted as
    // none rather than wrapping to 2^64).
    let regs = x86_regs(&[(RCX, 5), (RSI, MAX - 1), (RDI, 2)]);
    let bogus = x86_regs(&[(RCX, 10)]);
    assert_eq!(movsb.iterations(3, &bogus), 0);
    let (out, done) = movsb.result(&regs, 3, &bogus);
    assert_eq!(
        (out.gpr[RCX], out.gpr[RSI], out.gpr[RDI], done),
        (5, MAX - 1, 2, false)
    );
    // A chunk larger than rcx (caller error): rcx stops at 0, no panic.
    let after = x86_regs(&[(RCX, 0)]);
    let (out, done) = movsb.result(&regs, 9, &after);
    assert_eq!((out.gpr[RCX], done), (0, true));
    // rsi walks over the top as the processor's does (mod 2^64).
    let (out, _) = movsb.result(&regs, 3, &after);
    assert_eq!((out.gpr[RSI], out.gpr[RDI]), (1, 5));
    let mut down = regs;
    down.rflags |= 0x400;
    let (out, _) = movsb.result(&down, 3, &after);
    assert_eq!((out.gpr[RSI], out.gpr[RDI]), (MAX - 4, MAX));
}

#[test]
fn a64_addresses_wrap_and_spans_are_checked() {
    let mut regs = aarch64::Registers::default();
    // ldr x2, [x3, #16]
    let ldr = aarch64::Access::decode(0xf940_0862).unwrap();
    regs.x[3] = MAX - 7;
    assert_eq!(ldr.address(&regs), 8);
    assert_eq!(ldr.span(&regs), Ok(8..16));
    regs.x[3] = MAX - 20;
    assert_eq!(ldr.address(&regs), MAX - 4);
    assert!(format!("{}", ldr.span(&regs).unwrap_err()).contains("wraps"));
    // ldr x18, [x19, x20, lsl #3] and str w21, [x22, w23, uxtw #2] with extreme offsets.
    let reg = aarch64::Access::decode(0xf874_7a72).unwrap();
    regs.x[19] = MAX;
    regs.x[20] = MAX;
    assert_eq!(reg.address(&regs), MAX - 8, "MAX + (MAX << 3)");
    assert_eq!(reg.span(&regs), Ok(MAX - 8..MAX));
    regs.x[19] = 0;
    assert!(reg.span(&regs).is_err(), "8 bytes at MAX - 7 wrap");
    let uxtw = aarch64::Access::decode(0xb837_5ad5).unwrap();
    regs.x[22] = MAX;
    regs.x[23] = MAX;
    assert_eq!(uxtw.address(&regs), MAX.wrapping_add(0xffff_ffff << 2));
    // ldp x0, x1, [x2, #16]: 16 bytes, checked as a whole.
    let ldp = aarch64::Access::decode(0xa941_0440).unwrap();
    regs.x[2] = MAX - 32;
    assert_eq!(ldp.span(&regs), Ok(MAX - 16..MAX));
    regs.x[2] = MAX - 31;
    assert!(ldp.span(&regs).is_err());
}

/// Random register values near the boundaries through every computation, for a list of
/// supported instructions: no panic (overflow checks are on in tests), and the checked spans
/// hold what they say.
#[test]
fn nothing_panics_on_boundary_values() {
    let mut rng = Rng::new(0x0f10_0f10);
    let x86: &[&[u8]] = &[
        &[0x48, 0x89, 0x54, 0xce, 0x10],          // mov [rsi+rcx*8+16], rdx
        &[0x48, 0x8b, 0x04, 0xcd, 0, 0, 0, 0x40], // mov rax, [rcx*8+0x40000000]
        &[0xf0, 0x0f, 0xc1, 0x03],                // lock xadd [rbx], eax
        &[0x48, 0x8b, 0x83, 0x00, 0x00, 0x00, 0x80], // mov rax, [rbx-0x80000000]
        &[0xf3, 0xa4],                            // rep movsb
        &[0xf3, 0x48, 0xab],                      // rep stosq
        &[0xf2, 0xae],                            // repne scasb
        &[0x48, 0xad],                            // lodsq
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
        let Ok(op) = x86::decode(bytes) else { continue };
        match op {
            Op::Access(a) => {
                let address = a.address(&regs);
                if let Some(span) = a.span(&regs) {
                    assert_eq!(span.end - span.start, a.size as u64);
                    assert_eq!(span.start, address);
                }
            }
            Op::String(s) => {
                let backward = StringOp::backward(&regs);
                let (a, b) = (rng.value(), rng.value());
                let window = a.min(b)..a.max(b);
                let addr = rng.value();
                let fit = s.fit(addr, &window, backward);
                if fit > 0 {
                    let span = s.checked_span(addr, fit, backward).unwrap();
                    assert!(window.start <= span.start && span.end <= window.end);
                    assert_eq!(span.end - span.start, fit * s.size);
                }
                let elements = rng.value();
                let span = s.span(addr, elements, backward);
                assert!(span.start <= span.end);
                match s.checked_span(addr, elements, backward) {
                    Some(exact) => assert_eq!(exact, span),
                    None => assert!(
                        elements
                            .checked_mul(s.size)
                            .is_none_or(|bytes| span.end - span.start < bytes)
                    ),
                }
                let chunk = s.count(&regs).min(rng.value());
                let rebased = s.rebase(&regs, chunk, Some(rng.value()), Some(rng.value()));
                let mut after = rebased;
                after.gpr[RCX] = rng.value();
                let _ = s.iterations(chunk, &after);
                let _ = s.result(&regs, chunk, &after);
            }
        }
    }
    let a64 = common::A64_ACCESSES;
    for _ in 0..20_000 {
        let mut regs = aarch64::Registers::default();
        for x in &mut regs.x {
            *x = rng.value();
        }
        let words = a64[rng.below(a64.len() as u64) as usize];
        let block = Block::decode(words).unwrap_or_else(|e| panic!("{words:08x?}: {e}"));
        let a = block.access;
        let address = a.address(&regs);
        if let Ok(span) = block.span(&regs) {
            assert_eq!(span.start, address);
            assert_eq!(span.end - span.start, a.len() as u64);
        }
    }
}
