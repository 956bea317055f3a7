//! A Linux program cannot take the master down, exhaust it, stall the plan or forge its records
//! (issue 24): each hostile case of linux-apps/abuse.c and linux-apps/forge.c ends its own group
//! with a clear status, or gets Linux's answers, and a well-behaved program in the same boot
//! after each still prints exactly what it prints on Linux. The test-only switches make the
//! personality component panic (TEST_PANIC_ON), allocate without bound (TEST_HOG_ON), never
//! answer (TEST_SPIN_ON) and fault (TEST_FAULT_ON) on one call; the master's heap in use, logged
//! at each group's end, is the same after every group.

use std::sync::Arc;

use romain_systest::reference::{Reference, on_linux};
use romain_systest::{Boot, Run, boot, enabled, make_run};

/// The well-behaved program run after each hostile one.
const GOOD: &str = "none:cfiles+input.txt";

/// (plan entry, what the test checks) in boot order; every hostile run is followed by GOOD.
const CASES: [&str; 16] = [
    "tmr:abuse+unlinked",
    "tmr:abuse+sparse",
    "dmr:abuse+bigmap",
    "tmr:abuse+fill",
    "tmr:abuse+writev",
    "tmr:abuse+wrap",
    "tmr:abuse+posix",
    "tmr:abuse+vsyscall",
    "tmr:abuse+vsysbad",
    "tmr/events=400:abuse+loop",
    "dmr/ms=1500:abuse+loop",
    "tmr:forge",
    "tmr:abuse+panic",
    "tmr:abuse+hog",
    "tmr:abuse+spin",
    "tmr:abuse+fault",
];

/// Images the loader must refuse (`bad-image`, with one of the `|`-separated reasons), each
/// followed by GOOD, after the cases.
const IMAGES: [(&str, &str); 6] = [
    ("truncated", "elf|outside the file"),
    ("phnum", "elf|segments"),
    ("inmmap", "reserves"),
    ("atstack", "reserves"),
    ("overlap", "overlap"),
    ("manysites", "system-call sites"),
];

fn plan() -> String {
    CASES
        .iter()
        .copied()
        .chain(IMAGES.iter().map(|(name, _)| *name))
        .flat_map(|case| {
            let case = if case.contains(':') {
                case.to_string()
            } else {
                format!("tmr:{case}")
            };
            [case, GOOD.to_string()]
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The hostile images, made from a small static program of the architecture's compiler: its
/// file cut short, its program header count absurd, its segments moved into the Linux mapping
/// area or onto the stack, two segments overlapping, and a program of 270,000 system calls.
fn hostile_images(arch: &str) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("romain-images-{arch}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cc = if arch == "aarch64" {
        "aarch64-linux-gnu-gcc"
    } else {
        "gcc"
    };
    let call = if arch == "aarch64" {
        "svc #0"
    } else {
        "syscall"
    };
    let compile = |name: &str, source: &str| {
        let c = dir.join(format!("{name}.c"));
        std::fs::write(&c, source).unwrap();
        let out = dir.join(name);
        let status = std::process::Command::new(cc)
            .args(["-static", "-O2", "-o"])
            .arg(&out)
            .arg(&c)
            .status()
            .unwrap_or_else(|e| panic!("{cc}: {e}"));
        assert!(status.success(), "{cc} {}", c.display());
        std::fs::read(out).unwrap()
    };
    let small = compile("small", "int main(void) { return 0; }\n");
    let many = compile(
        "manysites",
        &format!(
            "void never(void) {{ __asm__ volatile(\".rept 270000\\n\\t{call}\\n\\t.endr\"); }}\n\
             int main(void) {{ return 0; }}\n"
        ),
    );
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as usize;
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let put = |b: &mut Vec<u8>, at: usize, v: u64| b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    // Every PT_LOAD (and the entry) moved by `by`; or only the second one moved onto the first.
    let loads = |b: &[u8]| -> Vec<usize> {
        let (phoff, phent, phnum) = (u64_at(b, 0x20) as usize, u16_at(b, 0x36), u16_at(b, 0x38));
        (0..phnum)
            .map(|i| phoff + i * phent)
            .filter(|&h| u32::from_le_bytes(b[h..h + 4].try_into().unwrap()) == 1)
            .collect()
    };
    let moved = |to: u64| {
        let mut b = small.clone();
        let by = to - u64_at(&b, loads(&b)[0] + 0x10);
        for h in loads(&b) {
            for field in [0x10, 0x18] {
                let v = u64_at(&b, h + field);
                put(&mut b, h + field, v + by);
            }
        }
        let entry = u64_at(&b, 0x18);
        put(&mut b, 0x18, entry + by);
        b
    };
    let mut overlap = small.clone();
    let hs = loads(&overlap);
    let first = u64_at(&overlap, hs[0] + 0x10);
    for field in [0x10, 0x18] {
        put(&mut overlap, hs[1] + field, first + 0x100);
    }
    let mut phnum = small.clone();
    phnum[0x38..0x3a].copy_from_slice(&u16::MAX.to_le_bytes());
    let images = [
        ("truncated", small[..small.len() / 3].to_vec()),
        ("phnum", phnum),
        ("inmmap", moved(0x10_0000_0000)),
        ("atstack", moved(0x7f_0000_0000 - 0x10_0000)),
        ("overlap", overlap),
        ("manysites", many),
    ];
    images
        .into_iter()
        .map(|(name, bytes)| {
            let path = dir.join(format!("{name}.elf"));
            std::fs::write(&path, bytes).unwrap();
            format!("APP_{name}={}", path.display())
        })
        .collect()
}

fn containment_boot(arch: &str) -> Arc<Boot> {
    let images = hostile_images(arch);
    let names: Vec<&str> = IMAGES.iter().map(|(name, _)| *name).collect();
    let linux = format!("LINUX={}", names.join(" "));
    let mut extra = vec![
        "FILES=input.txt=linux-apps/input.txt",
        "STDIN=input.txt",
        "QUOTA_MB=64",
        "TEST_PANIC_ON=getrusage",
        "TEST_HOG_ON=umask",
        "TEST_SPIN_ON=times",
        "TEST_FAULT_ON=sched_yield",
        &linux,
    ];
    extra.extend(images.iter().map(String::as_str));
    boot(arch, &plan(), &extra)
}

/// The hostile run `case` (a case or an image's name) and the good run after it.
fn runs<'b>(boot: &'b Boot, case: &str) -> (&'b Run, &'b Run) {
    let i = CASES
        .iter()
        .copied()
        .chain(IMAGES.iter().map(|(name, _)| *name))
        .position(|c| c == case)
        .unwrap();
    assert_eq!(
        boot.runs.len(),
        2 * (CASES.len() + IMAGES.len()),
        "{}",
        boot.console
    );
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
    let all = CASES
        .iter()
        .copied()
        .chain(IMAGES.iter().map(|(name, _)| *name));
    for (k, case) in all.enumerate() {
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

    // Images the master cannot run are refused before anything runs.
    for (name, why) in IMAGES {
        let (run, _) = runs(&boot, name);
        let s = &run.summary;
        assert_eq!(s["status"], "bad-image", "{name}: {s}");
        let error = s["error"].as_str().unwrap().to_lowercase();
        assert!(why.split('|').any(|w| error.contains(w)), "{name}: {s}");
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

    // The calls of real programs, used as a hostile program would: bounded, never waiting.
    let (run, _) = runs(&boot, "tmr:abuse+posix");
    assert_eq!(run.summary["status"], "ok", "{}", run.summary);
    let out = &run.output;
    let dirs = out
        .lines()
        .find_map(|l| l.strip_prefix("posix: "))
        .and_then(|l| l.split_once(" directories of 4 KiB paths, then errno 28"))
        .unwrap_or_else(|| panic!("{out}"));
    let made: usize = dirs.0.parse().unwrap();
    assert!((200..=280).contains(&made), "{made} (1 MiB of names)");
    for line in [
        "mkdir of a 256-byte name: -1 errno 36\n",
        "posix: pipe took 65536 bytes, then errno 11\n",
        "posix: pipe gave 65536 bytes, then errno 11\n",
        "poll of an empty pipe: 0 errno 0\n",
        "poll of 10^6 entries: -1 errno 22\n",
        "poll of a bad array: -1 errno 14\n",
        "pselect6 of -1 descriptors: -1 errno 22\n",
        "getdents64 into a bad buffer: -1 errno 14\n",
        "getdents64 of 8 bytes: -1 errno 22\n",
        "pppppppppp",
        "sendfile of 2^40 bytes: 10 errno 0\n",
        "fork: -1 errno 11\n",
        "prctl PR_SET_NAME from a bad pointer: -1 errno 14\n",
        "posix: done\n",
    ] {
        assert!(out.contains(line), "{line:?} missing:\n{out}");
    }
    // x86_64's legacy vsyscall page: its entry points are emulated, the rest is a fault.
    let (run, _) = runs(&boot, "tmr:abuse+vsyscall");
    assert_eq!(run.summary["status"], "ok", "{}", run.summary);
    let (run, _) = runs(&boot, "tmr:abuse+vsysbad");
    if arch == "x86_64" {
        assert_eq!(run.summary["status"], "app-fault", "{}", run.summary);
        assert!(
            run.summary["error"]
                .as_str()
                .unwrap()
                .contains("0xffffffffff600100"),
            "{}",
            run.summary
        );
    } else {
        assert_eq!(run.summary["status"], "ok", "{}", run.summary);
    }
    let (run, _) = runs(&boot, "tmr:abuse+vsyscall");
    let want = if arch == "x86_64" {
        "vsyscall time: agrees\nvsyscall gettimeofday: agrees\nvsyscall: done\n"
    } else {
        "vsyscall: none on this architecture\n"
    };
    assert_eq!(run.output, want, "{}", run.summary);

    // A program that never ends is ended by its run's budget.
    let (run, _) = runs(&boot, "tmr/events=400:abuse+loop");
    let s = &run.summary;
    assert_eq!(s["status"], "over-budget", "{s}");
    assert_eq!(s["events"], 400, "{s}");
    assert!(s["error"].as_str().unwrap().contains("400 events"), "{s}");
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

    // The personality component failing on a call ends its group only, naming the call: a
    // panic, its memory quota used up (its allocator's failure, or a page past the quota), or
    // no answer in time.
    for (case, call, why) in [
        (
            "tmr:abuse+panic",
            "getrusage",
            &["test switch TEST_PANIC_ON=getrusage"][..],
        ),
        (
            "tmr:abuse+hog",
            "umask",
            &["memory allocation of", "memory quota"][..],
        ),
        ("tmr:abuse+spin", "times", &["no answer within"][..]),
        ("tmr:abuse+fault", "sched_yield", &["it faulted"][..]),
    ] {
        let (run, _) = runs(&boot, case);
        let s = &run.summary;
        assert_eq!(s["status"], "personality-error", "{case}: {s}");
        let error = s["error"].as_str().unwrap();
        assert!(
            error.contains(&format!("performing {call}")) && why.iter().any(|w| error.contains(w)),
            "{case}: {s}"
        );
        // What the run spent is counted although a panic cut its drive short.
        assert!(
            s["invocations"]["total"].as_u64().unwrap() > 0,
            "{case}: {s}"
        );
        assert!(s["cycles"].as_u64().unwrap() > 0, "{case}: {s}");
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
    let out = make_run(arch, "none:hello,none:hello", &["TEST_PANIC_ON=master"]);
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
