use mibench_basicmath::{PI, deg2rad, rad2deg, run_large, run_small, solve_cubic, usqrt};

/// `a x^3 + b x^2 + c x + d` at `x`, relative to the size of its terms (so a root gives ~1e-15).
fn relative_residual([a, b, c, d]: [f64; 4], x: f64) -> f64 {
    let terms = [a * x * x * x, b * x * x, c * x, d];
    terms.iter().sum::<f64>().abs() / terms.iter().map(|t| t.abs()).sum::<f64>()
}

/// The cubic's discriminant: positive for three distinct real roots, negative for one.
fn discriminant([a, b, c, d]: [f64; 4]) -> f64 {
    18.0 * a * b * c * d - 4.0 * b * b * b * d + b * b * c * c
        - 4.0 * a * c * c * c
        - 27.0 * a * a * d * d
}

/// The cubics `basicmath_small` solves in its loops.
fn small_loop_cubics() -> Vec<[f64; 4]> {
    let mut v = Vec::new();
    for a in 1..10 {
        for b in (1..=10).rev() {
            for c in 0..20 {
                for d in 1..11 {
                    v.push([a as f64, b as f64, 5.0 + 0.5 * c as f64, -(d as f64)]);
                }
            }
        }
    }
    v
}

#[test]
fn cubic_roots_solve_the_equation() {
    let mut sorted = solve_cubic(1.0, -10.5, 32.0, -30.0).as_slice().to_vec();
    sorted.sort_by(f64::total_cmp);
    for (x, want) in sorted.iter().zip([2.0, 2.5, 6.0]) {
        assert!((x - want).abs() < 1e-12, "{x} vs {want}");
    }
    assert_eq!(solve_cubic(1.0, -4.5, 17.0, -30.0).as_slice().len(), 1);
    assert!((solve_cubic(1.0, -4.5, 17.0, -30.0).as_slice()[0] - 2.5).abs() < 1e-12);

    for k in small_loop_cubics() {
        let roots = solve_cubic(k[0], k[1], k[2], k[3]);
        for &x in roots.as_slice() {
            assert!(relative_residual(k, x) < 1e-9, "{k:?}: {x}");
        }
        let disc = discriminant(k);
        // Away from double roots the number of real roots follows the discriminant.
        if disc.abs() > 1e-6 {
            assert_eq!(
                roots.as_slice().len(),
                if disc > 0.0 { 3 } else { 1 },
                "{k:?}"
            );
        }
    }
}

#[test]
fn usqrt_is_the_floor_of_the_fixed_point_root() {
    let check = |x: u32| {
        let a = u128::from(usqrt(x));
        let scaled = u128::from(x) << 32; // (sqrt(x) * 2^16)^2
        assert!(
            a * a <= scaled && scaled < (a + 1) * (a + 1),
            "usqrt({x}) = {a}"
        );
    };
    (0..70_000).for_each(check);
    let mut r = mibench_common::GlibcRand::new(7);
    (0..100_000).for_each(|_| check(r.rand() as u32 ^ ((r.rand() as u32) << 1)));
    [u32::MAX, u32::MAX - 1, 1 << 31, 0x3fed_0169]
        .into_iter()
        .for_each(check);
    assert_eq!(usqrt(144), 12 << 16); // the examples in isqrt.c
    assert_eq!(usqrt(32), 370_727);
}

#[test]
fn angle_conversions_round_trip() {
    assert_eq!(PI, 4.0 * libm::atan(1.0)); // pi.h's definition
    assert_eq!(deg2rad(180.0), PI);
    assert_eq!(rad2deg(PI), 180.0);
    for i in 0..=3600 {
        let deg = i as f64 / 10.0;
        let back = rad2deg(deg2rad(deg));
        assert!(
            (back - deg).abs() <= 4.0 * f64::EPSILON * deg.max(1.0),
            "{deg} -> {back}"
        );
    }
}

#[test]
fn small_output_has_the_expected_shape() {
    let mut out = String::new();
    run_small(&mut out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "********* CUBIC FUNCTIONS ***********");
    assert_eq!(lines[1], "Solutions: 2.000000 6.000000 2.500000");
    assert_eq!(lines[2], "Solutions: 2.500000");
    let isqrt = lines
        .iter()
        .position(|l| l.contains("INTEGER SQR"))
        .unwrap();
    assert_eq!(isqrt, 1 + 4 + 9 * 10 * 20 * 10);
    assert_eq!(lines[isqrt + 1], "sqrt(  0) =  0");
    assert_eq!(lines[isqrt + 5], "sqrt(  4) = 131072"); // 2.0 in 16.16
    assert_eq!(lines[isqrt + 1003], "sqrt(3FED0169) = 7FED0000");
    assert_eq!(
        lines[isqrt + 1004],
        "********* ANGLE CONVERSION ***********"
    );
    assert_eq!(
        lines[isqrt + 1005 + 180],
        "180 degrees = 3.141592653590 radians"
    );
    assert_eq!(lines.last(), Some(&"6.283185307180 radians = 360 degrees"));
}

#[test]
fn large_output_has_the_expected_shape() {
    let mut out = String::new();
    run_large(&mut out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[1], "Solutions: 2.000000 6.000000 2.500000");
    let isqrt = lines
        .iter()
        .position(|l| l.contains("INTEGER SQR"))
        .unwrap();
    let angles = lines.iter().position(|l| l.contains("ANGLE")).unwrap();
    assert_eq!(angles - isqrt, 1 + 50_000 + 1 + 0x4000);
    assert_eq!(
        lines[angles + 1 + 1000],
        "  1 degrees = 0.017453292520 radians"
    );
    assert_eq!(lines.last(), Some(&"6.283185307180 radians = 360 degrees"));
}

#[test]
fn small_output_matches_the_original() {
    let Some(dir) = mibench_common::originals_or_skip(env!("CARGO_MANIFEST_DIR")) else {
        return;
    };
    let want = std::fs::read_to_string(dir.join("outputs/basicmath_small.txt")).unwrap();
    let mut got = String::new();
    run_small(&mut got).unwrap();
    for (n, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "line {}", n + 1);
    }
    assert_eq!(got, want);
}
