//! The watchdog, woken by the master's timer: a replica that hangs (its system call at an event
//! turned into a jump to itself) is noticed within the configured bound; TMR repairs it from the
//! majority and finishes with correct output; DMR rolls back once and, as the hang is in the
//! replica's code and so survives the rollback, stops with a clear hang report. A program that
//! loops in every replica is stopped by the silence bound; the next group runs normally.

use std::sync::Arc;

use romain_systest::{Boot, assert_sample_output, boot, enabled};

const WATCHDOG_MS: u64 = 1000;
const SILENCE_MS: u64 = 3000;
const PLAN: &str = "tmr:hello@hang:2:2,dmr:hello@hang:1:3,tmr:hostile+spin,tmr:hello";

fn watchdog_boot(arch: &str) -> Arc<Boot> {
    boot(
        arch,
        PLAN,
        &[
            &format!("WATCHDOG_MS={WATCHDOG_MS}"),
            &format!("SILENCE_MS={SILENCE_MS}"),
        ],
    )
}

/// The master's "N ms after the first" of a watchdog line.
fn waited_ms(line: &str) -> u64 {
    let (_, rest) = line.split_once('(').unwrap();
    rest.split(' ').next().unwrap().parse().unwrap()
}

/// Detection latency: the bound plus the timer's granularity (the x86_64 RTC ticks at 8 Hz) and
/// some slack for QEMU's TCG.
fn assert_within_bound(waited: u64, bound: u64, line: &str) {
    assert!((bound..bound + 1000).contains(&waited), "{line}");
}

fn tmr_repairs_a_hung_replica(arch: &str) {
    if !enabled(&format!("tmr_repairs_a_hung_replica({arch})")) {
        return;
    }
    let boot = watchdog_boot(arch);
    let run = &boot.runs[0];
    let s = &run.summary;
    assert_eq!(s["status"], "ok", "{s}");
    assert_eq!(s["watchdog_fired"], 1, "{s}");
    assert_eq!(s["recoveries"], 1, "{s}");
    assert!(
        s["pages_copied"].as_u64().unwrap() >= 1,
        "the patched code page: {s}"
    );
    assert_sample_output(&run.output);
    let line = run
        .log
        .iter()
        .find(|l| l.contains("watchdog: replica 2 late at event 2"))
        .unwrap_or_else(|| panic!("no watchdog line in {:?}", run.log));
    assert_within_bound(waited_ms(line), WATCHDOG_MS, line);
}

fn dmr_rolls_back_then_reports_a_hung_replica(arch: &str) {
    if !enabled(&format!(
        "dmr_rolls_back_then_reports_a_hung_replica({arch})"
    )) {
        return;
    }
    let boot = watchdog_boot(arch);
    let run = &boot.runs[1];
    let s = &run.summary;
    assert_eq!(s["status"], "hang", "{s}");
    assert_eq!(s["rollbacks"], 1, "{s}");
    assert_eq!(
        s["watchdog_fired"], 2,
        "once, and once more after the rollback: {s}"
    );
    let error = s["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "replicas [1] did not reach event 3 within {WATCHDOG_MS} ms"
        )) && error.ends_with("again after a rollback (fail-stop)"),
        "{error}"
    );
    let line = run
        .log
        .iter()
        .find(|l| l.contains("late at event 3") && l.contains("rolling back"))
        .unwrap_or_else(|| panic!("no rollback line in {:?}", run.log));
    assert_within_bound(waited_ms(line), WATCHDOG_MS, line);
}

fn a_program_looping_in_every_replica_is_stopped(arch: &str) {
    if !enabled(&format!("a_program_looping_in_every_replica({arch})")) {
        return;
    }
    let boot = watchdog_boot(arch);
    let s = &boot.runs[2].summary;
    assert_eq!(s["status"], "hang", "{s}");
    let error = s["error"].as_str().unwrap();
    assert!(
        error.starts_with("no replica reached event 4 for "),
        "{error}"
    );
    let silent: u64 = error["no replica reached event 4 for ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_within_bound(silent, SILENCE_MS, error);
    // And the next group runs normally.
    assert_eq!(boot.runs[3].summary["status"], "ok");
    assert_eq!(boot.runs[3].summary["watchdog_fired"], 0);
    assert_sample_output(&boot.runs[3].output);
}

romain_systest::per_arch!(
    tmr_repairs_a_hung_replica,
    dmr_rolls_back_then_reports_a_hung_replica,
    a_program_looping_in_every_replica_is_stopped
);
