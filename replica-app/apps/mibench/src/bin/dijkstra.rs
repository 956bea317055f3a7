//! MiBench network/dijkstra (`dijkstra_small input.dat`, or `large`).
#![no_std]
#![no_main]
romain_replica::main!(main);

fn main() -> i32 {
    mibench::main("dijkstra", |run, out| {
        let input = run.input(
            mibench::embedded_input!("dijkstra"),
            mibench_dijkstra::generated_small_input,
            mibench_dijkstra::generated_large_input,
        );
        let paths = if run.large { mibench_dijkstra::LARGE_PATHS } else { mibench_dijkstra::SMALL_PATHS };
        mibench_dijkstra::run(&input, paths, out)
    })
}
