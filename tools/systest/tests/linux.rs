//! Unmodified static Linux programs (linux-apps/, built with Debian's gcc and glibc) as
//! replicas: their output and the file they write are compared with the same binary run on
//! Linux (natively on x86_64, under qemu-aarch64 for aarch64); a register flip under TMR is
//! outvoted and under DMR rolled back; a hostile program gets errors and the master carries on.
//! FP/SIMD state (linux-apps/fpkeep.c keeps its result in d8 / xmm8 across system calls) is
//! compared at every event, repaired under TMR and rolled back under DMR.

use std::sync::Arc;

use romain_systest::{Boot, boot, enabled, reference};

/// A register live at the call (an argument register would be caught at once too).
fn flip_register(arch: &str) -> &'static str {
    if arch == "aarch64" { "x19" } else { "rsp" }
}

/// fpkeep's FP/SIMD register that carries its result, and its round counter.
fn fpkeep_registers(arch: &str) -> (&'static str, &'static str) {
    if arch == "aarch64" {
        ("d8", "x19")
    } else {
        ("xmm8", "r12")
    }
}

/// fpkeep's event at which faults are injected: one of its rounds' write calls (it makes 40,
/// after the C library's start-up calls, then a printf and exit). On x86_64 glibc's start-up
/// also asks `cpuid` about 40 times, each an event ([docs/linux.md](../../../docs/linux.md)).
fn fpkeep_event(arch: &str) -> u64 {
    if arch == "x86_64" { 70 } else { 30 }
}

fn plan(arch: &str) -> String {
    let r = flip_register(arch);
    let (fp, counter) = fpkeep_registers(arch);
    let e = fpkeep_event(arch);
    // On x86_64 also built with musl (the set-up installs musl-tools; no aarch64 musl here).
    let musl = if arch == "x86_64" {
        ",tmr:cfiles-musl+input.txt"
    } else {
        ""
    };
    format!(
        "none:cfiles+input.txt,dmr:cfiles+input.txt,tmr:cfiles+input.txt,\
         tmr:cfiles+input.txt@reg:1:8:{r}:3,dmr:cfiles+input.txt@reg:1:8:{r}:3,tmr:chostile,\
         tmr:cfiles-pie+input.txt,\
         tmr:fpkeep,tmr:fpkeep@fpreg:1:{e}:{fp}:51,dmr:fpkeep@fpreg:1:{e}:{fp}:51,\
         dmr:fpkeep@reg:1:{e}:{counter}:1{musl}"
    )
}

fn linux_boot(arch: &str) -> Arc<Boot> {
    boot(
        arch,
        &plan(arch),
        &[
            "FILES=input.txt=linux-apps/input.txt",
            "STDIN=input.txt",
            "QUOTA_MB=64",
        ],
    )
}

/// The same binary on Linux, in a directory with the input: its output (stdout and stderr in one
/// pipe, as the master's console has them) and the file it wrote. `None` where this host cannot
/// run it (no qemu-aarch64): said loudly.
fn on_linux(arch: &str, program: &str) -> Option<(String, Vec<u8>)> {
    let mut run = reference::on_linux(
        arch,
        program,
        &["input.txt"],
        &["linux-apps/input.txt"],
        Some("input.txt"),
    )?;
    assert_eq!(run.exit_code, 0, "the reference run failed: {run:?}");
    // Empty for a program that writes no file.
    let file = run.files.remove("out.txt").unwrap_or_default();
    Some((run.output, file))
}

fn c_program_output_and_files_equal_linux_under_none_dmr_and_tmr(arch: &str) {
    if !enabled(&format!("linux_c_program_equals_linux({arch})")) {
        return;
    }
    let boot = linux_boot(arch);
    let glibc = on_linux(arch, "cfiles");
    // Run 6 is the same program built -static-pie (ET_DYN, relocating itself at PIE_BASE), run 11
    // (x86_64) built with musl. Run 4 is rolled back once (below).
    let musl: &[(usize, &str)] = if arch == "x86_64" {
        &[(11, "tmr")]
    } else {
        &[]
    };
    for &(i, mode) in [
        (0, "none"),
        (1, "dmr"),
        (2, "tmr"),
        (3, "tmr"),
        (4, "dmr"),
        (6, "tmr"),
    ]
    .iter()
    .chain(musl)
    {
        let run = &boot.runs[i];
        let s = &run.summary;
        // musl's stdio orders stdout and stderr otherwise: its own build on Linux is its reference.
        let reference = if s["app"] == "cfiles-musl" {
            on_linux(arch, "cfiles-musl")
        } else {
            glibc.clone()
        };
        assert_eq!(s["status"], "ok", "run {i} ({mode}): {s}\n{}", boot.console);
        assert_eq!(s["mode"], mode);
        assert_eq!(s["personality"], "linux", "{s}");
        assert_eq!(s["exit_code"], 0, "{s}");
        assert_eq!(s["files_written"], 1, "{s}");
        // The program's own checks of what it read.
        assert!(
            run.output
                .contains("input.txt: 3 lines, checksum 4b9324d2d748\n")
                && run.output.contains("stdin: 9 bytes\n"),
            "run {i}:\n{}",
            run.output
        );
        let line = run
            .log
            .iter()
            .find(|l| l.contains("file \"/out.txt\": "))
            .unwrap_or_else(|| panic!("no written-file line: {:?}", run.log));
        if let Some((output, file)) = &reference {
            assert_eq!(&run.output, output, "run {i} ({mode}) differs from Linux");
            let want = romain_mibench_c::file_line("/out.txt", file);
            assert!(line.ends_with(&want), "{line} vs Linux: {want}");
        }
    }
    // The flipped register was outvoted once and repaired; nothing diverged again.
    let s = &boot.runs[3].summary;
    assert_eq!(s["mismatches"], 1, "{s}");
    assert_eq!(s["recoveries"], 1, "{s}");
    assert!(
        s["injected"]
            .as_str()
            .unwrap()
            .contains(flip_register(arch)),
        "{s}"
    );
    // Its FP/SIMD state was part of the repair: nothing is left unrepaired.
    assert!(
        !boot.runs[3].log.iter().any(|l| l.contains("not repaired")),
        "{:?}",
        boot.runs[3].log
    );
    // Under DMR the same flip is rolled back (FP/SIMD state included), output as on Linux.
    let s = &boot.runs[4].summary;
    assert_eq!(
        (&s["mismatches"], &s["rollbacks"]),
        (&1.into(), &1.into()),
        "{s}"
    );
    assert_eq!(s["detected"], 0, "{s}");
}

fn fp_simd_state_is_compared_repaired_and_rolled_back(arch: &str) {
    if !enabled(&format!("linux_fp_simd({arch})")) {
        return;
    }
    let boot = linux_boot(arch);
    let reference = on_linux(arch, "fpkeep").map(|(output, _)| output);
    let (fp, counter) = fpkeep_registers(arch);
    let area = if arch == "aarch64" { 528 } else { 512 };
    for (i, mode) in [(7, "tmr"), (8, "tmr"), (9, "dmr"), (10, "dmr")] {
        let run = &boot.runs[i];
        let s = &run.summary;
        assert_eq!(s["status"], "ok", "run {i} ({mode}): {s}\n{}", boot.console);
        assert_eq!(s["app"], "fpkeep");
        assert_eq!(s["mode"], mode);
        assert!(run.output.contains("after 40 rounds: "), "{}", run.output);
        if let Some(want) = &reference {
            assert_eq!(&run.output, want, "run {i} ({mode}) differs from Linux");
        }
        // Every replica's FP/SIMD state compared at every event (rolled-back ones included).
        let replicas = s["replicas"].as_u64().unwrap();
        let compared = s["events"].as_u64().unwrap() + s["rollbacks"].as_u64().unwrap();
        assert_eq!(
            s["fp_bytes"].as_u64().unwrap(),
            compared * replicas * area,
            "{s}"
        );
        // The injection's event is one of the 40 rounds (then printf's write and exit).
        let start_up = s["events"].as_u64().unwrap() - 42;
        assert!(
            start_up < fpkeep_event(arch),
            "{start_up} start-up events: {s}"
        );
    }
    // TMR: the flipped register is found at that event, named, repaired, and does not diverge
    // again.
    let tmr = &boot.runs[8];
    let s = &tmr.summary;
    assert_eq!(
        (&s["mismatches"], &s["recoveries"]),
        (&1.into(), &1.into()),
        "{s}"
    );
    let wide = if arch == "aarch64" { "q8" } else { "xmm8" };
    assert!(s["injected"].as_str().unwrap().contains(fp), "{s}");
    assert!(
        tmr.log.iter().any(|l| l.contains(&format!(
            "event {}: replica 1 outvoted (FP/SIMD register {wide} ",
            fpkeep_event(arch)
        ))),
        "{:?}",
        tmr.log
    );
    // DMR: the same flip rolled back once.
    let s = &boot.runs[9].summary;
    assert_eq!(
        (&s["mismatches"], &s["rollbacks"]),
        (&1.into(), &1.into()),
        "{s}"
    );
    // A rollback across a round: the value in the FP/SIMD register must be the checkpoint's, or
    // the round is applied twice and the output is not Linux's (checked above).
    let s = &boot.runs[10].summary;
    assert_eq!(
        (&s["mismatches"], &s["rollbacks"]),
        (&1.into(), &1.into()),
        "{s}"
    );
    assert!(s["injected"].as_str().unwrap().contains(counter), "{s}");
}

fn a_hostile_linux_program_gets_errors_and_the_master_carries_on(arch: &str) {
    if !enabled(&format!("linux_hostile({arch})")) {
        return;
    }
    let boot = linux_boot(arch);
    let run = &boot.runs[5];
    let s = &run.summary;
    assert_eq!(s["status"], "ok", "{s}\n{}", run.output);
    assert_eq!(s["exit_code"], 0, "{s}\n{}", run.output);
    assert!(!run.output.contains("WRONG"), "{}", run.output);
    for line in [
        "write from a wild pointer: 14 ok",
        "write of a huge length: 14 ok",
        "read into a wild pointer: 14 ok",
        "read into the code: 14 ok",
        "open of a wild path: 14 ok",
        "unknown system call 5000: 38 ok",
        "socket: 38 ok",
        "mapping ends with ENOMEM: 12 ok",
        "hostile: 0 wrong",
    ] {
        assert!(
            run.output.contains(line),
            "{line:?} missing:\n{}",
            run.output
        );
    }
    // Every seL4 call number in rdx / x7 (-1 … -12): still the Linux call, stack pointer kept.
    for n in 1..=12 {
        // The personality's pid (romain_linux::stack::PID).
        let line = format!("getpid with seL4 number -{n} in the register: 100 ok");
        assert!(
            run.output.contains(&line),
            "{line:?} missing:\n{}",
            run.output
        );
    }
    assert!(s["linux_enosys"].as_u64().unwrap() >= 2, "{s}");
}

romain_systest::per_arch!(
    c_program_output_and_files_equal_linux_under_none_dmr_and_tmr,
    fp_simd_state_is_compared_repaired_and_rolled_back,
    a_hostile_linux_program_gets_errors_and_the_master_carries_on
);
