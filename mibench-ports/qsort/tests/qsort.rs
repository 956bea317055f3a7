use mibench_qsort::{
    MAXARRAY, Vertex, compare_vertices, generated_large_input, generated_small_input, qsort,
    run_large, run_small, scan_int, vertices, words,
};
use std::cmp::Ordering;

/// The words printed after the header, checked for the header's count.
fn printed_words(out: &str) -> Vec<&str> {
    let body = out.strip_prefix("\nSorting ").unwrap();
    let (count, rest) = body.split_once(" elements.\n\n").unwrap();
    let words: Vec<&str> = rest.lines().collect();
    assert_eq!(count.parse::<usize>().unwrap(), words.len());
    assert!(rest.is_empty() || rest.ends_with('\n'));
    words
}

fn check_small(input: &[u8]) {
    let mut out = String::new();
    run_small(input, &mut out).unwrap();
    let got = printed_words(&out);
    // Sorted: each word is >= the next, bytewise.
    assert!(got.windows(2).all(|w| w[0].as_bytes() >= w[1].as_bytes()));
    // A permutation of the input's words.
    let mut a: Vec<&[u8]> = got.iter().map(|w| w.as_bytes()).collect();
    // C's isspace() also counts the vertical tab, which Rust's is_ascii_whitespace() does not.
    let c_space = |b: &u8| b" \t\n\x0b\x0c\r".contains(b);
    let mut b: Vec<&[u8]> = input.split(c_space).filter(|w| !w.is_empty()).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn small_sorts_words_descending() {
    check_small(b"pear Apple  apple\tbanana\n\nzebra apple Zebra 10 9 \x0bend");
    check_small(&generated_small_input());
    let mut out = String::new();
    run_small(b"b a c", &mut out).unwrap();
    assert_eq!(out, "\nSorting 3 elements.\n\nc\nb\na\n");
    run_small(b"", &mut out).unwrap();
}

#[test]
fn merge_sort_is_a_stable_sort() {
    let mut rand = mibench_common::GlibcRand::new(5);
    for len in [0, 1, 2, 3, 7, 100, 1000] {
        // Keys with many repeats; the index shows whether equal keys kept their order.
        let mut v: Vec<(i32, usize)> = (0..len).map(|i| (rand.rand() % 10, i)).collect();
        let mut want = v.clone();
        want.sort_by_key(|e| e.0); // std's sort is stable
        qsort(&mut v, |a, b| a.0.cmp(&b.0));
        assert_eq!(v, want);
    }
}

#[test]
fn large_sorts_vectors_by_distance() {
    let input = generated_large_input();
    assert_eq!(input.iter().filter(|&&b| b == b'\n').count(), 50_000);
    let mut out = String::new();
    run_large(&input, &mut out).unwrap();
    let header = "\nSorting 50000 vectors based on distance from the origin.\n\n";
    let body = out.strip_prefix(header).unwrap();
    let got: Vec<[i64; 3]> = body
        .lines()
        .map(|l| {
            let v: Vec<i64> = l.split(' ').map(|n| n.parse().unwrap()).collect();
            [v[0], v[1], v[2]]
        })
        .collect();
    // Distances (in exact integers) never decrease...
    let norm2 = |p: &[i64; 3]| p.iter().map(|&c| (c as i128) * (c as i128)).sum::<i128>();
    let d: Vec<f64> = got.iter().map(|p| (norm2(p) as f64).sqrt()).collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1] * (1.0 + 1e-15)));
    // ...and the output is a permutation of the input.
    let mut a = got.clone();
    let mut b: Vec<[i64; 3]> = vertices(&input)
        .iter()
        .map(|v| [v.x, v.y, v.z].map(i64::from))
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn equal_distances_keep_input_order() {
    let mut out = String::new();
    run_large(b"3 4 0\n0 0 5\n1 1 1\n-5 0 0\n4 -3 0\n", &mut out).unwrap();
    let body = out.split("\n\n").nth(1).unwrap();
    assert_eq!(body, "1 1 1\n3 4 0\n0 0 5\n-5 0 0\n4 -3 0\n");
    assert_eq!(
        compare_vertices(&Vertex::new(3, 4, 0), &Vertex::new(0, -5, 0)),
        Ordering::Equal
    );
}

#[test]
fn reading_follows_fscanf() {
    assert_eq!(scan_int(b"  -12x"), Some((-12, &b"x"[..])));
    assert_eq!(scan_int(b"\n+7"), Some((7, &b""[..])));
    assert_eq!(scan_int(b"4294967295"), Some((-1, &b""[..]))); // long, then its low 32 bits
    assert_eq!(scan_int(b" - 1"), None);
    assert_eq!(scan_int(b""), None);
    // An incomplete triple ends the input.
    assert_eq!(vertices(b"1 2 3\n4 5 6\n7 8").len(), 2);
    assert_eq!(vertices(b"1 2 3 x 4 5 6").len(), 1);
    let many = "1 ".repeat(3 * MAXARRAY + 3);
    assert_eq!(vertices(many.as_bytes()).len(), MAXARRAY);
    assert_eq!(words("a ".repeat(MAXARRAY + 1).as_bytes()).len(), MAXARRAY);
    assert_eq!(words(b"ab\0c d"), [&b"ab"[..], b"d"]);
}

#[test]
fn generated_small_input_is_like_mibench_s() {
    let input = generated_small_input();
    assert_eq!(words(&input).len(), 10_000);
    assert!((45_000..62_000).contains(&input.len()), "{}", input.len());
    assert_eq!(input, generated_small_input()); // deterministic
}

#[test]
fn small_output_matches_the_original() {
    let Some(dir) = mibench_common::originals_or_skip(env!("CARGO_MANIFEST_DIR")) else {
        return;
    };
    let input = std::fs::read(dir.join("inputs/qsort_input_small.dat")).unwrap();
    let want = std::fs::read_to_string(dir.join("outputs/qsort_small.txt")).unwrap();
    let mut got = String::new();
    run_small(&input, &mut got).unwrap();
    assert_eq!(got, want);
    check_small(&input);
}
