//! MiBench automotive/bitcount (`bitcnts 75000`, or `large` / an iteration count). Its Time
//! columns come from the master's replicated clock, so every replica prints the same.
#![no_std]
#![no_main]
romain_replica::main!(main);

fn main() -> i32 {
    mibench::main("bitcount", |run, out| {
        let iterations = match run.arg(0) {
            Some(n) => n.as_bytes().to_vec(),
            None if run.large => mibench_bitcount::LARGE_ITERATIONS.to_vec(),
            None => mibench_bitcount::SMALL_ITERATIONS.to_vec(),
        };
        mibench_bitcount::run(&iterations, &mut romain_replica::micros, out)
    })
}
