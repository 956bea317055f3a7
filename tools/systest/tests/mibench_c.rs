//! The original MiBench C programs (fetched from upstream at a pinned commit, built static with
//! Debian's compilers, unmodified but for two build fixes) as replicas: each of the 13 under none,
//! DMR and TMR, and the other runme lines of the small set under TMR, print exactly what the same
//! binary prints on Linux (natively on x86_64, under qemu-aarch64 for aarch64), end with its
//! exit code, and the files they write hash as Linux's do. One boot per architecture.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use romain_mibench_c::{Error, Layout, MAIN_RUNS, Run, file_line, find, on_linux, runner};
use romain_systest::{Boot, boot, enabled};

/// The runme lines of the small set besides each program's first.
const MORE: [&str; 6] = [
    "susan-edges",
    "susan-corners",
    "blowfish-d",
    "rijndael-d",
    "fft-inv",
    "adpcm-d",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// `(mode, run)` in plan order.
fn runs() -> Vec<(&'static str, &'static Run)> {
    let mut v = Vec::new();
    for id in MAIN_RUNS {
        for mode in ["none", "dmr", "tmr"] {
            v.push((mode, find(&format!("c-{id}"), "").unwrap()));
        }
    }
    for id in MORE {
        v.push(("tmr", find(&format!("c-{id}"), "").unwrap()));
    }
    v
}

/// The boot, or `None` (said loudly) where the upstream cannot be reached.
fn c_boot(arch: &str, layout: &Layout) -> Option<Arc<Boot>> {
    match romain_mibench_c::build(layout) {
        Ok(()) => {}
        Err(Error::Unreachable(why)) => {
            eprintln!("SKIPPED the MiBench C system test on {arch}: {why}");
            return None;
        }
        Err(e) => panic!("building the MiBench C programs: {e}"),
    }
    let plan: Vec<String> = runs()
        .iter()
        .map(|(mode, r)| format!("{mode}:{}", r.app()))
        .collect();
    Some(boot(arch, &plan.join(","), &["QUOTA_MB=64"]))
}

/// The master's log lines of the files a run wrote, as `file "NAME": N bytes, fnv1a64 H`.
fn written(log: &[String]) -> Vec<String> {
    let mut v: Vec<String> = log
        .iter()
        .filter_map(|l| romain_records::host::WrittenFile::from_log_line(l))
        .map(|f| f.to_string())
        .collect();
    v.sort();
    v
}

fn the_mibench_c_programs_print_and_write_what_linux_does(arch: &str) {
    if !enabled(&format!("mibench_c_equals_linux({arch})")) {
        return;
    }
    let layout = Layout::new(&repo().join("build"));
    let Some(boot) = c_boot(arch, &layout) else {
        return;
    };
    let plan = runs();
    assert_eq!(boot.runs.len(), plan.len(), "{}", boot.console);
    let can_reference = runner(arch);
    if let Err(why) = &can_reference {
        eprintln!("SKIPPED the Linux reference of the MiBench C test: {why}");
    }
    let mut compared = 0;
    for (i, ((mode, r), run)) in plan.iter().zip(&boot.runs).enumerate() {
        let s = &run.summary;
        let what = format!("run {i} {mode}:{} on {arch}", r.app());
        assert_eq!(s["app"], r.app().as_str(), "{what}: {s}");
        assert_eq!(s["status"], "ok", "{what}: {s}\n{}", run.output);
        assert_eq!(s["mode"], *mode, "{what}");
        assert_eq!(s["personality"], "linux", "{what}: {s}");
        assert!(
            !run.output.is_empty() || !written(&run.log).is_empty(),
            "{what}: no output"
        );
        // Every mode of a program prints and writes the same (where the program is
        // deterministic: sha's output depends on its stack's start, AT_RANDOM's bytes among it).
        if let Some(j) = plan[..i]
            .iter()
            .position(|(_, q)| std::ptr::eq(*q, *r))
            .filter(|_| r.varies_on_linux().is_none())
        {
            let first = &boot.runs[j];
            assert_eq!(
                r.comparable(&run.output),
                r.comparable(&first.output),
                "{what} vs run {j}"
            );
            assert_eq!(written(&run.log), written(&first.log), "{what} vs run {j}");
        }
        if can_reference.is_err() {
            continue;
        }
        let linux = on_linux(&layout, r, arch).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(s["exit_code"], linux.exit_code.unwrap(), "{what}: {s}");
        if let Some(why) = r.varies_on_linux() {
            eprintln!("{what}: output not compared with Linux: {why}");
            continue;
        }
        assert_eq!(
            r.comparable(&run.output),
            r.comparable(&linux.output),
            "{what} prints other than Linux"
        );
        let mut want: Vec<String> = linux.files.iter().map(|(n, b)| file_line(n, b)).collect();
        want.sort();
        assert_eq!(
            written(&run.log),
            want,
            "{what}: written files differ from Linux's"
        );
        compared += 1;
    }
    eprintln!("{compared} runs on {arch} equal to Linux");
}

romain_systest::per_arch!(the_mibench_c_programs_print_and_write_what_linux_does);
