//! AES (Rijndael with 16-byte blocks) the way Brian Gladman's `aes.c` in MiBench computes it:
//! columns held in 32-bit words with the first byte in the low bits (`INTERNAL_BYTE_ORDER`
//! little-endian), four 256-entry tables per direction for the rounds (`FOUR_TABLES`), four for
//! the last round (`FOUR_LR_TABLES`) and four for the decryption key schedule
//! (`FOUR_IM_TABLES`), and decryption by the equivalent inverse cipher.
//!
//! The C builds its tables at start-up (`gen_tabs`) from arithmetic in GF(2^8); here the same
//! arithmetic runs at compile time, so no table is typed in.
//!
//! On LP64 the C keeps these 32-bit words in 64-bit `unsigned long`s, reads and writes 8 bytes per
//! column and lets its tables grow bits above 32; none of that reaches the low 32 bits, which are
//! all that is stored, so the cipher is standard AES (the reference output decrypts with any
//! AES implementation). This port uses `u32`.

/// Bytes per block (`BLOCK_SIZE`).
pub const BLOCK: usize = 16;
/// Columns in the state (`Ncol`).
const NC: usize = BLOCK / 4;
/// Words of key schedule room (`KS_LENGTH`).
const KS_LENGTH: usize = 4 * BLOCK;
/// Round constants needed (`RC_LENGTH`, for 16-byte blocks).
const RC_LENGTH: usize = 5 * BLOCK / 4 - 10;

/// Multiplication by x in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1 (`ff_poly` 0x11b).
const fn xtime(x: u8) -> u8 {
    (x << 1) ^ if x & 0x80 != 0 { 0x1b } else { 0 }
}

const fn ff_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        a = xtime(a);
        b >>= 1;
    }
    p
}

/// `FFinv`: the multiplicative inverse, here as x^254; 0 maps to 0.
const fn ff_inv(x: u8) -> u8 {
    let mut result = 1;
    let mut i = 0;
    while i < 254 {
        result = ff_mul(result, x);
        i += 1;
    }
    if x == 0 { 0 } else { result }
}

/// `fwd_affine`: the S-box's affine map.
const fn fwd_affine(x: u8) -> u8 {
    x ^ x.rotate_left(1) ^ x.rotate_left(2) ^ x.rotate_left(3) ^ x.rotate_left(4) ^ 0x63
}

/// `inv_affine`: its inverse.
const fn inv_affine(x: u8) -> u8 {
    x.rotate_left(1) ^ x.rotate_left(3) ^ x.rotate_left(6) ^ 0x05
}

/// `bytes2word` for the little-endian internal order.
const fn bytes2word(b0: u8, b1: u8, b2: u8, b3: u8) -> u32 {
    u32::from_le_bytes([b0, b1, b2, b3])
}

/// `bval(x, n)`: byte `n` of a column.
const fn bval(x: u32, n: usize) -> usize {
    ((x >> (8 * n)) & 0xff) as usize
}

/// `upr(x, n)`: rotates bytes to higher positions.
const fn upr(x: u32, n: u32) -> u32 {
    x.rotate_left(8 * n)
}

const fn sbox() -> [u8; 256] {
    let mut t = [0; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = fwd_affine(ff_inv(i as u8));
        i += 1;
    }
    t
}

const fn inv_sbox() -> [u8; 256] {
    let mut t = [0; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ff_inv(inv_affine(i as u8));
        i += 1;
    }
    t
}

/// `s_box`.
pub const S_BOX: [u8; 256] = sbox();
/// `inv_s_box`.
pub const INV_S_BOX: [u8; 256] = inv_sbox();

/// Builds `tab[0..4]` as `gen_tabs` does: `tab[0][i] = column(i)`, `tab[n] = upr(tab[0], n)`.
const fn four_tables(kind: u8) -> [[u32; 256]; 4] {
    let mut t = [[0; 256]; 4];
    let mut i = 0;
    while i < 256 {
        let w = match kind {
            // ft_tab: a forward round's column for S-box output b: (2b, b, b, 3b).
            0 => {
                let b = S_BOX[i];
                bytes2word(ff_mul(b, 2), b, b, ff_mul(b, 3))
            }
            // fl_tab: the last forward round, S-box only.
            1 => bytes2word(S_BOX[i], 0, 0, 0),
            // it_tab: an inverse round's column for inverse S-box output b: (14b, 9b, 13b, 11b).
            2 => {
                let b = INV_S_BOX[i];
                bytes2word(ff_mul(b, 14), ff_mul(b, 9), ff_mul(b, 13), ff_mul(b, 11))
            }
            // il_tab: the last inverse round.
            3 => bytes2word(INV_S_BOX[i], 0, 0, 0),
            // im_tab: InvMixColumns of a single byte, for the decryption key schedule.
            _ => {
                let b = i as u8;
                bytes2word(ff_mul(b, 14), ff_mul(b, 9), ff_mul(b, 13), ff_mul(b, 11))
            }
        };
        let mut n = 0;
        while n < 4 {
            t[n as usize][i] = upr(w, n);
            n += 1;
        }
        i += 1;
    }
    t
}

static FT_TAB: [[u32; 256]; 4] = four_tables(0);
static FL_TAB: [[u32; 256]; 4] = four_tables(1);
static IT_TAB: [[u32; 256]; 4] = four_tables(2);
static IL_TAB: [[u32; 256]; 4] = four_tables(3);
static IM_TAB: [[u32; 256]; 4] = four_tables(4);

const fn rcon() -> [u32; RC_LENGTH] {
    let mut t = [0; RC_LENGTH];
    let mut w = 1u8;
    let mut i = 0;
    while i < RC_LENGTH {
        t[i] = bytes2word(w, 0, 0, 0);
        w = xtime(w);
        i += 1;
    }
    t
}

const RCON_TAB: [u32; RC_LENGTH] = rcon();

/// `four_tables(x, tab, vf, rf, c)` with the byte of row `r` taken from column `col(r)`.
fn four(tab: &[[u32; 256]; 4], x: &[u32; NC], col: impl Fn(usize) -> usize) -> u32 {
    tab[0][bval(x[col(0)], 0)]
        ^ tab[1][bval(x[col(1)], 1)]
        ^ tab[2][bval(x[col(2)], 2)]
        ^ tab[3][bval(x[col(3)], 3)]
}

/// `ls_box(x, c)`: SubWord of one key word, rotated for `c` = 3 (RotWord) or not for 0.
fn ls_box(x: u32, c: usize) -> u32 {
    // rf2(r, c) = (r - c) & 3: the byte row r takes.
    let row = |r: usize| bval(x, (r + 4 - c) & 3);
    FL_TAB[0][row(0)] ^ FL_TAB[1][row(1)] ^ FL_TAB[2][row(2)] ^ FL_TAB[3][row(3)]
}

/// `inv_mcol(x)`: InvMixColumns of one column.
fn inv_mcol(x: u32) -> u32 {
    IM_TAB[0][bval(x, 0)] ^ IM_TAB[1][bval(x, 1)] ^ IM_TAB[2][bval(x, 2)] ^ IM_TAB[3][bval(x, 3)]
}

/// The `aes` context after `set_key(key, len, both, cx)`.
#[derive(Clone)]
pub struct Aes {
    nrnd: usize,
    e_key: [u32; KS_LENGTH],
    d_key: [u32; KS_LENGTH],
}

impl Aes {
    /// `set_key`: `key` must be 16, 24 or 32 bytes (`None` otherwise, where the C returns
    /// `aes_bad`).
    pub fn new(key: &[u8]) -> Option<Self> {
        let nkey = match key.len() {
            16 | 24 | 32 => key.len() / 4,
            _ => return None,
        };
        let nrnd = nkey.max(NC) + 6;
        let mut e = [0u32; KS_LENGTH];
        for (w, bytes) in e.iter_mut().zip(key.chunks_exact(4)) {
            // word_in: the key bytes in the internal (little-endian) order.
            *w = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        // As in the C, whole groups of Nk words are made until the schedule is long enough,
        // which may compute a few words past those used.
        let needed = NC * (nrnd + 1) - nkey;
        let mut rci = 0;
        let mut kf = 0;
        while kf < needed {
            e[kf + nkey] = e[kf] ^ ls_box(e[kf + nkey - 1], 3) ^ RCON_TAB[rci];
            rci += 1;
            for j in 1..nkey {
                // For 256-bit keys the fifth word of each group gets an extra SubWord.
                let t = if nkey == 8 && j == 4 {
                    ls_box(e[kf + nkey + j - 1], 0)
                } else {
                    e[kf + nkey + j - 1]
                };
                e[kf + nkey + j] = e[kf + j] ^ t;
            }
            kf += nkey;
        }

        // The decryption schedule: encryption round keys in reverse order, those of the middle
        // rounds passed through InvMixColumns (the equivalent inverse cipher).
        let mut d = [0u32; KS_LENGTH];
        for round in 0..=nrnd {
            for c in 0..NC {
                let w = e[NC * round + c];
                d[NC * (nrnd - round) + c] = if round == 0 || round == nrnd {
                    w
                } else {
                    inv_mcol(w)
                };
            }
        }
        Some(Aes {
            nrnd,
            e_key: e,
            d_key: d,
        })
    }

    /// Rounds for this key length (`Nrnd`): 10, 12 or 14.
    pub fn rounds(&self) -> usize {
        self.nrnd
    }

    /// `encrypt(in, out, cx)`.
    pub fn encrypt(&self, input: &[u8; BLOCK]) -> [u8; BLOCK] {
        let k = &self.e_key;
        let mut b0 = state_in(input, &k[..NC]);
        // ShiftRows: row r of output column c comes from input column c + r.
        let fwd_var = |c: usize| move |r: usize| (c + r) & 3;
        for rnd in 1..self.nrnd {
            let kp = &k[NC * rnd..];
            b0 = core::array::from_fn(|c| kp[c] ^ four(&FT_TAB, &b0, fwd_var(c)));
        }
        let kp = &k[NC * self.nrnd..];
        let b1: [u32; NC] = core::array::from_fn(|c| kp[c] ^ four(&FL_TAB, &b0, fwd_var(c)));
        state_out(&b1)
    }

    /// `decrypt(in, out, cx)`.
    pub fn decrypt(&self, input: &[u8; BLOCK]) -> [u8; BLOCK] {
        let k = &self.d_key;
        let mut b0 = state_in(input, &k[..NC]);
        // InvShiftRows: row r of output column c comes from input column c - r.
        let inv_var = |c: usize| move |r: usize| (c + 4 - r) & 3;
        for rnd in 1..self.nrnd {
            let kp = &k[NC * rnd..];
            b0 = core::array::from_fn(|c| kp[c] ^ four(&IT_TAB, &b0, inv_var(c)));
        }
        let kp = &k[NC * self.nrnd..];
        let b1: [u32; NC] = core::array::from_fn(|c| kp[c] ^ four(&IL_TAB, &b0, inv_var(c)));
        state_out(&b1)
    }
}

/// `state_in`: the block as columns, with the first round key added.
fn state_in(input: &[u8; BLOCK], k: &[u32]) -> [u32; NC] {
    core::array::from_fn(|c| {
        u32::from_le_bytes([
            input[4 * c],
            input[4 * c + 1],
            input[4 * c + 2],
            input[4 * c + 3],
        ]) ^ k[c]
    })
}

/// `state_out`.
fn state_out(x: &[u32; NC]) -> [u8; BLOCK] {
    let mut out = [0u8; BLOCK];
    for (chunk, w) in out.chunks_exact_mut(4).zip(x) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    out
}
