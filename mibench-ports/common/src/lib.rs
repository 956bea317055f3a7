//! What the MiBench ports share.
//!
//! - [`GlibcRand`]: glibc's `srand`/`rand` (the TYPE_3 additive feedback generator), which
//!   bitcount and fft use to make their data; a faithful port must draw the same numbers.
//! - [`Checksum`]: a `fmt::Write` adapter that hashes everything a port prints (FNV-1a 64), so a
//!   run can end with one line that identifies its whole output.
//! - [`security_text`], [`speech_pcm`]: generated inputs that several ports read.
//! - [`cfmt`]: C `printf("%W.Pf")` for doubles, as glibc prints it.
//! - [`shared_mibench_dir`]: where host tests find the original inputs and outputs, if present.
#![cfg_attr(not(any(test, feature = "std")), no_std)]

use core::fmt;

pub mod cfmt;
pub mod security_text;
pub mod speech_pcm;

extern crate alloc;

/// glibc's `rand()` after `srand(seed)`: the TYPE_3 generator (degree 31, separation 3).
pub struct GlibcRand {
    state: [u32; 34],
    index: usize,
}

impl GlibcRand {
    pub fn new(seed: u32) -> Self {
        let seed = if seed == 0 { 1 } else { seed };
        let mut r = [0i64; 34];
        r[0] = seed as i64;
        for i in 1..31 {
            // 16807 * r[i-1] mod (2^31 - 1), computed as glibc does (Schrage's method).
            let hi = r[i - 1] / 127_773;
            let lo = r[i - 1] % 127_773;
            let mut word = 16_807 * lo - 2_836 * hi;
            if word < 0 {
                word += 2_147_483_647;
            }
            r[i] = word;
        }
        for i in 31..34 {
            r[i] = r[i - 31];
        }
        let mut g = GlibcRand {
            state: r.map(|x| x as u32),
            index: 34,
        };
        // glibc discards the first 310 outputs.
        for _ in 34..344 {
            g.step();
        }
        g
    }

    fn step(&mut self) -> u32 {
        let i = self.index % 34;
        let v = self.state[(i + 34 - 31) % 34].wrapping_add(self.state[(i + 34 - 3) % 34]);
        self.state[i] = v;
        self.index += 1;
        v
    }

    /// The next `rand()` value, in `0..=RAND_MAX` (2^31 - 1).
    pub fn rand(&mut self) -> i32 {
        (self.step() >> 1) as i32
    }
}

/// xorshift32 (13, 17, 5): the generator of the ports' own generated inputs.
pub struct XorShift32(pub u32);

impl XorShift32 {
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// A number in `0..n` (a slight modulo bias does not matter for test inputs).
    pub fn below(&mut self, n: u32) -> u32 {
        self.next_u32() % n
    }
}

/// One line identifying a binary output: its length, FNV-1a 64 hash and first 16 bytes in hex.
pub fn write_binary_summary(label: &str, data: &[u8], out: &mut impl fmt::Write) -> fmt::Result {
    write!(
        out,
        "{label}: {} bytes, fnv1a {:016x}, starts ",
        data.len(),
        fnv1a(data)
    )?;
    for b in data.iter().take(16) {
        write!(out, "{b:02x}")?;
    }
    writeln!(out)
}

/// One `fscanf(fp, "%d", ...)`: skips white space, reads an optionally signed decimal number and
/// returns it with the rest of the input, or `None` where no number starts. Like glibc, it
/// converts to a `long` (saturating) and stores the low 32 bits in the `int`.
pub fn scan_int(input: &[u8]) -> Option<(i32, &[u8])> {
    let start = input
        .iter()
        .position(|&b| !matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))?;
    let s = &input[start..];
    let (negative, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 {
        return None;
    }
    let mut value: i64 = 0;
    for &d in &digits[..len] {
        let d = i64::from(d - b'0');
        value = if negative {
            value.saturating_mul(10).saturating_sub(d)
        } else {
            value.saturating_mul(10).saturating_add(d)
        };
    }
    Some((value as i32, &digits[len..]))
}

/// glibc's `RAND_MAX`.
pub const RAND_MAX: i32 = i32::MAX;

/// Forwards everything written to `inner` and keeps an FNV-1a 64 hash and a byte count of it.
pub struct Checksum<W> {
    pub inner: W,
    hash: u64,
    bytes: u64,
}

impl<W: fmt::Write> Checksum<W> {
    pub fn new(inner: W) -> Self {
        Checksum {
            inner,
            hash: romain_records::fnv::START,
            bytes: 0,
        }
    }

    pub fn hash(&self) -> u64 {
        self.hash
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl<W: fmt::Write> fmt::Write for Checksum<W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.hash = romain_records::fnv::continue_with(self.hash, s.as_bytes());
        self.bytes += s.len() as u64;
        self.inner.write_str(s)
    }
}

/// FNV-1a 64 of `bytes` (the same hash as [`Checksum`]: the master's, `romain_records::fnv`).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    romain_records::fnv::hash(bytes)
}

/// The `shared/mibench` folder beside the repository (original MiBench small inputs and the
/// original programs' outputs), if it is there. Host tests that need it skip, saying so, if not.
#[cfg(test)]
pub fn shared_mibench_dir() -> Option<std::path::PathBuf> {
    shared_dir_from(env!("CARGO_MANIFEST_DIR"))
}

/// Like [`shared_mibench_dir`], from any crate's manifest directory (`mibench-ports/<name>`).
/// Host tests of the ports use it through the `std` feature (a dev-dependency).
#[cfg(any(test, feature = "std"))]
pub fn shared_dir_from(manifest_dir: &str) -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(manifest_dir).join("../../../shared/mibench");
    dir.is_dir().then(|| dir.canonicalize().ok()).flatten()
}

/// The `shared/mibench` folder for a port's host test, or `None` after printing that the test
/// is skipped (the original MiBench files are not ours to ship; tests that compare with them
/// run where that folder is present).
#[cfg(any(test, feature = "std"))]
pub fn originals_or_skip(manifest_dir: &str) -> Option<std::path::PathBuf> {
    let dir = shared_dir_from(manifest_dir);
    if dir.is_none() {
        std::println!(
            "skipped: no shared/mibench folder beside the repository (MiBench's original inputs and outputs)"
        );
    }
    dir
}

/// Bytes from a hex string (test vectors).
#[cfg(any(test, feature = "std"))]
pub fn hex(s: &str) -> std::vec::Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn glibc_rand_matches_glibc() {
        // printf("%d", rand()) after srand(1) on glibc.
        let mut r = GlibcRand::new(1);
        assert_eq!(
            [r.rand(), r.rand(), r.rand(), r.rand(), r.rand()],
            [1804289383, 846930886, 1681692777, 1714636915, 1957747793]
        );
    }

    #[test]
    fn checksum_hashes_what_passes_through() {
        let mut c = Checksum::new(String::new());
        write!(c, "a{}", 1).unwrap();
        assert_eq!(c.inner, "a1");
        assert_eq!(c.bytes(), 2);
        assert_eq!(c.hash(), fnv1a(b"a1"));
        // FNV-1a 64 of "a" is a published test vector.
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
    }
}
