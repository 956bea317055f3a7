//! MiBench automotive/basicmath (`basicmath_small`, or `large`).
#![no_std]
#![no_main]
mibench::program!("basicmath");
