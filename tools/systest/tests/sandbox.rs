//! Copy & execute that cannot be turned against the master: hostile shared accesses (each case
//! of the review, on the architecture it applies to) end their group with an error naming the
//! instruction, and the executor sandbox contains an access the decoder accepts wrongly: in the
//! test's lax mode (`CAE_LAX=1`: no range check, no write sets) an access that leaves the region
//! faults inside the sandbox, and a register change the decoder did not announce is caught.
//! After each, the next program of the plan runs.

use std::sync::Arc;

use romain_systest::{Boot, Run, assert_sample_output, boot, enabled};

/// The hostile cases per architecture, and what the error must say.
fn cases(arch: &str) -> &'static [(&'static str, &'static str)] {
    if arch == "aarch64" {
        &[
            ("sp", "writes sp or the zero register"),
            ("misaligned", "instruction"),
            ("misaligned-exclusive", "instruction"),
            ("straddle", "leaves the shared region"),
        ]
    } else {
        &[
            ("segment", "a segment register operand"),
            ("base-index", "base and index are the same register"),
            ("bt-register", "a bit test with a register bit offset"),
            ("cmpxchg-rax", "cmpxchg's implicit rax"),
            ("string-wrap", "copy & execute at pc"),
            ("straddle", "leaves the shared region"),
        ]
    }
}

fn hostile_boot(arch: &str) -> Arc<Boot> {
    let mut runs: Vec<String> = cases(arch)
        .iter()
        .map(|(case, _)| format!("tmr:shm-demo+hostile+{case}"))
        .collect();
    runs.push("tmr:hello".into());
    boot(arch, &runs.join(","), &[])
}

fn lax_boot(arch: &str) -> Arc<Boot> {
    boot(
        arch,
        "tmr:shm-demo+hostile+straddle,tmr:shm-demo,tmr:hello",
        &["CAE_LAX=1"],
    )
}

fn error(run: &Run) -> &str {
    run.summary["error"].as_str().unwrap()
}

fn hostile_shared_accesses_end_their_group_with_a_named_error(arch: &str) {
    if !enabled(&format!("hostile_shared_accesses({arch})")) {
        return;
    }
    let boot = hostile_boot(arch);
    for (i, (case, says)) in cases(arch).iter().enumerate() {
        let run = &boot.runs[i];
        assert_eq!(
            run.summary["status"], "app-fault",
            "{case}: {}",
            run.summary
        );
        assert!(error(run).contains(says), "{case}: {}", run.summary);
        assert!(
            error(run).starts_with("copy & execute at pc"),
            "{case}: {}",
            run.summary
        );
        assert!(
            !run.output.contains("went through"),
            "{case}: {}",
            run.output
        );
    }
    let last = boot.runs.last().unwrap();
    assert_eq!(last.summary["status"], "ok", "{}", last.summary);
    assert_sample_output(&last.output);
}

fn the_sandbox_contains_an_access_the_decoder_accepts_wrongly(arch: &str) {
    if !enabled(&format!("the_sandbox_contains_a_wrong_accept({arch})")) {
        return;
    }
    let boot = lax_boot(arch);
    assert!(
        boot.console
            .contains("lax mode: no range check, no write sets"),
        "{}",
        boot.console
    );
    // Let through, the access runs in the sandbox, where the page after the region is not.
    let straddle = &boot.runs[0];
    assert_eq!(
        straddle.summary["status"], "app-fault",
        "{}",
        straddle.summary
    );
    assert!(
        error(straddle).contains("did not run to its end in the sandbox: vm fault at 0x2000004000"),
        "{}",
        straddle.summary
    );
    // With no write set, the first shared access's own result is an unannounced change.
    let demo = &boot.runs[1];
    assert_eq!(demo.summary["status"], "app-fault", "{}", demo.summary);
    assert!(
        error(demo).contains("which it does not write"),
        "{}",
        demo.summary
    );
    assert_eq!(boot.runs[2].summary["status"], "ok");
    assert_sample_output(&boot.runs[2].output);
}

romain_systest::per_arch!(
    hostile_shared_accesses_end_their_group_with_a_named_error,
    the_sandbox_contains_an_access_the_decoder_accepts_wrongly
);
