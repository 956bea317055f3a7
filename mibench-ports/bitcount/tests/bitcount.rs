use mibench_bitcount::counters::{bit_count, bit_shifter, ntbl_bitcnt};
use mibench_bitcount::{METHODS, atoi, generated_large_input, generated_small_input, run};

fn values() -> Vec<u32> {
    let mut v = vec![
        0,
        1,
        2,
        3,
        0x8000_0000,
        0x7fff_ffff,
        u32::MAX,
        0xaaaa_aaaa,
        0x0f0f_0f0f,
    ];
    let mut x = 0x9e37_79b9u32;
    for _ in 0..100_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push(x);
        v.push(x >> (x % 32));
    }
    v
}

#[test]
fn every_method_agrees_with_count_ones() {
    for v in values() {
        for (name, count) in METHODS {
            assert_eq!(
                count(i64::from(v)),
                v.count_ones() as i32,
                "{name} of {v:#x}"
            );
        }
    }
}

/// Three methods look at the whole 64-bit `long`; the others at its low 32 bits.
#[test]
fn widths_of_the_methods() {
    let x: i64 = 0x0123_4567_89ab_cdef;
    for count in [bit_count, ntbl_bitcnt, bit_shifter] {
        assert_eq!(count(x), x.count_ones() as i32);
    }
    assert_eq!(bit_count(-1), 64);
    assert_eq!(bit_shifter(-1), 64);
    for (name, count) in &METHODS[1..6] {
        if *name != "Recursive bit count by nybbles" {
            assert_eq!(count(x), (x as u32).count_ones() as i32, "{name}");
        }
    }
}

#[test]
fn atoi_like_c() {
    assert_eq!(atoi(b"75000"), 75000);
    assert_eq!(atoi(b"  +12x"), 12);
    assert_eq!(atoi(b"-7"), -7);
    assert_eq!(atoi(b"x1"), 0);
    assert_eq!(atoi(b""), 0);
    assert_eq!(generated_small_input(), b"75000");
    assert_eq!(generated_large_input(), b"1125000");
}

/// The Bits totals, computed without the port: seven glibc rand() values (the first outputs
/// after srand(1)), each the start of `iterations` numbers 13 apart.
fn expected_bits(iterations: i64) -> Vec<i64> {
    [
        1804289383i64,
        846930886,
        1681692777,
        1714636915,
        1957747793,
        424238335,
        719885386,
    ]
    .iter()
    .map(|&seed| {
        (0..iterations)
            .map(|j| i64::from((seed + 13 * j).count_ones()))
            .sum()
    })
    .collect()
}

#[test]
fn output_with_a_fake_clock() {
    // Each method "takes" a different time: 5, 1, 3, 7, 2, 6, 4 ms.
    let mut ticks = [0u64, 5, 5, 6, 6, 9, 9, 16, 16, 18, 18, 24, 24, 28].into_iter();
    let mut clock = || ticks.next().unwrap() * 1000;
    let mut out = String::new();
    run(b"1000", &mut clock, &mut out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Bit counter algorithm benchmark");
    assert_eq!(lines[1], "");
    let bits = expected_bits(1000);
    assert_eq!(
        lines[2],
        format!(
            "Optimized 1 bit/loop counter          > Time:   0.005 sec.; Bits: {}",
            bits[0]
        )
    );
    for (i, line) in lines[2..9].iter().enumerate() {
        assert!(line.ends_with(&format!("; Bits: {}", bits[i])), "{line}");
    }
    assert_eq!(lines[9], "");
    assert_eq!(lines[10], "Best  > Ratko's mystery algorithm");
    assert_eq!(lines[11], "Worst > Non-recursive bit count by nybbles");
    assert_eq!(lines.len(), 12);
}

/// The output with the varying part of each "Time:" field blanked, and without the Best/Worst
/// lines, which follow from the times.
fn timeless(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| !l.starts_with("Best") && !l.starts_with("Worst"))
        .map(|l| match (l.find("Time:"), l.find(" sec.;")) {
            (Some(a), Some(b)) => format!("{}Time: <t>{}", &l[..a], &l[b..]),
            _ => l.to_string(),
        })
        .collect()
}

#[test]
fn small_output_matches_the_original() {
    let Some(dir) = mibench_common::originals_or_skip(env!("CARGO_MANIFEST_DIR")) else {
        return;
    };
    let want = std::fs::read_to_string(dir.join("outputs/bitcount_75000.txt")).unwrap();
    let mut out = String::new();
    run(&generated_small_input(), &mut || 0, &mut out).unwrap();
    assert_eq!(timeless(&out), timeless(&want));
    // The Best/Worst lines exist and name methods.
    let names: Vec<&str> = METHODS.iter().map(|m| m.0).collect();
    for prefix in ["Best  > ", "Worst > "] {
        let line = want.lines().find(|l| l.starts_with(prefix)).unwrap();
        assert!(names.contains(&&line[prefix.len()..]));
        assert!(out.lines().any(|l| l.starts_with(prefix)));
    }
    // And the totals are the independently computed ones.
    for (line, bits) in want.lines().skip(2).zip(expected_bits(75_000)) {
        assert!(line.ends_with(&format!("; Bits: {bits}")), "{line}");
    }
}
