use mibench_sha::{
    Build, LARGE_INPUT_LEN, SMALL_INPUT_LEN, digest, generated_large_input, generated_small_input,
    run, sha0, sha1,
};

fn line(input: &[u8], build: Build) -> String {
    let mut out = String::new();
    run(input, build, &mut out).unwrap();
    out
}

/// The test vectors of FIPS 180 (1993), the original SHA now called SHA-0: MiBench's build
/// computes it where `long` is 32 bits.
#[test]
fn ilp32_is_sha0() {
    assert_eq!(
        sha0(b"abc"),
        [0x0164b8a9, 0x14cd2a5e, 0x74c4f7ff, 0x082c4d97, 0xf1edf880]
    );
    assert_eq!(
        sha0(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
        [0xd2516ee1, 0xacfa5baf, 0x33dfc1c4, 0x71e43844, 0x9ef134c8]
    );
    assert_eq!(
        sha0(&vec![b'a'; 1_000_000]),
        [0x3232affa, 0x48628a26, 0x653b5aaa, 0x44541fd9, 0x0d690603]
    );
}

/// FIPS 180-1 / RFC 3174 test vectors: built with `-DUSE_MODIFIED_SHA` the program is SHA-1.
#[test]
fn modified_ilp32_is_sha1() {
    assert_eq!(
        sha1(b"abc"),
        [0xa9993e36, 0x4706816a, 0xba3e2571, 0x7850c26c, 0x9cd0d89d]
    );
    assert_eq!(
        sha1(b""),
        [0xda39a3ee, 0x5e6b4b0d, 0x3255bfef, 0x95601890, 0xafd80709]
    );
    assert_eq!(
        sha1(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
        [0x84983e44, 0x1c3bd26e, 0xbaae4aa1, 0xf95129e5, 0xe54670f1]
    );
    assert_eq!(
        sha1(&vec![b'a'; 1_000_000]),
        [0x34aa973c, 0xd4c4daa4, 0xf61eeb2b, 0xdbad2731, 0x6534016f]
    );
}

#[test]
fn prints_like_sha_print() {
    assert_eq!(
        line(b"abc", Build::ILP32),
        "0164b8a9 14cd2a5e 74c4f7ff 082c4d97 f1edf880\n"
    );
}

/// A textbook SHA-1 (SHA-0 without the rotation), written independently of the port, to check
/// every padding case (lengths around 56 and 64 take different branches of `sha_final`) and the
/// 8192-byte chunking.
fn reference_sha(msg: &[u8], sha1: bool) -> [u32; 5] {
    let mut h = [
        0x67452301u32,
        0xefcdab89,
        0x98badcfe,
        0x10325476,
        0xc3d2e1f0,
    ];
    let mut m = msg.to_vec();
    m.push(0x80);
    while m.len() % 64 != 56 {
        m.push(0);
    }
    m.extend_from_slice(&((msg.len() as u64) * 8).to_be_bytes());
    for block in m.chunks(64) {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes(block[4 * i..4 * i + 4].try_into().unwrap());
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(u32::from(sha1));
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i / 20 {
                0 => ((b & c) | (!b & d), 0x5a827999),
                1 => (b ^ c ^ d, 0x6ed9eba1),
                2 => ((b & c) | (b & d) | (c & d), 0x8f1bbcdc),
                _ => (b ^ c ^ d, 0xca62c1d6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            (e, d, c, b, a) = (d, c, b.rotate_left(30), a, t);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    h
}

#[test]
fn ilp32_agrees_with_a_textbook_sha_at_every_padding_length() {
    let msg: Vec<u8> = (0..20_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
    for len in (0..200).chain([8191, 8192, 8193, 8192 + 55, 8192 + 56, 8192 + 64, 20_000]) {
        let m = &msg[..len];
        assert_eq!(sha0(m), reference_sha(m, false), "SHA-0, length {len}");
        assert_eq!(sha1(m), reference_sha(m, true), "SHA-1, length {len}");
    }
}

/// The LP64 build is not SHA-1. These values come from a separate model of the C semantics (a
/// Python script following `sha.c` with 64-bit `LONG`s over a 128-byte `data`), which also
/// reproduces the reference output for the small input.
#[test]
fn lp64_matches_a_separate_model_of_the_c() {
    assert_eq!(
        line(b"abc", Build::LP64),
        "8da2002ebccfa426 e91c0679dc57d424 3bf4fbee818f30e7 b9c1f9b801f2fd7d 7bf58000b573568c\n"
    );
    // 60 bytes: the padding spills into a second block.
    assert_eq!(
        line(&[b'a'; 60], Build::LP64),
        "1eda96921775b416 3c43033bb8f65ded 77efece732e6a581 6a77aee678546963 691df12f28ad87dd\n"
    );
    assert_eq!(
        line(&vec![b'a'; 1_000_000], Build::LP64),
        "58efad2df75de331 8741f5d5ecf4ad3a 9ce82627ae2ec300 fb402fd88bc942c6 81d9911b1fbd0850\n"
    );
    assert!(digest(b"abc", Build::LP64)[0] > u64::from(u32::MAX));
}

#[test]
fn generated_inputs_have_the_shape_of_the_originals() {
    let small = generated_small_input();
    assert_eq!(small.len(), SMALL_INPUT_LEN);
    assert_eq!(small.iter().filter(|&&b| b == b'\n').count(), 16);
    assert!(small.ends_with(b"\n"));
    assert!(
        small
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'\n')
    );
    assert_eq!(small, generated_small_input(), "deterministic");
    // The paragraph repeats: 609 bytes, 32 to a line, as in input_small.asc.
    assert_eq!(small[..609], small[609..1218]);
    assert_eq!(small[32 * 609], b'\n');

    let large = generated_large_input();
    assert_eq!(large.len(), LARGE_INPUT_LEN);
    assert!(large.starts_with(&small[..small.len() - 1]));
    assert!(large.ends_with(b"\n"));
}

#[test]
fn small_output_matches_the_original() {
    let Some(dir) = mibench_common::originals_or_skip(env!("CARGO_MANIFEST_DIR")) else {
        return;
    };
    let input = std::fs::read(dir.join("inputs/security_input_small.asc")).unwrap();
    let want = std::fs::read_to_string(dir.join("outputs/sha_small.txt")).unwrap();
    // The reference was made on x86-64, where `long` is 64 bits.
    assert_eq!(line(&input, Build::LP64), want);
}
