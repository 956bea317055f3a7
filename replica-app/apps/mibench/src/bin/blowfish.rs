//! MiBench security/blowfish: `bf e` (default) or `bf d` of the encrypted input, with the key of
//! MiBench's runme scripts.
#![no_std]
#![no_main]
use mibench_blowfish::{Mode, RUNME_KEY, run as bf, write_summary};
romain_replica::main!(main);

fn main() -> i32 {
    mibench::main("blowfish", |run, out| {
        let input = run.input(
            mibench::embedded_input!("blowfish"),
            mibench_blowfish::generated_small_input,
            mibench_blowfish::generated_large_input,
        );
        let encrypted = bf(&input, Mode::Encrypt, RUNME_KEY).map_err(|_| core::fmt::Error)?;
        if run.arg(0) == Some("d") {
            let decrypted = bf(&encrypted, Mode::Decrypt, RUNME_KEY).map_err(|_| core::fmt::Error)?;
            write_summary("decrypted", &decrypted, out)
        } else {
            write_summary("encrypted", &encrypted, out)
        }
    })
}
