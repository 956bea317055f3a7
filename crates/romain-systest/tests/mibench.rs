//! The 13 MiBench programs as TMR replicas on both architectures: every run ends `ok` with
//! identical replicas, and prints exactly what the same port prints on the host for the same
//! generated input (bitcount: all but its clock readings).

use std::sync::Arc;

use mibench_common::Checksum;
use mibench_suite::{PROGRAMS, write_checksum_line};
use romain_systest::{Boot, boot, enabled};

fn plan() -> String {
    PROGRAMS
        .iter()
        .map(|p| format!("tmr:{p}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn mibench_boot(arch: &str) -> Arc<Boot> {
    boot(arch, &plan(), &[])
}

/// What the replica program must print: the port's output on the host, then the checksum line.
fn expected(program: &str) -> String {
    let mut out = Checksum::new(String::new());
    let mut clock = || 0;
    mibench_suite::run(program, &[], &[], &mut clock, &mut out).unwrap();
    let (hash, bytes) = (out.hash(), out.bytes());
    let mut text = out.inner;
    write_checksum_line(hash, bytes, &mut text).unwrap();
    text
}

/// bitcount prints clock readings (the master's replicated clock on seL4): compare the rest.
fn without_times(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| {
            !l.starts_with("checksum:") && !l.starts_with("Best") && !l.starts_with("Worst")
        })
        .map(|l| match (l.find("Time:"), l.find("; Bits:")) {
            (Some(t), Some(b)) => format!("{}{}", &l[..t], &l[b..]),
            _ => l.to_string(),
        })
        .collect()
}

fn mibench_programs_run_as_tmr_replicas_with_host_identical_output(arch: &str) {
    if !enabled(&format!("mibench_programs_as_tmr_replicas({arch})")) {
        return;
    }
    let boot = mibench_boot(arch);
    assert_eq!(boot.runs.len(), PROGRAMS.len(), "{}", boot.console);
    for (program, run) in PROGRAMS.iter().zip(&boot.runs) {
        let s = &run.summary;
        assert_eq!(s["app"], *program);
        assert_eq!(s["status"], "ok", "{s}");
        assert_eq!(s["mismatches"], 0, "{s}");
        assert_eq!(s["exit_code"], 0, "{s}");
        if *program == "bitcount" {
            assert_eq!(
                without_times(&run.output),
                without_times(&expected(program))
            );
        } else {
            assert!(
                run.output == expected(program),
                "{program} on {arch} differs from the host"
            );
        }
    }
}

#[test]
fn aarch64() {
    mibench_programs_run_as_tmr_replicas_with_host_identical_output("aarch64")
}

#[test]
fn x86_64() {
    mibench_programs_run_as_tmr_replicas_with_host_identical_output("x86_64")
}
