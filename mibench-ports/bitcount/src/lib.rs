//! MiBench automotive/bitcount, ported to `no_std` Rust.
//!
//! `bitcnts <iterations>` times seven ways of counting the bits set in a `long`
//! ([`counters::METHODS`]). Each method counts the bits of `iterations` numbers, starting from
//! a fresh `rand()` (glibc's generator, never seeded, so as after `srand(1)`) and stepping by
//! 13, and prints the time taken and the total of its counts:
//! `printf("%-38s> Time: %7.3f sec.; Bits: %ld\n", ...)`. At the end it names the fastest and
//! slowest method.
//!
//! The input is the program's only argument, the iteration count as text (read with `atoi`):
//! MiBench's small run is `75000`, the large one `1125000`. Timing comes from a caller-supplied
//! clock, so the "Time:" columns and the Best/Worst lines depend on the machine; the "Bits:"
//! totals do not.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod counters;

use alloc::vec::Vec;
use core::fmt::{self, Write};
use mibench_common::GlibcRand;

pub use counters::{BitCounter, METHODS};

/// The argument of MiBench's `runme_small.sh`.
pub const SMALL_ITERATIONS: &[u8] = b"75000";
/// The argument of MiBench's `runme_large.sh`.
pub const LARGE_ITERATIONS: &[u8] = b"1125000";

/// The small run's input: its argument, `75000`. (bitcount reads no file; its data come from
/// `rand()`.)
pub fn generated_small_input() -> Vec<u8> {
    SMALL_ITERATIONS.to_vec()
}

/// The large run's input: `1125000`.
pub fn generated_large_input() -> Vec<u8> {
    LARGE_ITERATIONS.to_vec()
}

/// C's `atoi` (as glibc's `strtol` cut to `int`): leading white space, an optional sign, then
/// decimal digits up to the first other character; 0 if there are none.
pub fn atoi(s: &[u8]) -> i32 {
    let mut rest = s;
    while let [c, tail @ ..] = rest {
        if !matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
            break;
        }
        rest = tail;
    }
    let negative = rest.first() == Some(&b'-');
    if matches!(rest.first(), Some(b'-' | b'+')) {
        rest = &rest[1..];
    }
    let mut value: i64 = 0;
    for &c in rest.iter().take_while(|c| c.is_ascii_digit()) {
        // strtol saturates at the range of a 64-bit long.
        value = value.saturating_mul(10).saturating_add(i64::from(c - b'0'));
    }
    let value = if negative { -value } else { value };
    // atoi is (int)strtol(...): the low 32 bits.
    value as i32
}

/// `bitcnts <input>`, timing with `clock`, which returns processor time in microseconds (C's
/// `clock()`, whose `CLOCKS_PER_SEC` is 1,000,000).
pub fn run(input: &[u8], clock: &mut impl FnMut() -> u64, out: &mut impl Write) -> fmt::Result {
    run_iterations(atoi(input), clock, out)
}

/// [`run`] for an iteration count.
pub fn run_iterations(
    iterations: i32,
    clock: &mut impl FnMut() -> u64,
    out: &mut impl Write,
) -> fmt::Result {
    // puts() adds a newline of its own.
    out.write_str("Bit counter algorithm benchmark\n\n")?;

    // The program never calls srand, which leaves glibc's generator as after srand(1).
    let mut rng = GlibcRand::new(1);
    let (mut cmin, mut cmax) = (f64::MAX, 0.0);
    // If no method takes measurable time the C prints an uninitialised `cmaxix`; here it is 0.
    let (mut cminix, mut cmaxix) = (0, 0);
    for (i, (name, count)) in METHODS.iter().enumerate() {
        let start = clock();
        let mut n: i64 = 0;
        let mut seed = i64::from(rng.rand());
        for _ in 0..iterations {
            n += i64::from(count(seed));
            seed += 13;
        }
        let stop = clock();

        let ct = stop.wrapping_sub(start) as f64 / 1_000_000.0;
        if ct < cmin {
            cmin = ct;
            cminix = i;
        }
        if ct > cmax {
            cmax = ct;
            cmaxix = i;
        }
        writeln!(out, "{name:<38}> Time: {ct:7.3} sec.; Bits: {n}")?;
    }
    writeln!(out, "\nBest  > {}", METHODS[cminix].0)?;
    writeln!(out, "Worst > {}", METHODS[cmaxix].0)
}
