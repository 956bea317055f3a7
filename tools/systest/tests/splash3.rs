//! The Splash-3 suite (SPLASH-2 without its data races; `scripts/splash3.sh` fetches it at a
//! pinned commit and builds it static for both architectures) as replicas, one boot per
//! architecture: each program at 1, 2 and 4 threads under none and TMR, and under DMR at 4,
//! prints what the same binary prints on Linux at that thread count (timing lines blanked, the
//! lines whose order or values depend on Linux's interleaving dropped:
//! `linux-apps/splash3/runs`), and schedules alike in every mode.
//!
//! `make test` runs fft, lu, radix and water-nsquared; `make splash3-matrix`
//! (`ROMAIN_SPLASH3=all`) every program that builds under none, DMR and TMR at 1, 2 and 4
//! threads. Where the suite is not built (its upstream cannot be reached), the test says so and
//! is skipped.

use std::collections::BTreeMap;

use romain_systest::splash3::{Program, make_vars, programs};
use romain_systest::{boot, enabled, reference};

/// The programs `make test` runs (quick at the small inputs, under a minute a boot).
const QUICK: [&str; 4] = [
    "splash3-fft",
    "splash3-lu-contiguous",
    "splash3-radix",
    "splash3-water-nsquared",
];
const THREADS: [u32; 3] = [1, 2, 4];

fn all() -> bool {
    std::env::var("ROMAIN_SPLASH3").as_deref() == Ok("all")
}

/// The runs of the boot: (program, threads, mode).
fn runs(present: &[Program]) -> Vec<(&Program, u32, &'static str)> {
    let mut runs = Vec::new();
    for p in present {
        for t in THREADS {
            let modes: &[&str] = if all() || t == 4 {
                &["none", "dmr", "tmr"]
            } else {
                &["none", "tmr"]
            };
            for mode in modes {
                runs.push((p, t, *mode));
            }
        }
    }
    runs
}

/// The plan's case split into argv and stdin, as the master reads it.
fn argv(case: &str) -> (Vec<String>, Option<String>) {
    let mut args = Vec::new();
    let mut stdin = None;
    for a in case.split('+').skip(1) {
        match a.strip_prefix('<') {
            Some(file) => stdin = Some(file.to_string()),
            None => args.push(a.to_string()),
        }
    }
    (args, stdin)
}

fn splash3_programs_print_what_they_print_on_linux_and_schedule_alike(arch: &str) {
    if !enabled(&format!("splash3({arch})")) {
        return;
    }
    let present: Vec<Program> = programs()
        .into_iter()
        .filter(|p| all() || QUICK.contains(&p.name.as_str()))
        .filter(|p| {
            let built = p.binary(arch).is_some();
            if !built {
                eprintln!(
                    "SKIPPED Splash-3's {} on {arch}: not built (scripts/splash3.sh: see its SPLASH3: lines)",
                    p.name
                );
            }
            built
        })
        .collect();
    if present.is_empty() {
        return;
    }
    let runs = runs(&present);
    let plan = runs
        .iter()
        .map(|(p, t, mode)| format!("{mode}:{}", p.case(*t)))
        .collect::<Vec<_>>()
        .join(",");
    let apps: Vec<(String, &Program)> = present.iter().map(|p| (p.name.clone(), p)).collect();
    let mut extra = make_vars(arch, &apps);
    extra.push("TIMEOUT=3000".into());
    if all() {
        // A spin-wait without calls ends `livelock` in seconds, not at the budget (aarch64's
        // emulator is slower: a longer bound there).
        let ms = if arch == "aarch64" { 60_000 } else { 20_000 };
        extra.push(format!("SILENCE_MS={ms}"));
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let boot = boot(arch, &plan, &extra);
    assert_eq!(boot.runs.len(), runs.len(), "{}", boot.console);

    let mut schedules: BTreeMap<(String, u32), (String, serde_json::Value)> = BTreeMap::new();
    // The matrix: each run's verdict; `make test`'s runs stop at the first that is wrong.
    let mut table: BTreeMap<(String, u32), Vec<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (i, (p, t, mode)) in runs.iter().enumerate() {
        let run = &boot.runs[i];
        let what = format!("run {i}: {mode} {} at {t} threads", p.name);
        let verdict = check(arch, p, *t, run, &mut schedules);
        let cell = match &verdict {
            Ok(()) => "=".to_string(),
            Err(Wrong::Known(status)) => status.clone(),
            Err(Wrong::Unexpected(why)) => {
                assert!(all(), "{what}: {why}");
                wrong.push(format!("{what}: {why}"));
                "WRONG".to_string()
            }
        };
        table
            .entry((p.name.clone(), *t))
            .or_default()
            .push(format!("{mode} {cell}"));
    }
    if all() {
        eprintln!(
            "Splash-3 on {arch} (= prints what Linux prints, schedules alike in every mode):"
        );
        for ((name, t), cells) in &table {
            eprintln!("  {name:<30} {t} threads: {}", cells.join(", "));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// What keeps a program from running as on Linux here, whatever its thread count: the status
/// its runs end with (docs/threads.md says why).
const KNOWN: [(&str, &str); 5] = [
    // 257 MB of static arrays: beyond each replica's share of the emulated machine's memory.
    ("splash3-raytrace", "bad-image"),
    // About 235 MB mapped at its start: beyond a replica's share under DMR and TMR. Alone, at
    // more than one thread, its first thread spins on a flag that a thread ready to run but
    // not yet run would set (the serial schedule's livelock).
    ("splash3-radiosity", "out-of-memory"),
    ("splash3-radiosity", "livelock"),
    // 30 GB of malloc at -n130 (15 GB at once), which Linux overcommits; the quota refuses
    // it and the program writes through the null pointer it got.
    ("splash3-ocean-noncontiguous", "app-fault"),
    // At more than one thread: a thread spins on a shared work counter without a call while
    // the thread that would decrement it waits (the serial schedule's livelock).
    ("splash3-volrend", "livelock"),
];

enum Wrong {
    Known(String),
    Unexpected(String),
}

/// One run against Linux and against the program's other runs at its thread count.
fn check(
    arch: &str,
    p: &Program,
    t: u32,
    run: &romain_systest::Run,
    schedules: &mut BTreeMap<(String, u32), (String, serde_json::Value)>,
) -> Result<(), Wrong> {
    let s = &run.summary;
    let status = s["status"].as_str().unwrap_or("?");
    if status != "ok" {
        return Err(if KNOWN.contains(&(p.name.as_str(), status)) {
            Wrong::Known(status.to_string())
        } else {
            Wrong::Unexpected(format!("{s}\n{}", run.output))
        });
    }
    let unexpected = |why: String| Err(Wrong::Unexpected(why));
    if s["exit_code"] != 0 || (t > 1 && s["threads"].as_u64().unwrap_or(1) <= 1) {
        return unexpected(format!("{s}"));
    }
    let ours = p.comparable(&run.output);
    let (args, stdin) = argv(&p.case(t));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if let Some(linux) = reference::on_linux_at(
        arch,
        &p.binary(arch).unwrap(),
        &p.name,
        &args,
        &p.inputs(),
        stdin.as_deref(),
    ) {
        if linux.exit_code != 0 {
            return unexpected(format!("the reference failed: {linux:?}"));
        }
        let theirs = p.comparable_reference(&linux.output);
        if ours != theirs {
            return unexpected(format!(
                "differs from Linux:\n{ours}\n--- Linux:\n{theirs}\n--- summary: {s}"
            ));
        }
    }
    // One schedule in every mode: the same events, switches, digest and output.
    let schedule = serde_json::json!([
        s["events"],
        s["switches"],
        s["schedule"],
        s["thread_events"]
    ]);
    match schedules.get(&(p.name.clone(), t)) {
        None => {
            schedules.insert((p.name.clone(), t), (run.output.clone(), schedule));
        }
        Some((output, first)) => {
            if &schedule != first {
                return unexpected(format!("scheduled otherwise: {schedule} vs {first}"));
            }
            if p.comparable(&run.output) != p.comparable(output) {
                return unexpected("printed otherwise".to_string());
            }
        }
    }
    Ok(())
}

#[test]
fn x86_64_splash3_programs_print_what_they_print_on_linux_and_schedule_alike() {
    splash3_programs_print_what_they_print_on_linux_and_schedule_alike("x86_64");
}

#[test]
fn aarch64_splash3_programs_print_what_they_print_on_linux_and_schedule_alike() {
    splash3_programs_print_what_they_print_on_linux_and_schedule_alike("aarch64");
}
