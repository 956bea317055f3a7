//! MiBench network/patricia (`patricia small.udp`, or `large`).
#![no_std]
#![no_main]
mibench::program!("patricia");
