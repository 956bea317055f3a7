//! Generated stand-ins for MiBench's `input_small.asc` / `input_large.asc`, the text sha,
//! blowfish and rijndael read.
//!
//! The originals (shared by sha, blowfish and rijndael) are English text with the spaces and
//! punctuation taken out, one 609-byte paragraph repeated: 32 copies and a newline make a line,
//! and the small file is 16 such lines. The generator builds the same shape from pseudo-words:
//! a 609-byte paragraph of capitalised "sentences" of letter syllables and the odd number,
//! repeated the same way and cut to the original file's length (ending in a newline). Its random
//! numbers come from xorshift32 (13, 17, 5) seeded with [`SEED`]; all three ports use this one
//! generator, so they hash or encrypt the same bytes.

use alloc::vec::Vec;

use crate::XorShift32;

/// Length of MiBench's `input_small.asc`.
pub const SMALL_INPUT_LEN: usize = 311_824;
/// Length of MiBench's `input_large.asc`.
pub const LARGE_INPUT_LEN: usize = 3_247_552;
/// The xorshift32 seed of the paragraph generator.
pub const SEED: u32 = 0x5ec0_0a5c;

const PARAGRAPH_LEN: usize = 609;
const PARAGRAPHS_PER_LINE: usize = 32;

/// Text like `input_small.asc`: 311,824 bytes, 16 lines.
pub fn generated_small_input() -> Vec<u8> {
    generated_input(SMALL_INPUT_LEN)
}

/// Text like `input_large.asc`: 3,247,552 bytes.
pub fn generated_large_input() -> Vec<u8> {
    generated_input(LARGE_INPUT_LEN)
}

fn generated_input(len: usize) -> Vec<u8> {
    let paragraph = paragraph();
    let mut line = Vec::with_capacity(PARAGRAPH_LEN * PARAGRAPHS_PER_LINE + 1);
    for _ in 0..PARAGRAPHS_PER_LINE {
        line.extend_from_slice(&paragraph);
    }
    line.push(b'\n');
    let mut text: Vec<u8> = line.iter().copied().cycle().take(len - 1).collect();
    text.push(b'\n');
    text
}

fn paragraph() -> Vec<u8> {
    const ONSETS: [&[u8]; 16] = [
        b"b", b"c", b"d", b"f", b"g", b"h", b"l", b"m", b"n", b"p", b"r", b"s", b"t", b"w", b"th",
        b"st",
    ];
    const VOWELS: [&[u8]; 8] = [b"a", b"e", b"i", b"o", b"u", b"ea", b"ou", b"y"];
    const CODAS: [&[u8]; 8] = [b"", b"", b"n", b"r", b"s", b"t", b"ll", b"nd"];

    let mut rng = XorShift32(SEED);
    let mut text = Vec::with_capacity(PARAGRAPH_LEN + 32);
    let mut sentence_start = true;
    while text.len() < PARAGRAPH_LEN {
        if rng.below(40) == 0 {
            // A number, like the "97" of the original.
            let n = 1 + rng.below(99);
            if n >= 10 {
                text.push(b'0' + (n / 10) as u8);
            }
            text.push(b'0' + (n % 10) as u8);
            continue;
        }
        let word_start = text.len();
        for _ in 0..1 + rng.below(3) {
            text.extend_from_slice(ONSETS[rng.below(16) as usize]);
            text.extend_from_slice(VOWELS[rng.below(8) as usize]);
            text.extend_from_slice(CODAS[rng.below(8) as usize]);
        }
        if sentence_start {
            text[word_start].make_ascii_uppercase();
        }
        sentence_start = rng.below(8) == 0;
    }
    text.truncate(PARAGRAPH_LEN);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sha, blowfish and rijndael hash or encrypt these bytes: they must not change by accident.
    #[test]
    fn generated_text_is_stable() {
        assert_eq!(crate::fnv1a(&generated_small_input()), 0xa661f9a2ca40b6a5);
        assert_eq!(crate::fnv1a(&generated_large_input()), 0xa7bec6aa3e4612c0);
    }
}
