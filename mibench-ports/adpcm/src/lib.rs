//! MiBench telecomm/adpcm, ported to `no_std` Rust.
//!
//! MiBench runs two programs over Jack Jansen's IMA ADPCM codec ([`codec`]):
//!
//! - `rawcaudio < small.pcm > out.adpcm`: [`rawcaudio`]. It `read`s up to 1000 16-bit samples
//!   (2000 bytes) at a time, codes them and `write`s a quarter as many bytes as it read.
//! - `rawdaudio < small.adpcm > out.pcm`: [`rawdaudio`]. It reads up to 500 bytes at a time,
//!   decodes two samples from each and writes four bytes per byte read.
//!
//! Both carry the codec state from one block to the next and finally print
//! `Final valprev=%d, index=%d` to stderr ([`write_final_state`]). Samples are little-endian, the
//! byte order of the machines the reference outputs come from (the C uses the native order).
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod codec;

use alloc::vec::Vec;
use core::fmt::{self, Write};

pub use codec::{AdpcmState, adpcm_coder, adpcm_decoder};
pub use mibench_common::speech_pcm::{
    LARGE_PCM_LEN, SMALL_PCM_LEN, generated_large_input, generated_small_input,
};

/// `NSAMPLES`: samples per block in both programs.
pub const NSAMPLES: usize = 1000;

/// `rawcaudio`: the ADPCM stream it writes for the PCM bytes on its input, and its final state.
pub fn rawcaudio(pcm: &[u8]) -> (Vec<u8>, AdpcmState) {
    let mut state = AdpcmState::default();
    let mut out = Vec::with_capacity(pcm.len() / 4 + 1);
    let mut sbuf = [0i16; NSAMPLES];
    let mut abuf = [0u8; NSAMPLES / 2];
    // `read(0, sbuf, NSAMPLES*2)`: from a file, every read but the last is full.
    for chunk in pcm.chunks(NSAMPLES * 2) {
        let n = chunk.len();
        let samples = &mut sbuf[..n / 2];
        for (s, b) in samples.iter_mut().zip(chunk.chunks_exact(2)) {
            *s = i16::from_le_bytes([b[0], b[1]]);
        }
        adpcm_coder(samples, &mut abuf, &mut state);
        // `write(1, abuf, n/4)`: for an odd sample count this drops the half-filled last byte.
        out.extend_from_slice(&abuf[..n / 4]);
    }
    (out, state)
}

/// `rawdaudio`: the PCM bytes it writes for the ADPCM stream on its input, and its final state.
pub fn rawdaudio(adpcm: &[u8]) -> (Vec<u8>, AdpcmState) {
    let mut state = AdpcmState::default();
    let mut out = Vec::with_capacity(adpcm.len() * 4);
    let mut sbuf = [0i16; NSAMPLES];
    for chunk in adpcm.chunks(NSAMPLES / 2) {
        let samples = &mut sbuf[..chunk.len() * 2];
        adpcm_decoder(chunk, samples, &mut state);
        for s in samples.iter() {
            out.extend_from_slice(&s.to_le_bytes());
        }
    }
    (out, state)
}

/// ADPCM like MiBench's `small.adpcm`: [`rawcaudio`] of [`generated_small_input`], 342,216
/// bytes (MiBench's `small.adpcm` is likewise `rawcaudio`'s output for `small.pcm`).
pub fn generated_small_adpcm_input() -> Vec<u8> {
    rawcaudio(&generated_small_input()).0
}

/// ADPCM like MiBench's `large.adpcm`: [`rawcaudio`] of [`generated_large_input`].
pub fn generated_large_adpcm_input() -> Vec<u8> {
    rawcaudio(&generated_large_input()).0
}

/// The line both programs print to stderr at the end.
pub fn write_final_state(state: &AdpcmState, out: &mut impl Write) -> fmt::Result {
    writeln!(
        out,
        "Final valprev={}, index={}",
        state.valprev, state.index
    )
}

/// One line identifying a binary output (see [`mibench_common::write_binary_summary`]).
pub use mibench_common::write_binary_summary as write_summary;
