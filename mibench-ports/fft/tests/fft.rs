use mibench_fft::{Error, SMALL_RUNS, fft_float, reverse_bits, run, signal};

fn transform(inverse: bool, re: &[f32], im: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (mut ro, mut io) = (vec![0.0; re.len()], vec![0.0; re.len()]);
    fft_float(inverse, re, Some(im), &mut ro, &mut io).unwrap();
    (ro, io)
}

/// The DFT by its definition, in f64, with Don Cross's sign convention (his "forward" transform
/// turns the phase the positive way): X_k = sum_n x_n e^(+2 pi i k n / N).
fn naive_dft(re: &[f32], im: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let n = re.len();
    (0..n)
        .map(|k| {
            (0..n).fold((0.0, 0.0), |(sr, si), t| {
                let angle = 2.0 * std::f64::consts::PI * ((k * t) % n) as f64 / n as f64;
                let (s, c) = angle.sin_cos();
                let (x, y) = (re[t] as f64, im[t] as f64);
                (sr + x * c - y * s, si + x * s + y * c)
            })
        })
        .unzip()
}

#[test]
fn matches_the_dft_definition() {
    let re = signal(3, 64);
    let im: Vec<f32> = re.iter().rev().map(|x| x * 0.5).collect();
    let (ro, io) = transform(false, &re, &im);
    let (wr, wi) = naive_dft(&re, &im);
    let scale = wr.iter().chain(&wi).fold(0.0f64, |m, v| m.max(v.abs()));
    for k in 0..64 {
        assert!((ro[k] as f64 - wr[k]).abs() < 1e-5 * scale, "re[{k}]");
        assert!((io[k] as f64 - wi[k]).abs() < 1e-5 * scale, "im[{k}]");
    }
}

#[test]
fn known_transforms() {
    // A unit impulse transforms to all ones.
    let mut re = vec![0.0f32; 16];
    re[0] = 1.0;
    let (ro, io) = transform(false, &re, &[0.0; 16]);
    assert!(ro.iter().all(|&v| (v - 1.0).abs() < 1e-6) && io.iter().all(|&v| v.abs() < 1e-6));
    // cos(2 pi 3 t / 32) puts N/2 at bins 3 and 29, nothing elsewhere.
    let re: Vec<f32> = (0..32)
        .map(|t| (2.0 * std::f64::consts::PI * 3.0 * t as f64 / 32.0).cos() as f32)
        .collect();
    let (ro, io) = transform(false, &re, &[0.0; 32]);
    for k in 0..32 {
        let want = if k == 3 || k == 29 { 16.0 } else { 0.0 };
        assert!((ro[k] - want).abs() < 1e-4 && io[k].abs() < 1e-4, "bin {k}");
    }
}

#[test]
fn inverse_recovers_the_signal_and_parseval_holds() {
    let re = signal(4, 4096);
    let im = vec![0.0f32; re.len()];
    let (fr, fi) = transform(false, &re, &im);
    let (br, bi) = transform(true, &fr, &fi);
    let peak = re.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for t in 0..re.len() {
        assert!((br[t] - re[t]).abs() < 1e-4 * peak, "sample {t}");
        assert!(bi[t].abs() < 1e-4 * peak, "sample {t}");
    }
    // Parseval: N * sum |x|^2 = sum |X|^2.
    let energy = |a: &[f32], b: &[f32]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (*x as f64).powi(2) + (*y as f64).powi(2))
            .sum()
    };
    let time = energy(&re, &im) * re.len() as f64;
    let freq = energy(&fr, &fi);
    assert!((time - freq).abs() < 1e-5 * time, "{time} vs {freq}");
}

#[test]
fn bit_reversal_and_errors() {
    assert_eq!(reverse_bits(0b0001, 4), 0b1000);
    assert_eq!(reverse_bits(0b1101, 4), 0b1011);
    assert_eq!(
        run(4, 100, false, &mut String::new()),
        Err(Error::NotPowerOfTwo(100))
    );
    assert_eq!(
        run(4, 1, false, &mut String::new()),
        Err(Error::NotPowerOfTwo(1))
    );
}

#[test]
fn output_format() {
    let mut out = String::new();
    run(2, 8, false, &mut out).unwrap();
    let lines: Vec<&str> = out.split('\n').collect();
    assert_eq!(lines.len(), 5); // RealOut:, values, ImagOut:, values, ""
    assert_eq!((lines[0], lines[2], lines[4]), ("RealOut:", "ImagOut:", ""));
    for values in [lines[1], lines[3]] {
        let fields: Vec<&str> = values.split(" \t").collect();
        assert_eq!(fields.len(), 9);
        assert_eq!(fields[8], "");
        for f in &fields[..8] {
            let decimals = f.split('.').nth(1).unwrap();
            assert_eq!(decimals.len(), 6, "{f}");
            f.parse::<f64>().unwrap();
        }
    }
}

#[test]
fn small_outputs_match_the_original() {
    let Some(dir) = mibench_common::originals_or_skip(env!("CARGO_MANIFEST_DIR")) else {
        return;
    };
    let files = ["fft_4_4096.txt", "fft_4_8192_inv.txt"];
    for ((waves, length, inverse), file) in SMALL_RUNS.into_iter().zip(files) {
        let want = std::fs::read_to_string(dir.join("outputs").join(file)).unwrap();
        let mut got = String::new();
        run(waves, length, inverse, &mut got).unwrap();
        let fields = |s: &str| s.split(['\n', '\t']).map(str::to_owned).collect::<Vec<_>>();
        for (n, (g, w)) in fields(&got).iter().zip(fields(&want)).enumerate() {
            assert_eq!(*g, w, "{file}: field {n}");
        }
        assert_eq!(got, want, "{file}");
    }
}
