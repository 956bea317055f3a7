//! MiBench automotive/qsort (`qsort_small input_small.dat`, or `large`: 3-D vectors).
#![no_std]
#![no_main]
romain_replica::main!(main);

fn main() -> i32 {
    mibench::main("qsort", |run, out| {
        let input = run.input(
            mibench::embedded_input!("qsort"),
            mibench_qsort::generated_small_input,
            mibench_qsort::generated_large_input,
        );
        if run.large {
            mibench_qsort::run_large(&input, out)
        } else {
            mibench_qsort::run_small(&input, out)
        }
    })
}
