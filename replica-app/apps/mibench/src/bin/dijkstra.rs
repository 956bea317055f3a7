//! MiBench network/dijkstra (`dijkstra_small input.dat`, or `large`).
#![no_std]
#![no_main]
mibench::program!("dijkstra");
