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
//!   a waiting thread would change ends `livelock` at the silence bound;
//! - thread calls made badly (linux-apps/thostile.c) get Linux's answers, a thread bomb stops at
//!   the thread limit, a thread without a stack ends its group, and the master's heap is the
//!   same after every group;
//! - a thread's own state (thostile perthread): a robust mutex whose owner dies answers
//!   EOWNERDEAD, taken afterwards and waited for while it dies; a robust list that loops; signal
//!   masks and alternate stacks per thread, as on Linux.

use std::sync::Arc;

use romain_systest::{Boot, boot, enabled, reference};

/// A register live at every call (as the Linux test flips).
fn flip_register(arch: &str) -> &'static str {
    if arch == "aarch64" { "x19" } else { "rsp" }
}

/// The runs of the boot: (program, mode, arguments).
const RUNS: [(&str, &str, &str); 15] = [
    ("cthreads", "none", "1"),
    ("cthreads", "none", "2"),
    ("cthreads", "none", "4"),
    ("cthreads", "dmr", "4"),
    ("cthreads", "tmr", "4"),
    ("cthreads", "tmr", "4"),
    ("cthreads", "tmr", "4"), // a flip in thread 3 (the second worker)
    ("cthreads", "dmr", "4"), // a flip at thread 2's first event
    ("cthreads", "tmr", "2"),
    ("cthreads", "dmr", "deadlock"),
    ("cthreads", "tmr", "livelock"),
    // Thread calls made badly (linux-apps/thostile.c).
    ("thostile", "tmr", "calls"),
    ("thostile", "tmr", "bomb"),
    ("thostile", "dmr", "wildstack"),
    ("thostile", "tmr", "perthread"),
];

fn plan(arch: &str) -> String {
    let r = flip_register(arch);
    RUNS.iter()
        .enumerate()
        .map(|(i, (program, mode, args))| {
            let inject = match i {
                6 => format!("@reg:1:t3.2:{r}:3"),
                7 => format!("@reg:1:t2.1:{r}:3"),
                _ => String::new(),
            };
            format!("{mode}:{program}+{args}{inject}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn threads_boot(arch: &str) -> Arc<Boot> {
    // The silence bound ends the livelock (the other runs make calls far more often).
    boot(arch, &plan(arch), &["SILENCE_MS=4000", "QUOTA_MB=64"])
}

fn on_linux(arch: &str, program: &str, args: &str) -> Option<String> {
    let run = reference::on_linux(arch, program, &[args], &[], None)?;
    assert_eq!(run.exit_code, 0, "the reference run failed: {run:?}");
    Some(run.output)
}

fn pthreads_programs_print_what_they_print_on_linux_in_every_mode(arch: &str) {
    if !enabled(&format!("threads({arch})")) {
        return;
    }
    let boot = threads_boot(arch);
    assert_eq!(boot.runs.len(), RUNS.len(), "{}", boot.console);
    for (i, (_, mode, args)) in RUNS.iter().enumerate().take(9) {
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
        if let Some(linux) = on_linux(arch, "cthreads", args) {
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
    for (i, (_, mode, _)) in RUNS.iter().enumerate().take(8).skip(3) {
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

fn thread_calls_made_badly_get_linux_answers_and_the_master_holds(arch: &str) {
    if !enabled(&format!("threads_hostile({arch})")) {
        return;
    }
    let boot = threads_boot(arch);
    // Wild, misaligned, changed and unknown: every answer Linux's.
    let calls = &boot.runs[11];
    assert_eq!(calls.summary["status"], "ok", "{}", calls.summary);
    if let Some(linux) = on_linux(arch, "thostile", "calls") {
        // The reference may not see Linux's own clone3: qemu-aarch64's user mode and Docker's
        // default seccomp profile answer it ENOSYS. Those lines are checked against Linux's
        // answers (natively, outside a container) below.
        let without_clone3 = |text: &str| -> String {
            text.lines()
                .filter(|l| !l.starts_with("clone3"))
                .map(|l| format!("{l}\n"))
                .collect()
        };
        assert_eq!(
            without_clone3(&calls.output),
            without_clone3(&linux),
            "thostile calls differs from Linux"
        );
    }
    for line in [
        "clone3, past a page                -7 E2BIG",
        "clone3, 8 bytes                    -22 EINVAL",
        "clone3, wild                       -14 EFAULT",
    ] {
        assert!(calls.output.contains(line), "{line:?} in\n{}", calls.output);
    }
    // Threads up to the limit (64 at once), then EAGAIN as at an exhausted process limit.
    let bomb = &boot.runs[12];
    assert_eq!(bomb.summary["status"], "ok", "{}", bomb.summary);
    assert_eq!(bomb.output, "created 63 threads, then: EAGAIN\n");
    assert_eq!(bomb.summary["threads"], 64, "{}", bomb.summary);
    // A thread with a stack that is nowhere faults: the program's fault, its group ends.
    let wild = &boot.runs[13].summary;
    assert_eq!(wild["status"], "app-fault", "{wild}");
    // A thread's own state. The reference's robust lists may be missing (qemu-aarch64's user
    // mode answers them ENOSYS): then the lines without them are compared, and the robust
    // lines are checked against Linux's answers (natively).
    let own = &boot.runs[14];
    assert_eq!(own.summary["status"], "ok", "{}", own.summary);
    if let Some(linux) = on_linux(arch, "thostile", "perthread") {
        let robust = |l: &str| {
            l.contains("robust") || l.contains("consistent") || l.contains("locked again")
        };
        let without = |text: &str| -> String {
            text.lines()
                .filter(|l| !robust(l))
                .map(|l| format!("{l}\n"))
                .collect()
        };
        if linux.contains("robust lists: ENOSYS") {
            assert_eq!(
                without(&own.output),
                without(&linux),
                "thostile perthread differs from Linux"
            );
        } else {
            assert_eq!(own.output, linux, "thostile perthread differs from Linux");
        }
    }
    for line in [
        "set_robust_list, 16 bytes          -22 EINVAL",
        "get_robust_list, no such thread    -3 ESRCH",
        "get_robust_list, wild              -14 EFAULT",
        "new thread: SIGUSR1 blocked, altstack disabled",
        "main after join: SIGUSR1 blocked, SIGUSR2 not blocked, altstack 65536 bytes",
        "robust lock, its owner returned: EOWNERDEAD",
        "locked again: 0",
        "robust lock, waited while its owner died: EOWNERDEAD",
        "a looping robust list: the thread exited and was joined",
    ] {
        assert!(own.output.contains(line), "{line:?} in\n{}", own.output);
    }
    // The master keeps nothing of any of them: its heap is the same after every group.
    let heaps: Vec<&String> = boot
        .runs
        .iter()
        .flat_map(|r| {
            r.log
                .iter()
                .filter(|l| l.contains("master heap in use after the group"))
        })
        .collect();
    assert_eq!(heaps.len(), RUNS.len(), "{heaps:?}");
    let first = heaps[0].rsplit(": ").next();
    assert!(
        heaps.iter().all(|h| h.rsplit(": ").next() == first),
        "the master's heap changed: {heaps:#?}"
    );
}

#[test]
fn x86_64_thread_calls_made_badly_get_linux_answers_and_the_master_holds() {
    thread_calls_made_badly_get_linux_answers_and_the_master_holds("x86_64");
}

#[test]
fn aarch64_thread_calls_made_badly_get_linux_answers_and_the_master_holds() {
    thread_calls_made_badly_get_linux_answers_and_the_master_holds("aarch64");
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
