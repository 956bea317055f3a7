//! MiBench security/sha, ported to `no_std` Rust.
//!
//! The original (`sha_driver.c`, `sha.c`: Peter C. Gutmann's SHA as modified by Uwe Hollerbach)
//! reads a file in 8192-byte chunks, hashes it and prints the five digest words with
//! `printf("%08lx %08lx %08lx %08lx %08lx\n", ...)`.
//!
//! Two things about how the C is built decide what it computes ([`Build`]):
//!
//! - `USE_MODIFIED_SHA`, NIST's 1994 modification that made SHA into SHA-1, is not defined by
//!   MiBench's Makefile, so the benchmark computes the original SHA (SHA-0). [`sha0`] is that;
//!   [`sha1`] is the program built with `-DUSE_MODIFIED_SHA`.
//! - The C keeps every 32-bit quantity in a `LONG`, typedef'd `unsigned long`. Where `long` is
//!   32 bits ([`DataModel::Ilp32`], the targets MiBench was written for) the arithmetic is the
//!   intended one. Where it is 64 bits ([`DataModel::Lp64`]: x86-64 and AArch64 Linux, where the
//!   reference outputs were made) the "32-bit" rotations keep their high bits, each 64-byte block
//!   is copied into a 128-byte buffer of which only the first half is refreshed, and the digest
//!   words grow past 32 bits, so it prints e.g. `bdba08c63c50c0c 44922cbdc70c9ce8 ...` for the
//!   small input, which is not a digest of any standard kind. [`emulate`](mod@emulate)
//!   reproduces that byte for byte.
//!
//! All four combinations run the same code, an emulation of the C over a `LONG` of either width.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod emulate;

use core::fmt::{self, Write};

pub use emulate::{Build, DataModel, ShaInfo};
pub use mibench_common::security_text::{
    LARGE_INPUT_LEN, SMALL_INPUT_LEN, generated_large_input, generated_small_input,
};

/// The digest words `sha_stream` leaves in `sha_info->digest` for `input` in `build`, as
/// `long`s of its width (zero-extended to `u64`).
pub fn digest(input: &[u8], build: Build) -> [u64; 5] {
    let mut info = ShaInfo::new(build);
    info.stream(input);
    info.digest()
}

/// SHA-0 of `input`: what MiBench's build computes where `long` is 32 bits.
pub fn sha0(input: &[u8]) -> [u32; 5] {
    // ILP32 keeps every word below 2^32, so the narrowing is exact.
    digest(input, Build::ILP32).map(|w| w as u32)
}

/// SHA-1 of `input`: the program built with `-DUSE_MODIFIED_SHA` where `long` is 32 bits.
pub fn sha1(input: &[u8]) -> [u32; 5] {
    let build = Build {
        model: DataModel::Ilp32,
        use_modified_sha: true,
    };
    digest(input, build).map(|w| w as u32)
}

/// `sha_print`: the line the program prints for one file.
pub fn write_digest(digest: &[u64; 5], out: &mut impl Write) -> fmt::Result {
    writeln!(
        out,
        "{:08x} {:08x} {:08x} {:08x} {:08x}",
        digest[0], digest[1], digest[2], digest[3], digest[4]
    )
}

/// `sha <file>`: hashes `input` as the C program built as `build` does and prints its line.
/// [`Build::LP64`] reproduces the reference outputs.
pub fn run(input: &[u8], build: Build, out: &mut impl Write) -> fmt::Result {
    write_digest(&digest(input, build), out)
}
