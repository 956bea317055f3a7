use mibench_susan::{
    Error, Image, Mode, Options, find_corners, generated_large_input, generated_small_input,
    process, read_pgm, run, write_pgm,
};

fn image(width: usize, height: usize, f: impl Fn(usize, usize) -> u8) -> Image {
    let pixels = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .map(|(x, y)| f(x, y))
        .collect();
    Image {
        width,
        height,
        pixels,
    }
}

fn opts(args: &[&str]) -> Options {
    Options::from_args(args).unwrap()
}

/// Every combination of options the original offers, as argument lists.
const ALL_MODES: [&[&str]; 12] = [
    &["-s"],
    &["-s", "-3"],
    &["-s", "-d", "2.5", "-t", "10"],
    &["-e"],
    &["-e", "-3"],
    &["-e", "-n"],
    &["-e", "-b"],
    &["-e", "-p"],
    &["-c"],
    &["-c", "-q"],
    &["-c", "-b"],
    &["-c", "-p"],
];

#[test]
fn outputs_are_pgm_of_the_input_size() {
    for input in [generated_small_input(), generated_large_input()] {
        let img = read_pgm(&input).unwrap();
        let header = format!("P5\n{} {}\n255\n", img.width, img.height);
        for args in ALL_MODES {
            let out = run(&input, args).unwrap();
            assert!(out.starts_with(header.as_bytes()), "{args:?}");
            assert_eq!(out.len(), header.len() + img.width * img.height, "{args:?}");
            assert_eq!(read_pgm(&out).unwrap().pixels.len(), img.pixels.len());
        }
    }
    assert_eq!(
        (
            read_pgm(&generated_small_input()).unwrap().width,
            read_pgm(&generated_large_input()).unwrap().height
        ),
        (76, 288)
    );
}

#[test]
fn a_flat_image_stays_flat() {
    let flat = image(40, 30, |_, _| 117);
    for args in [
        &["-s"][..],
        &["-s", "-3"],
        &["-e"],
        &["-e", "-3"],
        &["-c"],
        &["-c", "-q"],
    ] {
        assert_eq!(process(&flat, &opts(args)).unwrap(), flat, "{args:?}");
    }
    // The USAN response of a flat image is flat, which the original divides by zero on.
    assert_eq!(
        process(&flat, &opts(&["-e", "-p"])),
        Err(Error::FlatResponse)
    );
}

#[test]
fn smoothing_removes_small_noise_and_keeps_steps() {
    // Left half 60, right half 200, with +-3 noise: smoothing flattens the noise, not the step.
    let noisy = image(40, 30, |x, y| {
        (if x < 20 { 60 } else { 200 }) + ((x * 7 + y * 13) % 7) as u8 - 3
    });
    let out = process(&noisy, &opts(&["-s"])).unwrap();
    for y in 0..30 {
        for x in 0..40 {
            let v = out.pixels[y * 40 + x];
            let want = if x < 20 { 60 } else { 200 };
            assert!(v.abs_diff(want) <= 2, "({x}, {y}): {v}");
        }
    }
}

/// A 60 x 50 image with a bright 20 x 16 rectangle whose corners are at (20, 17)..(39, 32).
fn rectangle() -> Image {
    image(60, 50, |x, y| {
        if (20..40).contains(&x) && (17..33).contains(&y) {
            200
        } else {
            50
        }
    })
}

#[test]
fn corners_of_a_rectangle() {
    let found = find_corners(&rectangle(), &opts(&["-c"])).unwrap();
    let want = [(20, 17), (39, 17), (20, 32), (39, 32)];
    assert_eq!(found.len(), 4, "{found:?}");
    for c in &found {
        assert!(
            want.iter()
                .any(|&(x, y)| c.x.abs_diff(x) <= 2 && c.y.abs_diff(y) <= 2),
            "{c:?}"
        );
        // The centre of gravity points into the rectangle.
        assert_eq!(c.dx.signum(), if c.x < 30 { 1 } else { -1 }, "{c:?}");
        assert_eq!(c.dy.signum(), if c.y < 25 { 1 } else { -1 }, "{c:?}");
    }
    // Drawn as black points in white squares.
    let out = process(&rectangle(), &opts(&["-c"])).unwrap();
    for c in &found {
        assert_eq!(out.pixels[c.y * 60 + c.x], 0);
        assert_eq!(out.pixels[(c.y - 1) * 60 + c.x + 1], 255);
    }
    let quick = find_corners(&rectangle(), &opts(&["-c", "-q"])).unwrap();
    assert!(quick.len() >= 4);
}

#[test]
fn edges_of_a_rectangle() {
    let out = process(&rectangle(), &opts(&["-e", "-b"])).unwrap();
    let black: Vec<(usize, usize)> = (0..50 * 60)
        .filter(|k| out.pixels[*k] == 0)
        .map(|k| (k % 60, k / 60))
        .collect();
    // Edge points lie on the rectangle's outline (within a pixel)...
    for &(x, y) in &black {
        let near_x = x.abs_diff(20) <= 1 || x.abs_diff(39) <= 1;
        let near_y = y.abs_diff(17) <= 1 || y.abs_diff(32) <= 1;
        assert!(
            (near_x && (16..=33).contains(&y)) || (near_y && (19..=40).contains(&x)),
            "({x}, {y})"
        );
    }
    // ...and run along every side.
    for x in 23..37 {
        assert!(
            black
                .iter()
                .any(|&(bx, by)| bx == x && by.abs_diff(17) <= 1)
        );
        assert!(
            black
                .iter()
                .any(|&(bx, by)| bx == x && by.abs_diff(32) <= 1)
        );
    }
    for y in 20..30 {
        assert!(
            black
                .iter()
                .any(|&(bx, by)| by == y && bx.abs_diff(20) <= 1)
        );
        assert!(
            black
                .iter()
                .any(|&(bx, by)| by == y && bx.abs_diff(39) <= 1)
        );
    }
}

#[test]
fn options_and_errors_follow_the_original() {
    let o = opts(&["-c", "-t", "30", "-d", "-1", "-q"]);
    assert_eq!(
        (
            o.mode,
            o.brightness_threshold,
            o.three_by_three,
            o.susan_quick
        ),
        (Mode::Corners, 30, true, true)
    );
    assert_eq!(opts(&["-p"]).mode, Mode::Edges); // -p alone means edges
    assert_eq!(opts(&["-x"]), Options::default()); // unknown letters are ignored
    assert_eq!(Options::from_args(&["e"]), Err(Error::Usage));
    assert_eq!(
        Options::from_args(&["-t"]),
        Err(Error::MissingArgument('t'))
    );
    let small = write_pgm(&image(8, 8, |x, _| x as u8));
    assert_eq!(
        run(&small, &["-s"]),
        Err(Error::MaskTooBig { mask_size: 7 })
    );
    assert_eq!(
        run(&generated_small_input(), &["-d", "16"]),
        Err(Error::DistanceTooBig(16.0))
    );
    assert_eq!(run(b"P6\n1 1\n255\n\0", &["-s"]), Err(Error::NotBinaryPgm));
    assert_eq!(run(b"P5\n4 4\n255\n\0\0", &["-s"]), Err(Error::WrongSize));
    // Comments anywhere in the header are skipped.
    let img = read_pgm(b"P5\n# a\n2 # b\n# c\n1\n255\n\x07\x09").unwrap();
    assert_eq!((img.width, img.height, img.pixels), (2, 1, vec![7, 9]));
}

#[test]
fn small_outputs_match_the_original() {
    let Some(dir) = mibench_common::originals_or_skip(env!("CARGO_MANIFEST_DIR")) else {
        return;
    };
    let input = std::fs::read(dir.join("inputs/susan_input_small.pgm")).unwrap();
    for (flag, name) in [("-s", "smoothing"), ("-e", "edges"), ("-c", "corners")] {
        let want = std::fs::read(dir.join(format!("outputs/susan_small_{name}.pgm"))).unwrap();
        let got = run(&input, &[flag]).unwrap();
        assert!(
            got == want,
            "{name}: {} of {} bytes differ",
            got.iter().zip(&want).filter(|(a, b)| a != b).count(),
            want.len()
        );
    }
}
