//! MiBench automotive/qsort, ported to `no_std` Rust.
//!
//! Two programs share the name:
//! - `qsort_small <file>` ([`run_small`]) reads up to 60 000 whitespace-separated words, sorts
//!   them into descending `strcmp` order and prints `\nSorting N elements.\n\n` and the words,
//!   one a line.
//! - `qsort_large <file>` ([`run_large`]) reads up to 60 000 integer triples (x, y, z), sorts them
//!   by their distance from the origin and prints `\nSorting N vectors based on distance from the
//!   origin.\n\n` and the triples as `x y z` lines.
//!
//! Both hand the sorting to the C library's `qsort()`. The original outputs were made with glibc,
//! whose `qsort()` is a stable merge sort (it falls back to quicksort only for arrays too large
//! to copy); [`qsort`] here is a stable merge sort too, so elements that compare equal (vectors of
//! the same length) come out in input order, as they did there.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use core::cmp::Ordering;
use core::fmt::{self, Write};
use mibench_common::GlibcRand;

/// `MAXARRAY`: neither program reads more elements than this.
pub const MAXARRAY: usize = 60_000;

/// Sorts `base` by `compar`, stably: a top-down merge sort through a scratch copy.
pub fn qsort<T: Copy>(base: &mut [T], mut compar: impl FnMut(&T, &T) -> Ordering) {
    let mut scratch = base.to_vec();
    merge_sort(base, &mut scratch, &mut compar);
}

/// Sorts `v`, using `tmp` (as long as `v`) as scratch space.
fn merge_sort<T: Copy>(v: &mut [T], tmp: &mut [T], compar: &mut impl FnMut(&T, &T) -> Ordering) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let mid = n / 2;
    {
        let (lo, hi) = v.split_at_mut(mid);
        let (tmp_lo, tmp_hi) = tmp.split_at_mut(mid);
        merge_sort(lo, tmp_lo, compar);
        merge_sort(hi, tmp_hi, compar);
    }
    // Merge the sorted halves into tmp, taking from the left half on ties (stability).
    let (mut i, mut j) = (0, mid);
    for slot in tmp.iter_mut() {
        let take_left = j == n || (i < mid && compar(&v[i], &v[j]) != Ordering::Greater);
        if take_left {
            *slot = v[i];
            i += 1;
        } else {
            *slot = v[j];
            j += 1;
        }
    }
    v.copy_from_slice(tmp);
}

/// `isspace()` in the C locale: what `fscanf` skips.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// The words `fscanf(fp, "%s", ...)` reads from `input`, at most [`MAXARRAY`].
///
/// The original reads each into a 128-byte buffer and would overrun it on a longer word; here
/// long words are kept whole. A word ends at a NUL byte, as far as `strcmp` and `printf` see.
pub fn words(input: &[u8]) -> Vec<&[u8]> {
    input
        .split(|&b| is_c_space(b))
        .filter(|w| !w.is_empty())
        .take(MAXARRAY)
        .map(|w| w.split(|&b| b == 0).next().unwrap_or(w))
        .collect()
}

/// `compare` of `qsort_small`: `strcmp` (bytes as unsigned), reversed, so larger words first.
pub fn compare_words(a: &&[u8], b: &&[u8]) -> Ordering {
    b.cmp(a)
}

/// Writes `bytes` as text; bytes that are not UTF-8 (the MiBench inputs are ASCII) become
/// U+FFFD, since a `fmt::Write` sink takes only UTF-8.
fn write_bytes(out: &mut impl Write, bytes: &[u8]) -> fmt::Result {
    for chunk in bytes.utf8_chunks() {
        out.write_str(chunk.valid())?;
        if !chunk.invalid().is_empty() {
            out.write_char(char::REPLACEMENT_CHARACTER)?;
        }
    }
    Ok(())
}

/// `qsort_small`: sorts the words of `input` in descending order and prints them.
pub fn run_small(input: &[u8], out: &mut impl Write) -> fmt::Result {
    let mut array = words(input);
    write!(out, "\nSorting {} elements.\n\n", array.len())?;
    qsort(&mut array, compare_words);
    for w in array {
        write_bytes(out, w)?;
        out.write_str("\n")?;
    }
    Ok(())
}

/// A `my3DVertexStruct`: a point and its distance from the origin.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vertex {
    pub x: i32,
    pub y: i32,
    pub z: i32,
    pub distance: f64,
}

impl Vertex {
    /// The distance computed as the original does: `sqrt(pow(x, 2) + pow(y, 2) + pow(z, 2))`.
    pub fn new(x: i32, y: i32, z: i32) -> Self {
        let sq = |v: i32| libm::pow(v as f64, 2.0);
        Vertex {
            x,
            y,
            z,
            distance: libm::sqrt(sq(x) + sq(y) + sq(z)),
        }
    }
}

/// `compare` of `qsort_large`: by distance, nearest first.
pub fn compare_vertices(a: &Vertex, b: &Vertex) -> Ordering {
    if a.distance > b.distance {
        Ordering::Greater
    } else if a.distance == b.distance {
        Ordering::Equal
    } else {
        Ordering::Less
    }
}

pub use mibench_common::scan_int;

/// The vertices `qsort_large` reads: integer triples until one is incomplete, at most
/// [`MAXARRAY`].
pub fn vertices(input: &[u8]) -> Vec<Vertex> {
    let mut rest = input;
    let mut v = Vec::new();
    while v.len() < MAXARRAY {
        let Some((x, r)) = scan_int(rest) else { break };
        let Some((y, r)) = scan_int(r) else { break };
        let Some((z, r)) = scan_int(r) else { break };
        v.push(Vertex::new(x, y, z));
        rest = r;
    }
    v
}

/// `qsort_large`: sorts the triples of `input` by distance from the origin and prints them.
pub fn run_large(input: &[u8], out: &mut impl Write) -> fmt::Result {
    let mut array = vertices(input);
    write!(
        out,
        "\nSorting {} vectors based on distance from the origin.\n\n",
        array.len()
    )?;
    qsort(&mut array, compare_vertices);
    for v in array {
        writeln!(out, "{} {} {}", v.x, v.y, v.z)?;
    }
    Ok(())
}

/// Letters weighted roughly by their frequency in English text.
const LETTERS: &[u8] = b"eeeeeeeeeeeeettttttttttaaaaaaaaoooooooiiiiiiinnnnnnnsssssshhhhhhrrrrrr\
dddddllllluuucccmmmwwffggyyppbbvkjxqz";

/// A stand-in for MiBench's `input_small.dat` (10 000 words of an English text, one a line,
/// 53 KB): 10 000 made-up words of 1 to 8 letters drawn with English letter frequencies, about
/// one in eight capitalised, one a line. Deterministic: glibc `rand()` after `srand(2)`.
pub fn generated_small_input() -> Vec<u8> {
    let mut rand = GlibcRand::new(2);
    let mut pick = |n: usize| rand.rand() as usize % n;
    let mut text = Vec::new();
    for _ in 0..10_000 {
        let len = 1 + pick(4) + pick(5);
        let capital = pick(8) == 0;
        for k in 0..len {
            let c = LETTERS[pick(LETTERS.len())];
            text.push(if k == 0 && capital {
                c.to_ascii_uppercase()
            } else {
                c
            });
        }
        text.push(b'\n');
    }
    text
}

/// A stand-in for MiBench's `input_large.dat` (50 000 lines of three tab-separated `rand()`
/// values, 1.5 MB): 50 000 such lines of glibc `rand()` values after `srand(3)`.
pub fn generated_large_input() -> Vec<u8> {
    let mut rand = GlibcRand::new(3);
    let mut text = alloc::string::String::new();
    for _ in 0..50_000 {
        let (x, y, z) = (rand.rand(), rand.rand(), rand.rand());
        // Writing to a String cannot fail.
        let _ = writeln!(text, "{x}\t{y}\t{z}");
    }
    text.into_bytes()
}
