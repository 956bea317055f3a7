//! The sample replica program: a little of everything a ported program does (printing, heap,
//! computation), with output that is easy to check: the primes below 10,000 and a sorted list.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use romain_replica::{Vec, println, vec};

/// Seed of the sorted sequence, in writable memory under a plain symbol name so that a fault can
/// be injected into it by name (`INJECT=mem:1:1:SEED:0`).
#[unsafe(no_mangle)]
static SEED: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);

romain_replica::main!(main);

fn main() -> i32 {
    println!("hello from a Romain replica");

    let primes = sieve(10_000);
    println!(
        "primes below 10000: {} (last {})",
        primes.len(),
        primes.last().copied().unwrap_or(0)
    );

    // A deterministic pseudo-random sequence (xorshift64), sorted on the heap.
    let mut x: u64 = SEED.load(Ordering::Relaxed);
    let mut values: Vec<u64> = (0..1000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % 100_000
        })
        .collect();
    values.sort_unstable();
    let checksum = values.iter().fold(romain_records::fnv::START, |h, &v| {
        romain_records::fnv::continue_with_word(h, v)
    });
    println!(
        "sorted 1000 values: min {} max {} fnv1a {:#018x}",
        values[0], values[999], checksum
    );
    println!("goodbye");
    0
}

fn sieve(limit: usize) -> Vec<usize> {
    let mut composite = vec![false; limit];
    let mut primes = Vec::new();
    for n in 2..limit {
        if !composite[n] {
            primes.push(n);
            (n * n..limit).step_by(n).for_each(|m| composite[m] = true);
        }
    }
    primes
}
