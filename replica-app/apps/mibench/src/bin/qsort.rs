//! MiBench automotive/qsort (`qsort_small input_small.dat`, or `large`: 3-D vectors).
#![no_std]
#![no_main]
mibench::program!("qsort");
