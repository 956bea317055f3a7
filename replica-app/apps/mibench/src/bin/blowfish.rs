//! MiBench security/blowfish: `bf e` (default) or `bf d` of the encrypted input, with the key of
#![no_std]
#![no_main]
mibench::program!("blowfish");
