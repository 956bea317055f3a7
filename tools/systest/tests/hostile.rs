//! Hostile and broken replicas: each gets a clear error for its own group; the master and the
//! groups after it keep running, and no replica reaches memory it does not own.

use std::sync::Arc;

use romain_systest::{Boot, assert_sample_output, boot, enabled};

const PLAN: &str = "tmr:hostile+cap,tmr:hostile+addr,tmr:hostile+write,tmr:hostile+calls,\
                    tmr:hostile+flood,dmr:hostile+oom,tmr:hello,tmr:hostile+entropy,tmr:hostile+ud";

/// A small memory quota, so that exhausting it takes little time.
const QUOTA_MB: u64 = 8;

fn hostile_boot(arch: &str) -> Arc<Boot> {
    boot(arch, PLAN, &[&format!("QUOTA_MB={QUOTA_MB}")])
}

fn summary(boot: &Boot, run: usize) -> &serde_json::Value {
    &boot.runs[run].summary
}

fn capability_slots_outside_the_slice_are_an_app_fault(arch: &str) {
    if !enabled(&format!("capability_slots_outside_the_slice({arch})")) {
        return;
    }
    let boot = hostile_boot(arch);
    let s = summary(&boot, 0);
    assert_eq!(s["status"], "app-fault", "{s}");
    assert!(
        s["error"].as_str().unwrap().contains("capability fault"),
        "{s}"
    );
}

fn foreign_and_read_only_memory_is_an_app_fault(arch: &str) {
    if !enabled(&format!("foreign_and_read_only_memory({arch})")) {
        return;
    }
    let boot = hostile_boot(arch);
    let read = summary(&boot, 1);
    assert_eq!(read["status"], "app-fault", "{read}");
    assert!(
        read["error"]
            .as_str()
            .unwrap()
            .starts_with("vm fault at 0x100000000"),
        "{read}"
    );
    assert!(!boot.runs[1].output.contains("read the master's memory"));
    let write = summary(&boot, 2);
    assert_eq!(write["status"], "app-fault", "{write}");
    assert!(
        write["error"].as_str().unwrap().starts_with("vm fault at"),
        "{write}"
    );
    assert!(!boot.runs[2].output.contains("overwrote my code"));
}

fn unknown_calls_and_wild_arguments_are_refused(arch: &str) {
    if !enabled(&format!("unknown_calls_and_wild_arguments({arch})")) {
        return;
    }
    let boot = hostile_boot(arch);
    let run = &boot.runs[3];
    assert_eq!(run.summary["status"], "ok", "{}", run.summary);
    for line in [
        "unknown call: Err(UnknownCall)",
        "label 0: Err(UnknownCall)",
        "huge write: Err(BadArgument)",
        "short write: Err(BadArgument)",
    ] {
        assert!(
            run.output.lines().any(|l| l == line),
            "{line:?} missing in:\n{}",
            run.output
        );
    }
}

fn a_flood_of_calls_is_served(arch: &str) {
    if !enabled(&format!("a_flood_of_calls_is_served({arch})")) {
        return;
    }
    let boot = hostile_boot(arch);
    let run = &boot.runs[4];
    assert_eq!(run.summary["status"], "ok", "{}", run.summary);
    assert!(
        run.summary["events"].as_u64().unwrap() > 2000,
        "{}",
        run.summary
    );
    assert!(
        run.output.contains("flooded: 2000 calls, 2000 arguments"),
        "{}",
        run.output
    );
}

fn exhausting_memory_ends_the_program_with_its_reason(arch: &str) {
    if !enabled(&format!("exhausting_memory({arch})")) {
        return;
    }
    let boot = hostile_boot(arch);
    let run = &boot.runs[5];
    let s = &run.summary;
    // The master refuses to grow the heap beyond the quota; the program's allocator then fails
    // and the program ends with the panic exit code, reported as the group running out.
    assert_eq!(s["status"], "out-of-memory", "{s}");
    assert_eq!(s["exit_code"], 101, "{s}");
    let error = s["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("memory quota ({QUOTA_MB} MiB per replica)")),
        "{s}"
    );
    assert!(
        run.output
            .contains("memory allocation of 65536 bytes failed"),
        "{}",
        run.output
    );
    // Heap pages are mapped as touched, up to the quota and no further.
    let pages = s["pages"].as_u64().unwrap();
    let quota_pages = QUOTA_MB * 256;
    assert!(pages > quota_pages / 2 && pages <= quota_pages, "{s}");
}

fn an_undefined_instruction_is_an_app_fault(arch: &str) {
    if !enabled(&format!("an_undefined_instruction({arch})")) {
        return;
    }
    let boot = hostile_boot(arch);
    let run = &boot.runs[8];
    let s = &run.summary;
    assert_eq!(s["status"], "app-fault", "{s}");
    assert!(
        s["error"].as_str().unwrap().starts_with("user exception"),
        "{s}"
    );
    assert_eq!(s["mismatches"], 0, "every replica faults alike: {s}");
    assert!(!run.output.contains("ran an undefined instruction"));
}

fn the_master_carries_on_after_hostile_groups(arch: &str) {
    if !enabled(&format!("the_master_carries_on({arch})")) {
        return;
    }
    let boot = hostile_boot(arch);
    assert_eq!(boot.runs.len(), 9);
    assert_eq!(summary(&boot, 6)["status"], "ok");
    assert_sample_output(&boot.runs[6].output);
}

fn randomness_and_time_are_replicated(arch: &str) {
    if !enabled(&format!("randomness_and_time_are_replicated({arch})")) {
        return;
    }
    let boot = hostile_boot(arch);
    let run = &boot.runs[7];
    assert_eq!(run.summary["status"], "ok", "{}", run.summary);
    assert_eq!(run.summary["mismatches"], 0, "{}", run.summary);
    assert!(
        run.output.contains("random: two different draws"),
        "{}",
        run.output
    );
    assert!(run.output.contains("time: ticking"), "{}", run.output);
}

romain_systest::per_arch!(
    capability_slots_outside_the_slice_are_an_app_fault,
    foreign_and_read_only_memory_is_an_app_fault,
    unknown_calls_and_wild_arguments_are_refused,
    a_flood_of_calls_is_served,
    exhausting_memory_ends_the_program_with_its_reason,
    an_undefined_instruction_is_an_app_fault,
    the_master_carries_on_after_hostile_groups,
    randomness_and_time_are_replicated
);
