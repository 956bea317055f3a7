//! The 13 MiBench programs as TMR replicas on both architectures: every run ends `ok` with
//! identical replicas, and prints exactly what the same port prints on the host for the same
//! generated input (bitcount: all but its clock readings). Built hard-float (`FLOAT=hard`),
//! basicmath and fft compute in the FP/SIMD registers, which the master captures: a flip there
//! is outvoted under TMR and rolled back under DMR, and the output stays the host's.

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

fn hard_float_plan(arch: &str) -> String {
    let (q, d) = if arch == "aarch64" {
        ("q2", "d2")
    } else {
        ("xmm2", "xmm2")
    };
    format!(
        "tmr:basicmath,tmr:fft,tmr:fft@fpreg:1:5:{q}:9,dmr:fft@fpreg:1:5:{d}:9,\
         dmr:fft@fpreg:0:20:{q}:60"
    )
}

fn hard_float_replicas_have_their_fp_simd_state_compared_repaired_and_rolled_back(arch: &str) {
    if !enabled(&format!("mibench_hard_float({arch})")) {
        return;
    }
    let boot = boot(arch, &hard_float_plan(arch), &["FLOAT=hard"]);
    assert_eq!(boot.runs.len(), 5, "{}", boot.console);
    let area = if arch == "aarch64" { 528 } else { 512 };
    for (i, run) in boot.runs.iter().enumerate() {
        let s = &run.summary;
        let program = s["app"].as_str().unwrap();
        assert_eq!(s["status"], "ok", "run {i}: {s}");
        // The master's log lines (the vote, the repair) may break an output line on the console
        // (it ends the line first): the bytes are compared without line breaks.
        let unbroken = |t: &str| t.replace('\n', "");
        assert!(
            unbroken(&run.output) == unbroken(&expected(program)),
            "run {i}: hard-float {program} on {arch} differs from the host"
        );
        // Every replica's FP/SIMD state at every event compared (a rollback's events again, and
        // the agreed call it replays).
        let per_event = s["replicas"].as_u64().unwrap() * area;
        let fp = s["fp_bytes"].as_u64().unwrap();
        assert_eq!(fp % per_event, 0, "{s}");
        assert!(fp >= s["events"].as_u64().unwrap() * per_event, "{s}");
        let (mismatches, fixed) = match i {
            0 | 1 => (0, 0),
            _ => (1, 1),
        };
        assert_eq!(s["mismatches"], mismatches, "run {i}: {s}");
        let fixes = &s[if s["mode"] == "dmr" {
            "rollbacks"
        } else {
            "recoveries"
        }];
        assert_eq!(fixes, fixed, "run {i}: {s}");
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

#[test]
fn aarch64_hard_float() {
    hard_float_replicas_have_their_fp_simd_state_compared_repaired_and_rolled_back("aarch64")
}

#[test]
fn x86_64_hard_float() {
    hard_float_replicas_have_their_fp_simd_state_compared_repaired_and_rolled_back("x86_64")
}
