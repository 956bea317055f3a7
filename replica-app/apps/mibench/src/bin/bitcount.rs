//! MiBench automotive/bitcount (`bitcnts 75000`, or `large` / an iteration count). Its Time
#![no_std]
#![no_main]
mibench::program!("bitcount");
