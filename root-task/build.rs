//! Embeds the replica programs and the run plan chosen by the Makefile.
//!
//! ROMAIN_APPS: `name=path/to/elf` pairs separated by `,`; ROMAIN_PLAN: see `romain_plan`;
//! ROMAIN_WATCHDOG_MS, ROMAIN_SILENCE_MS, ROMAIN_SEED (0: none), ROMAIN_BUDGET_EVENTS and ROMAIN_BUDGET_MS (a run's
//! default budget), ROMAIN_QUOTA_MB (pages per replica, in MiB) ROMAIN_REPAIR and ROMAIN_FP (FP/SIMD capture: auto, on, off)
//! (`written` or `all`), ROMAIN_CAMPAIGN (`romain_plan::campaign`), ROMAIN_CAE_LAX (`1`: the
//! sandbox test's copy & execute without the decoder's checks): see the Makefile. For Linux
//! programs: ROMAIN_FILES (`name=path` pairs separated by `,`: files embedded under the names
//! the program opens), ROMAIN_STDIN (the name of the file stdin reads), ROMAIN_DUMP (a file whose
//! bytes are printed at exit); ROMAIN_PERSONALITY (the personality component's ELF). Test only:
//! ROMAIN_TEST_PANIC_ON=master (the master panics outside any group; see group/contain.rs).
use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo::rerun-if-env-changed=ROMAIN_APPS");
    println!("cargo::rerun-if-env-changed=ROMAIN_PLAN");
    let watchdog_ms = number("ROMAIN_WATCHDOG_MS", 0);
    let silence_ms = number("ROMAIN_SILENCE_MS", 0);
    let quota_mb = number("ROMAIN_QUOTA_MB", 64);
    let budget_events = number("ROMAIN_BUDGET_EVENTS", 2_000_000);
    let budget_ms = number("ROMAIN_BUDGET_MS", 300_000);
    let seed = number("ROMAIN_SEED", 0);
    println!("cargo::rerun-if-env-changed=ROMAIN_CAMPAIGN");
    let campaign = env::var("ROMAIN_CAMPAIGN").unwrap_or_default();
    println!("cargo::rerun-if-env-changed=ROMAIN_CAE_LAX");
    let cae_lax = env::var("ROMAIN_CAE_LAX").is_ok_and(|v| v == "1");
    println!("cargo::rerun-if-env-changed=ROMAIN_REPAIR");
    let repair = env::var("ROMAIN_REPAIR")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "all".into());
    assert!(
        repair == "written" || repair == "all",
        "ROMAIN_REPAIR is `written` or `all`, not {repair:?}"
    );
    println!("cargo::rerun-if-env-changed=ROMAIN_FP");
    let fp = env::var("ROMAIN_FP")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "auto".into());
    assert!(
        ["auto", "on", "off"].contains(&fp.as_str()),
        "ROMAIN_FP is `auto`, `on` or `off`, not {fp:?}"
    );
    let apps = env::var("ROMAIN_APPS").unwrap_or_default();
    let plan = env::var("ROMAIN_PLAN").unwrap_or_else(|_| "tmr:hello".into());
    // ELF headers are read in place, so the bytes must be aligned like the headers. An ELF
    // several plan names run (one program, several runme lines) is in the image once.
    let mut table = String::from("#[repr(C, align(8))]\nstruct Aligned<B: ?Sized>(B);\n");
    let mut elfs: Vec<PathBuf> = Vec::new();
    let mut entries = String::new();
    for entry in apps.split(',').filter(|e| !e.is_empty()) {
        let (name, path) = entry
            .split_once('=')
            .unwrap_or_else(|| panic!("ROMAIN_APPS entry {entry:?} is not name=path"));
        let path = fs::canonicalize(path).unwrap_or_else(|e| panic!("replica ELF {path}: {e}"));
        let k = elfs.iter().position(|p| *p == path).unwrap_or_else(|| {
            println!("cargo::rerun-if-changed={}", path.display());
            table.push_str(&format!(
                "const ELF_{}: &Aligned<[u8]> = &Aligned(*include_bytes!({path:?}));\n",
                elfs.len()
            ));
            elfs.push(path);
            elfs.len() - 1
        });
        entries.push_str(&format!("    ({name:?}, &ELF_{k}.0),\n"));
    }
    // The Linux personality component (replica-app/personality), made for every Linux group.
    println!("cargo::rerun-if-env-changed=ROMAIN_PERSONALITY");
    match env::var("ROMAIN_PERSONALITY").ok().filter(|p| !p.is_empty()) {
        Some(path) => {
            let path = fs::canonicalize(&path)
                .unwrap_or_else(|e| panic!("personality component {path}: {e}"));
            println!("cargo::rerun-if-changed={}", path.display());
            table.push_str(&format!(
                "const PERSONALITY_ELF: &Aligned<[u8]> = &Aligned(*include_bytes!({path:?}));\n\
                 pub const PERSONALITY: &[u8] = &PERSONALITY_ELF.0;\n"
            ));
        }
        None => table.push_str("pub const PERSONALITY: &[u8] = &[];\n"),
    }
    table.push_str("pub const APPS: &[(&str, &[u8])] = &[\n");
    table.push_str(&entries);
    table.push_str("];\npub const FILES: &[(&str, &[u8])] = &[\n");
    println!("cargo::rerun-if-env-changed=ROMAIN_FILES");
    for entry in env::var("ROMAIN_FILES")
        .unwrap_or_default()
        .split(',')
        .filter(|e| !e.is_empty())
    {
        let (name, path) = entry
            .split_once('=')
            .unwrap_or_else(|| panic!("ROMAIN_FILES entry {entry:?} is not name=path"));
        let path = fs::canonicalize(path).unwrap_or_else(|e| panic!("embedded file {path}: {e}"));
        println!("cargo::rerun-if-changed={}", path.display());
        table.push_str(&format!("    ({name:?}, include_bytes!({path:?})),\n"));
    }
    table.push_str("];\n");
    println!("cargo::rerun-if-env-changed=ROMAIN_LINUX");
    let linux = env::var("ROMAIN_LINUX").unwrap_or_default();
    let linux: Vec<&str> = linux.split(',').filter(|n| !n.is_empty()).collect();
    table.push_str(&format!("pub const LINUX: &[&str] = &{linux:?};\n"));
    // Native programs built hard-float (FP/SIMD capture on with FP=auto).
    println!("cargo::rerun-if-env-changed=ROMAIN_FLOAT");
    let hard = env::var("ROMAIN_FLOAT").is_ok_and(|v| v == "hard");
    table.push_str(&format!("pub const HARD_FLOAT: bool = {hard};\n"));
    for (var, name) in [
        ("ROMAIN_STDIN", "STDIN"),
        ("ROMAIN_DUMP", "DUMP"),
        ("ROMAIN_TEST_PANIC_ON", "TEST_PANIC_ON"),
    ] {
        println!("cargo::rerun-if-env-changed={var}");
        let value = env::var(var).ok().filter(|v| !v.is_empty());
        table.push_str(&format!("pub const {name}: Option<&str> = {value:?};\n"));
    }
    table.push_str(&format!("pub const PLAN: &str = {plan:?};\n"));
    table.push_str(&format!("pub const WATCHDOG_MS: u64 = {watchdog_ms};\n"));
    table.push_str(&format!("pub const SILENCE_MS: u64 = {silence_ms};\n"));
    table.push_str(&format!("pub const SEED: u64 = {seed};\n"));
    table.push_str(&format!("pub const QUOTA_MB: u64 = {quota_mb};\n"));
    table.push_str(&format!("pub const BUDGET_EVENTS: u64 = {budget_events};\n"));
    table.push_str(&format!("pub const BUDGET_MS: u64 = {budget_ms};\n"));
    table.push_str(&format!("pub const REPAIR: &str = {repair:?};\n"));
    table.push_str(&format!("pub const FP: &str = {fp:?};\n"));
    table.push_str(&format!("pub const CAMPAIGN: &str = {campaign:?};\n"));
    table.push_str(&format!("pub const CAE_LAX: bool = {cae_lax};\n"));
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("embedded.rs");
    fs::write(out, table).unwrap();
}

/// A number from the environment variable `name`, or `default` where it is unset or empty.
fn number(name: &str, default: u64) -> u64 {
    println!("cargo::rerun-if-env-changed={name}");
    env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} is a number, not {v:?}"))
        })
        .unwrap_or(default)
}
