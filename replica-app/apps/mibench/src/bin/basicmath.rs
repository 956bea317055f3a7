//! MiBench automotive/basicmath (`basicmath_small`, or `large`).
#![no_std]
#![no_main]
romain_replica::main!(main);

fn main() -> i32 {
    mibench::main("basicmath", |run, out| {
        if run.large {
            mibench_basicmath::run_large(out)
        } else {
            mibench_basicmath::run_small(out)
        }
    })
}
