//! MiBench security/sha (`sha input_small.asc`), as the 64-bit build of the original prints it.
#![no_std]
#![no_main]
romain_replica::main!(main);

fn main() -> i32 {
    mibench::main("sha", |run, out| {
        let input = run.input(
            mibench::embedded_input!("sha"),
            mibench_sha::generated_small_input,
            mibench_sha::generated_large_input,
        );
        mibench_sha::run(&input, mibench_sha::Build::LP64, out)
    })
}
