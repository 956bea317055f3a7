//! Build and boot: the sample program under none, DMR and TMR on both architectures, replicas on
//! distinct cores, and bad programs that end their own group but not the master.

use std::sync::Arc;

use romain_systest::{Boot, assert_sample_output, boot, enabled};

/// One boot per architecture serves every test in this file.
const PLAN: &str = "none:hello,dmr:hello,tmr:hello,tmr:nosuch,tmr:badelf,tmr:hello";

fn sample_boot(arch: &str) -> Arc<Boot> {
    // Any file that is not an ELF executable stands in for a malformed program image.
    let not_elf = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    boot(arch, PLAN, &[&format!("APP_badelf={not_elf}")])
}

fn sample_runs_identically_in_every_mode(arch: &str) {
    if !enabled(&format!("sample_runs_identically_in_every_mode({arch})")) {
        return;
    }
    let boot = sample_boot(arch);
    assert_eq!(boot.runs.len(), 6, "one summary per run:\n{}", boot.console);
    for (run, (mode, replicas)) in boot.runs[..3]
        .iter()
        .zip([("none", 1), ("dmr", 2), ("tmr", 3)])
    {
        let s = &run.summary;
        assert_eq!(s["arch"], arch);
        assert_eq!(s["app"], "hello");
        assert_eq!(s["mode"], mode);
        assert_eq!(s["replicas"], replicas);
        assert_eq!(s["status"], "ok", "{s}");
        assert_eq!(s["mismatches"], 0, "{s}");
        assert_eq!(s["recoveries"], 0, "{s}");
        assert_eq!(s["exit_code"], 0, "{s}");
        assert!(
            s["events"].as_u64().unwrap() >= 4,
            "every print and the exit are events: {s}"
        );
        assert!(s["cycles"].as_u64().unwrap() > 0, "{s}");
        assert_sample_output(&run.output);
        assert_eq!(
            run.output, boot.runs[0].output,
            "{mode} output differs from unreplicated"
        );
    }
    // The registers of every replica are compared at every event.
    let tmr = &boot.runs[2].summary;
    let regs = if arch == "aarch64" { 36 } else { 20 };
    assert!(tmr["compared_words"].as_u64().unwrap() >= 3 * regs * tmr["events"].as_u64().unwrap());
}

fn replicas_run_on_distinct_cores(arch: &str) {
    if !enabled(&format!("replicas_run_on_distinct_cores({arch})")) {
        return;
    }
    let boot = sample_boot(arch);
    let tmr = &boot.runs[2];
    let cores: Vec<u64> = tmr.summary["cores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert_eq!(cores.len(), 3);
    assert!(!cores.contains(&0), "core 0 is the master's: {cores:?}");
    let mut distinct = cores.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "replicas share a core: {cores:?}");
    for (i, core) in cores.iter().enumerate() {
        let line = format!("replica {i} on core {core} (");
        assert!(
            tmr.log.iter().any(|l| l.contains(&line)),
            "master did not print {line:?}"
        );
    }
}

fn bad_programs_end_their_group_not_the_master(arch: &str) {
    if !enabled(&format!(
        "bad_programs_end_their_group_not_the_master({arch})"
    )) {
        return;
    }
    let boot = sample_boot(arch);
    let unknown = &boot.runs[3].summary;
    assert_eq!(unknown["status"], "unknown-app", "{unknown}");
    assert_eq!(unknown["exit_code"], serde_json::Value::Null);
    let bad = &boot.runs[4].summary;
    assert_eq!(bad["status"], "bad-image", "{bad}");
    assert!(bad["error"].as_str().unwrap().contains("ELF"), "{bad}");
    // The master goes on: the next group runs normally.
    let after = &boot.runs[5];
    assert_eq!(after.summary["status"], "ok", "{}", after.summary);
    assert_sample_output(&after.output);
}

romain_systest::per_arch!(
    sample_runs_identically_in_every_mode,
    replicas_run_on_distinct_cores,
    bad_programs_end_their_group_not_the_master
);
