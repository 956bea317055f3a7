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
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let boot = boot(arch, &plan, &extra);
    assert_eq!(boot.runs.len(), runs.len(), "{}", boot.console);

    let mut schedules: BTreeMap<(String, u32), (String, serde_json::Value)> = BTreeMap::new();
    for (i, (p, t, mode)) in runs.iter().enumerate() {
        let run = &boot.runs[i];
        let s = &run.summary;
        let what = format!("run {i}: {mode} {} at {t} threads", p.name);
        assert_eq!(s["status"], "ok", "{what}: {s}\n{}", run.output);
        assert_eq!(s["exit_code"], 0, "{what}: {s}");
        if *t > 1 {
            assert!(s["threads"].as_u64().unwrap_or(1) > 1, "{what}: {s}");
        }
        let ours = p.comparable(&run.output);
        let (args, stdin) = argv(&p.case(*t));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if let Some(linux) = reference::on_linux_at(
            arch,
            &p.binary(arch).unwrap(),
            &p.name,
            &args,
            &p.inputs(),
            stdin.as_deref(),
        ) {
            assert_eq!(
                linux.exit_code, 0,
                "{what}: the reference failed: {linux:?}"
            );
            assert_eq!(
                ours,
                p.comparable(&linux.output),
                "{what} differs from Linux"
            );
        }
        // One schedule in every mode: the same events, switches, digest and output.
        let schedule = serde_json::json!([
            s["events"],
            s["switches"],
            s["schedule"],
            s["thread_events"]
        ]);
        match schedules.get(&(p.name.clone(), *t)) {
            None => {
                schedules.insert((p.name.clone(), *t), (run.output.clone(), schedule));
            }
            Some((output, first)) => {
                assert_eq!(&schedule, first, "{what} scheduled otherwise");
                assert_eq!(
                    p.comparable(&run.output),
                    p.comparable(output),
                    "{what} printed otherwise"
                );
            }
        }
    }
}

#[test]
fn x86_64_splash3_programs_print_what_they_print_on_linux_and_schedule_alike() {
    splash3_programs_print_what_they_print_on_linux_and_schedule_alike("x86_64");
}

#[test]
fn aarch64_splash3_programs_print_what_they_print_on_linux_and_schedule_alike() {
    splash3_programs_print_what_they_print_on_linux_and_schedule_alike("aarch64");
}
