//! MiBench security/rijndael: `e` (default) or `d` of the encrypted input, with the key of
//! MiBench's runme scripts.
#![no_std]
#![no_main]
use mibench_rijndael::{Mode, RUNME_KEY, run as aes, write_summary};
romain_replica::main!(main);

fn main() -> i32 {
    mibench::main("rijndael", |run, out| {
        let input = run.input(
            mibench::embedded_input!("rijndael"),
            mibench_rijndael::generated_small_input,
            mibench_rijndael::generated_large_input,
        );
        let encrypted = aes(&input, Mode::Encrypt, RUNME_KEY).map_err(|_| core::fmt::Error)?;
        if run.arg(0) == Some("d") {
            let decrypted = aes(&encrypted, Mode::Decrypt, RUNME_KEY).map_err(|_| core::fmt::Error)?;
            write_summary("decrypted", &decrypted, out)
        } else {
            write_summary("encrypted", &encrypted, out)
        }
    })
}
