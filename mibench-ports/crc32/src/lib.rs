//! MiBench telecomm/CRC32, ported to `no_std` Rust.
//!
//! The original (`crc_32.c`, SNIPPETS code around Gary S. Brown's 1986 table) reads each file
//! named on its command line a byte at a time, runs the reflected CRC-32 (polynomial 0xedb88320,
//! initial value and final XOR all ones: the CRC of ANSI X3.66, zip and Ethernet) and prints
//! `printf("%08lX %7ld %s\n", crc, charcnt, name)`.
//!
//! The CRC is kept in a `DWORD`, typedef'd `unsigned long`, and the final `~` complements all
//! of it. Where `long` is 64 bits ([`DataModel::Lp64`], as for the reference outputs) the
//! printed value therefore starts with eight `F`s (`FFFFFFFF6DA5B639`); where it is 32 bits
//! ([`DataModel::Ilp32`]) it is the plain CRC. The CRC itself is the same either way.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

use core::fmt::{self, Write};

pub use mibench_common::speech_pcm::{
    LARGE_PCM_LEN as LARGE_INPUT_LEN, SMALL_PCM_LEN as SMALL_INPUT_LEN, generated_large_input,
    generated_pcm, generated_small_input,
};

/// The width of C's `long`, which decides how the CRC is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataModel {
    /// 32-bit `long`.
    Ilp32,
    /// 64-bit `long` (x86-64 and AArch64 Linux): the reference outputs.
    Lp64,
}

/// The reflected CRC-32 polynomial, x^32 + x^26 + ... + x + 1 with x^0 in the top bit.
pub const POLYNOMIAL: u32 = 0xedb8_8320;

/// `crc_32_tab`: the CRC of each byte value, eight shift/XOR steps each. The C has the table
/// written out; it is computed here, as the C's comments explain it can be.
pub const CRC_32_TAB: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ POLYNOMIAL
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// `UPDC32(octet, crc)` / `updateCRC32`: one byte into the running CRC.
pub fn updc32(octet: u8, crc: u32) -> u32 {
    CRC_32_TAB[((crc ^ u32::from(octet)) & 0xff) as usize] ^ (crc >> 8)
}

/// `crc32buf(buf, len)`: the finished CRC of a buffer.
pub fn crc32buf(buf: &[u8]) -> u32 {
    !buf.iter().fold(0xffff_ffff, |crc, &b| updc32(b, crc))
}

/// What `crc32file` reports for a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileCrc {
    pub crc: u32,
    /// `charcnt`, a `long`: the bytes read.
    pub charcnt: i64,
}

/// `crc32file`: the CRC and length of a file's contents.
pub fn crc32file(data: &[u8]) -> FileCrc {
    FileCrc {
        crc: crc32buf(data),
        charcnt: data.len() as i64,
    }
}

/// The line `main` prints for one file.
pub fn write_line(
    result: FileCrc,
    name: &str,
    model: DataModel,
    out: &mut impl Write,
) -> fmt::Result {
    // `~oldcrc32` also sets the upper half of a 64-bit DWORD.
    let printed = match model {
        DataModel::Ilp32 => u64::from(result.crc),
        DataModel::Lp64 => 0xffff_ffff_0000_0000 | u64::from(result.crc),
    };
    writeln!(out, "{printed:08X} {:7} {name}", result.charcnt)
}

/// `crc <name>` where the file `name` holds `data`.
pub fn run(data: &[u8], name: &str, model: DataModel, out: &mut impl Write) -> fmt::Result {
    write_line(crc32file(data), name, model, out)
}
