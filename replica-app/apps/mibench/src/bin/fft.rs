//! MiBench telecomm/FFT: `fft WAVES SIZE [-i]`, by default `fft 4 4096` (the first small run).
#![no_std]
#![no_main]
mibench::program!("fft");
