//! What the host tests share: a fixed-seed pseudo-random generator (splitmix64), so that every
//! run checks the same encodings and a failure can be replayed, and the host executor
//! ([`executor`]) that runs accepted instructions against host buffers.
#![allow(dead_code)]

pub mod executor;

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
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
