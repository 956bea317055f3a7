//! MiBench telecomm/adpcm: `rawcaudio` (encode, default) or `rawdaudio` (`decode`).
#![no_std]
#![no_main]
mibench::program!("adpcm");
