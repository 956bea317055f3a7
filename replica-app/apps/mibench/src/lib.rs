//! What every MiBench replica program does around its port: pick the input (embedded file or
//! generated), read the arguments, print the program's output through the master, and end with
//! one line that identifies the whole output: `checksum: fnv1a 0x... bytes N`.
#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use mibench_common::Checksum;
use romain_replica::{Console, args, println};

/// Embeds the file MIBENCH_INPUT_<PROGRAM> named at build time (empty when none).
#[macro_export]
macro_rules! embedded_input {
    ($program:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $program, ".input"))
    };
}

/// The run's arguments and input.
pub struct Run {
    pub args: Vec<String>,
    /// Whether `large` was asked for (MiBench's large input set).
    pub large: bool,
}

impl Run {
    pub fn new() -> Self {
        let args = args();
        let large = args.iter().any(|a| a == "large");
        Run { args, large }
    }

    /// The argument at `index` other than `large`, if any.
    pub fn arg(&self, index: usize) -> Option<&str> {
        self.args.iter().filter(|a| *a != "large").nth(index).map(String::as_str)
    }

    /// The embedded input if there is one, otherwise the generated small or large input.
    pub fn input(
        &self,
        embedded: &'static [u8],
        small: fn() -> Vec<u8>,
        large: fn() -> Vec<u8>,
    ) -> Vec<u8> {
        if !embedded.is_empty() {
            embedded.to_vec()
        } else if self.large {
            large()
        } else {
            small()
        }
    }
}

impl Default for Run {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a program prints: through the master, checksummed.
pub type Out = Checksum<Console>;

/// Runs `body` with an output that is printed through the master and checksummed; prints the
/// checksum line; returns the exit code (1 when `body` fails).
pub fn main(program: &str, body: impl FnOnce(&Run, &mut Out) -> fmt::Result) -> i32 {
    let run = Run::new();
    let mut out = Checksum::new(Console::new());
    let result = body(&run, &mut out);
    out.inner.flush();
    println!("checksum: fnv1a {:#018x} bytes {}", out.hash(), out.bytes());
    match result {
        Ok(()) => 0,
        Err(_) => {
            println!("{program}: failed");
            1
        }
    }
}
