//! The small pseudo-random generators every part uses, once: SplitMix64 (campaigns' faults,
//! the host tests' inputs, seeding) and xorshift64* (the numbers a group's program draws). Neither
//! is for cryptography; both are the same on every platform, so a seed replays a sequence.

/// SplitMix64: a counter mixed at every step.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn draw(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (any, for `n` of 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.draw() % n.max(1)
    }
}

/// One SplitMix64 step from `seed`: a well-mixed seed for another generator.
pub fn mix(seed: u64) -> u64 {
    SplitMix64(seed).draw()
}

/// xorshift64*: the next number of the stream whose state is `state` (never 0: a state of 0
/// is taken as 1).
pub fn xorshift64star(state: &mut u64) -> u64 {
    let mut x = (*state).max(1);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequences_are_the_published_ones() {
        // SplitMix64 from 0 (Vigna's reference values).
        let mut s = SplitMix64(0);
        assert_eq!(s.draw(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(s.draw(), 0x6e78_9e6a_a1b9_65f4);
        let mut x = 1;
        let first = xorshift64star(&mut x);
        assert_eq!(x, 0x0200_0001);
        assert_eq!(first, x.wrapping_mul(0x2545_f491_4f6c_dd1d));
        let mut zero = 0;
        assert_eq!(xorshift64star(&mut zero), first);
    }
}
