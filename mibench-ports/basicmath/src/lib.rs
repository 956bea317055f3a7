//! MiBench automotive/basicmath, ported to `no_std` Rust.
//!
//! The original (SNIPPETS code by Ross Cottrell and others) solves cubic equations, takes integer
//! square roots and converts angles, printing every result. [`run_small`] is `basicmath_small`
//! and [`run_large`] is `basicmath_large`, line for line; neither reads input.
//!
//! Floating point: `cubic.c` declares its intermediates `long double`, which on x86-64 is the
//! 80-bit x87 format. This port computes them in `f64`: a gcc 12 build of the original with
//! `long double` replaced by `double` prints byte-identical output for both the small and the
//! large program, so the extra precision never reaches the printed digits. The libm functions
//! (`acos`, `cos`, `pow`, `sqrt`) come from the `libm` crate, since the seL4 targets have no C
//! library; with them the small output equals the glibc-built original's byte for byte (a test
//! checks it) and so did the large one when compared with a gcc build.
#![cfg_attr(not(test), no_std)]

pub use mibench_common::cfmt;

use cfmt::CFloat;
use core::fmt::{self, Write};

/// `PI` of the original's `pi.h`, `4*atan(1)`: the `f64` nearest to pi.
pub const PI: f64 = core::f64::consts::PI;

/// The real roots of a cubic, as `SolveCubic` leaves them in `x[0..solutions]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Roots {
    x: [f64; 3],
    count: usize,
}

impl Roots {
    pub fn as_slice(&self) -> &[f64] {
        &self.x[..self.count]
    }
}

/// `SolveCubic(a, b, c, d, ...)`: the real roots of `a x^3 + b x^2 + c x + d = 0` by the
/// trigonometric method (three roots) or Cardano's formula (one root).
pub fn solve_cubic(a: f64, b: f64, c: f64, d: f64) -> Roots {
    let a1 = b / a;
    let a2 = c / a;
    let a3 = d / a;
    let q = (a1 * a1 - 3.0 * a2) / 9.0;
    let r = (2.0 * a1 * a1 * a1 - 9.0 * a1 * a2 + 27.0 * a3) / 54.0;
    let r2_q3 = r * r - q * q * q;

    let mut x = [0.0; 3];
    if r2_q3 <= 0.0 {
        let theta = libm::acos(r / libm::sqrt(q * q * q));
        let s = -2.0 * libm::sqrt(q);
        x[0] = s * libm::cos(theta / 3.0) - a1 / 3.0;
        x[1] = s * libm::cos((theta + 2.0 * PI) / 3.0) - a1 / 3.0;
        x[2] = s * libm::cos((theta + 4.0 * PI) / 3.0) - a1 / 3.0;
        Roots { x, count: 3 }
    } else {
        let mut x0 = libm::pow(libm::sqrt(r2_q3) + libm::fabs(r), 1.0 / 3.0);
        x0 += q / x0;
        x0 *= if r < 0.0 { 1.0 } else { -1.0 };
        x0 -= a1 / 3.0;
        x[0] = x0;
        Roots { x, count: 1 }
    }
}

/// `usqrt(x, &q)` then `q.sqrt`: `floor(sqrt(x) * 2^16)`, the square root in 16.16 fixed point,
/// found bit by bit without multiplying or dividing.
///
/// The original works on `unsigned long` but only ever looks at 32 bits of `x`
/// (`BITSPERLONG` is 32); its accumulators are 64-bit on x86-64, as here, so nothing overflows.
pub fn usqrt(x: u32) -> u32 {
    let mut x = x;
    let mut a: u64 = 0; // accumulator
    let mut r: u64 = 0; // remainder
    for _ in 0..32 {
        r = (r << 2) + u64::from(x >> 30);
        x <<= 2;
        a <<= 1;
        let e = (a << 1) + 1; // trial product
        if r >= e {
            r -= e;
            a += 1;
        }
    }
    // `memcpy(q, &a, sizeof(long))` leaves the low half of `a` in `q.sqrt`.
    a as u32
}

/// The `deg2rad` macro of `pi.h`: `(d)*PI/180`.
pub fn deg2rad(deg: f64) -> f64 {
    deg * PI / 180.0
}

/// The `rad2deg` macro of `pi.h`: `(r)*180/PI`.
pub fn rad2deg(rad: f64) -> f64 {
    rad * 180.0 / PI
}

fn print_roots(out: &mut impl Write, roots: Roots) -> fmt::Result {
    out.write_str("Solutions:")?;
    for &x in roots.as_slice() {
        write!(out, " {}", cfmt::f(x))?;
    }
    out.write_str("\n")
}

/// `printf("sqrt(%3d) = %2d\n", i, q.sqrt)`: `q.sqrt` is unsigned but printed with `%d`.
fn print_isqrt(out: &mut impl Write, i: u32) -> fmt::Result {
    writeln!(out, "sqrt({:3}) = {:2}", i as i32, usqrt(i) as i32)
}

fn print_deg2rad(out: &mut impl Write, deg: f64) -> fmt::Result {
    let d = CFloat {
        value: deg,
        width: 3,
        precision: 0,
    };
    let r = CFloat {
        value: deg2rad(deg),
        width: 0,
        precision: 12,
    };
    writeln!(out, "{d} degrees = {r} radians")
}

fn print_rad2deg(out: &mut impl Write, rad: f64) -> fmt::Result {
    let r = CFloat {
        value: rad,
        width: 0,
        precision: 12,
    };
    let d = CFloat {
        value: rad2deg(rad),
        width: 3,
        precision: 0,
    };
    writeln!(out, "{r} radians = {d} degrees")
}

/// The four fixed cubics both programs start with.
const FIXED_CUBICS: [[f64; 4]; 4] = [
    [1.0, -10.5, 32.0, -30.0], // roots 2, 6 and 2.5
    [1.0, -4.5, 17.0, -30.0],  // one root, 2.5
    [1.0, -3.5, 22.0, -31.0],
    [1.0, -13.7, 1.0, -35.0],
];

/// The four more that only `basicmath_large` solves.
const LARGE_EXTRA_CUBICS: [[f64; 4]; 4] = [
    [3.0, 12.34, 5.0, 12.0],
    [-8.0, -67.89, 6.0, -23.6],
    [45.0, 8.67, 7.5, 34.0],
    [-12.0, -1.7, 5.3, 16.0],
];

/// `basicmath_small`: 18 004 cubics, 1 002 integer square roots and 722 angle conversions.
pub fn run_small(out: &mut impl Write) -> fmt::Result {
    out.write_str("********* CUBIC FUNCTIONS ***********\n")?;
    for [a, b, c, d] in FIXED_CUBICS {
        print_roots(out, solve_cubic(a, b, c, d))?;
    }
    // The loop counters are doubles, stepped as the original steps them.
    let mut a1 = 1.0;
    while a1 < 10.0 {
        let mut b1 = 10.0;
        while b1 > 0.0 {
            let mut c1 = 5.0;
            while c1 < 15.0 {
                let mut d1 = -1.0;
                while d1 > -11.0 {
                    print_roots(out, solve_cubic(a1, b1, c1, d1))?;
                    d1 -= 1.0;
                }
                c1 += 0.5;
            }
            b1 -= 1.0;
        }
        a1 += 1.0;
    }

    out.write_str("********* INTEGER SQR ROOTS ***********\n")?;
    for i in 0..1001 {
        print_isqrt(out, i)?;
    }
    let l = 0x3fed_0169;
    writeln!(out, "\nsqrt({:X}) = {:X}", l, usqrt(l))?;

    print_angles(out, 1.0, PI / 180.0)
}

/// `basicmath_large`: about 55 000 cubics, 66 384 integer square roots and about 371 500 angle
/// conversions.
pub fn run_large(out: &mut impl Write) -> fmt::Result {
    out.write_str("********* CUBIC FUNCTIONS ***********\n")?;
    for [a, b, c, d] in FIXED_CUBICS.iter().chain(&LARGE_EXTRA_CUBICS) {
        print_roots(out, solve_cubic(*a, *b, *c, *d))?;
    }
    let mut a1 = 1.0;
    while a1 < 10.0 {
        let mut b1 = 10.0;
        while b1 > 0.0 {
            let mut c1 = 5.0;
            while c1 < 15.0 {
                let mut d1 = -1.0;
                while d1 > -5.0 {
                    print_roots(out, solve_cubic(a1, b1, c1, d1))?;
                    d1 -= 0.451;
                }
                c1 += 0.61;
            }
            b1 -= 0.25;
        }
        a1 += 1.0;
    }

    out.write_str("********* INTEGER SQR ROOTS ***********\n")?;
    for i in (0..100_000).step_by(2) {
        print_isqrt(out, i)?;
    }
    out.write_str("\n")?;
    for l in 0x3fed_0169..0x3fed_4169 {
        writeln!(out, "sqrt({:X}) = {:X}", l, usqrt(l))?;
    }

    print_angles(out, 0.001, PI / 5760.0)
}

/// The ANGLE CONVERSION section: degrees 0..=360 in `deg_step`, then radians 0..=2pi in
/// `rad_step` (both accumulated in doubles, as the original does).
fn print_angles(out: &mut impl Write, deg_step: f64, rad_step: f64) -> fmt::Result {
    out.write_str("********* ANGLE CONVERSION ***********\n")?;
    let mut x = 0.0;
    while x <= 360.0 {
        print_deg2rad(out, x)?;
        x += deg_step;
    }
    out.write_str("\n")?; // puts("")
    let mut x = 0.0;
    while x <= 2.0 * PI + 1e-6 {
        print_rad2deg(out, x)?;
        x += rad_step;
    }
    Ok(())
}
