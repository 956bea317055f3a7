//! The Blowfish block cipher as in Eric Young's `bf_skey.c` / `bf_enc.c`: 16 rounds, keys of up
//! to 72 bytes, blocks handled as two big-endian 32-bit halves.

use crate::pi::{P_INIT, S_INIT};

/// `BF_ROUNDS`.
pub const ROUNDS: usize = 16;
/// The longest key `BF_set_key` uses, in bytes: `(BF_ROUNDS + 2) * 4`.
pub const MAX_KEY_LEN: usize = (ROUNDS + 2) * 4;

/// `BF_KEY`: the expanded key.
#[derive(Clone)]
pub struct BfKey {
    p: [u32; ROUNDS + 2],
    s: [[u32; 256]; 4],
}

impl BfKey {
    /// `BF_set_key(key, len, data)`: bytes past [`MAX_KEY_LEN`] are ignored and shorter keys
    /// repeat cyclically, as in the C. (The C reads `data[0]` forever for an empty key; here an
    /// empty key counts as all zero bits.)
    pub fn new(key: &[u8]) -> Self {
        let key = &key[..key.len().min(MAX_KEY_LEN)];
        let mut k = BfKey {
            p: P_INIT,
            s: S_INIT,
        };
        let mut bytes = key.iter().copied().cycle();
        for p in k.p.iter_mut() {
            let mut ri = 0u32;
            for _ in 0..4 {
                ri = (ri << 8) | u32::from(bytes.next().unwrap_or(0));
            }
            *p ^= ri;
        }
        // Encrypt an all-zero block repeatedly, each result replacing the next two subkeys.
        let mut block = [0u32; 2];
        for i in (0..ROUNDS + 2).step_by(2) {
            block = k.encrypt_block(block);
            k.p[i] = block[0];
            k.p[i + 1] = block[1];
        }
        for sbox in 0..4 {
            for i in (0..256).step_by(2) {
                block = k.encrypt_block(block);
                k.s[sbox][i] = block[0];
                k.s[sbox][i + 1] = block[1];
            }
        }
        k
    }

    /// `BF_ENC`'s round function.
    fn f(&self, x: u32) -> u32 {
        let [a, b, c, d] = x.to_be_bytes();
        (self.s[0][a as usize].wrapping_add(self.s[1][b as usize]) ^ self.s[2][c as usize])
            .wrapping_add(self.s[3][d as usize])
    }

    /// `BF_encrypt(data, key, BF_ENCRYPT)`: `data[0]` is the left (first) half.
    pub fn encrypt_block(&self, data: [u32; 2]) -> [u32; 2] {
        let [mut l, mut r] = data;
        l ^= self.p[0];
        for i in (1..=ROUNDS).step_by(2) {
            r ^= self.p[i] ^ self.f(l);
            l ^= self.p[i + 1] ^ self.f(r);
        }
        r ^= self.p[ROUNDS + 1];
        [r, l]
    }

    /// `BF_encrypt(data, key, BF_DECRYPT)`: the rounds in reverse.
    pub fn decrypt_block(&self, data: [u32; 2]) -> [u32; 2] {
        let [mut l, mut r] = data;
        l ^= self.p[ROUNDS + 1];
        for i in (1..=ROUNDS).rev().step_by(2) {
            r ^= self.p[i] ^ self.f(l);
            l ^= self.p[i - 1] ^ self.f(r);
        }
        r ^= self.p[0];
        [r, l]
    }

    /// `BF_ecb_encrypt` on 8 bytes (big-endian halves).
    pub fn encrypt_bytes(&self, block: [u8; 8]) -> [u8; 8] {
        join(self.encrypt_block(split(block)))
    }

    /// `BF_ecb_encrypt(..., BF_DECRYPT)` on 8 bytes.
    pub fn decrypt_bytes(&self, block: [u8; 8]) -> [u8; 8] {
        join(self.decrypt_block(split(block)))
    }
}

/// `n2l` twice: 8 bytes to two big-endian words.
pub(crate) fn split(b: [u8; 8]) -> [u32; 2] {
    [
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
    ]
}

/// `l2n` twice.
pub(crate) fn join(w: [u32; 2]) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&w[0].to_be_bytes());
    b[4..].copy_from_slice(&w[1].to_be_bytes());
    b
}
