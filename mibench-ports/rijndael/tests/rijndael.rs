use mibench_rijndael::aes::{INV_S_BOX, S_BOX};
use mibench_rijndael::{
    Aes, DecryptError, Error, FillRand, LARGE_INPUT_LEN, Mode, RUNME_KEY, SMALL_INPUT_LEN,
    decrypt_file, encrypt_file, generated_large_input, generated_small_input, parse_key, run,
};

use mibench_common::hex;

fn block(s: &str) -> [u8; 16] {
    hex(s).try_into().unwrap()
}

/// FIPS-197 Appendix C (one vector per key length) and Appendix B.
#[test]
fn fips_197_vectors() {
    let plain = block("00112233445566778899aabbccddeeff");
    for (key, cipher, rounds) in [
        (
            "000102030405060708090a0b0c0d0e0f",
            "69c4e0d86a7b0430d8cdb78070b4c55a",
            10,
        ),
        (
            "000102030405060708090a0b0c0d0e0f1011121314151617",
            "dda97ca4864cdfe06eaf70a0ec0d7191",
            12,
        ),
        (
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "8ea2b7ca516745bfeafc49904b496089",
            14,
        ),
    ] {
        let aes = Aes::new(&hex(key)).unwrap();
        assert_eq!(aes.rounds(), rounds);
        assert_eq!(aes.encrypt(&plain), block(cipher), "key {key}");
        assert_eq!(aes.decrypt(&block(cipher)), plain, "key {key}");
    }
    let aes = Aes::new(&hex("2b7e151628aed2a6abf7158809cf4f3c")).unwrap();
    assert_eq!(
        aes.encrypt(&block("3243f6a8885a308d313198a2e0370734")),
        block("3925841d02dc09fbdc118597196a0b32")
    );
    assert!(Aes::new(&[0; 20]).is_none());
}

#[test]
fn s_boxes_are_the_fips_197_ones() {
    // FIPS-197 figure 7 and 14 entries.
    assert_eq!(S_BOX[0x00], 0x63);
    assert_eq!(S_BOX[0x53], 0xed);
    assert_eq!(S_BOX[0xff], 0x16);
    assert_eq!(INV_S_BOX[0x63], 0x00);
    assert_eq!(INV_S_BOX[0x00], 0x52);
    for i in 0..=255u8 {
        assert_eq!(INV_S_BOX[S_BOX[i as usize] as usize], i);
    }
}

/// The IV generator: Marsaglia's MWC with aesxam.c's seeds. The expected bytes come from an
/// independent evaluation of `RAND(a, b)` (a Python one-liner), and are also the first 16 bytes
/// of the reference output.
#[test]
fn fillrand_sequence() {
    let mut r = FillRand::default();
    let mut iv = [0u8; 16];
    r.fill(&mut iv);
    assert_eq!(iv, block("60537f1cd45c92662611c18e5fd9b869"));
    let mut next = [0u8; 4];
    r.fill(&mut next);
    assert_eq!(next, [0x65, 0xec, 0x13, 0x9c]);
}

#[test]
fn file_format() {
    let aes = Aes::new(&parse_key(RUNME_KEY).unwrap()).unwrap();
    for len in 0..70usize {
        let input: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37)).collect();
        let enc = encrypt_file(&input, &aes, &mut FillRand::default());
        // IV, then the length byte and the input in whole blocks.
        assert_eq!(enc.len(), 16 + (len + 1).div_ceil(16) * 16, "length {len}");
        // CBC: the first plain block is its decryption XOR the IV.
        let length_byte = aes.decrypt(enc[16..32].try_into().unwrap())[0] ^ enc[0];
        assert_eq!(length_byte & 15, len as u8 & 15);
        assert_eq!(
            length_byte & 0xf0,
            0x60,
            "random high bits of the length byte"
        );
        assert_eq!(decrypt_file(&enc, &aes).unwrap(), input, "length {len}");
    }
}

#[test]
fn run_round_trip_and_errors() {
    let input = generated_small_input();
    let enc = run(&input, Mode::Encrypt, RUNME_KEY).unwrap();
    assert_eq!(enc.len(), 16 + 19490 * 16);
    assert_eq!(run(&enc, Mode::Decrypt, RUNME_KEY).unwrap(), input);

    assert_eq!(parse_key(RUNME_KEY).unwrap().len(), 32);
    assert_eq!(parse_key(&"A".repeat(48)).unwrap(), vec![0xaa; 24]);
    assert_eq!(parse_key("0x00"), Err(Error::KeyNotHex));
    assert_eq!(parse_key(&"0".repeat(40)), Err(Error::KeyLength));
    assert_eq!(parse_key(&"0".repeat(66)), Err(Error::KeyTooLong));
    assert_eq!(
        run(&enc[..20], Mode::Decrypt, RUNME_KEY),
        Err(Error::Decrypt(DecryptError::Corrupt))
    );
    let mut msg = String::new();
    Error::Decrypt(DecryptError::NoIv)
        .write_message("in.enc", &mut msg)
        .unwrap();
    assert_eq!(msg, "Error reading from input file: in.enc\n");
}

#[test]
fn generated_inputs_have_the_original_sizes() {
    assert_eq!(generated_small_input().len(), SMALL_INPUT_LEN);
    assert_eq!(generated_large_input().len(), LARGE_INPUT_LEN);
}

#[test]
fn small_output_matches_the_original() {
    let Some(dir) = mibench_common::originals_or_skip(env!("CARGO_MANIFEST_DIR")) else {
        return;
    };
    let input = std::fs::read(dir.join("inputs/security_input_small.asc")).unwrap();
    let want = std::fs::read(dir.join("outputs/rijndael_small.enc")).unwrap();
    let got = run(&input, Mode::Encrypt, RUNME_KEY).unwrap();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "encryption differs from rijndael_small.enc");
    // runme_small.sh's second line decrypts it again.
    assert!(run(&want, Mode::Decrypt, RUNME_KEY).unwrap() == input);
}
