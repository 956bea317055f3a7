//! MiBench office/stringsearch (`search_small`, or `large`).
#![no_std]
#![no_main]
mibench::program!("stringsearch");
