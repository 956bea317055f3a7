use mibench_stringsearch::{
    LARGE_PAIRS, SMALL_PAIRS, Searcher, generated_large_input, generated_small_input, parse_input,
    run, run_pairs,
};

/// The first occurrence, the slow way.
fn naive(find: &[u8], text: &[u8]) -> Option<usize> {
    if find.is_empty() {
        // strsearch never finds an empty word (its start position wraps around).
        return None;
    }
    text.windows(find.len()).position(|w| w == find)
}

#[test]
fn agrees_with_a_naive_search() {
    // A small alphabet makes near-misses, repeated letters and overlaps common.
    let mut x = 0x1234_5678u32;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for _ in 0..20_000 {
        let text: Vec<u8> = (0..next() % 40)
            .map(|_| b"aabc"[next() as usize % 4])
            .collect();
        let find: Vec<u8> = (0..next() % 6)
            .map(|_| b"aabc"[next() as usize % 4])
            .collect();
        assert_eq!(
            Searcher::new(&find).find(&text),
            naive(&find, &text),
            "{:?} in {:?}",
            String::from_utf8_lossy(&find),
            String::from_utf8_lossy(&text)
        );
    }
    // And over the generated lists.
    let input = String::from_utf8(generated_large_input()).unwrap();
    for (find, search) in parse_input(&input) {
        let (f, s) = (find.as_bytes(), search.as_bytes());
        assert_eq!(
            Searcher::new(f).find(s),
            naive(f, s),
            "{find:?} in {search:?}"
        );
    }
}

#[test]
fn output_format() {
    let mut out = String::new();
    run_pairs(
        &[("abb", "cabbie"), ("not", "It isn't here"), ("", "x")],
        &mut out,
    )
    .unwrap();
    assert_eq!(
        out,
        "\"abb\" is in \"cabbie\" [\"abbie\"]\n\
         \"not\" is not in \"It isn't here\"\n\
         \"\" is not in \"x\"\n"
    );
    let mut out = String::new();
    run(b"oo\tyoohoo\nxx\n", &mut out).unwrap();
    assert_eq!(
        out,
        "\"oo\" is in \"yoohoo\" [\"oohoo\"]\n\"xx\" is not in \"\"\n"
    );
    assert!(run(b"\xff\tx\n", &mut String::new()).is_err());
}

#[test]
fn generated_inputs_have_the_original_pair_counts() {
    let small = String::from_utf8(generated_small_input()).unwrap();
    let pairs = parse_input(&small);
    assert_eq!(pairs.len(), SMALL_PAIRS);
    let large = String::from_utf8(generated_large_input()).unwrap();
    let pairs = parse_input(&large);
    assert_eq!(pairs.len(), LARGE_PAIRS);
    // Most words are found, some are not, as in the originals.
    let found = pairs
        .iter()
        .filter(|(f, s)| Searcher::new(f.as_bytes()).find(s.as_bytes()).is_some())
        .count();
    assert!(found > LARGE_PAIRS / 2 && found < LARGE_PAIRS, "{found}");
    let mean_phrase = pairs.iter().map(|(_, s)| s.len()).sum::<usize>() / pairs.len();
    assert!((15..45).contains(&mean_phrase), "{mean_phrase}");
    assert!(pairs.iter().all(|(f, _)| !f.is_empty()));
}

/// Recovers the (word, phrase) pairs from an output of the original: they are compiled into
/// the C program, and this repository does not carry them.
fn pairs_of_output(output: &str) -> Vec<(String, String)> {
    output
        .lines()
        .map(|line| {
            let line = line.strip_prefix('"').unwrap();
            if let Some((find, rest)) = line.split_once("\" is not in \"") {
                (find.into(), rest.strip_suffix('"').unwrap().into())
            } else {
                let (find, rest) = line.split_once("\" is in \"").unwrap();
                let (search, _) = rest.split_once("\" [\"").unwrap();
                (find.into(), search.into())
            }
        })
        .collect()
}

#[test]
fn small_output_matches_the_original() {
    let Some(dir) = mibench_common::originals_or_skip(env!("CARGO_MANIFEST_DIR")) else {
        return;
    };
    let want = std::fs::read_to_string(dir.join("outputs/stringsearch_small.txt")).unwrap();
    let pairs = pairs_of_output(&want);
    assert_eq!(pairs.len(), SMALL_PAIRS);
    // Fed back through the input format, the port must print the same lines: which words are
    // found and, byte for byte, where.
    let input: String = pairs.iter().map(|(f, s)| format!("{f}\t{s}\n")).collect();
    let mut got = String::new();
    run(input.as_bytes(), &mut got).unwrap();
    assert_eq!(got, want);
}
