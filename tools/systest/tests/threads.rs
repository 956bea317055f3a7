//! Multithreaded Linux programs as replicas (linux-apps/cthreads.c: POSIX threads with a work
//! queue under a mutex and condition variables, a barrier, atomics, a thread that exits while
//! others run, pthread_join, a timed condition wait that times out, sleeps), on both
//! architectures in one boot each:
//! - at 1, 2 and 4 worker threads, under none, DMR and TMR, it prints what the same binary
//!   prints on Linux;
//! - the schedule is the same in every mode and every run: the same events, the same events per
//!   thread, the same schedule digest;
//! - a register flip in a worker thread is outvoted and repaired under TMR, and rolled back
//!   under DMR to the switch that started the thread;
//! - two threads taking two locks in opposite orders end `deadlock`; a thread spinning on what
//!   a waiting thread would change ends `livelock` at the silence bound.

use std::sync::Arc;

use romain_systest::{Boot, boot, enabled, reference};

/// A register live at every call (as the Linux test flips).
fn flip_register(arch: &str) -> &'static str {
    if arch == "aarch64" { "x19" } else { "rsp" }
}

/// The runs of the boot: (mode, arguments).
const RUNS: [(&str, &str); 11] = [
    ("none", "1"),
    ("none", "2"),
    ("none", "4"),
    ("dmr", "4"),
    ("tmr", "4"),
    ("tmr", "4"),
    ("tmr", "4"), // a flip in thread 3 (the second worker)
    ("dmr", "4"), // a flip at thread 2's first event
    ("tmr", "2"),
    ("dmr", "deadlock"),
    ("tmr", "livelock"),
];

fn plan(arch: &str) -> String {
    let r = flip_register(arch);
    RUNS.iter()
        .enumerate()
        .map(|(i, (mode, args))| {
            let inject = match i {
                6 => format!("@reg:1:t3.2:{r}:3"),
                7 => format!("@reg:1:t2.1:{r}:3"),
                _ => String::new(),
            };
            format!("{mode}:cthreads+{args}{inject}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn threads_boot(arch: &str) -> Arc<Boot> {
    // The silence bound ends the livelock (the other runs make calls far more often).
    boot(arch, &plan(arch), &["SILENCE_MS=4000", "QUOTA_MB=64"])
}

fn on_linux(arch: &str, args: &str) -> Option<String> {
    let run = reference::on_linux(arch, "cthreads", &[args], &[], None)?;
    assert_eq!(run.exit_code, 0, "the reference run failed: {run:?}");
    Some(run.output)
}

fn pthreads_programs_print_what_they_print_on_linux_in_every_mode(arch: &str) {
    if !enabled(&format!("threads({arch})")) {
        return;
    }
    let boot = threads_boot(arch);
    assert_eq!(boot.runs.len(), RUNS.len(), "{}", boot.console);
    for (i, (mode, args)) in RUNS.iter().enumerate().take(9) {
        let run = &boot.runs[i];
        let s = &run.summary;
        assert_eq!(
            s["status"], "ok",
            "run {i} ({mode} {args}): {s}\n{}",
            boot.console
        );
        assert_eq!(s["mode"], *mode);
        assert_eq!(s["exit_code"], 0, "{s}");
        let workers: u64 = args.parse().unwrap();
        // The first thread, the early one, the workers.
        assert_eq!(s["threads"], workers + 2, "run {i}: {s}");
        assert!(
            run.output.contains(&format!(
                "counter {} (expected {})",
                workers * 1000,
                workers * 1000
            )) && run.output.contains("timed wait: timed out"),
            "run {i}:\n{}",
            run.output
        );
        if let Some(linux) = on_linux(arch, args) {
            assert_eq!(
                run.output, linux,
                "run {i} ({mode} {args}) differs from Linux"
            );
        }
    }
    // The flips: outvoted in thread 3, rolled back to the switch into thread 2.
    let tmr = &boot.runs[6].summary;
    assert_eq!(
        (tmr["mismatches"].as_u64(), tmr["recoveries"].as_u64()),
        (Some(1), Some(1)),
        "{tmr}"
    );
    assert!(
        tmr["injected"].as_str().unwrap().ends_with("(thread 3)"),
        "{tmr}"
    );
    let dmr = &boot.runs[7].summary;
    assert_eq!(dmr["rollbacks"], 1, "{dmr}");
    assert!(
        dmr["injected"].as_str().unwrap().ends_with("(thread 2)"),
        "{dmr}"
    );
    assert!(
        boot.runs[7]
            .log
            .iter()
            .any(|l| l.contains("differ in register") && l.contains("rolling both back")),
        "{:?}",
        boot.runs[7].log
    );
}

fn the_schedule_is_the_same_in_every_mode_and_run(arch: &str) {
    if !enabled(&format!("threads_determinism({arch})")) {
        return;
    }
    let boot = threads_boot(arch);
    // Every run of the program with 4 workers (none, DMR, TMR twice, and with the flips).
    let of = |i: usize| {
        let s = &boot.runs[i].summary;
        (
            s["events"].clone(),
            s["switches"].clone(),
            s["schedule"].clone(),
            s["thread_events"].clone(),
            boot.runs[i].output.clone(),
        )
    };
    let first = of(2);
    assert!(
        first.1.as_u64().unwrap() > 0,
        "the threads took turns: {:?}",
        first
    );
    for (i, (mode, _)) in RUNS.iter().enumerate().take(8).skip(3) {
        assert_eq!(of(i), first, "run {i} ({mode}) scheduled otherwise");
    }
}

fn deadlocks_and_livelocks_end_their_group_named(arch: &str) {
    if !enabled(&format!("threads_deadlock_livelock({arch})")) {
        return;
    }
    let boot = threads_boot(arch);
    let dead = &boot.runs[9].summary;
    assert_eq!(dead["status"], "deadlock", "{dead}");
    assert!(
        dead["error"]
            .as_str()
            .unwrap()
            .contains("thread 0 on futex")
            && dead["error"]
                .as_str()
                .unwrap()
                .contains("thread 1 on futex"),
        "{dead}"
    );
    let live = &boot.runs[10].summary;
    assert_eq!(live["status"], "livelock", "{live}");
    assert!(
        live["error"]
            .as_str()
            .unwrap()
            .contains("thread 1 made no call")
            && live["error"].as_str().unwrap().contains("[0]"),
        "{live}"
    );
}

#[test]
fn x86_64_pthreads_programs_print_what_they_print_on_linux_in_every_mode() {
    pthreads_programs_print_what_they_print_on_linux_in_every_mode("x86_64");
}

#[test]
fn aarch64_pthreads_programs_print_what_they_print_on_linux_in_every_mode() {
    pthreads_programs_print_what_they_print_on_linux_in_every_mode("aarch64");
}

#[test]
fn x86_64_the_schedule_is_the_same_in_every_mode_and_run() {
    the_schedule_is_the_same_in_every_mode_and_run("x86_64");
}

#[test]
fn aarch64_the_schedule_is_the_same_in_every_mode_and_run() {
    the_schedule_is_the_same_in_every_mode_and_run("aarch64");
}

#[test]
fn x86_64_deadlocks_and_livelocks_end_their_group_named() {
    deadlocks_and_livelocks_end_their_group_named("x86_64");
}

#[test]
fn aarch64_deadlocks_and_livelocks_end_their_group_named() {
    deadlocks_and_livelocks_end_their_group_named("aarch64");
}
