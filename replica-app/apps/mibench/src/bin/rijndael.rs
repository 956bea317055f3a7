//! MiBench security/rijndael: `e` (default) or `d` of the encrypted input, with the key of
#![no_std]
#![no_main]
mibench::program!("rijndael");
