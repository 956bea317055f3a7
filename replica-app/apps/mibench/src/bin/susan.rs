//! MiBench automotive/susan: `-s` smoothing (default), `-e` edges or `-c` corners of a PGM image;
#![no_std]
#![no_main]
mibench::program!("susan");
