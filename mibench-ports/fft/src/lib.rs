//! MiBench telecomm/FFT, ported to `no_std` Rust.
//!
//! The original (`fft <waves> <length> [-i]`, FFT code by Don Cross, public domain) sums `waves`
//! sinusoids of random amplitude and frequency into `length` float samples, transforms them with
//! an in-order radix-2 FFT (or inverse FFT) and prints the real and imaginary outputs with `%f`.
//! [`run`] does the same; the data come from glibc's `rand()` after `srand(1)`
//! ([`mibench_common::GlibcRand`]), so they are the original's. MiBench runs
//! [`SMALL_RUNS`] and [`LARGE_RUNS`].
//!
//! The arithmetic keeps the original's mix of `float` storage and `double` computation step by
//! step; `sin`/`cos` come from the `libm` crate.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub use mibench_common::cfmt;

use alloc::vec;
use core::fmt::{self, Write};
use mibench_common::GlibcRand;

/// `runme_small.sh`: `fft 4 4096` and `fft 4 8192 -i` as (waves, length, inverse).
pub const SMALL_RUNS: [(u32, u32, bool); 2] = [(4, 4096, false), (4, 8192, true)];
/// `runme_large.sh`: `fft 8 32768` and `fft 8 32768 -i`.
pub const LARGE_RUNS: [(u32, u32, bool); 2] = [(8, 32768, false), (8, 32768, true)];

/// `DDC_PI` of `ddcmath.h`, `3.14159265358979323846`, which rounds to this double.
const DDC_PI: f64 = core::f64::consts::PI;

#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// The length is not a power of two (at least 2); the original prints
    /// `Error in fft():  NumSamples=%u is not power of two` and exits.
    NotPowerOfTwo(u32),
    /// The output sink failed.
    Fmt,
}

impl From<fmt::Error> for Error {
    fn from(_: fmt::Error) -> Self {
        Error::Fmt
    }
}

pub fn is_power_of_two(x: u32) -> bool {
    x >= 2 && x & (x - 1) == 0
}

/// `log2` of a power of two (`NumberOfBitsNeeded`).
fn number_of_bits_needed(power_of_two: u32) -> u32 {
    power_of_two.trailing_zeros()
}

/// The low `num_bits` bits of `index`, reversed.
pub fn reverse_bits(index: u32, num_bits: u32) -> u32 {
    let (mut index, mut rev) = (index, 0);
    for _ in 0..num_bits {
        rev = (rev << 1) | (index & 1);
        index >>= 1;
    }
    rev
}

/// `fft_float`: the (inverse, if `inverse`) discrete Fourier transform of `real_in` +
/// i `imag_in` (zeros if `None`) into `real_out` + i `imag_out`, all of one power-of-two length.
/// As in the original, the forward transform is `X_k = sum_n x_n e^(+2 pi i k n / N)` and the
/// inverse uses `e^(-...)` and divides by the length, so inverse(forward(x)) is x.
///
/// The twiddle factors come from a trigonometric recurrence in `double`; samples are stored as
/// `float` between butterflies, as in the original.
pub fn fft_float(
    inverse: bool,
    real_in: &[f32],
    imag_in: Option<&[f32]>,
    real_out: &mut [f32],
    imag_out: &mut [f32],
) -> Result<(), Error> {
    let n = real_in.len();
    let num_samples = u32::try_from(n).unwrap_or(0);
    if !is_power_of_two(num_samples) {
        return Err(Error::NotPowerOfTwo(num_samples));
    }
    assert!(real_out.len() == n && imag_out.len() == n && imag_in.is_none_or(|im| im.len() == n));

    let angle_numerator = if inverse { -2.0 * DDC_PI } else { 2.0 * DDC_PI };
    let num_bits = number_of_bits_needed(num_samples);

    // Copy into the outputs in bit-reversed order.
    for i in 0..n {
        let j = reverse_bits(i as u32, num_bits) as usize;
        real_out[j] = real_in[i];
        imag_out[j] = imag_in.map_or(0.0, |im| im[i]);
    }

    let mut block_end = 1;
    let mut block_size = 2;
    while block_size <= n {
        let delta_angle = angle_numerator / block_size as f64;
        let sm2 = libm::sin(-2.0 * delta_angle);
        let sm1 = libm::sin(-delta_angle);
        let cm2 = libm::cos(-2.0 * delta_angle);
        let cm1 = libm::cos(-delta_angle);
        let w = 2.0 * cm1;

        for i in (0..n).step_by(block_size) {
            // ar/ai[0..3]: the current and two previous twiddle factors.
            let mut ar = [0.0, cm1, cm2];
            let mut ai = [0.0, sm1, sm2];
            for j in i..i + block_end {
                ar[0] = w * ar[1] - ar[2];
                ar[2] = ar[1];
                ar[1] = ar[0];

                ai[0] = w * ai[1] - ai[2];
                ai[2] = ai[1];
                ai[1] = ai[0];

                let k = j + block_end;
                let tr = ar[0] * real_out[k] as f64 - ai[0] * imag_out[k] as f64;
                let ti = ar[0] * imag_out[k] as f64 + ai[0] * real_out[k] as f64;

                real_out[k] = (real_out[j] as f64 - tr) as f32;
                imag_out[k] = (imag_out[j] as f64 - ti) as f32;

                real_out[j] = (real_out[j] as f64 + tr) as f32;
                imag_out[j] = (imag_out[j] as f64 + ti) as f32;
            }
        }
        block_end = block_size;
        block_size <<= 1;
    }

    if inverse {
        let denom = n as f64;
        for (re, im) in real_out.iter_mut().zip(imag_out.iter_mut()) {
            *re = (*re as f64 / denom) as f32;
            *im = (*im as f64 / denom) as f32;
        }
    }
    Ok(())
}

/// The input signal of `fft waves length`: `length` samples, each the sum over `waves` sinusoids
/// of `coeff * cos(amp * i)` or `coeff * sin(amp * i)` (chosen at random per sample and wave),
/// with `coeff` and `amp` drawn from `rand() % 1000` after `srand(1)`.
pub fn signal(waves: u32, length: u32) -> alloc::vec::Vec<f32> {
    let mut rand = GlibcRand::new(1);
    let mut coeff = vec![0.0f32; waves as usize];
    let mut amp = vec![0.0f32; waves as usize];
    for (c, a) in coeff.iter_mut().zip(amp.iter_mut()) {
        *c = (rand.rand() % 1000) as f32;
        *a = (rand.rand() % 1000) as f32;
    }
    (0..length)
        .map(|i| {
            let mut sample = 0.0f32;
            for (&c, &a) in coeff.iter().zip(&amp) {
                // `amp[j]*i` is a float product; the sum is rounded back to float each time.
                let phase = (a * i as f32) as f64;
                let wave = if rand.rand() % 2 != 0 {
                    libm::cos(phase)
                } else {
                    libm::sin(phase)
                };
                sample = (sample as f64 + c as f64 * wave) as f32;
            }
            sample
        })
        .collect()
}

/// `fft waves length [-i]`: makes the signal, transforms it and prints
/// `RealOut:\n`, each real output as `"%f \t"`, `\n`, then the same for `ImagOut`.
pub fn run(waves: u32, length: u32, inverse: bool, out: &mut impl Write) -> Result<(), Error> {
    if !is_power_of_two(length) {
        return Err(Error::NotPowerOfTwo(length));
    }
    let real_in = signal(waves, length);
    let imag_in = vec![0.0f32; length as usize];
    let mut real_out = vec![0.0f32; length as usize];
    let mut imag_out = vec![0.0f32; length as usize];
    fft_float(
        inverse,
        &real_in,
        Some(&imag_in),
        &mut real_out,
        &mut imag_out,
    )?;

    for (title, values) in [("RealOut", &real_out), ("ImagOut", &imag_out)] {
        writeln!(out, "{title}:")?;
        for &v in values.iter() {
            write!(out, "{} \t", cfmt::f(v as f64))?;
        }
        out.write_str("\n")?;
    }
    Ok(())
}
