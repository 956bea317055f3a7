use mibench_adpcm::codec::{INDEX_TABLE, STEPSIZE_TABLE};
use mibench_adpcm::{
    AdpcmState, LARGE_PCM_LEN, SMALL_PCM_LEN, adpcm_coder, adpcm_decoder,
    generated_small_adpcm_input, generated_small_input, rawcaudio, rawdaudio, write_final_state,
    write_summary,
};

fn samples(pcm: &[u8]) -> Vec<i16> {
    pcm.chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// The IMA tables: 89 steps from 7 to 32767, each about 1.1 times the one before.
#[test]
fn ima_tables() {
    assert_eq!(STEPSIZE_TABLE.len(), 89);
    assert_eq!((STEPSIZE_TABLE[0], STEPSIZE_TABLE[88]), (7, 32767));
    for w in STEPSIZE_TABLE.windows(2) {
        assert!(w[1] > w[0] && w[1] * 10 <= w[0] * 12 + 10, "{w:?}");
    }
    assert_eq!(INDEX_TABLE[..8], INDEX_TABLE[8..]);
}

/// One sample worked by hand: from valpred 0 and step 7, the difference 100 takes all three
/// magnitude bits (code 7), vpdiff = 0 + 7 + 3 + 1 = 11 and the index moves up 8.
#[test]
fn hand_worked_example() {
    let mut state = AdpcmState::default();
    let mut out = [0u8; 1];
    adpcm_coder(&[100], &mut out, &mut state);
    assert_eq!(out, [0x70]);
    assert_eq!(
        state,
        AdpcmState {
            valprev: 11,
            index: 8
        }
    );

    // Decoding 0x70: code 7 gives 11; code 0 with step 16 adds 16 >> 3 = 2.
    let mut state = AdpcmState::default();
    let mut pcm = [0i16; 2];
    adpcm_decoder(&[0x70], &mut pcm, &mut state);
    assert_eq!(pcm, [11, 13]);
    assert_eq!(
        state,
        AdpcmState {
            valprev: 13,
            index: 7
        }
    );
}

/// Encode then decode: the decoder tracks the coder's prediction exactly (same final state), and
/// outside slope overload each sample is within about a quarter step of the input, the
/// quantiser's bound (vpdiff is (code + 1/2) * step / 4 with the shifts' truncation).
#[test]
fn round_trip_within_the_adpcm_error_bound() {
    let pcm = generated_small_input();
    let (adpcm, enc_state) = rawcaudio(&pcm);
    let (decoded, dec_state) = rawdaudio(&adpcm);
    assert_eq!(enc_state, dec_state);
    assert_eq!(decoded.len(), pcm.len());

    let x = samples(&pcm);
    let y = samples(&decoded);
    let (mut index, mut prev) = (0usize, 0i32);
    let (mut checked, mut err_sum) = (0usize, 0i64);
    for (i, (&xi, &yi)) in x.iter().zip(&y).enumerate() {
        let step = STEPSIZE_TABLE[index];
        let code = (adpcm[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0xf;
        let diff = (i32::from(xi) - prev).abs();
        let err = (i32::from(xi) - i32::from(yi)).abs();
        if diff <= step + (step >> 1) + (step >> 2) {
            assert!(
                err <= (step >> 2) + 1,
                "sample {i}: error {err}, step {step}"
            );
            checked += 1;
        }
        err_sum += i64::from(err);
        index = (index as i32 + INDEX_TABLE[code as usize]).clamp(0, 88) as usize;
        prev = i32::from(yi);
    }
    // Slope overload is the exception, and the mean error is small next to the signal.
    assert!(checked > x.len() * 9 / 10, "{checked} of {}", x.len());
    assert!(err_sum / (x.len() as i64) < 200);
}

#[test]
fn block_handling_follows_the_drivers() {
    // 3 samples (6 bytes): the coder fills 2 bytes, rawcaudio writes 6/4 = 1.
    assert_eq!(rawcaudio(&[1, 0, 2, 0, 3, 0]).0.len(), 1);
    // Blocks of 1000 samples keep the state between them: two blocks code like one call of the
    // coder over both.
    let pcm = generated_small_input();
    let (adpcm, _) = rawcaudio(&pcm[..4000]);
    let mut state = AdpcmState::default();
    let mut whole = vec![0u8; 1000];
    adpcm_coder(&samples(&pcm[..4000]), &mut whole, &mut state);
    assert_eq!(adpcm, whole);
    // rawdaudio writes four bytes per byte read.
    assert_eq!(rawdaudio(&[0x12; 777]).0.len(), 777 * 4);
}

#[test]
fn generated_inputs_look_like_the_originals() {
    let pcm = generated_small_input();
    assert_eq!(pcm.len(), SMALL_PCM_LEN);
    assert_eq!(generated_small_adpcm_input().len(), 342_216);
    assert_eq!(LARGE_PCM_LEN % 2, 0);
    let s = samples(&pcm);
    let mean_sq = s.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / s.len() as f64;
    let rms = mean_sq.sqrt();
    assert!((1000.0..8000.0).contains(&rms), "rms {rms}");
    let quiet = s.iter().filter(|v| v.abs() < 100).count() as f64 / s.len() as f64;
    assert!((0.05..0.5).contains(&quiet), "quiet fraction {quiet}");
    assert_eq!(pcm, generated_small_input(), "deterministic");
}

#[test]
fn text_lines() {
    let mut out = String::new();
    write_final_state(
        &AdpcmState {
            valprev: -12,
            index: 40,
        },
        &mut out,
    )
    .unwrap();
    assert_eq!(out, "Final valprev=-12, index=40\n");
    out.clear();
    write_summary("x", &[1, 2], &mut out).unwrap();
    assert!(out.starts_with("x: 2 bytes, fnv1a ") && out.ends_with(", starts 0102\n"));
}

#[test]
fn small_outputs_match_the_originals() {
    let Some(dir) = mibench_common::originals_or_skip(env!("CARGO_MANIFEST_DIR")) else {
        return;
    };
    let pcm = std::fs::read(dir.join("inputs/adpcm_small.pcm")).unwrap();
    let want = std::fs::read(dir.join("outputs/adpcm_encode_small.adpcm")).unwrap();
    let (got, _) = rawcaudio(&pcm);
    assert!(got == want, "rawcaudio output differs");

    let adpcm = std::fs::read(dir.join("inputs/adpcm_small.adpcm")).unwrap();
    let want = std::fs::read(dir.join("outputs/adpcm_decode_small.pcm")).unwrap();
    let (got, _) = rawdaudio(&adpcm);
    assert!(got == want, "rawdaudio output differs");
}
