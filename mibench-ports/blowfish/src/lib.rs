//! MiBench security/blowfish, ported to `no_std` Rust.
//!
//! The original `bf` program (`bf.c` over Eric Young's Blowfish library) is run as
//! `bf e|d <input> <output> <hex key>`: it reads the key's hex digits, then passes the input file
//! through Blowfish in 64-bit CFB mode ([`Cfb64`]) and writes the result. [`run`] is that
//! program, returning the output file's bytes.
//!
//! The reference output depends on three quirks of `bf.c`, all reproduced here:
//!
//! - The key is read into `unsigned char ukey[8]` although up to 32 bytes (64 digits) are
//!   accepted, and only 8 bytes are given to `BF_set_key`. MiBench's key,
//!   `1234567890abcdeffedcba0987654321`, is 16 bytes; the last 8 run past `ukey` into `ivec`,
//!   the CFB initial vector, which lies next to it and is otherwise never set. So the key bytes
//!   9-16 become the IV (the reference output decrypts with IV `fedcba0987654321`). A shorter key
//!   leaves the IV uninitialised in C; here it is zero. Bytes 17-32 of a longer key overwrite
//!   other locals in C; here they are ignored.
//! - `num`, the CFB position, is also uninitialised; the reference run starts at 0, as here.
//! - The read loop stores `getc`'s `EOF` once before `feof` stops it, so one `0xff` byte is
//!   appended to the input: the output is always one byte longer than the input (and `bf d` of
//!   an encrypted file gives back the plain text, its `0xff`, and one more byte).
#![cfg_attr(not(test), no_std)]

extern crate alloc;

mod cfb64;
mod cipher;
pub mod pi;

use alloc::vec::Vec;
use core::fmt;

pub use cfb64::{Cfb64, Mode};
pub use cipher::{BfKey, MAX_KEY_LEN, ROUNDS};
pub use mibench_common::security_text::{
    LARGE_INPUT_LEN, SMALL_INPUT_LEN, generated_large_input, generated_small_input,
};

/// The key of MiBench's `runme_small.sh` and `runme_large.sh`.
pub const RUNME_KEY: &str = "1234567890abcdeffedcba0987654321";

/// Why `bf` refuses a key; `Display` gives the line it prints before exiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// A character that is not a hex digit.
    NotHex,
    /// More than 64 hex digits.
    TooLong,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyError::NotHex => "key must be in hexadecimal notation",
            KeyError::TooLong => "Bad key value.",
        })
    }
}

/// What `bf.c`'s key loop leaves behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyMaterial {
    /// `ukey`: the 8 bytes given to `BF_set_key`.
    pub ukey: [u8; 8],
    /// `ivec`: key bytes 9-16, which the C stores past the end of `ukey`.
    pub ivec: [u8; 8],
}

/// `bf.c`'s key loop: pairs of hex digits (either case) become bytes, at most 64 digits are
/// read, and a trailing odd digit is dropped.
pub fn parse_key(hex: &str) -> Result<KeyMaterial, KeyError> {
    // The bytes as the C stores them: ukey[0..8] and, past its end, ivec[0..8] and beyond.
    let mut bytes = [0u8; 32];
    let mut by: u32 = 0;
    let mut digits = hex.bytes();
    for i in 0..64 {
        let Some(ch) = digits.next() else { break };
        let nibble = match ch.to_ascii_uppercase() {
            c @ b'0'..=b'9' => c - b'0',
            c @ b'A'..=b'F' => c - b'A' + 10,
            _ => return Err(KeyError::NotHex),
        };
        by = (by << 4).wrapping_add(u32::from(nibble));
        if i & 1 == 1 {
            bytes[i / 2] = by as u8;
        }
    }
    if digits.next().is_some() {
        return Err(KeyError::TooLong);
    }
    let mut key = KeyMaterial {
        ukey: [0; 8],
        ivec: [0; 8],
    };
    key.ukey.copy_from_slice(&bytes[..8]);
    key.ivec.copy_from_slice(&bytes[8..16]);
    Ok(key)
}

/// `bf e|d <input> <output> <key>`: the bytes the program writes to `<output>`.
pub fn run(input: &[u8], mode: Mode, key_hex: &str) -> Result<Vec<u8>, KeyError> {
    let key = parse_key(key_hex)?;
    let schedule = BfKey::new(&key.ukey);
    let mut data = Vec::with_capacity(input.len() + 1);
    data.extend_from_slice(input);
    // getc's EOF, stored as a byte before feof() ends the loop.
    data.push(0xff);
    // The C calls BF_cfb64_encrypt per 40 bytes read; the state carries over, so one call over
    // everything gives the same bytes.
    Cfb64::new(key.ivec).apply(&schedule, &mut data, mode);
    Ok(data)
}

/// One line identifying a binary output (see [`mibench_common::write_binary_summary`]).
pub use mibench_common::write_binary_summary as write_summary;
