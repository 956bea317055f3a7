//! Containment on the production kernel: a replica trying every seL4 system call number, sends
//! without a reply (an `NBSend` the master was not receiving for is dropped by the kernel: no
//! event, and the replicas run on), forged kernel fault messages, its core's timer, and one replica of a group
//! misbehaving while the others do not. Each case ends with that group's own summary, `ok` or a
//! named error, nothing reaches the console past the master, and the plan runs on to the end.

use std::sync::Arc;

use romain_systest::{Boot, Run, assert_sample_output, boot, enabled};

/// System call numbers tried, each in a group of its own: seL4's 30 and three it does not have.
fn numbers() -> Vec<i64> {
    (1..=30).map(|n| -n).chain([0, 1, 1000]).collect()
}

/// Fault labels forged, each in a group of its own (with the first length tried, if not 0).
const FORGED: [(u64, u64); 11] = [
    (1, 0),
    (2, 0),
    (3, 0),
    (4, 0),
    (5, 0),
    (5, 4),
    (6, 0),
    (7, 0),
    (8, 0),
    (2, 13),
    (2, 19),
];

const SWITCH: &str = "@mem:1:2:HOSTILE_SWITCH:0";

fn plan(arch: &str) -> String {
    let mut runs: Vec<String> = numbers()
        .iter()
        .map(|n| format!("none:hostile+sys+{n}"))
        .collect();
    runs.push("tmr:hostile+send".into());
    runs.push("dmr:hostile+nbsend".into());
    for (label, first) in FORGED {
        runs.push(match first {
            0 => format!("none:hostile+forge+{label}"),
            _ => format!("none:hostile+forge+{label}+{first}"),
        });
    }
    runs.push("tmr:hostile+labels".into());
    if arch == "aarch64" {
        runs.push("tmr:hostile+timer".into());
    }
    runs.push("tmr:hello@hang:2:2".into());
    runs.push(format!("tmr:hostile+one+debug{SWITCH}"));
    runs.push(format!("dmr:hostile+one+debug{SWITCH}"));
    runs.push(format!("tmr:hostile+one+send{SWITCH}"));
    runs.push("tmr:hello".into());
    runs.join(",")
}

fn containment_boot(arch: &str) -> Arc<Boot> {
    // The watchdog is on, so that the hang after the timer case shows the master's timer works.
    boot(arch, &plan(arch), &["WATCHDOG_MS=5000"])
}

/// The runs after the system-call sweep, by name.
struct Runs<'a> {
    boot: &'a Boot,
    arch: &'a str,
}

impl Runs<'_> {
    fn sys(&self, number: i64) -> &Run {
        let i = numbers().iter().position(|&n| n == number).unwrap();
        &self.boot.runs[i]
    }

    fn after_sweep(&self, k: usize) -> &Run {
        &self.boot.runs[numbers().len() + k]
    }

    fn forged(&self, label: u64, first: u64) -> &Run {
        let i = FORGED.iter().position(|&f| f == (label, first)).unwrap();
        self.after_sweep(2 + i)
    }

    /// Runs after the forged labels and the unknown labels.
    fn tail(&self, k: usize) -> &Run {
        let timer = usize::from(self.arch == "aarch64");
        self.after_sweep(2 + FORGED.len() + 1 + timer + k)
    }
}

fn status(run: &Run) -> &str {
    run.summary["status"].as_str().unwrap()
}

fn error(run: &Run) -> &str {
    run.summary["error"].as_str().unwrap()
}

fn every_system_call_number_ends_only_its_group(arch: &str) {
    if !enabled(&format!("every_system_call_number({arch})")) {
        return;
    }
    let boot = containment_boot(arch);
    let runs = Runs { boot: &boot, arch };
    for n in numbers() {
        let run = runs.sys(n);
        let s = status(run);
        match n {
            // Call (a yield call), Reply (nothing to reply to), Yield: the replica goes on.
            -1 | -6 | -7 => {
                assert_eq!(s, "ok", "syscall {n}: {}", run.summary);
                assert!(run.output.contains(&format!("syscall {n} returned")));
            }
            // ReplyRecv, Recv, NBRecv: the endpoint capability has no receive right.
            -2 | -5 | -8 => {
                assert_eq!(s, "app-fault", "syscall {n}: {}", run.summary);
                assert!(error(run).starts_with("capability fault at slot 0x1"));
            }
            -3 => {
                assert_eq!(s, "protocol-error", "syscall {n}: {}", run.summary);
                assert!(error(run).contains("without waiting for the reply"));
            }
            // NBSend is delivered only if the master is in its receive at that moment; dropped,
            // it is no event at all and the replica runs on.
            -4 => assert_nbsend(run, &format!("syscall {n} returned")),
            // SetTLSBase exists on x86_64: the replica then faults on its own thread pointer.
            -30 if arch == "x86_64" => assert_eq!(s, "app-fault", "{}", run.summary),
            // Every debug and benchmark call (and the rest) is no system call of this kernel.
            -30..=-9 => {
                let name = romain_core::message::syscall_name(n as u64).unwrap();
                assert_eq!(s, "app-fault", "syscall {n}: {}", run.summary);
                assert!(
                    error(run).contains(&format!("unknown syscall {n} (seL4_{name}")),
                    "{}",
                    run.summary
                );
                // Nothing but what the program printed through the master before the call.
                assert_eq!(
                    run.output,
                    format!("hostile: sys\nsyscall {n}\n"),
                    "syscall {n}"
                );
            }
            _ => {
                assert_eq!(s, "app-fault", "syscall {n}: {}", run.summary);
                assert!(error(run).starts_with("unknown syscall"), "{}", run.summary);
            }
        }
    }
}

fn sends_without_a_reply_are_protocol_errors(arch: &str) {
    if !enabled(&format!("sends_without_a_reply({arch})")) {
        return;
    }
    let boot = containment_boot(arch);
    let runs = Runs { boot: &boot, arch };
    let send = runs.after_sweep(0);
    assert_eq!(status(send), "protocol-error", "{}", send.summary);
    assert!(error(send).contains("seL4_Send or seL4_NBSend"));
    assert!(
        !send.output.contains("ran on after a send"),
        "{}",
        send.output
    );
    assert_nbsend(runs.after_sweep(1), "ran on after a send");
}

/// An `NBSend` the master received is a protocol error; one it missed (it was not in its receive
/// at that moment) never reached it, and the replicas ran on alike.
fn assert_nbsend(run: &Run, ran_on: &str) {
    match status(run) {
        "protocol-error" => {
            assert!(
                error(run).contains("seL4_Send or seL4_NBSend"),
                "{}",
                run.summary
            );
            assert!(!run.output.contains(ran_on), "{}", run.output);
        }
        "ok" => {
            assert!(run.output.contains(ran_on), "{}", run.output);
            assert_eq!(run.summary["mismatches"], 0, "{}", run.summary);
        }
        _ => panic!("NBSend: {}", run.summary),
    }
}

fn forged_fault_messages_end_only_their_group(arch: &str) {
    if !enabled(&format!("forged_fault_messages({arch})")) {
        return;
    }
    let boot = containment_boot(arch);
    let runs = Runs { boot: &boot, arch };
    for label in [1, 2, 3, 4, 5] {
        let run = runs.forged(label, 0);
        assert_eq!(
            status(run),
            "protocol-error",
            "label {label}: {}",
            run.summary
        );
        assert!(
            error(run).contains("forged kernel message"),
            "{}",
            run.summary
        );
    }
    let vm = runs.forged(5, 4);
    assert!(
        error(vm).contains("vm fault at pc 0x1000, but the replica is at"),
        "{}",
        vm.summary
    );
    for label in [6, 7, 8] {
        let run = runs.forged(label, 0);
        if arch == "aarch64" {
            // VCPU fault labels of a hypervisor kernel: no replica has a VCPU.
            assert!(
                error(run).contains(&format!(
                    "fault label {label}, which this kernel never sends"
                )),
                "{}",
                run.summary
            );
        } else {
            // No fault of this kernel: unknown calls, refused at every length.
            assert_eq!(status(run), "ok", "{}", run.summary);
            assert!(run.output.contains("answered as a call"));
        }
    }
    // An unknown-syscall message of exactly the real length is taken as that fault (the master
    // acts only on what it reads itself), any other length is forged.
    let (right, wrong) = if arch == "aarch64" {
        (13, 19)
    } else {
        (19, 13)
    };
    let exact = runs.forged(2, right);
    assert_eq!(status(exact), "app-fault", "{}", exact.summary);
    assert!(error(exact).starts_with("unknown syscall 0x1000"));
    let other = runs.forged(2, wrong);
    assert_eq!(status(other), "protocol-error", "{}", other.summary);
    let labels = runs.after_sweep(2 + FORGED.len());
    assert_eq!(status(labels), "ok", "{}", labels.summary);
    assert!(
        labels
            .output
            .contains("unknown labels: 605 of 605 calls refused")
    );
}

fn a_replica_programming_its_timer_cannot_stop_the_watchdog(arch: &str) {
    if arch != "aarch64" || !enabled(&format!("a_replica_programming_its_timer({arch})")) {
        return;
    }
    let boot = containment_boot(arch);
    let runs = Runs { boot: &boot, arch };
    let timer = runs.after_sweep(2 + FORGED.len() + 1);
    assert_eq!(status(timer), "ok", "{}", timer.summary);
    assert_eq!(timer.summary["mismatches"], 0, "{}", timer.summary);
    assert!(timer.output.contains("physical counter ticking"));
    let hang = runs.tail(0);
    assert_eq!(status(hang), "ok", "{}", hang.summary);
    assert_eq!(hang.summary["watchdog_fired"], 1, "{}", hang.summary);
    assert_eq!(hang.summary["recoveries"], 1, "{}", hang.summary);
    assert_sample_output(&hang.output);
}

fn one_misbehaving_replica_is_outvoted_or_stops_its_group(arch: &str) {
    if !enabled(&format!("one_misbehaving_replica({arch})")) {
        return;
    }
    let boot = containment_boot(arch);
    let runs = Runs { boot: &boot, arch };
    let steps = "hostile: one\nstep 0\nstep 1\nstep 2\nstep 3\n";
    let tmr = runs.tail(1);
    assert_eq!(status(tmr), "ok", "{}", tmr.summary);
    assert_eq!(tmr.summary["mismatches"], 1, "{}", tmr.summary);
    assert_eq!(tmr.summary["recoveries"], 1, "{}", tmr.summary);
    assert_eq!(tmr.output, steps);
    assert!(
        tmr.log
            .iter()
            .any(|l| l.contains("replica 1 outvoted") && l.contains("seL4_DebugPutChar"))
    );
    // DMR: the flip is in the checkpoint too, so the rollback meets it again: fail-stop.
    let dmr = runs.tail(2);
    assert_eq!(status(dmr), "mismatch", "{}", dmr.summary);
    assert_eq!(dmr.summary["rollbacks"], 1, "{}", dmr.summary);
    assert_eq!(dmr.summary["detected"], 1, "{}", dmr.summary);
    assert!(!dmr.output.contains('!'));
    let send = runs.tail(3);
    assert_eq!(status(send), "protocol-error", "{}", send.summary);
    assert!(
        error(send).starts_with("replica 1: a message"),
        "{}",
        send.summary
    );
}

fn the_plan_runs_to_its_end(arch: &str) {
    if !enabled(&format!("the_plan_runs_to_its_end({arch})")) {
        return;
    }
    let boot = containment_boot(arch);
    let runs = Runs { boot: &boot, arch };
    let expected = plan(arch).split(',').count();
    assert_eq!(boot.runs.len(), expected);
    let last = runs.tail(4);
    assert_eq!(status(last), "ok", "{}", last.summary);
    assert_eq!(last.summary["kernel"], "production", "{}", last.summary);
    assert!(
        last.summary.get("replica_cpu").is_none(),
        "{}",
        last.summary
    );
    assert_sample_output(&last.output);
    assert!(
        boot.console
            .lines()
            .any(|l| romain_records::parse(l) == Some(romain_records::Record::End))
    );
}

romain_systest::per_arch!(
    every_system_call_number_ends_only_its_group,
    sends_without_a_reply_are_protocol_errors,
    forged_fault_messages_end_only_their_group,
    a_replica_programming_its_timer_cannot_stop_the_watchdog,
    one_misbehaving_replica_is_outvoted_or_stops_its_group,
    the_plan_runs_to_its_end
);
