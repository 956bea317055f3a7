//! The seven bit counters `bitcnts` times (SNIPPETS code by Bob Stout, Auke Reitsma, Ratko
//! Tomic and Bruce Wedding).
//!
//! They take a C `long`, here `i64` as on the LP64 machines the reference outputs come from.
//! Several only look at its low 32 bits, as they were written for 32-bit `long`s; for the
//! benchmark's arguments (non-negative, below 2^32) all seven agree.

/// `bits[256]` of `bitcnt_3.c` / `bitcnt_4.c`: the bits set in each byte value.
const BITS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        // The table in the C is written out; each entry is its index's bit count.
        t[i] = (i as u8).count_ones() as u8;
        i += 1;
    }
    t
};

fn bits(index: i64) -> i32 {
    i32::from(BITS[index as usize])
}

/// `bit_count` ("Optimized 1 bit/loop counter"): clears the lowest set bit until none is left,
/// one loop per set bit. All 64 bits.
pub fn bit_count(mut x: i64) -> i32 {
    let mut n = 0;
    if x != 0 {
        loop {
            n += 1;
            x &= x.wrapping_sub(1);
            if x == 0 {
                break;
            }
        }
    }
    n
}

/// `bitcount` ("Ratko's mystery algorithm"): adds neighbouring bit fields in parallel, 1, 2, 4,
/// 8 and 16 bits wide. Its masks are 32-bit, so it counts the low 32 bits.
pub fn bitcount(mut i: i64) -> i32 {
    i = ((i & 0xAAAA_AAAA) >> 1) + (i & 0x5555_5555);
    i = ((i & 0xCCCC_CCCC) >> 2) + (i & 0x3333_3333);
    i = ((i & 0xF0F0_F0F0) >> 4) + (i & 0x0F0F_0F0F);
    i = ((i & 0xFF00_FF00) >> 8) + (i & 0x00FF_00FF);
    i = ((i & 0xFFFF_0000) >> 16) + (i & 0x0000_FFFF);
    i as i32
}

/// `ntbl_bitcnt` ("Recursive bit count by nybbles"): the table entry for the low nybble plus the
/// count of the rest, shifted right four. All 64 bits of a non-negative value (the C recurses
/// forever on a negative one, whose arithmetic shift never reaches zero).
pub fn ntbl_bitcnt(x: i64) -> i32 {
    let cnt = bits(x & 0xF);
    let rest = x >> 4;
    if rest != 0 {
        cnt + ntbl_bitcnt(rest)
    } else {
        cnt
    }
}

/// `ntbl_bitcount` ("Non-recursive bit count by nybbles"): eight table lookups, the low 32 bits.
pub fn ntbl_bitcount(x: i64) -> i32 {
    (0..8).map(|n| bits((x >> (4 * n)) & 0xF)).sum()
}

/// `BW_btbl_bitcount` ("Non-recursive bit count by bytes (BW)"): a union of the `long` with
/// `unsigned char ch[4]`, so the first four bytes in memory: the low 32 bits on a little-endian
/// machine (the high 32 of a 64-bit `long` on a big-endian one).
pub fn bw_btbl_bitcount(x: i64) -> i32 {
    let ch = x.to_le_bytes();
    bits(ch[0].into()) + bits(ch[1].into()) + bits(ch[3].into()) + bits(ch[2].into())
}

/// `AR_btbl_bitcount` ("Non-recursive bit count by bytes (AR)"): the first four bytes of the
/// `long` through a byte pointer, like `bw_btbl_bitcount`.
pub fn ar_btbl_bitcount(x: i64) -> i32 {
    x.to_le_bytes()[..4].iter().map(|&b| bits(b.into())).sum()
}

/// `bit_shifter` ("Shift and count bits"): tests the low bit and shifts, while bits remain, at
/// most `sizeof(long) * CHAR_BIT` = 64 times.
pub fn bit_shifter(mut x: i64) -> i32 {
    let mut n = 0;
    let mut i = 0;
    while x != 0 && i < 64 {
        n += (x & 1) as i32;
        i += 1;
        x >>= 1;
    }
    n
}

/// A counting method as `bitcnts` calls it.
pub type BitCounter = fn(i64) -> i32;

/// `pBitCntFunc` and `text`, in the order `bitcnts` runs them. (`btbl_bitcnt`, commented out
/// in the C as "DOESNT WORK", is left out here too.)
pub const METHODS: [(&str, BitCounter); 7] = [
    ("Optimized 1 bit/loop counter", bit_count),
    ("Ratko's mystery algorithm", bitcount),
    ("Recursive bit count by nybbles", ntbl_bitcnt),
    ("Non-recursive bit count by nybbles", ntbl_bitcount),
    ("Non-recursive bit count by bytes (BW)", bw_btbl_bitcount),
    ("Non-recursive bit count by bytes (AR)", ar_btbl_bitcount),
    ("Shift and count bits", bit_shifter),
];
