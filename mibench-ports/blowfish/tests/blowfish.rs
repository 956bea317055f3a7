use mibench_blowfish::pi::{P_INIT, S_INIT};
use mibench_blowfish::{
    BfKey, Cfb64, KeyError, LARGE_INPUT_LEN, Mode, RUNME_KEY, SMALL_INPUT_LEN,
    generated_large_input, generated_small_input, parse_key, run, write_summary,
};

use mibench_common::hex;

fn block(s: &str) -> [u8; 8] {
    hex(s).try_into().unwrap()
}

/// Eric Young's copy of Schneier's ECB test vectors (`bftest.c`): key, plain text, cipher text.
#[test]
fn schneier_ecb_vectors() {
    let vectors = [
        ("0000000000000000", "0000000000000000", "4EF997456198DD78"),
        ("FFFFFFFFFFFFFFFF", "FFFFFFFFFFFFFFFF", "51866FD5B85ECB8A"),
        ("3000000000000000", "1000000000000001", "7D856F9A613063F2"),
        ("1111111111111111", "1111111111111111", "2466DD878B963C9D"),
        ("0123456789ABCDEF", "1111111111111111", "61F9C3802281B096"),
        ("FEDCBA9876543210", "0123456789ABCDEF", "0ACEAB0FC6A0A28D"),
        ("7CA110454A1A6E57", "01A1D6D039776742", "59C68245EB05282B"),
        ("0131D9619DC1376E", "5CD54CA83DEF57DA", "B1B8CC0B250F09A0"),
        ("E0FEE0FEF1FEF1FE", "0123456789ABCDEF", "C39E072D9FAC631D"),
        ("FFFFFFFFFFFFFFFF", "0000000000000000", "F21E9A77B71C49BC"),
        ("0123456789ABCDEF", "0000000000000000", "245946885754369A"),
        ("FEDCBA9876543210", "FFFFFFFFFFFFFFFF", "6B5C5A9C5D9E0A5A"),
    ];
    for (key, plain, cipher) in vectors {
        let k = BfKey::new(&hex(key));
        assert_eq!(k.encrypt_bytes(block(plain)), block(cipher), "key {key}");
        assert_eq!(k.decrypt_bytes(block(cipher)), block(plain), "key {key}");
    }
}

/// Schneier's variable-key-length vectors: prefixes of one 24-byte key, plain text
/// FEDCBA9876543210.
#[test]
fn schneier_variable_key_vectors() {
    let key = hex("F0E1D2C3B4A5968778695A4B3C2D1E0F0011223344556677");
    for (len, cipher) in [
        (1, "F9AD597C49DB005E"),
        (2, "E91D21C1D961A6D6"),
        (8, "E87A244E2CC85E82"),
        (9, "15750E7A4F4EC577"),
        (16, "93142887EE3BE15C"),
        (17, "03429E838CE2D14B"),
        (24, "05044B62FA52D080"),
    ] {
        let k = BfKey::new(&key[..len]);
        assert_eq!(
            k.encrypt_bytes(block("FEDCBA9876543210")),
            block(cipher),
            "{len}-byte key"
        );
    }
}

/// Schneier's "BLOWFISH" vector: key "abcdefghijklmnopqrstuvwxyz".
#[test]
fn raw_block_vector() {
    let k = BfKey::new(b"abcdefghijklmnopqrstuvwxyz");
    assert_eq!(
        k.encrypt_block([0x424c4f57, 0x46495348]),
        [0x324ed0fe, 0xf413a203]
    );
    assert_eq!(
        k.decrypt_block([0x324ed0fe, 0xf413a203]),
        [0x424c4f57, 0x46495348]
    );
}

/// The CFB64 vector of Eric Young's set, split across calls as `bftest.c` does so the carried
/// `num` and register are exercised.
#[test]
fn cfb64_vector() {
    let k = BfKey::new(&hex("0123456789ABCDEFF0E1D2C3B4A59687"));
    let iv = block("FEDCBA9876543210");
    let plain = b"7654321 Now is the time for \0";
    let cipher = hex("E73214A2822139CAF26ECF6D2EB9E76E3DA3DE04D1517200519D57A6C3");

    let mut data = plain.to_vec();
    let mut cfb = Cfb64::new(iv);
    let (a, b) = data.split_at_mut(13);
    cfb.apply(&k, a, Mode::Encrypt);
    cfb.apply(&k, b, Mode::Encrypt);
    assert_eq!(data, cipher);

    let mut cfb = Cfb64::new(iv);
    let (a, b) = data.split_at_mut(17);
    cfb.apply(&k, a, Mode::Decrypt);
    cfb.apply(&k, b, Mode::Decrypt);
    assert_eq!(data, plain);
}

/// `frac(16^d * pi)` by the Bailey-Borwein-Plouffe formula: the hex digits of pi from the
/// (d+1)th after the point on.
fn bbp_fraction(d: u64) -> f64 {
    fn series(j: u64, d: u64) -> f64 {
        let mut s = 0.0;
        for k in 0..=d {
            let m = 8 * k + j;
            // 16^(d-k) mod m by square and multiply.
            let (mut r, mut b, mut e) = (1u64, 16 % m, d - k);
            while e > 0 {
                if e & 1 == 1 {
                    r = r * b % m;
                }
                b = b * b % m;
                e >>= 1;
            }
            s = (s + r as f64 / m as f64).fract();
        }
        let mut k = d + 1;
        loop {
            let t = 16f64.powi(-((k - d) as i32)) / (8 * k + j) as f64;
            if t < 1e-17 {
                break;
            }
            s += t;
            k += 1;
        }
        s
    }
    let x = 4.0 * series(1, d) - 2.0 * series(4, d) - series(5, d) - series(6, d);
    x - x.floor()
}

/// The tables are pi's hex digits: spot-check words throughout them by digit extraction.
#[test]
fn tables_are_the_digits_of_pi() {
    let words: Vec<u32> = P_INIT
        .iter()
        .chain(S_INIT.iter().flatten())
        .copied()
        .collect();
    assert_eq!(words.len(), 1042);
    for w in (0..1042).step_by(37).chain([17, 18, 1041]) {
        // Four hex digits at a time stay well within f64's precision.
        let hi = (bbp_fraction(8 * w as u64) * 65536.0) as u32;
        let lo = (bbp_fraction(8 * w as u64 + 4) * 65536.0) as u32;
        assert_eq!(words[w], (hi << 16) | lo, "word {w}");
    }
}

#[test]
fn key_parsing_follows_bf_c() {
    let k = parse_key(RUNME_KEY).unwrap();
    assert_eq!(k.ukey, block("1234567890abcdef"));
    assert_eq!(k.ivec, block("fedcba0987654321"));
    // Upper case, an odd trailing digit dropped, a short key leaving the IV zero.
    let k = parse_key("ABCDEF012").unwrap();
    assert_eq!(k.ukey, [0xab, 0xcd, 0xef, 0x01, 0, 0, 0, 0]);
    assert_eq!(k.ivec, [0; 8]);
    assert_eq!(parse_key("12g4"), Err(KeyError::NotHex));
    assert!(parse_key(&"0".repeat(64)).is_ok());
    assert_eq!(parse_key(&"0".repeat(65)), Err(KeyError::TooLong));
    assert_eq!(KeyError::TooLong.to_string(), "Bad key value.");
}

#[test]
fn encrypt_then_decrypt_gives_the_input_back() {
    let input = generated_small_input();
    let enc = run(&input, Mode::Encrypt, RUNME_KEY).unwrap();
    assert_eq!(enc.len(), input.len() + 1);
    assert_ne!(enc[..input.len()], input[..]);
    let dec = run(&enc, Mode::Decrypt, RUNME_KEY).unwrap();
    // The plain text, the EOF byte `bf e` added, and the decryption of the one `bf d` added.
    assert_eq!(dec.len(), input.len() + 2);
    assert_eq!(dec[..input.len()], input[..]);
    assert_eq!(dec[input.len()], 0xff);
}

#[test]
fn generated_inputs_have_the_original_sizes() {
    let small = generated_small_input();
    assert_eq!(small.len(), SMALL_INPUT_LEN);
    assert_eq!(small.iter().filter(|&&b| b == b'\n').count(), 16);
    assert_eq!(generated_large_input().len(), LARGE_INPUT_LEN);
}

#[test]
fn summary_line() {
    let mut out = String::new();
    write_summary("bf e", &[0x4a, 0x84, 0x68], &mut out).unwrap();
    assert_eq!(
        out,
        format!(
            "bf e: 3 bytes, fnv1a {:016x}, starts 4a8468\n",
            mibench_common::fnv1a(&[0x4a, 0x84, 0x68])
        )
    );
}

#[test]
fn small_output_matches_the_original() {
    let Some(dir) = mibench_common::originals_or_skip(env!("CARGO_MANIFEST_DIR")) else {
        return;
    };
    let input = std::fs::read(dir.join("inputs/security_input_small.asc")).unwrap();
    let want = std::fs::read(dir.join("outputs/blowfish_small.enc")).unwrap();
    let got = run(&input, Mode::Encrypt, RUNME_KEY).unwrap();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "bf e output differs from blowfish_small.enc");
    // And runme_small.sh's second line, `bf d`, recovers the input.
    let dec = run(&want, Mode::Decrypt, RUNME_KEY).unwrap();
    assert_eq!(dec[..input.len()], input[..]);
}
