//! MiBench telecomm/FFT: `fft WAVES SIZE [-i]`, by default `fft 4 4096` (the first small run).
#![no_std]
#![no_main]
romain_replica::main!(main);

fn main() -> i32 {
    mibench::main("fft", |run, out| {
        let (small_waves, small_size, _) = mibench_fft::SMALL_RUNS[0];
        let waves = run.arg(0).and_then(|a| a.parse().ok()).unwrap_or(small_waves);
        let size = run.arg(1).and_then(|a| a.parse().ok()).unwrap_or(small_size);
        let inverse = run.arg(2) == Some("-i");
        mibench_fft::run(waves, size, inverse, out).map_err(|_| core::fmt::Error)
    })
}
