use mibench_crc32::{
    CRC_32_TAB, DataModel, FileCrc, LARGE_INPUT_LEN, SMALL_INPUT_LEN, crc32buf, crc32file,
    generated_large_input, generated_small_input, run, updc32,
};

/// The CRC-32 check value: the CRC of the nine ASCII digits "123456789".
#[test]
fn check_value() {
    assert_eq!(crc32buf(b"123456789"), 0xcbf43926);
    assert_eq!(crc32buf(b""), 0);
    // Another well-known value: "The quick brown fox jumps over the lazy dog".
    assert_eq!(
        crc32buf(b"The quick brown fox jumps over the lazy dog"),
        0x414fa339
    );
}

/// Entries of Gary S. Brown's table as printed in crc_32.c.
#[test]
fn table_entries() {
    assert_eq!(CRC_32_TAB[0], 0x00000000);
    assert_eq!(CRC_32_TAB[1], 0x77073096);
    assert_eq!(CRC_32_TAB[128], 0xedb88320);
    assert_eq!(CRC_32_TAB[255], 0x2d02ef8d);
    // UPDC32 one byte at a time is crc32buf: the CRC of "a" is 0xe8b7be43.
    assert_eq!(!updc32(b'a', 0xffffffff), 0xe8b7be43);
}

#[test]
fn output_line_per_data_model() {
    let mut out = String::new();
    run(b"123456789", "digits.txt", DataModel::Ilp32, &mut out).unwrap();
    assert_eq!(out, "CBF43926       9 digits.txt\n");
    out.clear();
    run(b"123456789", "digits.txt", DataModel::Lp64, &mut out).unwrap();
    assert_eq!(out, "FFFFFFFFCBF43926       9 digits.txt\n");
    // A small CRC still gets its leading zeros from %08lX.
    out.clear();
    let r = FileCrc {
        crc: 0xabc,
        charcnt: 12_345_678,
    };
    mibench_crc32::write_line(r, "f", DataModel::Ilp32, &mut out).unwrap();
    assert_eq!(out, "00000ABC 12345678 f\n");
}

#[test]
fn generated_inputs_have_the_expected_sizes() {
    let small = generated_small_input();
    assert_eq!(small.len(), SMALL_INPUT_LEN);
    assert_eq!(crc32file(&small).charcnt, SMALL_INPUT_LEN as i64);
    assert_eq!(small, generated_small_input(), "deterministic");
    assert_eq!(generated_large_input().len(), LARGE_INPUT_LEN);
}

#[test]
fn small_output_matches_the_original() {
    let Some(dir) = mibench_common::originals_or_skip(env!("CARGO_MANIFEST_DIR")) else {
        return;
    };
    let input = std::fs::read(dir.join("inputs/adpcm_small.pcm")).unwrap();
    let want = std::fs::read_to_string(dir.join("outputs/crc32_adpcm_small_pcm.txt")).unwrap();
    let mut got = String::new();
    // The reference ran `crc ../adpcm/data/small.pcm` on x86-64.
    run(&input, "../adpcm/data/small.pcm", DataModel::Lp64, &mut got).unwrap();
    assert_eq!(got, want);
}
