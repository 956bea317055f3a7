//! What every MiBench replica program does around its port (`mibench-suite`): read the
//! arguments, take the embedded input file if the image has one, print the program's output
//! through the master, and end with one line that identifies the whole output:
//! `checksum: fnv1a 0x... bytes N` (the host computes the same line, see the system tests).
#![no_std]

extern crate alloc;

use alloc::vec::Vec;

use mibench_common::Checksum;
use romain_replica::{Console, args, micros, println};

/// Embeds the file MIBENCH_INPUT_<PROGRAM> named at build time (empty when none).
#[macro_export]
macro_rules! embedded_input {
    ($program:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $program, ".input"))
    };
}

/// Declares the replica program that runs MiBench program `$program`.
#[macro_export]
macro_rules! program {
    ($program:literal) => {
        romain_replica::main!(main);
        fn main() -> i32 {
            $crate::run($program, $crate::embedded_input!($program))
        }
    };
}

/// Runs `program` on `embedded` input (empty: generated); returns the exit code.
pub fn run(program: &str, embedded: &[u8]) -> i32 {
    let arguments = args();
    let arguments: Vec<&str> = arguments.iter().map(|a| a.as_str()).collect();
    let mut out = Checksum::new(Console::new());
    let result = mibench_suite::run(program, &arguments, embedded, &mut micros, &mut out);
    out.inner.flush();
    let mut console = Console::new();
    let _ = mibench_suite::write_checksum_line(out.hash(), out.bytes(), &mut console);
    console.flush();
    match result {
        Ok(()) => 0,
        Err(e) => {
            println!("{program}: {e:?}");
            1
        }
    }
}
