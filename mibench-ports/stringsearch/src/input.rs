//! Generated word/phrase lists in place of the ones compiled into `search_small` (57 pairs) and
//! `search_large` (1332 pairs).
//!
//! Like the originals, each phrase is a short run of words (here 2 to 7 pseudo-words of 1 to 3
//! letter syllables, occasionally capitalised or followed by punctuation, 25 to 30 bytes on
//! average), and each word is usually a piece of its phrase: a whole word (four times in ten),
//! one to six bytes cut from it, perhaps across a space (three in ten); otherwise a fresh
//! pseudo-word, which may or may not occur. Random numbers come from xorshift32 (13, 17, 5)
//! seeded with [`SEED`].

use alloc::vec::Vec;

/// Pairs in `search_small`.
pub const SMALL_PAIRS: usize = 57;
/// Pairs in `search_large`.
pub const LARGE_PAIRS: usize = 1332;
/// The xorshift32 seed of the generator.
pub const SEED: u32 = 0x5ea2_c4ed;

/// An input like `search_small`'s lists: 57 lines of `word<TAB>phrase`.
pub fn generated_small_input() -> Vec<u8> {
    generated_input(SMALL_PAIRS)
}

/// An input like `search_large`'s lists: 1332 lines.
pub fn generated_large_input() -> Vec<u8> {
    generated_input(LARGE_PAIRS)
}

fn generated_input(pairs: usize) -> Vec<u8> {
    let mut rng = XorShift32(SEED);
    let mut out = Vec::new();
    for _ in 0..pairs {
        let mut words: Vec<Vec<u8>> = Vec::new();
        for _ in 0..2 + rng.below(6) {
            let mut w = word(&mut rng);
            if rng.below(6) == 0 {
                w[0].make_ascii_uppercase();
            }
            if rng.below(8) == 0 {
                w.push(b",.;:'-"[rng.below(6) as usize]);
            }
            words.push(w);
        }
        let phrase = words.join(&b' ');
        let pick = rng.below(10);
        let find = if pick < 4 {
            // A whole word (without its punctuation).
            let w = &words[rng.below(words.len() as u32) as usize];
            w.iter().copied().filter(u8::is_ascii_alphabetic).collect()
        } else if pick < 7 {
            // A part of the phrase, 1 to 4 bytes (6 when it may span a space).
            let max = if pick < 6 { 4 } else { 6 };
            let len = 1 + rng.below(max) as usize;
            let len = len.min(phrase.len());
            let start = rng.below((phrase.len() - len + 1) as u32) as usize;
            phrase[start..start + len].to_vec()
        } else {
            word(&mut rng)
        };
        out.extend_from_slice(&find);
        out.push(b'\t');
        out.extend_from_slice(&phrase);
        out.push(b'\n');
    }
    out
}

fn word(rng: &mut XorShift32) -> Vec<u8> {
    const ONSETS: &[u8] = b"bcdfghlmnprstvwyz";
    const VOWELS: &[u8] = b"aeiouy";
    let mut w = Vec::new();
    for _ in 0..1 + rng.below(3) {
        if rng.below(4) != 0 {
            w.push(ONSETS[rng.below(ONSETS.len() as u32) as usize]);
        }
        w.push(VOWELS[rng.below(VOWELS.len() as u32) as usize]);
        if rng.below(3) == 0 {
            w.push(ONSETS[rng.below(ONSETS.len() as u32) as usize]);
        }
    }
    w
}

struct XorShift32(u32);

impl XorShift32 {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// A number in `0..n` (a slight modulo bias does not matter here).
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}
