//! MiBench security/rijndael, ported to `no_std` Rust.
//!
//! The original (`aesxam.c` over Brian Gladman's `aes.c`) is run as
//! `rijndael <input> <output> e|d <hex key>` with a key of 32, 48 or 64 hex digits. It encrypts
//! a file with AES in CBC mode behind a random IV ([`encrypt_file`]), or decrypts such a file
//! ([`decrypt_file`]). [`run`] is the program, returning the output file's bytes.
//!
//! The IV is "random" from a multiply-with-carry generator with fixed seeds ([`FillRand`]), so
//! the output is deterministic and the port reproduces it exactly. The C's 64-bit `unsigned
//! long` "words" on LP64 do not change the cipher (see [`aes`]).
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod aes;
mod file;

use alloc::vec::Vec;
use core::fmt::{self, Write};

pub use aes::Aes;
pub use file::{DecryptError, FillRand, decrypt_file, encrypt_file};
pub use mibench_common::security_text::{
    LARGE_INPUT_LEN, SMALL_INPUT_LEN, generated_large_input, generated_small_input,
};

/// The key of MiBench's `runme_small.sh` and `runme_large.sh` (AES-256).
pub const RUNME_KEY: &str = "1234567890abcdeffedcba09876543211234567890abcdeffedcba0987654321";

/// The `e` / `d` argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Encrypt,
    Decrypt,
}

/// Why the program stops without writing a complete output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// `key must be in hexadecimal notation`
    KeyNotHex,
    /// `The key value is too long` (more than 64 digits)
    KeyTooLong,
    /// `The key length must be 32, 48 or 64 hexadecimal digits`
    KeyLength,
    /// From `decfile`.
    Decrypt(DecryptError),
}

impl Error {
    /// What the C prints for this error (`input_name` is its `argv[1]`), byte for byte.
    pub fn write_message(&self, input_name: &str, out: &mut impl Write) -> fmt::Result {
        match self {
            Error::KeyNotHex => out.write_str("key must be in hexadecimal notation\n"),
            Error::KeyTooLong => out.write_str("The key value is too long\n"),
            Error::KeyLength => {
                out.write_str("The key length must be 32, 48 or 64 hexadecimal digits\n")
            }
            Error::Decrypt(DecryptError::NoIv) => {
                writeln!(out, "Error reading from input file: {input_name}")
            }
            Error::Decrypt(DecryptError::Corrupt) => out.write_str("\nThe input file is corrupt"),
        }
    }
}

/// `main`'s key loop: pairs of hex digits (either case) become bytes; 32, 48 or 64 digits.
pub fn parse_key(hex: &str) -> Result<Vec<u8>, Error> {
    let mut key = Vec::with_capacity(32);
    let mut by: u32 = 0;
    let mut digits = hex.bytes();
    let mut count = 0;
    while count < 64 {
        let Some(ch) = digits.next() else { break };
        let nibble = match ch.to_ascii_uppercase() {
            c @ b'0'..=b'9' => c - b'0',
            c @ b'A'..=b'F' => c - b'A' + 10,
            _ => return Err(Error::KeyNotHex),
        };
        by = (by << 4).wrapping_add(u32::from(nibble));
        if count & 1 == 1 {
            key.push(by as u8);
        }
        count += 1;
    }
    if digits.next().is_some() {
        Err(Error::KeyTooLong)
    } else if count < 32 || count & 15 != 0 {
        Err(Error::KeyLength)
    } else {
        Ok(key)
    }
}

/// `rijndael <input> <output> e|d <key>`: the bytes written to `<output>`. Encryption starts the
/// IV generator afresh, as each run of the program does.
pub fn run(input: &[u8], mode: Mode, key_hex: &str) -> Result<Vec<u8>, Error> {
    let key = parse_key(key_hex)?;
    // parse_key only returns 16, 24 or 32 bytes.
    let aes = Aes::new(&key).ok_or(Error::KeyLength)?;
    match mode {
        Mode::Encrypt => Ok(encrypt_file(input, &aes, &mut FillRand::default())),
        Mode::Decrypt => decrypt_file(input, &aes).map_err(Error::Decrypt),
    }
}

/// One line identifying a binary output (see [`mibench_common::write_binary_summary`]).
pub use mibench_common::write_binary_summary as write_summary;
