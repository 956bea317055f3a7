//! MiBench automotive/susan: `-s` smoothing (default), `-e` edges or `-c` corners of a PGM image;
//! prints the output image's size and checksum (it is binary).
#![no_std]
#![no_main]
use core::fmt::Write as _;
romain_replica::main!(main);

fn main() -> i32 {
    mibench::main("susan", |run, out| {
        let input = run.input(
            mibench::embedded_input!("susan"),
            mibench_susan::generated_small_input,
            mibench_susan::generated_large_input,
        );
        let mode = run.arg(0).unwrap_or("-s");
        let image = mibench_susan::run(&input, &[mode]).map_err(|_| core::fmt::Error)?;
        writeln!(
            out,
            "susan {mode}: {} bytes, fnv1a {:#018x}",
            image.len(),
            mibench_common::fnv1a(&image)
        )
    })
}
