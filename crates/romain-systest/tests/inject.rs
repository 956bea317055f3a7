//! Injected bit flips: TMR outvotes and repairs the replica (registers and memory) and the output
//! stays correct; DMR detects the difference; a malformed spec ends only its own run.

use std::sync::Arc;

use romain_systest::{Boot, Run, assert_sample_output, boot, enabled};

/// Register x20 (aarch64) / r12 (x86_64) of replica 1 at event 2; the sorted sequence's seed in
/// replica 2's writable memory at event 1; the stack pointer bits the call stubs keep
/// (sp on aarch64, r14 on x86_64) of replica 0 at event 3 under DMR; then a malformed spec.
fn plan(arch: &str) -> String {
    let (reg, sp) = if arch == "aarch64" {
        ("x20", "sp")
    } else {
        ("r12", "r14")
    };
    format!(
        "tmr:hello@reg:1:2:{reg}:5,tmr:hello@mem:2:1:SEED:0,dmr:hello@reg:0:3:{sp}:2,tmr:hello@reg:9:1:{reg}:0"
    )
}

fn inject_boot(arch: &str) -> Arc<Boot> {
    boot(arch, &plan(arch), &[])
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

fn dmr_detects_a_flipped_register(arch: &str) {
    if !enabled(&format!("dmr_detects_a_flipped_register({arch})")) {
        return;
    }
    let s = &inject_boot(arch).runs[2].summary;
    assert_eq!(s["status"], "mismatch", "{s}");
    assert_eq!(s["mismatches"], 1, "{s}");
    assert_eq!(s["events"], 3, "detected at the injected event: {s}");
    assert!(s["error"].as_str().unwrap().contains("no majority"), "{s}");
}

fn a_bad_injection_ends_only_its_run(arch: &str) {
    if !enabled(&format!("a_bad_injection_ends_only_its_run({arch})")) {
        return;
    }
    let boot = inject_boot(arch);
    let s = &boot.runs[3].summary;
    assert_eq!(s["status"], "bad-plan", "{s}");
    assert!(s["error"].as_str().unwrap().contains("no replica 9"), "{s}");
    assert_eq!(boot.runs.len(), 4);
}

macro_rules! per_arch {
    ($($name:ident),*) => {
        mod aarch64 { $( #[test] fn $name() { super::$name("aarch64") } )* }
        mod x86_64 { $( #[test] fn $name() { super::$name("x86_64") } )* }
    };
}

per_arch!(
    tmr_repairs_a_flipped_register,
    tmr_repairs_a_flipped_memory_word,
    dmr_detects_a_flipped_register,
    a_bad_injection_ends_only_its_run
);
