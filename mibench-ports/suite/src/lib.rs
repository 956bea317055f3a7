//! The MiBench ports behind one entry point, shared by the replica programs
//! (`replica-app/apps/mibench`) and the host, which computes what a replica run must print.
//!
//! Arguments follow MiBench's runme scripts; `large` selects the large input set. Without an
//! embedded input file, each program generates its input (see each port's
//! `generated_small_input`).
#![cfg_attr(not(test), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt::{self, Write};

/// Every program, by the name `make run APP=...` uses.
pub const PROGRAMS: [&str; 13] = [
    "adpcm",
    "basicmath",
    "bitcount",
    "blowfish",
    "crc32",
    "dijkstra",
    "fft",
    "patricia",
    "qsort",
    "rijndael",
    "sha",
    "stringsearch",
    "susan",
];

/// Why a program could not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    UnknownProgram,
    /// The port refused its input or arguments.
    BadInput,
    Fmt,
}

impl From<fmt::Error> for Error {
    fn from(_: fmt::Error) -> Self {
        Error::Fmt
    }
}

/// Arguments other than `large`.
struct Args<'a> {
    all: &'a [&'a str],
    large: bool,
}

impl<'a> Args<'a> {
    fn new(all: &'a [&'a str]) -> Self {
        Args {
            all,
            large: all.contains(&"large"),
        }
    }

    fn get(&self, index: usize) -> Option<&'a str> {
        self.all
            .iter()
            .copied()
            .filter(|a| *a != "large")
            .nth(index)
    }

    fn input(&self, embedded: &[u8], small: fn() -> Vec<u8>, large: fn() -> Vec<u8>) -> Vec<u8> {
        if !embedded.is_empty() {
            embedded.to_vec()
        } else if self.large {
            large()
        } else {
            small()
        }
    }
}

/// Runs `program` with `args` on `embedded` input (empty: generated), printing to `out`. `clock`
/// gives microseconds (bitcount's Time columns).
pub fn run(
    program: &str,
    args: &[&str],
    embedded: &[u8],
    clock: &mut impl FnMut() -> u64,
    out: &mut impl Write,
) -> Result<(), Error> {
    let a = Args::new(args);
    match program {
        "adpcm" => {
            if a.get(0) == Some("decode") {
                let input = a.input(
                    embedded,
                    mibench_adpcm::generated_small_adpcm_input,
                    mibench_adpcm::generated_large_adpcm_input,
                );
                let (pcm, state) = mibench_adpcm::rawdaudio(&input);
                mibench_adpcm::write_summary("decoded", &pcm, out)?;
                mibench_adpcm::write_final_state(&state, out)?;
            } else {
                let input = a.input(
                    embedded,
                    mibench_adpcm::generated_small_input,
                    mibench_adpcm::generated_large_input,
                );
                let (adpcm, state) = mibench_adpcm::rawcaudio(&input);
                mibench_adpcm::write_summary("encoded", &adpcm, out)?;
                mibench_adpcm::write_final_state(&state, out)?;
            }
        }
        "basicmath" if a.large => mibench_basicmath::run_large(out)?,
        "basicmath" => mibench_basicmath::run_small(out)?,
        "bitcount" => {
            let iterations = match a.get(0) {
                Some(n) => n.as_bytes(),
                None if a.large => mibench_bitcount::LARGE_ITERATIONS,
                None => mibench_bitcount::SMALL_ITERATIONS,
            };
            mibench_bitcount::run(iterations, clock, out)?;
        }
        "blowfish" => {
            use mibench_blowfish::{Mode, RUNME_KEY, run as bf, write_summary};
            let input = a.input(
                embedded,
                mibench_blowfish::generated_small_input,
                mibench_blowfish::generated_large_input,
            );
            if a.get(0) == Some("d") {
                // An embedded file is what `bf d` reads, the output of an earlier `bf e`; the
                // generated input is plain text, so it is encrypted first, as runme does.
                let encrypted = if embedded.is_empty() {
                    bf(&input, Mode::Encrypt, RUNME_KEY).map_err(|_| Error::BadInput)?
                } else {
                    input
                };
                let plain =
                    bf(&encrypted, Mode::Decrypt, RUNME_KEY).map_err(|_| Error::BadInput)?;
                write_summary("decrypted", &plain, out)?;
            } else {
                let encrypted =
                    bf(&input, Mode::Encrypt, RUNME_KEY).map_err(|_| Error::BadInput)?;
                write_summary("encrypted", &encrypted, out)?;
            }
        }
        "crc32" => {
            let input = a.input(
                embedded,
                mibench_crc32::generated_small_input,
                mibench_crc32::generated_large_input,
            );
            let name = if a.large { "large.pcm" } else { "small.pcm" };
            mibench_crc32::run(&input, name, mibench_crc32::DataModel::Lp64, out)?;
        }
        "dijkstra" => {
            let input = a.input(
                embedded,
                mibench_dijkstra::generated_small_input,
                mibench_dijkstra::generated_large_input,
            );
            let paths = if a.large {
                mibench_dijkstra::LARGE_PATHS
            } else {
                mibench_dijkstra::SMALL_PATHS
            };
            mibench_dijkstra::run(&input, paths, out)?;
        }
        "fft" => {
            let runs = if a.large {
                mibench_fft::LARGE_RUNS
            } else {
                mibench_fft::SMALL_RUNS
            };
            let (waves, size, _) = runs[0];
            let waves = a.get(0).and_then(|v| v.parse().ok()).unwrap_or(waves);
            let size = a.get(1).and_then(|v| v.parse().ok()).unwrap_or(size);
            let inverse = a.get(2) == Some("-i");
            mibench_fft::run(waves, size, inverse, out).map_err(|_| Error::BadInput)?;
        }
        "patricia" => {
            let input = a.input(
                embedded,
                mibench_patricia::generated_small_input,
                mibench_patricia::generated_large_input,
            );
            mibench_patricia::run(&input, out)?;
        }
        "qsort" => {
            let input = a.input(
                embedded,
                mibench_qsort::generated_small_input,
                mibench_qsort::generated_large_input,
            );
            if a.large {
                mibench_qsort::run_large(&input, out)?;
            } else {
                mibench_qsort::run_small(&input, out)?;
            }
        }
        "rijndael" => {
            use mibench_rijndael::{Mode, RUNME_KEY, run as aes, write_summary};
            let input = a.input(
                embedded,
                mibench_rijndael::generated_small_input,
                mibench_rijndael::generated_large_input,
            );
            if a.get(0) == Some("d") {
                // As blowfish: an embedded file is already encrypted.
                let encrypted = if embedded.is_empty() {
                    aes(&input, Mode::Encrypt, RUNME_KEY).map_err(|_| Error::BadInput)?
                } else {
                    input
                };
                let plain =
                    aes(&encrypted, Mode::Decrypt, RUNME_KEY).map_err(|_| Error::BadInput)?;
                write_summary("decrypted", &plain, out)?;
            } else {
                let encrypted =
                    aes(&input, Mode::Encrypt, RUNME_KEY).map_err(|_| Error::BadInput)?;
                write_summary("encrypted", &encrypted, out)?;
            }
        }
        "sha" => {
            let input = a.input(
                embedded,
                mibench_sha::generated_small_input,
                mibench_sha::generated_large_input,
            );
            mibench_sha::run(&input, mibench_sha::Build::LP64, out)?;
        }
        "stringsearch" => {
            let input = a.input(
                embedded,
                mibench_stringsearch::generated_small_input,
                mibench_stringsearch::generated_large_input,
            );
            mibench_stringsearch::run(&input, out)?;
        }
        "susan" => {
            let input = a.input(
                embedded,
                mibench_susan::generated_small_input,
                mibench_susan::generated_large_input,
            );
            let mode = a.get(0).unwrap_or("-s");
            let image = mibench_susan::run(&input, &[mode]).map_err(|_| Error::BadInput)?;
            let hash = mibench_common::fnv1a(&image);
            writeln!(
                out,
                "susan {mode}: {} bytes, fnv1a {hash:#018x}",
                image.len()
            )?;
        }
        _ => return Err(Error::UnknownProgram),
    }
    Ok(())
}

/// Writes the line that ends every MiBench replica run: the checksum of everything before it.
pub fn write_checksum_line(hash: u64, bytes: u64, out: &mut impl Write) -> fmt::Result {
    writeln!(out, "checksum: fnv1a {hash:#018x} bytes {bytes}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use mibench_common::Checksum;

    #[test]
    fn every_program_runs_on_its_generated_small_input() {
        for program in PROGRAMS {
            let mut out = Checksum::new(String::new());
            let mut clock = {
                let mut t = 0;
                move || {
                    t += 10;
                    t
                }
            };
            run(program, &[], &[], &mut clock, &mut out)
                .unwrap_or_else(|e| panic!("{program}: {e:?}"));
            assert!(out.bytes() > 0, "{program} printed nothing");
        }
    }

    #[test]
    fn unknown_programs_and_bad_arguments_are_errors() {
        let mut s = String::new();
        let mut clock = || 0;
        assert_eq!(
            run("nosuch", &[], &[], &mut clock, &mut s),
            Err(Error::UnknownProgram)
        );
        assert_eq!(
            run("fft", &["4", "1000"], &[], &mut clock, &mut s),
            Err(Error::BadInput)
        );
    }

    fn output(program: &str, args: &[&str], embedded: &[u8]) -> String {
        let mut s = String::new();
        run(program, args, embedded, &mut || 0, &mut s).unwrap();
        s
    }

    #[test]
    fn fft_large_is_the_large_runme_line() {
        assert_eq!(
            output("fft", &["large"], &[]),
            output("fft", &["8", "32768"], &[])
        );
        assert_ne!(output("fft", &["large"], &[]), output("fft", &[], &[]));
    }

    #[test]
    fn decryption_of_an_embedded_file_decrypts_it_as_it_is() {
        let text = b"MiBench's security input, 48 bytes of plain text";
        let enc = mibench_blowfish::run(
            text,
            mibench_blowfish::Mode::Encrypt,
            mibench_blowfish::RUNME_KEY,
        )
        .unwrap();
        // Decrypted once, not encrypted first: the text comes back (with the EOF byte each C
        // run appends).
        let plain = mibench_blowfish::run(
            &enc,
            mibench_blowfish::Mode::Decrypt,
            mibench_blowfish::RUNME_KEY,
        )
        .unwrap();
        assert!(plain.starts_with(text));
        let mut want = String::new();
        mibench_blowfish::write_summary("decrypted", &plain, &mut want).unwrap();
        assert_eq!(output("blowfish", &["d"], &enc), want);
        let enc = mibench_rijndael::run(
            text,
            mibench_rijndael::Mode::Encrypt,
            mibench_rijndael::RUNME_KEY,
        )
        .unwrap();
        let plain = mibench_rijndael::run(
            &enc,
            mibench_rijndael::Mode::Decrypt,
            mibench_rijndael::RUNME_KEY,
        )
        .unwrap();
        assert!(plain.starts_with(text));
        let mut want = String::new();
        mibench_rijndael::write_summary("decrypted", &plain, &mut want).unwrap();
        assert_eq!(output("rijndael", &["d"], &enc), want);
    }
}
