//! MiBench office/stringsearch (`search_small`, or `large`).
#![no_std]
#![no_main]
romain_replica::main!(main);

fn main() -> i32 {
    mibench::main("stringsearch", |run, out| {
        let input = run.input(
            mibench::embedded_input!("stringsearch"),
            mibench_stringsearch::generated_small_input,
            mibench_stringsearch::generated_large_input,
        );
        mibench_stringsearch::run(&input, out)
    })
}
