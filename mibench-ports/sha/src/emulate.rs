//! `sha.c` as the C compiler sees it, for a `LONG` of 32 or 64 bits.
//!
//! Everything the C keeps in `LONG`s is held here in a `u64` and cut to the width of the C type
//! after every operation, so one piece of code behaves like either build. `SHA_INFO.data` is kept
//! as the bytes it occupies in (little-endian) memory, because the C writes it with `memcpy` and
//! byte swaps and reads it as `LONG`s, and on LP64 those two views disagree about which bytes
//! belong to which word.
//!
//! The C is compiled with `LITTLE_ENDIAN` defined: glibc's `<stdlib.h>` defines it (through
//! `<endian.h>`), so `byte_reverse` runs on every little-endian Linux build, as it does here.

/// The width of C's `long`, which decides what the program computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataModel {
    /// 32-bit `long` (ILP32): the program computes SHA-1.
    Ilp32,
    /// 64-bit `long` (LP64, as on x86-64 and AArch64 Linux): the reference outputs.
    Lp64,
}

impl DataModel {
    /// `sizeof(LONG)`.
    pub fn long_bytes(self) -> usize {
        match self {
            DataModel::Ilp32 => 4,
            DataModel::Lp64 => 8,
        }
    }

    fn mask(self) -> u64 {
        match self {
            DataModel::Ilp32 => 0xffff_ffff,
            DataModel::Lp64 => u64::MAX,
        }
    }
}

/// How the C was compiled: the width of `long`, and whether `USE_MODIFIED_SHA` was defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Build {
    pub model: DataModel,
    /// `-DUSE_MODIFIED_SHA`: NIST's 1994 change (a one-bit rotation in the message schedule)
    /// that turned SHA into SHA-1. MiBench's Makefile does not define it, so the benchmark
    /// computes the original SHA, now called SHA-0.
    pub use_modified_sha: bool,
}

impl Build {
    /// The build that made the reference outputs: MiBench's Makefile on x86-64 Linux.
    pub const LP64: Build = Build {
        model: DataModel::Lp64,
        use_modified_sha: false,
    };
    /// MiBench's Makefile on a 32-bit target: SHA-0.
    pub const ILP32: Build = Build {
        model: DataModel::Ilp32,
        use_modified_sha: false,
    };
}

/// `SHA_BLOCKSIZE`: bytes per SHA block.
pub const SHA_BLOCKSIZE: usize = 64;
/// `BLOCK_SIZE` of `sha_stream`: how much it `fread`s at a time.
pub const STREAM_CHUNK: usize = 8192;

const CONST1: u64 = 0x5a82_7999;
const CONST2: u64 = 0x6ed9_eba1;
const CONST3: u64 = 0x8f1b_bcdc;
const CONST4: u64 = 0xca62_c1d6;

/// `SHA_INFO`: digest, bit count and the block buffer.
#[derive(Clone, Debug)]
pub struct ShaInfo {
    model: DataModel,
    modified: bool,
    digest: [u64; 5],
    count_lo: u64,
    count_hi: u64,
    /// `LONG data[16]` as bytes in memory: 64 of them on ILP32, 128 on LP64.
    data: [u8; 128],
}

impl ShaInfo {
    /// A fresh `SHA_INFO` after `sha_init`.
    ///
    /// The C's `SHA_INFO` is an uninitialised local of `main`. On LP64 the upper half of `data`
    /// (never written by `memcpy`ing 64-byte blocks) feeds into every block, so its contents
    /// matter; the reference run behaves as if it were zero, and so does this port.
    pub fn new(build: Build) -> Self {
        let mut info = ShaInfo {
            model: build.model,
            modified: build.use_modified_sha,
            digest: [0; 5],
            count_lo: 0,
            count_hi: 0,
            data: [0; 128],
        };
        info.init();
        info
    }

    /// `sha_init`. It resets digest and counts but not `data`, as in the C.
    pub fn init(&mut self) {
        self.digest = [
            0x6745_2301,
            0xefcd_ab89,
            0x98ba_dcfe,
            0x1032_5476,
            0xc3d2_e1f0,
        ];
        self.count_lo = 0;
        self.count_hi = 0;
    }

    /// The digest words (zero-extended `LONG`s).
    pub fn digest(&self) -> [u64; 5] {
        self.digest
    }

    /// `sha_stream`: `sha_init`, `sha_update` per 8192-byte `fread`, `sha_final`.
    pub fn stream(&mut self, input: &[u8]) {
        self.init();
        for chunk in input.chunks(STREAM_CHUNK) {
            self.update(chunk);
        }
        self.finish();
    }

    /// `sha_update(sha_info, buffer, count)`.
    pub fn update(&mut self, buffer: &[u8]) {
        let m = self.model.mask();
        // The C takes the count as an `int`; callers here pass at most STREAM_CHUNK bytes.
        let count = buffer.len() as u64;
        let added = (count << 3) & m;
        if (self.count_lo.wrapping_add(added) & m) < self.count_lo {
            self.count_hi = self.count_hi.wrapping_add(1) & m;
        }
        self.count_lo = self.count_lo.wrapping_add(added) & m;
        self.count_hi = self.count_hi.wrapping_add(count >> 29) & m;

        let mut blocks = buffer.chunks_exact(SHA_BLOCKSIZE);
        for block in &mut blocks {
            self.data[..SHA_BLOCKSIZE].copy_from_slice(block);
            self.byte_reverse(SHA_BLOCKSIZE);
            self.transform();
        }
        let rest = blocks.remainder();
        self.data[..rest.len()].copy_from_slice(rest);
    }

    /// `sha_final`: pad, append the bit count, last transform.
    pub fn finish(&mut self) {
        let lo_bit_count = self.count_lo;
        let hi_bit_count = self.count_hi;
        let mut count = ((lo_bit_count >> 3) & 0x3f) as usize;
        self.data[count] = 0x80;
        count += 1;
        if count > 56 {
            self.data[count..SHA_BLOCKSIZE].fill(0);
            self.byte_reverse(SHA_BLOCKSIZE);
            self.transform();
            self.data[..56].fill(0);
        } else {
            self.data[count..56].fill(0);
        }
        // On LP64 this also swaps bytes 56..60 of `data[7]` back and forth, as the C does.
        self.byte_reverse(SHA_BLOCKSIZE);
        self.set_long(14, hi_bit_count);
        self.set_long(15, lo_bit_count);
        self.transform();
    }

    /// `byte_reverse(buffer, count)`: reverses the first four bytes of each of the
    /// `count / sizeof(LONG)` `LONG`s, so on LP64 it covers only half of the 64 bytes it is
    /// meant to, one 4-byte group in each 8-byte `LONG`.
    fn byte_reverse(&mut self, count: usize) {
        let size = self.model.long_bytes();
        for i in 0..count / size {
            self.data[i * size..i * size + 4].reverse();
        }
    }

    /// `data[index]`, read as a `LONG` from little-endian memory.
    fn long(&self, index: usize) -> u64 {
        let size = self.model.long_bytes();
        let mut bytes = [0u8; 8];
        bytes[..size].copy_from_slice(&self.data[index * size..(index + 1) * size]);
        u64::from_le_bytes(bytes)
    }

    /// `data[index] = value`.
    fn set_long(&mut self, index: usize, value: u64) {
        let size = self.model.long_bytes();
        self.data[index * size..(index + 1) * size].copy_from_slice(&value.to_le_bytes()[..size]);
    }

    /// `sha_transform`: the 80 rounds over `data`, in `LONG` arithmetic.
    fn transform(&mut self) {
        let m = self.model.mask();
        // ROT32 is `(x << n) | (x >> (32 - n))`: a rotation only when `LONG` is 32 bits.
        let rot32 = |x: u64, n: u32| ((x << n) | (x >> (32 - n))) & m;

        let mut w = [0u64; 80];
        for (i, word) in w.iter_mut().enumerate().take(16) {
            *word = self.long(i);
        }
        for i in 16..80 {
            w[i] = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
            if self.modified {
                w[i] = rot32(w[i], 1);
            }
        }

        let [mut a, mut b, mut c, mut d, mut e] = self.digest;
        for (i, &wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..20 => ((b & c) | (!b & m & d), CONST1),
                20..40 => (b ^ c ^ d, CONST2),
                40..60 => ((b & c) | (b & d) | (c & d), CONST3),
                _ => (b ^ c ^ d, CONST4),
            };
            let temp = rot32(a, 5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(wi)
                .wrapping_add(k)
                & m;
            e = d;
            d = c;
            c = rot32(b, 30);
            b = a;
            a = temp;
        }
        for (h, x) in self.digest.iter_mut().zip([a, b, c, d, e]) {
            *h = h.wrapping_add(x) & m;
        }
    }
}
