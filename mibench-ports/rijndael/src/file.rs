//! `aesxam.c`'s file format: `encfile` and `decfile`, AES in CBC mode.
//!
//! An encrypted file is a 16-byte IV followed by the CBC encryption of one length byte and the
//! plain text, zero-padded to whole blocks. The length byte holds the file length modulo 16 in
//! its low four bits (so `decfile` knows how much of the last block is real) and random bits in
//! the high four.

use crate::aes::{Aes, BLOCK};
use alloc::vec::Vec;

/// `fillrand`'s generator: George Marsaglia's multiply-with-carry, two 16-bit halves, with the
/// fixed seeds `aesxam.c` uses in place of the Pentium cycle counter (0xeaf3, 0x35fe). Each
/// 32-bit result is handed out a byte at a time in little-endian order (the C stores it with
/// `*(unsigned long *)r = ...`, so on a big-endian machine the order would differ).
#[derive(Clone, Debug)]
pub struct FillRand {
    a: u32,
    b: u32,
    r: [u8; 4],
    count: usize,
}

impl Default for FillRand {
    /// The generator's state at program start (`mt = 1`, `count = 4`).
    fn default() -> Self {
        FillRand {
            a: 0xeaf3,
            b: 0x35fe,
            r: [0; 4],
            count: 4,
        }
    }
}

impl FillRand {
    /// `fillrand(buf, len)`.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for byte in buf {
            if self.count == 4 {
                // RAND(a, b); both halves stay below 2^32, and only the low 32 bits of the
                // combination are kept.
                self.a = 36969 * (self.a & 0xffff) + (self.a >> 16);
                self.b = 18000 * (self.b & 0xffff) + (self.b >> 16);
                self.r = (self.a << 16).wrapping_add(self.b).to_le_bytes();
                self.count = 0;
            }
            *byte = self.r[self.count];
            self.count += 1;
        }
    }
}

fn xor_into(dst: &mut [u8; BLOCK], src: &[u8; BLOCK]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= s;
    }
}

/// `encfile`: the encrypted file for `input`, drawing the IV and the length byte's random bits
/// from `rng`.
pub fn encrypt_file(input: &[u8], aes: &Aes, rng: &mut FillRand) -> Vec<u8> {
    let mut outbuf = [0u8; BLOCK];
    rng.fill(&mut outbuf);
    let mut out = Vec::with_capacity(BLOCK + (input.len() + 1).div_ceil(BLOCK) * BLOCK);
    out.extend_from_slice(&outbuf);

    let mut random = [0u8; 1];
    rng.fill(&mut random);
    // `(char)flen & 15 | inbuf[0] & ~15`.
    let length_byte = (input.len() as u8 & 15) | (random[0] & !15);

    // The C reads 15 bytes after the length byte into the first block and 16 into the later
    // ones, then zero-fills the last, partial block; that is the blocks of this stream. A
    // stream that ends on a block boundary gets no extra block.
    let stream = core::iter::once(length_byte).chain(input.iter().copied());
    let mut inbuf = [0u8; BLOCK];
    let mut filled = 0;
    let emit = |inbuf: &mut [u8; BLOCK], outbuf: &mut [u8; BLOCK], out: &mut Vec<u8>| {
        xor_into(inbuf, outbuf);
        *outbuf = aes.encrypt(inbuf);
        out.extend_from_slice(outbuf);
    };
    for byte in stream {
        inbuf[filled] = byte;
        filled += 1;
        if filled == BLOCK {
            emit(&mut inbuf, &mut outbuf, &mut out);
            filled = 0;
        }
    }
    if filled > 0 {
        inbuf[filled..].fill(0);
        emit(&mut inbuf, &mut outbuf, &mut out);
    }
    out
}

/// Why `decfile` gives up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecryptError {
    /// Fewer than 16 bytes: no IV (`Error reading from input file: <name>`).
    NoIv,
    /// The first block after the IV is partial (`\nThe input file is corrupt`). A file holding
    /// only an IV also lands here: the C would decrypt an uninitialised buffer.
    Corrupt,
}

/// `decfile`: the plain text of an encrypted file. Bytes after the last whole block are ignored,
/// as in the C.
pub fn decrypt_file(input: &[u8], aes: &Aes) -> Result<Vec<u8>, DecryptError> {
    let (iv, rest) = input.split_at_checked(BLOCK).ok_or(DecryptError::NoIv)?;
    let mut blocks = rest
        .chunks(BLOCK)
        .map_while(|b| <&[u8; BLOCK]>::try_from(b).ok());
    let first = blocks.next().ok_or(DecryptError::Corrupt)?;

    let mut outbuf = aes.decrypt(first);
    for (o, v) in outbuf.iter_mut().zip(iv) {
        *o ^= v;
    }
    let mut flen = usize::from(outbuf[0] & 15);
    // Valid bytes in `outbuf`: 15 in the first block (after the length byte), then 16.
    let mut valid = 15;
    let mut previous = first;
    let mut out = Vec::with_capacity(rest.len());
    for block in blocks {
        // Another block follows, so the one in `outbuf` was full: write it out.
        out.extend_from_slice(&outbuf[BLOCK - valid..]);
        outbuf = aes.decrypt(block);
        xor_into(&mut outbuf, previous);
        previous = block;
        valid = 16;
    }
    // The last block holds flen + 1 bytes of the file, or flen after the length byte if it is
    // also the first.
    let skip = usize::from(valid == 15);
    flen += 1 - skip;
    out.extend_from_slice(&outbuf[skip..skip + flen]);
    Ok(out)
}
