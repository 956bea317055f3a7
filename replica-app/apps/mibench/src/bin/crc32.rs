//! MiBench telecomm/CRC32 (`crc small.pcm`).
#![no_std]
#![no_main]
romain_replica::main!(main);

fn main() -> i32 {
    mibench::main("crc32", |run, out| {
        let input = run.input(
            mibench::embedded_input!("crc32"),
            mibench_crc32::generated_small_input,
            mibench_crc32::generated_large_input,
        );
        let name = if run.large { "large.pcm" } else { "small.pcm" };
        mibench_crc32::run(&input, name, mibench_crc32::DataModel::Lp64, out)
    })
}
