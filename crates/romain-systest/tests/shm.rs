//! Copy & execute: a TMR program exchanges records with its companion component through a
//! shared region it does not map. Every replica sees the same inputs, every output is written
//! exactly once, and an atomic counter incremented 1000 times by the replicated program ends at
//! exactly 1000, also with a bit flipped in one replica's register before a shared access. An
//! access the executor does not handle ends its group with an error naming the instruction.

use std::sync::Arc;

use romain_systest::{Boot, Run, boot, enabled};

const PLAN: &str = "tmr:shm-demo,tmr:shm-demo@reg:1:100:rax:3,tmr:shm-demo+rep,tmr:hello";
const PLAN_AARCH64: &str = "tmr:shm-demo,tmr:shm-demo@reg:1:100:x9:3,tmr:shm-demo+rep,tmr:hello";

fn shm_boot(arch: &str) -> Arc<Boot> {
    boot(
        arch,
        if arch == "aarch64" {
            PLAN_AARCH64
        } else {
            PLAN
        },
        &[],
    )
}

const DEVICE_OK: &str =
    "shm-demo-device: 64 records in, 64 outputs correct, 64 written exactly once; counter 1000";

fn assert_exchange(run: &Run) {
    let s = &run.summary;
    assert_eq!(s["status"], "ok", "{s}\n{}", run.output);
    assert!(run.output.contains(DEVICE_OK), "{}", run.output);
    assert!(
        run.output
            .contains("shm-demo: 64 records transformed; counter 1000"),
        "{}",
        run.output
    );
    // Each access is performed once for all replicas: at least the records and the increments.
    assert!(s["shm_accesses"].as_u64().unwrap() >= 64 * 3 + 1000, "{s}");
}

fn records_and_counter_go_through_once(arch: &str) {
    if !enabled(&format!("records_and_counter_go_through_once({arch})")) {
        return;
    }
    let run = &shm_boot(arch).runs[0];
    assert_exchange(run);
    assert_eq!(run.summary["mismatches"], 0, "{}", run.summary);
}

fn a_flipped_register_is_outvoted_before_the_shared_access(arch: &str) {
    if !enabled(&format!("a_flipped_register_is_outvoted({arch})")) {
        return;
    }
    let run = &shm_boot(arch).runs[1];
    assert_exchange(run);
    let s = &run.summary;
    assert_eq!(s["mismatches"], 1, "{s}");
    assert_eq!(s["recoveries"], 1, "{s}");
    assert!(
        run.log.iter().any(|l| l.contains("replica 1 outvoted")),
        "{:?}",
        run.log
    );
}

fn an_unsupported_access_ends_its_group_naming_the_instruction(arch: &str) {
    if !enabled(&format!("an_unsupported_access({arch})")) {
        return;
    }
    let boot = shm_boot(arch);
    let s = &boot.runs[2].summary;
    assert_eq!(s["status"], "app-fault", "{s}");
    let error = s["error"].as_str().unwrap();
    assert!(
        error.contains("copy & execute at pc") && error.contains("instruction "),
        "{error}"
    );
    assert!(!boot.runs[2].output.contains("went through"));
    assert_eq!(boot.runs[3].summary["status"], "ok");
}

romain_systest::per_arch!(
    records_and_counter_go_through_once,
    a_flipped_register_is_outvoted_before_the_shared_access,
    an_unsupported_access_ends_its_group_naming_the_instruction
);
