//! Copy & execute: a TMR program exchanges records with its companion component through a
//! shared region it does not map. Every replica sees the same inputs, every output is written
//! exactly once, an atomic counter incremented 1000 times by the replicated program ends at
//! exactly 1000, and blobs copied in and out with memcpy (x86_64: `rep movs` between private and
//! shared memory) arrive whole, also with a bit flipped in one replica's register before a shared
//! access, or (x86_64) in the private bytes a string move is about to carry out. An access the
//! executor does not handle ends its group with an error naming the instruction.

use std::sync::Arc;

use romain_systest::{Boot, Run, boot, enabled};

const PLAN: &str = "tmr:shm-demo,tmr:shm-demo@reg:1:100:rax:3,tmr:shm-demo+rep,tmr:hello,\
                    tmr:shm-demo@mem:1:3:OUT_BLOB:0,dmr:shm-demo@mem:1:3:OUT_BLOB:0";
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
    assert!(
        run.output
            .contains("shm-demo: blob in: 1000 of 1000 bytes as sent"),
        "{}",
        run.output
    );
    assert!(
        run.output
            .contains("shm-demo-device: blob out: 1000 of 1000 bytes correct"),
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

/// Event 3 is the first chunk of the `rep movs` that copies OUT_BLOB out (after attach and
/// args); the bit is flipped in replica 1's copy as it arrives there. The bytes the chunk carries
/// out are compared with the event, so the difference never reaches the device: outvoted and
/// repaired under TMR, rolled back under DMR. (On aarch64 memcpy moves data through registers,
/// which every event compares anyway.)
#[test]
fn private_bytes_a_string_move_carries_out_are_compared_x86_64() {
    if !enabled("private_bytes_a_string_move_carries_out_are_compared(x86_64)") {
        return;
    }
    let boot = shm_boot("x86_64");
    let (tmr, dmr) = (&boot.runs[4], &boot.runs[5]);
    assert_exchange(tmr);
    assert_eq!(
        (&tmr.summary["mismatches"], &tmr.summary["recoveries"]),
        (&1.into(), &1.into()),
        "{}",
        tmr.summary
    );
    assert!(
        tmr.log
            .iter()
            .any(|l| l.contains("event 3: replica 1 outvoted (message word")),
        "{:?}",
        tmr.log
    );
    assert_exchange(dmr);
    assert_eq!(
        (&dmr.summary["mismatches"], &dmr.summary["rollbacks"]),
        (&1.into(), &1.into()),
        "{}",
        dmr.summary
    );
}

romain_systest::per_arch!(
    records_and_counter_go_through_once,
    a_flipped_register_is_outvoted_before_the_shared_access,
    an_unsupported_access_ends_its_group_naming_the_instruction
);
