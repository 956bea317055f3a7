//! What the host tests share: a fixed-seed pseudo-random generator (splitmix64), so that every
//! run checks the same encodings and a failure can be replayed, and the host executor
//! ([`executor`]) that runs accepted instructions against host buffers.
#![allow(dead_code)]

pub mod executor;

pub struct Rng(romain_core::random::SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(romain_core::random::SplitMix64(seed))
    }

    pub fn next(&mut self) -> u64 {
        self.0.draw()
    }

    pub fn u32(&mut self) -> u32 {
        self.next() as u32
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn bytes(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let word = self.next().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }

    /// A register value: small, near a boundary, or anything.
    pub fn value(&mut self) -> u64 {
        match self.below(4) {
            0 => self.below(256),
            1 => u64::MAX - self.below(256),
            2 => 1 << self.below(64),
            _ => self.next(),
        }
    }
}

/// A64 accesses of every addressing form the decoder takes (one per class, and an exclusive
/// block), for the property tests that run them with random registers.
#[allow(dead_code)] // not every test file uses it
pub const A64_ACCESSES: &[&[u32]] = &[
    &[0xf940_0862],                           // ldr x2, [x3, #16]
    &[0xf874_7a72],                           // ldr x18, [x19, x20, lsl #3]
    &[0xb837_dad5],                           // str w21, [x22, w23, sxtw #2]
    &[0xf840_8dee],                           // ldr x14, [x15, #8]!
    &[0xf81f_0630],                           // str x16, [x17], #-16
    &[0xa9bf_785d],                           // stp x29, x30, [x2, #-16]!
    &[0xc85f_fdcf, 0x9100_05ef, 0xc810_fdcf], // ldaxr; add; stlxr
    &[0xc8df_fe93],                           // ldar x19, [x20]
];
