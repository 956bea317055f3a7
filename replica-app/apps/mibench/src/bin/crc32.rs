//! MiBench telecomm/CRC32 (`crc small.pcm`).
#![no_std]
#![no_main]
mibench::program!("crc32");
