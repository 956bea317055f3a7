//! Generated stand-ins for MiBench's `data/small.pcm` and `data/large.pcm` (adpcm's input, and
//! what crc32 reads): raw 16-bit
//! little-endian mono samples that behave roughly like speech (voiced stretches of a few tenths
//! of a second with a pitch and a loudness envelope, separated by near-silence).
//!
//! Made from integer arithmetic only: segments of 1,600 to 8,000 samples, one in five quiet
//! (noise of +-32), the rest a triangle wave at a random pitch period (40 to 160 samples) plus
//! its third harmonic, shaped by a rise-and-fall envelope to a random peak (1,500 to 15,500),
//! with a little noise, through a one-pole low-pass filter. Random numbers come from xorshift32
//! (13, 17, 5) seeded with [`SEED`].

use alloc::vec::Vec;

use crate::XorShift32;

/// Length in bytes of MiBench's `small.pcm` (684,432 samples).
pub const SMALL_PCM_LEN: usize = 1_368_864;
/// Length in bytes of MiBench's `large.pcm` (13,305,600 samples; the file itself is absent from
/// the upstream copies reachable here, its length is not).
pub const LARGE_PCM_LEN: usize = 26_611_200;
/// The xorshift32 seed of the signal generator.
pub const SEED: u32 = 0xadc0_0de1;

/// PCM like `small.pcm`: 1,368,864 bytes.
pub fn generated_small_input() -> Vec<u8> {
    generated_pcm(SMALL_PCM_LEN)
}

/// PCM like `large.pcm`: [`LARGE_PCM_LEN`] bytes.
pub fn generated_large_input() -> Vec<u8> {
    generated_pcm(LARGE_PCM_LEN)
}

/// `len` bytes (an even number is a whole number of samples) of the generated signal.
pub fn generated_pcm(len: usize) -> Vec<u8> {
    let mut rng = XorShift32(SEED);
    let mut out = Vec::with_capacity(len + 1);
    let mut filtered = 0i32;
    while out.len() < len {
        let seg_len = 1600 + rng.below(6401) as i32;
        let quiet = rng.below(5) == 0;
        let period = 40 + rng.below(121) as i32;
        let peak = 1500 + rng.below(14_001) as i32;
        for t in 0..seg_len {
            let raw = if quiet {
                rng.below(65) as i32 - 32
            } else {
                // Envelope in 0..=1024: rises over the first quarter, falls over the last.
                let edge = t.min(seg_len - 1 - t);
                let envelope = (edge * 4 * 1024 / seg_len).min(1024);
                let wave = triangle(t, period) + triangle(3 * t, period) / 3;
                let noise = rng.below(257) as i32 - 128;
                peak * envelope / 1024 * wave / 1024 + noise
            };
            filtered += (raw - filtered) / 2;
            let sample = filtered.clamp(-32768, 32767) as i16;
            out.extend_from_slice(&sample.to_le_bytes());
            if out.len() >= len {
                break;
            }
        }
    }
    out.truncate(len);
    out
}

/// A triangle wave of period `period` at time `t`, in -1024..=1024.
fn triangle(t: i32, period: i32) -> i32 {
    let phase = t % period;
    let half = period / 2;
    if phase < half {
        -1024 + 2048 * phase / half
    } else {
        1024 - 2048 * (phase - half) / (period - half)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// adpcm encodes and crc32 checksums these bytes: they must not change by accident.
    #[test]
    fn generated_pcm_is_stable() {
        assert_eq!(crate::fnv1a(&generated_small_input()), 0x459501efb69ea698);
    }
}
