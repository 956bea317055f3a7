//! FNV-1a, 64 bits: the one hash of every side that must agree bit for bit (the master's output
//! and file hashes, the inputs compared between replicas, the host's golden values, the
//! programs' own checksums).

/// The offset basis: the hash of nothing.
pub const START: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0100_0000_01b3;

/// `hash` continued over `bytes`.
// An iterator, not indexing: no bounds check, so no panic path (and no panic location) in the
// replica programs that use it.
#[inline]
pub fn continue_with(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash = (hash ^ b as u64).wrapping_mul(PRIME);
    }
    hash
}

/// The hash of `bytes`.
#[inline]
pub fn hash(bytes: &[u8]) -> u64 {
    continue_with(START, bytes)
}

/// `hash` continued over one value that is not a byte (a word-wise checksum: the value is
/// xored in whole, as FNV-1a does with a byte).
#[inline]
pub const fn continue_with_word(hash: u64, word: u64) -> u64 {
    (hash ^ word).wrapping_mul(PRIME)
}

/// An FNV-1a hash fed a piece at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv1a(pub u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(START)
    }
}

impl Fnv1a {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0 = continue_with(self.0, bytes);
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // The FNV-1a test vectors.
        assert_eq!(hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash(b"foobar"), 0x8594_4171_f739_67e8);
        let mut h = Fnv1a::default();
        h.update(b"foo");
        h.update(b"bar");
        assert_eq!(h.finish(), hash(b"foobar"));
    }
}
