//! MiBench security/sha (`sha input_small.asc`), as the 64-bit build of the original prints it.
#![no_std]
#![no_main]
mibench::program!("sha");
