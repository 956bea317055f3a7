//! MiBench network/dijkstra, ported to `no_std` Rust.
//!
//! The original (`dijkstra_small input.dat`, `dijkstra_large input.dat`) reads a 100 x 100
//! adjacency matrix of integer edge costs (9999 meaning "no edge") and, for path `i` of 20
//! (small) or 100 (large), finds the cheapest path from node `i` to node `(50 + i) % 100`,
//! printing `Shortest path is C in cost. Path is:  n0 n1 ... nk`. Both programs read the same
//! `input.dat`; [`run`] takes the number of paths.
//!
//! "Dijkstra" here is, as in the original, a label-correcting search with a plain FIFO queue (a
//! node is queued again whenever its distance improves), not a priority-queue Dijkstra. The queue
//! is kept as the original keeps it, a singly linked list with one allocation per entry that
//! `enqueue` walks to the end, so the port does the same work.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt::{self, Write};
use mibench_common::GlibcRand;

pub const NUM_NODES: usize = 100;
/// "No edge" in the matrix, and "no distance / no predecessor yet" in the search.
pub const NONE: i32 = 9999;
/// Paths `dijkstra_small` finds.
pub const SMALL_PATHS: usize = 20;
/// Paths `dijkstra_large` finds.
pub const LARGE_PATHS: usize = 100;

/// The adjacency matrix, row-major: `cost(i, j)` is the cost of the edge from `i` to `j`.
pub struct AdjMatrix(Vec<i32>);

impl AdjMatrix {
    /// Reads `NUM_NODES * NUM_NODES` integers as the original's `fscanf(fp, "%d", &k)` loop
    /// does: where no number can be read (the file ends early or has junk), `k` keeps its last
    /// value (the original's uninitialised `k` is taken as 0 before the first).
    pub fn parse(input: &[u8]) -> Self {
        let mut rest = input;
        let mut k = 0;
        let mut cells = Vec::with_capacity(NUM_NODES * NUM_NODES);
        for _ in 0..NUM_NODES * NUM_NODES {
            if let Some((v, r)) = scan_int(rest) {
                k = v;
                rest = r;
            }
            cells.push(k);
        }
        AdjMatrix(cells)
    }

    pub fn cost(&self, from: usize, to: usize) -> i32 {
        self.0[from * NUM_NODES + to]
    }
}

use mibench_common::scan_int;

/// A `QITEM`: a queued node with the distance it was queued with (the original also keeps the
/// predecessor there, and never reads it).
struct QItem {
    node: usize,
    dist: i32,
    next: Option<Box<QItem>>,
}

/// The original's queue: a singly linked list from `head`.
#[derive(Default)]
struct Queue {
    head: Option<Box<QItem>>,
}

impl Queue {
    /// Appends at the tail, found by walking the list from the head.
    fn enqueue(&mut self, node: usize, dist: i32) {
        let mut slot = &mut self.head;
        while let Some(item) = slot {
            slot = &mut item.next;
        }
        *slot = Some(Box::new(QItem {
            node,
            dist,
            next: None,
        }));
    }

    fn dequeue(&mut self) -> Option<(usize, i32)> {
        let item = self.head.take()?;
        self.head = item.next;
        Some((item.node, item.dist))
    }
}

/// For every node, the best known distance from the start and the node before it on that path
/// (`NONE` where there is none).
#[derive(Clone, Copy)]
pub struct Node {
    pub dist: i32,
    pub prev: i32,
}

/// The search of `dijkstra(chStart, chEnd)`: distances and predecessors of all nodes from
/// `start`. Edge costs are expected not to be negative (with a negative cycle the original
/// never ends, and so does this).
pub fn search(adj: &AdjMatrix, start: usize) -> [Node; NUM_NODES] {
    let mut nodes = [Node {
        dist: NONE,
        prev: NONE,
    }; NUM_NODES];
    nodes[start].dist = 0;
    let mut queue = Queue::default();
    queue.enqueue(start, 0);
    while let Some((node, dist)) = queue.dequeue() {
        for (i, n) in nodes.iter_mut().enumerate() {
            let cost = adj.cost(node, i);
            if cost == NONE {
                continue;
            }
            // The original's int arithmetic; wrapping where C would overflow.
            let via = cost.wrapping_add(dist);
            if n.dist == NONE || n.dist > via {
                n.dist = via;
                n.prev = node as i32;
                queue.enqueue(i, via);
            }
        }
    }
    nodes
}

/// The nodes of the path that ends at `end`, from its start, following the predecessors (at most
/// `NUM_NODES` of them: the original would recurse forever on a cycle).
pub fn path(nodes: &[Node; NUM_NODES], end: usize) -> Vec<usize> {
    let mut p = alloc::vec![end];
    let mut at = end;
    while nodes[at].prev != NONE && p.len() < NUM_NODES {
        at = nodes[at].prev as usize;
        p.push(at);
    }
    p.reverse();
    p
}

/// `dijkstra(start, end)`: finds and prints the cheapest path from `start` to `end`.
pub fn dijkstra(adj: &AdjMatrix, start: usize, end: usize, out: &mut impl Write) -> fmt::Result {
    if start == end {
        return out.write_str("Shortest path is 0 in cost. Just stay where you are.\n");
    }
    let nodes = search(adj, start);
    write!(out, "Shortest path is {} in cost. ", nodes[end].dist)?;
    out.write_str("Path is: ")?;
    for n in path(&nodes, end) {
        write!(out, " {n}")?;
    }
    out.write_str("\n")
}

/// The original's `main`: reads the matrix from `input` and prints `paths` shortest paths, from
/// node `i` to node `(NUM_NODES / 2 + i) % NUM_NODES` ([`SMALL_PATHS`] or [`LARGE_PATHS`]).
pub fn run(input: &[u8], paths: usize, out: &mut impl Write) -> fmt::Result {
    let adj = AdjMatrix::parse(input);
    for i in 0..paths {
        // Past 100 paths the original would index beyond its arrays; here the start wraps.
        dijkstra(&adj, i % NUM_NODES, (NUM_NODES / 2 + i) % NUM_NODES, out)?;
    }
    Ok(())
}

/// A stand-in for MiBench's `input.dat` (a 100 x 100 matrix of costs 0 to 100, every node
/// linked to every other, 29 KB), which both the small and the large run read: 10 000 values
/// `rand() % 101` from glibc `rand()` after `srand(4)`, each followed by a space, a row a line.
pub fn generated_input() -> Vec<u8> {
    let mut rand = GlibcRand::new(4);
    let mut text = alloc::string::String::new();
    for _ in 0..NUM_NODES {
        for _ in 0..NUM_NODES {
            // Writing to a String cannot fail.
            let _ = write!(text, "{} ", rand.rand() % 101);
        }
        text.push('\n');
    }
    text.into_bytes()
}

/// The input of the small run: [`generated_input`].
pub fn generated_small_input() -> Vec<u8> {
    generated_input()
}

/// The input of the large run: the same matrix, since MiBench's large run reads the same
/// `input.dat` and only asks for [`LARGE_PATHS`] paths instead of [`SMALL_PATHS`].
pub fn generated_large_input() -> Vec<u8> {
    generated_input()
}
