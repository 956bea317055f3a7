//! `BF_cfb64_encrypt`: Blowfish in 64-bit cipher feedback mode, byte at a time.

use crate::cipher::{BfKey, join, split};

/// Encrypt or decrypt, the `encrypt` argument of `BF_cfb64_encrypt` (`BF_ENCRYPT` = 1,
/// `BF_DECRYPT` = 0) and the `e` / `d` of the `bf` command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Encrypt,
    Decrypt,
}

/// The state `BF_cfb64_encrypt` carries between calls: the feedback register `ivec` and `num`,
/// how many of its bytes are used up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cfb64 {
    pub ivec: [u8; 8],
    pub num: usize,
}

impl Cfb64 {
    pub fn new(ivec: [u8; 8]) -> Self {
        Cfb64 { ivec, num: 0 }
    }

    /// `BF_cfb64_encrypt(in, out, length, key, ivec, &num, mode)` with `in == out`.
    pub fn apply(&mut self, key: &BfKey, data: &mut [u8], mode: Mode) {
        let mut n = self.num;
        for byte in data.iter_mut() {
            if n == 0 {
                // A new keystream block: the register encrypted in place.
                self.ivec = join(key.encrypt_block(split(self.ivec)));
            }
            let input = *byte;
            let output = input ^ self.ivec[n];
            // The register is fed back with the cipher text, which is the output when
            // encrypting and the input when decrypting.
            self.ivec[n] = match mode {
                Mode::Encrypt => output,
                Mode::Decrypt => input,
            };
            *byte = output;
            n = (n + 1) & 7;
        }
        self.num = n;
    }
}
