//! The records the master prints on the console and the host tools read back: one owner for
//! each line's prefix and form, so that the master, the campaign tool, the benchmark, the
//! system tests and the QEMU runner (`scripts/qemu-run.py` reads [`END`] from this file) agree.
//!
//! - `ROMAIN-SUMMARY {json}`: one per run ([`SUMMARY`]; written by `romain_core::summary`).
//! - `ROMAIN-GOLDEN {json}`, `ROMAIN-EXPERIMENT {json}`: campaign mode ([`GOLDEN`],
//!   [`EXPERIMENT`]; written by `romain_plan::campaign`, read as [`host::Experiment`]).
//! - `ROMAIN-DUMP-BEGIN name len`, `ROMAIN-DUMP hex`, `ROMAIN-DUMP-END name`: a file's bytes.
//! - `file "NAME": N bytes, fnv1a64 H`: a file the Linux program wrote (in the master's log; the
//!   name a JSON string, [`FileLine`]).
//! - `ROMAIN-END`: the master is done; the QEMU runner stops there.
//!
//! A record, and a master log line (`[romain LEVEL] text`, [`LOG`]), is only ever a whole line
//! that starts with its prefix. The programs' output shares the console: [`escape`] quotes a
//! program's line that would start like one (`>` in front, undone by [`unescape`]), so no
//! program can print a line the host takes for the master's.
//!
//! [`fnv`] is the FNV-1a every side uses where hashes must agree bit for bit (output, files,
//! inputs compared between replicas, the host's golden values).
#![cfg_attr(not(feature = "host"), no_std)]
#![forbid(unsafe_code)]

pub mod escape;
pub mod fnv;
#[cfg(feature = "host")]
pub mod host;

pub use escape::{Escaper, OneLine, shown, unescape, unescape_bytes};

/// The start of every record line (each prefix below starts with it).
pub const RECORD: &str = "ROMAIN-";
/// The start of every master log line: `[romain LEVEL] text`.
pub const LOG: &str = "[romain ";
/// The line starts reserved to the master: a program's line that starts with zero or more `>`
/// and one of them is printed with one more `>` ([`Escaper`]).
pub const RESERVED: [&str; 2] = [RECORD, LOG];

/// Prefix of a run's summary line.
pub const SUMMARY: &str = "ROMAIN-SUMMARY ";
/// Prefix of a golden run's line (campaign mode).
pub const GOLDEN: &str = "ROMAIN-GOLDEN ";
/// Prefix of one experiment's line (campaign mode).
pub const EXPERIMENT: &str = "ROMAIN-EXPERIMENT ";
/// Before a dumped file's hex lines: `ROMAIN-DUMP-BEGIN name len`.
pub const DUMP_BEGIN: &str = "ROMAIN-DUMP-BEGIN ";
/// One line of a dumped file's bytes, in hex.
pub const DUMP: &str = "ROMAIN-DUMP ";
/// After a dumped file: `ROMAIN-DUMP-END name`.
pub const DUMP_END: &str = "ROMAIN-DUMP-END ";
/// The master's last line.
pub const END: &str = "ROMAIN-END";
/// The master's first log line: what comes before it is the boot loader's and the kernel's.
pub const MASTER_UP: &str = "[romain INFO] master up";
/// The master's line when it falls (a panic it could not contain): the QEMU runner stops at
/// once and fails.
pub const MASTER_FELL: &str = "ROMAIN-MASTER-FELL";
/// Start of the master's log line for a file a Linux program wrote (after the log prefix).
pub const FILE: &str = "file ";

/// A record line as the host reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    Summary(&'a str),
    Golden(&'a str),
    Experiment(&'a str),
    DumpBegin(&'a str),
    Dump(&'a str),
    DumpEnd(&'a str),
    End,
}

/// The record a console line is, if any (the JSON or the rest of the line, unparsed). Only a
/// whole line that starts with a record's prefix is one.
pub fn parse(line: &str) -> Option<Record<'_>> {
    let line = line.trim_end();
    // Every prefix ends in a space (END is a whole line), so none is another's prefix.
    if let Some(rest) = line.strip_prefix(SUMMARY) {
        Some(Record::Summary(rest))
    } else if let Some(rest) = line.strip_prefix(GOLDEN) {
        Some(Record::Golden(rest))
    } else if let Some(rest) = line.strip_prefix(EXPERIMENT) {
        Some(Record::Experiment(rest))
    } else if let Some(rest) = line.strip_prefix(DUMP_BEGIN) {
        Some(Record::DumpBegin(rest))
    } else if let Some(rest) = line.strip_prefix(DUMP_END) {
        Some(Record::DumpEnd(rest))
    } else if let Some(rest) = line.strip_prefix(DUMP) {
        Some(Record::Dump(rest))
    } else if line == END {
        Some(Record::End)
    } else {
        None
    }
}

/// The level and the text of a master log line (`[romain LEVEL] text`), if `line` is one.
pub fn log_line(line: &str) -> Option<(&str, &str)> {
    line.strip_prefix(LOG)?.split_once("] ")
}

/// The log text of a written file's line: `file "NAME": N bytes, fnv1a64 H`, the name a JSON
/// string ([`JsonStr`]: whatever the program named it, the line is one line and reads back
/// exactly, `host::WrittenFile`), displayed whole without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLine<'a> {
    pub name: &'a str,
    pub size: usize,
    pub hash: u64,
}

impl core::fmt::Display for FileLine<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let FileLine { name, size, hash } = self;
        let name = JsonStr(name);
        write!(f, "{FILE}{name}: {size} bytes, fnv1a64 {hash:016x}")
    }
}

/// A JSON string literal: the master writes its records' strings (program names, errors, file
/// names) with it, escaped, without allocating. Every control character (C0, DEL, C1) and the
/// Unicode line and paragraph separators are `\uXXXX`, so that the string stays on one line for
/// any reader's idea of a line end.
pub struct JsonStr<'s>(pub &'s str);

impl core::fmt::Display for JsonStr<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use core::fmt::Write;
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                    write!(f, "\\u{:04x}", c as u32)?
                }
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

/// Outcomes of a campaign experiment, in report order (`romain_plan::campaign::Outcome`'s
/// names).
pub const OUTCOMES: [&str; 9] = [
    "masked",
    "corrected",
    "rolled-back",
    "detected",
    "hang-detected",
    "app-crash-detected",
    "sdc",
    "master-failure",
    "not-injected",
];

#[cfg(test)]
mod tests {
    extern crate std;
    use std::format;

    use super::*;

    #[test]
    fn every_record_parses_back_and_other_lines_are_none() {
        assert_eq!(parse("ROMAIN-SUMMARY {}\n"), Some(Record::Summary("{}")));
        assert_eq!(
            parse("ROMAIN-GOLDEN {\"a\":1}"),
            Some(Record::Golden("{\"a\":1}"))
        );
        assert_eq!(
            parse("ROMAIN-EXPERIMENT {}"),
            Some(Record::Experiment("{}"))
        );
        assert_eq!(
            parse("ROMAIN-DUMP-BEGIN out 3"),
            Some(Record::DumpBegin("out 3"))
        );
        assert_eq!(parse("ROMAIN-DUMP 616263"), Some(Record::Dump("616263")));
        assert_eq!(parse("ROMAIN-DUMP-END out"), Some(Record::DumpEnd("out")));
        assert_eq!(parse("ROMAIN-END"), Some(Record::End));
        assert_eq!(parse("ROMAIN-ENDING"), None);
        assert_eq!(parse("hello ROMAIN-END"), None);
        assert_eq!(parse("[romain INFO] master up"), None);
    }

    #[test]
    fn the_file_line_has_its_fixed_form() {
        let line = FileLine {
            name: "/out.txt",
            size: 12,
            hash: 0xab,
        };
        assert_eq!(
            format!("{line}"),
            "file \"/out.txt\": 12 bytes, fnv1a64 00000000000000ab"
        );
        // Whatever the program named its file, the line is one line.
        let line = FileLine {
            name: "/a\n[romain INFO] \"x\\\r\u{7f}\u{85}\u{2028}é",
            size: 1,
            hash: 0,
        };
        assert_eq!(
            format!("{line}"),
            "file \"/a\\u000a[romain INFO] \\\"x\\\\\\u000d\\u007f\\u0085\\u2028é\": 1 bytes, \
             fnv1a64 0000000000000000"
        );
    }

    #[test]
    fn every_record_and_log_line_starts_with_a_reserved_prefix() {
        for p in [SUMMARY, GOLDEN, EXPERIMENT, DUMP_BEGIN, DUMP, DUMP_END, END] {
            assert!(p.starts_with(RECORD), "{p}");
            assert!(parse(&format!(">{p}x")).is_none());
        }
        assert!(MASTER_UP.starts_with(LOG));
        assert_eq!(log_line(MASTER_UP), Some(("INFO", "master up")));
        assert_eq!(
            log_line("[romain WARN] file \"x\": 1"),
            Some(("WARN", "file \"x\": 1"))
        );
        assert_eq!(log_line(">[romain INFO] master up"), None);
        assert_eq!(log_line("romain INFO] x"), None);
    }
}
