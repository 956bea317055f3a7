//! A Linux program cannot take the master down, exhaust it, stall the plan or forge its records
//! (issue 24): each hostile case of linux-apps/abuse.c and linux-apps/forge.c ends its own group
//! with a clear status, or gets Linux's answers, and a well-behaved program in the same boot
//! after each still prints exactly what it prints on Linux. The test-only switches make the
//! personality panic (TEST_PANIC_ON) and allocate without bound (TEST_HOG_ON) on one call; the
//! master's heap in use, logged at each group's end, is the same after every group.

use std::sync::Arc;

use romain_systest::reference::{Reference, on_linux};
use romain_systest::{Boot, Run, boot, enabled};

/// The well-behaved program run after each hostile one.
const GOOD: &str = "none:cfiles+input.txt";

/// (plan entry, what the test checks) in boot order; every hostile run is followed by GOOD.
const CASES: [&str; 11] = [
    "tmr:abuse+unlinked",
    "tmr:abuse+sparse",
    "dmr:abuse+bigmap",
    "tmr:abuse+fill",
    "tmr:abuse+writev",
    "tmr:abuse+wrap",
    "tmr/events=3000:abuse+loop",
    "dmr/ms=1500:abuse+loop",
    "tmr:forge",
    "tmr:abuse+panic",
    "tmr:abuse+hog",
];

fn plan() -> String {
    CASES
        .iter()
        .flat_map(|case| [*case, GOOD])
        .collect::<Vec<_>>()
        .join(",")
}

fn containment_boot(arch: &str) -> Arc<Boot> {
    boot(
        arch,
        &plan(),
        &[
            "FILES=input.txt=linux-apps/input.txt",
            "STDIN=input.txt",
            "QUOTA_MB=64",
            "TEST_PANIC_ON=getrusage",
            "TEST_HOG_ON=umask",
        ],
    )
}

/// The hostile run `case` and the good run after it.
fn runs<'b>(boot: &'b Boot, case: &str) -> (&'b Run, &'b Run) {
    let i = CASES.iter().position(|c| *c == case).unwrap();
    assert_eq!(boot.runs.len(), 2 * CASES.len(), "{}", boot.console);
    (&boot.runs[2 * i], &boot.runs[2 * i + 1])
}

fn abuse_on_linux(arch: &str, case: &str) -> Option<Reference> {
    on_linux(arch, "abuse", &[case], &[], None)
}

fn linux_programs_cannot_take_the_master_down(arch: &str) {
    if !enabled(&format!("linux_containment({arch})")) {
        return;
    }
    let boot = containment_boot(arch);
    let good = on_linux(
        arch,
        "cfiles",
        &["input.txt"],
        &["linux-apps/input.txt"],
        Some("input.txt"),
    );
    let mut heap = Vec::new();
    for (k, case) in CASES.iter().enumerate() {
        let (hostile, after) = runs(&boot, case);
        // The program after each hostile one runs as on Linux.
        let s = &after.summary;
        assert_eq!(s["status"], "ok", "after {case}: {s}\n{}", boot.console);
        assert_eq!(s["exit_code"], 0, "after {case}: {s}");
        if let Some(good) = &good {
            assert_eq!(
                after.output, good.output,
                "after {case}: differs from Linux"
            );
        }
        for run in [hostile, after] {
            let line = run
                .log
                .iter()
                .find_map(|l| l.split("master heap in use after the group: ").nth(1))
                .unwrap_or_else(|| panic!("run {k} ({case}): no heap line: {:?}", run.log));
            heap.push(line.to_string());
        }
    }
    heap.dedup();
    assert_eq!(
        heap.len(),
        1,
        "the master's heap differs between groups: {heap:?}"
    );

    // POSIX files: as on Linux.
    for case in ["tmr:abuse+unlinked", "tmr:abuse+sparse", "dmr:abuse+bigmap"] {
        let (run, _) = runs(&boot, case);
        let s = &run.summary;
        assert_eq!(s["status"], "ok", "{case}: {s}\n{}", run.output);
        assert_eq!(s["exit_code"], 0, "{case}: {s}");
        let name = case.split('+').nth(1).unwrap();
        assert!(
            run.output.ends_with(&format!("{name}: done\n")),
            "{}",
            run.output
        );
        if let Some(linux) = abuse_on_linux(arch, name) {
            assert_eq!(run.output, linux.output, "{case} differs from Linux");
        }
    }

    // Exhaustion is the program's error, not the master's.
    let (run, _) = runs(&boot, "tmr:abuse+fill");
    assert_eq!(run.summary["status"], "ok", "{}", run.summary);
    let refused = run
        .output
        .lines()
        .find(|l| l.starts_with("fill: refused after "))
        .unwrap_or_else(|| panic!("{}", run.output));
    assert!(
        ["errno 28", "errno 27", "errno 12"]
            .iter()
            .any(|e| refused.ends_with(e)),
        "{refused}"
    );
    assert!(run.output.ends_with("fill: done\n"), "{}", run.output);
    // One call moves 1 MiB at most, not 1 MiB per part.
    let (run, _) = runs(&boot, "tmr:abuse+writev");
    assert_eq!(run.summary["status"], "ok", "{}", run.summary);
    assert!(run.output.contains("writev: 1048576\n"), "{}", run.output);
    // Values that wrap are refused.
    let (run, _) = runs(&boot, "tmr:abuse+wrap");
    assert_eq!(run.summary["status"], "ok", "{}", run.summary);
    assert!(!run.output.contains("WRONG"), "{}", run.output);
    assert!(run.output.ends_with("wrap: done\n"), "{}", run.output);

    // A program that never ends is ended by its run's budget.
    let (run, _) = runs(&boot, "tmr/events=3000:abuse+loop");
    let s = &run.summary;
    assert_eq!(s["status"], "over-budget", "{s}");
    assert_eq!(s["events"], 3000, "{s}");
    assert!(s["error"].as_str().unwrap().contains("3000 events"), "{s}");
    let (run, _) = runs(&boot, "dmr/ms=1500:abuse+loop");
    let s = &run.summary;
    assert_eq!(s["status"], "over-budget", "{s}");
    assert!(s["error"].as_str().unwrap().contains("1500 ms"), "{s}");

    // Forged records are the program's output, nothing more.
    let (run, _) = runs(&boot, "tmr:forge");
    assert_eq!(run.summary["status"], "ok", "{}", run.summary);
    assert_eq!(run.summary["app"], "forge", "{}", run.summary);
    if let Some(linux) = on_linux(arch, "forge", &[], &[], None) {
        assert_eq!(run.output, linux.output, "forge differs from Linux");
    }
    assert!(run.output.ends_with("forge: done\n"), "{}", run.output);

    // The personality failing on a call ends its group only, naming the call.
    for (case, call, why) in [
        (
            "tmr:abuse+panic",
            "getrusage",
            "test switch TEST_PANIC_ON=getrusage",
        ),
        ("tmr:abuse+hog", "umask", "memory allocation of"),
    ] {
        let (run, _) = runs(&boot, case);
        let s = &run.summary;
        assert_eq!(s["status"], "personality-error", "{case}: {s}");
        let error = s["error"].as_str().unwrap();
        assert!(
            error.contains(&format!("performing {call}")) && error.contains(why),
            "{case}: {s}"
        );
    }
    assert!(
        boot.console
            .lines()
            .any(|l| romain_records::parse(l) == Some(romain_records::Record::End)),
        "{}",
        boot.console
    );
}

/// A panic the master cannot contain (the test switch panics outside any group) stops QEMU at
/// once with a failing status: the runner says the master fell, not that it timed out.
fn a_master_that_falls_stops_the_machine(arch: &str) {
    if !enabled(&format!("master_falls({arch})")) {
        return;
    }
    let out = std::process::Command::new("make")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args([
            "--no-print-directory",
            "-s",
            "run",
            "PLAN=none:hello,none:hello",
        ])
        .arg(format!("ARCH={arch}"))
        .args(["TEST_PANIC_ON=master", "TIMEOUT=900"])
        .output()
        .expect("make runs");
    let console = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{console}\n{err}");
    assert!(
        console.contains("test switch TEST_PANIC_ON=master"),
        "{console}"
    );
    assert!(
        console.lines().any(|l| l == romain_records::MASTER_FELL),
        "{console}"
    );
    assert!(
        format!("{console}{err}").contains("qemu-run: the master fell"),
        "{console}\n{err}"
    );
    // The first run's summary came; the second run never started.
    let summaries = console
        .lines()
        .filter(|l| l.starts_with(romain_records::SUMMARY))
        .count();
    assert_eq!(summaries, 1, "{console}");
}

romain_systest::per_arch!(
    linux_programs_cannot_take_the_master_down,
    a_master_that_falls_stops_the_machine
);
