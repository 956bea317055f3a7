use mibench_common::GlibcRand;
use mibench_patricia::{
    Patricia, generated_large_input, generated_small_input, run, scan_float, scan_int,
};

/// Longest-prefix match by brute force: the most specific (key, mask) route covering `addr`.
fn naive_lpm(routes: &[(u32, u32)], addr: u32) -> (u32, u32) {
    *routes
        .iter()
        .filter(|(k, m)| addr & m == *k)
        .max_by_key(|(_, m)| m.count_ones())
        .unwrap()
}

fn prefix_mask(len: u32) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - len) }
}

#[test]
fn host_routes_agree_with_naive_longest_prefix_match() {
    // The benchmark's use: host routes (/32) under the default route.
    let mut rand = GlibcRand::new(11);
    let mut trie = Patricia::new();
    let mut routes = vec![(0, 0)];
    for _ in 0..3000 {
        // Small numbers as in the traces, and full 32-bit ones (top bit included).
        let key = if rand.rand() % 2 == 0 {
            rand.rand() as u32 % 5000
        } else {
            (rand.rand() as u32) << 1 | 1
        };
        trie.insert(key, u32::MAX);
        if !routes.contains(&(key, u32::MAX)) {
            routes.push((key, u32::MAX));
        }
    }
    for (i, &(k, _)) in routes.clone().iter().enumerate() {
        for addr in [k, k ^ 1, k.wrapping_add(7), i as u32, rand.rand() as u32] {
            let found = trie.search(addr).unwrap();
            let (key, mask) = naive_lpm(&routes, addr);
            assert_eq!(
                (found.key, *found.masks.last().unwrap()),
                (key, mask),
                "addr {addr:#x}"
            );
        }
    }
}

#[test]
fn nested_prefixes_agree_with_naive_longest_prefix_match() {
    // Routes whose prefixes nest along one path, each key different: 10.0.0.0/8 ... host.
    let mut trie = Patricia::new();
    let mut routes = vec![(0, 0)];
    for (key, len) in [
        (0x0a00_0000, 8),
        (0x0a01_0000, 16),
        (0x0a01_0200, 24),
        (0x0a01_0203, 32),
    ] {
        trie.insert(key, prefix_mask(len));
        routes.push((key, prefix_mask(len)));
    }
    for addr in [
        0x0a01_0203,
        0x0a01_0204,
        0x0a01_0300,
        0x0a02_0000,
        0x0b00_0000,
        0,
    ] {
        let found = trie.search(addr).unwrap();
        let (key, _) = naive_lpm(&routes, addr);
        assert_eq!(found.key, key, "addr {addr:#x}");
    }
}

#[test]
fn masks_of_one_key_are_kept_in_order() {
    let mut trie = Patricia::new();
    trie.insert(0x0a00_0000, prefix_mask(16));
    trie.insert(0x0a00_0000, prefix_mask(8));
    trie.insert(0x0a00_0000, prefix_mask(24));
    trie.insert(0x0a00_0000, prefix_mask(8)); // a mask the key already has
    let found = trie.search(0x0a00_0000).unwrap();
    assert_eq!(
        found.masks,
        [prefix_mask(8), prefix_mask(16), prefix_mask(24)]
    );
}

#[test]
fn driver_prints_repeated_addresses() {
    let trace = b"1.5 7 1 53 53\n2.25 8 1 53 53\n3.125 7 2 53 53\nnot a line\n4 0 0 0 0\n5 4294967295\n6 -1\n";
    let mut out = String::new();
    run(trace, &mut out).unwrap();
    // 7 is seen again; the bad line repeats the last (time, addr); 0 is the default route's key;
    // 4294967295 and -1 are the same 32 bits.
    assert_eq!(
        out,
        "3.125000 00000007: Found.\n3.125000 00000007: Found.\n4.000000 00000000: Found.\n\
         6.000000 ffffffff: Found.\n"
    );
}

#[test]
fn keys_differing_only_in_the_top_bit_stay_reachable() {
    // The case where the original shifts by a negative count (see `bit` in the crate); the port
    // keeps such keys findable.
    let mut trie = Patricia::new();
    for key in [5, 0x8000_0005, 0x8000_0000, 0x4000_0005] {
        trie.insert(key, u32::MAX);
    }
    for key in [5, 0x8000_0005, 0x8000_0000, 0x4000_0005] {
        assert_eq!(trie.search(key).unwrap().key, key);
    }
    assert_eq!(trie.search(0x8000_0001).unwrap().key, 0);
}

#[test]
fn scanning_follows_sscanf() {
    assert_eq!(
        scan_float(b" 759794400.242680 1"),
        Some((759794400.242680f32, &b" 1"[..]))
    );
    assert_eq!(scan_float(b"-.5e1x"), Some((-5.0, &b"x"[..])));
    assert_eq!(scan_float(b"2e+"), Some((2.0, &b"e+"[..])));
    assert_eq!(
        scan_float(b"INF 3").map(|(f, r)| (f.is_infinite(), r)),
        Some((true, &b" 3"[..]))
    );
    assert_eq!(scan_float(b". 1"), None);
    assert_eq!(scan_float(b""), None);
    assert_eq!(scan_int(b" 42 7"), Some((42, &b" 7"[..])));
    assert_eq!(scan_int(b"+x"), None);
}

/// The generated traces have MiBench's line counts and a similar share of repeated addresses.
#[test]
fn generated_traces_look_like_mibench_s() {
    for (input, lines) in [
        (generated_small_input(), 10_890),
        (generated_large_input(), 62_721),
    ] {
        assert_eq!(input.iter().filter(|&&b| b == b'\n').count(), lines);
        let mut out = String::new();
        run(&input, &mut out).unwrap();
        let found = out.lines().count();
        assert!(
            found > lines * 9 / 10 && found < lines,
            "{found} of {lines}"
        );
    }
}

#[test]
fn small_output_matches_the_original() {
    let Some(dir) = mibench_common::originals_or_skip(env!("CARGO_MANIFEST_DIR")) else {
        return;
    };
    let input = std::fs::read(dir.join("inputs/patricia_small.udp")).unwrap();
    let want = std::fs::read_to_string(dir.join("outputs/patricia_small.txt")).unwrap();
    let mut got = String::new();
    run(&input, &mut got).unwrap();
    assert_eq!(got, want);
}
