use mibench_dijkstra::{
    AdjMatrix, LARGE_PATHS, NONE, NUM_NODES, SMALL_PATHS, dijkstra, generated_input, run, search,
};

/// All-pairs shortest distances by Floyd–Warshall (`None`: unreachable), independent of the port.
fn floyd_warshall(adj: &AdjMatrix) -> Vec<Vec<Option<i64>>> {
    let mut d: Vec<Vec<Option<i64>>> = (0..NUM_NODES)
        .map(|i| {
            (0..NUM_NODES)
                .map(|j| {
                    let c = adj.cost(i, j);
                    if i == j {
                        Some(0)
                    } else if c == NONE {
                        None
                    } else {
                        Some(c as i64)
                    }
                })
                .collect()
        })
        .collect();
    for k in 0..NUM_NODES {
        for i in 0..NUM_NODES {
            for j in 0..NUM_NODES {
                let via = d[i][k].zip(d[k][j]).map(|(a, b)| a + b);
                if let Some(via) = via.filter(|&v| d[i][j].is_none_or(|c| v < c)) {
                    d[i][j] = Some(via);
                }
            }
        }
    }
    d
}

/// Checks every line of `run(input, paths)` against Floyd–Warshall: the cost is the shortest
/// distance, and the path runs from start to end along edges whose costs add up to it.
fn check_paths(input: &[u8], paths: usize) {
    let adj = AdjMatrix::parse(input);
    let fw = floyd_warshall(&adj);
    let mut out = String::new();
    run(input, paths, &mut out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), paths);
    for (i, line) in lines.iter().enumerate() {
        let (start, end) = (i % NUM_NODES, (50 + i) % NUM_NODES);
        let rest = line.strip_prefix("Shortest path is ").unwrap();
        let (cost, rest) = rest.split_once(" in cost. Path is:  ").unwrap();
        let cost: i64 = cost.parse().unwrap();
        let path: Vec<usize> = rest.split(' ').map(|n| n.parse().unwrap()).collect();
        match fw[start][end] {
            None => assert_eq!((cost, path.as_slice()), (NONE as i64, &[end][..]), "{line}"),
            Some(best) => {
                assert_eq!(cost, best, "{line}");
                assert_eq!((path[0], *path.last().unwrap()), (start, end), "{line}");
                let sum: i64 = path.windows(2).map(|e| adj.cost(e[0], e[1]) as i64).sum();
                assert!(path.windows(2).all(|e| adj.cost(e[0], e[1]) != NONE));
                assert_eq!(sum, best, "{line}");
            }
        }
    }
}

#[test]
fn paths_are_shortest_on_the_generated_matrix() {
    let input = generated_input();
    assert_eq!(input.iter().filter(|&&b| b == b'\n').count(), NUM_NODES);
    check_paths(&input, SMALL_PATHS);
    check_paths(&input, LARGE_PATHS);
}

#[test]
fn sparse_matrix_with_unreachable_nodes() {
    // A ring 0 -> 1 -> ... -> 99 -> 0 of cost 1, a few chords, and node 75 cut off.
    let mut m = vec![vec![NONE; NUM_NODES]; NUM_NODES];
    for i in 0..NUM_NODES {
        m[i][(i + 1) % NUM_NODES] = 1;
    }
    m[3][40] = 5;
    m[10][60] = 3;
    m[74][75] = NONE;
    let text: String = m
        .iter()
        .map(|row| row.iter().map(|c| format!("{c} ")).collect::<String>() + "\n")
        .collect();
    check_paths(text.as_bytes(), LARGE_PATHS);
    let nodes = search(&AdjMatrix::parse(text.as_bytes()), 0);
    assert_eq!(nodes[75].dist, NONE);
    assert_eq!(nodes[60].dist, 10 + 3);
}

#[test]
fn start_equal_to_end_and_short_input() {
    let mut out = String::new();
    dijkstra(&AdjMatrix::parse(&generated_input()), 7, 7, &mut out).unwrap();
    assert_eq!(
        out,
        "Shortest path is 0 in cost. Just stay where you are.\n"
    );
    // fscanf leaves k as it was where the file has no more numbers.
    let adj = AdjMatrix::parse(b"5 6 7");
    assert_eq!(
        (adj.cost(0, 2), adj.cost(0, 3), adj.cost(99, 99)),
        (7, 7, 7)
    );
}

#[test]
fn small_output_matches_the_original() {
    let Some(dir) = mibench_common::originals_or_skip(env!("CARGO_MANIFEST_DIR")) else {
        return;
    };
    let input = std::fs::read(dir.join("inputs/dijkstra_input.dat")).unwrap();
    let want = std::fs::read_to_string(dir.join("outputs/dijkstra_small.txt")).unwrap();
    let mut got = String::new();
    run(&input, SMALL_PATHS, &mut got).unwrap();
    assert_eq!(got, want);
    check_paths(&input, LARGE_PATHS);
}
