//! MiBench network/patricia (`patricia small.udp`, or `large`).
#![no_std]
#![no_main]
romain_replica::main!(main);

fn main() -> i32 {
    mibench::main("patricia", |run, out| {
        let input = run.input(
            mibench::embedded_input!("patricia"),
            mibench_patricia::generated_small_input,
            mibench_patricia::generated_large_input,
        );
        mibench_patricia::run(&input, out)
    })
}
