//! Injected bit flips: TMR outvotes and repairs the replica (registers and memory) and the output
//! stays correct; DMR rolls both replicas back and re-executes, or stops when the difference
//! persists; a malformed spec ends only its own run. Both ways of tracking memory (`REPAIR=all`,
//! the default, and `REPAIR=written`) are booted.

use std::sync::Arc;

use romain_systest::{Boot, Run, assert_sample_output, boot, enabled};

/// Register x20 (aarch64) / r12 (x86_64) of replica 1 at event 2; the sorted sequence's seed in
/// replica 2's writable memory at event 1; the stack pointer bits the call stubs keep
/// (sp on aarch64, r14 on x86_64) of replica 0 at event 3 under DMR; a malformed spec; the seed
/// of replica 1 under DMR, flipped before the replicas agree on event 1, so that it is in the
/// checkpoint too.
fn plan(arch: &str) -> String {
    let (reg, sp) = registers(arch);
    format!(
        "tmr:hello@reg:1:2:{reg}:5,tmr:hello@mem:2:1:SEED:0,dmr:hello@reg:0:3:{sp}:2,tmr:hello@reg:9:1:{reg}:0,dmr:hello@mem:1:1:SEED:0"
    )
}

fn registers(arch: &str) -> (&'static str, &'static str) {
    if arch == "aarch64" {
        ("x20", "sp")
    } else {
        ("r12", "r14")
    }
}

fn inject_boot(arch: &str) -> Arc<Boot> {
    boot(arch, &plan(arch), &[])
}

/// The same flips with write tracking: TMR memory, DMR register, TMR register.
fn written_boot(arch: &str) -> Arc<Boot> {
    let (reg, sp) = registers(arch);
    let plan =
        format!("tmr:hello@mem:2:1:SEED:0,dmr:hello@reg:0:3:{sp}:2,tmr:hello@reg:1:2:{reg}:5");
    boot(arch, &plan, &["REPAIR=written"])
}

fn assert_repaired(run: &Run) {
    let s = &run.summary;
    assert_eq!(s["status"], "ok", "{s}");
    assert_eq!(s["mismatches"], 1, "{s}");
    assert_eq!(s["recoveries"], 1, "{s}");
    assert_eq!(s["exit_code"], 0, "{s}");
    assert_sample_output(&run.output);
}

fn tmr_repairs_a_flipped_register(arch: &str) {
    if !enabled(&format!("tmr_repairs_a_flipped_register({arch})")) {
        return;
    }
    let run = &inject_boot(arch).runs[0];
    assert_repaired(run);
    let injected = run.summary["injected"].as_str().unwrap();
    assert!(
        injected.starts_with("replica 1 event 2 register"),
        "{injected}"
    );
    assert!(
        run.log
            .iter()
            .any(|l| l.contains("replica 1 outvoted (register")),
        "{:?}",
        run.log
    );
}

fn tmr_repairs_a_flipped_memory_word(arch: &str) {
    if !enabled(&format!("tmr_repairs_a_flipped_memory_word({arch})")) {
        return;
    }
    let run = &inject_boot(arch).runs[1];
    assert_repaired(run);
    // The flip changes what replica 2 computes; the vote sees it when the result is printed, and
    // the repair copies the pages that differ (the seed's page at least).
    assert!(
        run.summary["pages_copied"].as_u64().unwrap() >= 1,
        "{}",
        run.summary
    );
    assert!(
        run.log.iter().any(|l| l.contains("replica 2 outvoted")),
        "{:?}",
        run.log
    );
}

fn assert_rolled_back(run: &Run) {
    let s = &run.summary;
    assert_eq!(s["status"], "ok", "{s}");
    assert_eq!(s["mismatches"], 1, "{s}");
    assert_eq!(s["rollbacks"], 1, "{s}");
    assert_eq!(s["detected"], 0, "{s}");
    assert_eq!(s["exit_code"], 0, "{s}");
    // Every line once: the re-executed call is answered from the checkpoint, not printed again.
    assert_sample_output(&run.output);
    assert!(
        run.log
            .iter()
            .any(|l| l.contains("differ in register") && l.contains("rolling both back")),
        "{:?}",
        run.log
    );
}

fn dmr_rolls_back_a_flipped_register(arch: &str) {
    if !enabled(&format!("dmr_rolls_back_a_flipped_register({arch})")) {
        return;
    }
    assert_rolled_back(&inject_boot(arch).runs[2]);
}

fn dmr_stops_when_the_difference_survives_a_rollback(arch: &str) {
    if !enabled(&format!(
        "dmr_stops_when_the_difference_survives_a_rollback({arch})"
    )) {
        return;
    }
    let s = &inject_boot(arch).runs[4].summary;
    assert_eq!(s["status"], "mismatch", "{s}");
    assert_eq!(s["rollbacks"], 1, "{s}");
    assert_eq!(s["detected"], 1, "{s}");
    assert_eq!(s["mismatches"], 2, "{s}");
    assert!(
        s["error"]
            .as_str()
            .unwrap()
            .contains("again after a rollback (fail-stop)"),
        "{s}"
    );
}

fn written_tracking_repairs_and_rolls_back(arch: &str) {
    if !enabled(&format!("written_tracking_repairs_and_rolls_back({arch})")) {
        return;
    }
    let written = written_boot(arch);
    let all = inject_boot(arch);
    for run in [&written.runs[0], &written.runs[2]] {
        assert_eq!(run.summary["repair"], "written", "{}", run.summary);
        assert_repaired(run);
    }
    assert_rolled_back(&written.runs[1]);
    // Write tracking compares only the pages written since the last agreed event; without it,
    // every page of the replica is compared.
    let (w, a) = (&written.runs[0].summary, &all.runs[1].summary);
    let compared = |s: &serde_json::Value| s["pages_compared"].as_u64().unwrap();
    assert_eq!(a["repair"], "all", "{a}");
    assert_eq!(compared(a), a["pages"].as_u64().unwrap(), "{a}");
    assert!(compared(w) < compared(a), "{w}\n{a}");
    assert!(
        w["memory_faults"].as_u64() > a["memory_faults"].as_u64(),
        "{w}\n{a}"
    );
}

fn a_bad_injection_ends_only_its_run(arch: &str) {
    if !enabled(&format!("a_bad_injection_ends_only_its_run({arch})")) {
        return;
    }
    let boot = inject_boot(arch);
    let s = &boot.runs[3].summary;
    assert_eq!(s["status"], "bad-plan", "{s}");
    assert!(s["error"].as_str().unwrap().contains("no replica 9"), "{s}");
    assert_eq!(boot.runs.len(), 5);
}

romain_systest::per_arch!(
    tmr_repairs_a_flipped_register,
    tmr_repairs_a_flipped_memory_word,
    dmr_rolls_back_a_flipped_register,
    dmr_stops_when_the_difference_survives_a_rollback,
    a_bad_injection_ends_only_its_run,
    written_tracking_repairs_and_rolls_back
);
