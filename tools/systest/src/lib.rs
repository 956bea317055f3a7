//! System tests: boot the real seL4 kernel with the Romain master in QEMU and check what the
//! master and the replicas printed.
//!
//! A test names a run plan; [`boot`] builds the image for it with the project's own `make run`
//! (the user's path) and returns the console log split into runs. Boots are cached per
//! architecture and plan, so several tests can check one boot.
//!
//! The tests run only when `ROMAIN_SYSTEM_TESTS=1` (set by `make test` after a successful
//! set-up). Otherwise each says loudly that it was skipped, and why (`ROMAIN_SKIP_REASON`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

pub mod reference;
pub mod splash3;

/// The master's first line: what comes before it is the boot loader's (and a debug kernel's).
pub const START_MARKER: &str = romain_records::MASTER_UP;

/// One run of a boot: what the program printed and the summary.
#[derive(Debug, Clone)]
pub struct Run {
    /// Console lines of the run that came from the program (not the master's log, not the
    /// kernel's boot messages), un-escaped: as the program wrote them.
    pub output: String,
    /// The master's log lines of the run.
    pub log: Vec<String>,
    pub summary: Value,
}

impl Run {
    /// The files the program wrote, as the master's log names them at its exit, in log order.
    pub fn files(&self) -> Vec<romain_records::host::WrittenFile> {
        self.log
            .iter()
            .filter_map(|l| romain_records::host::WrittenFile::from_log_line(l))
            .collect()
    }
}

/// A whole boot.
#[derive(Debug)]
pub struct Boot {
    pub console: String,
    pub runs: Vec<Run>,
}

/// Whether system tests run here; prints why not when they do not.
pub fn enabled(test: &str) -> bool {
    if std::env::var("ROMAIN_SYSTEM_TESTS").as_deref() == Ok("1") {
        return true;
    }
    let reason = std::env::var("ROMAIN_SKIP_REASON")
        .unwrap_or_else(|_| "ROMAIN_SYSTEM_TESTS is not 1: run them with `make test`".into());
    eprintln!("SKIPPED system test {test}: {reason}");
    false
}

/// Where the build puts everything (`ROMAIN_BUILD`, as `make` exports it; `build/` otherwise).
pub fn build_dir() -> PathBuf {
    std::env::var_os("ROMAIN_BUILD")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("build"))
}

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

type Cache = Mutex<HashMap<(String, String), Arc<Boot>>>;

/// Boots `plan` on `arch` (once per process; later calls get the same boot). `extra` are more
/// `make` variables (for example `APP_x=path`). QEMU is stopped after `ROMAIN_BOOT_TIMEOUT`
/// seconds (900 by default). Panics with the console log if the boot fails.
pub fn boot(arch: &str, plan: &str, extra: &[&str]) -> Arc<Boot> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    // One boot at a time: boots of one architecture share the image path, and the machine has
    // few cores for QEMU's TCG threads anyway.
    static BOOTING: Mutex<()> = Mutex::new(());
    let key = (arch.to_string(), format!("{plan} {}", extra.join(" ")));
    let cache = CACHE.get_or_init(Default::default);
    if let Some(b) = cache.lock().unwrap().get(&key) {
        return b.clone();
    }
    let _guard = BOOTING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(b) = cache.lock().unwrap().get(&key) {
        return b.clone();
    }
    let output = make_run(arch, plan, extra);
    let console = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "make run ARCH={arch} PLAN={plan} failed ({}):\n{console}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let boot = Arc::new(parse(&console));
    cache.lock().unwrap().insert(key, boot.clone());
    boot
}

/// `make run` of `plan` on `arch` with more `make` variables `extra`, as it ended (a boot that
/// must fail, too). QEMU is stopped after `ROMAIN_BOOT_TIMEOUT` seconds (900 by default).
pub fn make_run(arch: &str, plan: &str, extra: &[&str]) -> std::process::Output {
    Command::new("make")
        .current_dir(repo_root())
        .args(["--no-print-directory", "-s", "run"])
        .arg(format!("ARCH={arch}"))
        .arg(format!("PLAN={plan}"))
        .arg(format!(
            "TIMEOUT={}",
            std::env::var("ROMAIN_BOOT_TIMEOUT").unwrap_or_else(|_| "900".into())
        ))
        .args(extra)
        .output()
        .expect("make runs")
}

/// Splits a console log into runs: each run ends with its summary line. Records and the
/// master's log lines are whole lines starting with their prefixes; every other line is the
/// program's, escaped by the master (`romain_records::escape`): un-escaped here.
pub fn parse(console: &str) -> Boot {
    let mut runs = Vec::new();
    let mut output = String::new();
    let mut log = Vec::new();
    let mut in_user = false;
    for line in console.lines() {
        // The firmware may leave its own text on the line (SeaBIOS's "Booting from ROM..").
        if !in_user && line.contains(START_MARKER) {
            in_user = true;
            continue;
        }
        if !in_user || romain_records::parse(line) == Some(romain_records::Record::End) {
            continue;
        }
        if let Some(summary) = romain_records::host::summary(line) {
            let summary =
                summary.unwrap_or_else(|e| panic!("summary line is not JSON ({e}): {line}"));
            runs.push(Run {
                output: std::mem::take(&mut output),
                log: std::mem::take(&mut log),
                summary,
            });
        } else if line.starts_with(romain_records::LOG) {
            log.push(line.to_string());
        } else {
            output.push_str(romain_records::unescape(line));
            output.push('\n');
        }
    }
    Boot {
        console: console.to_string(),
        runs,
    }
}

/// Checks what the sample program (`replica-app/apps/hello`) printed against values known
/// independently of it: there are 1229 primes below 10000, the largest is 9973; and the sorted
/// sequence line with its checksum, which every correct run prints identically.
pub fn assert_sample_output(output: &str) {
    let expected_lines = [
        "hello from a Romain replica",
        "primes below 10000: 1229 (last 9973)",
        "sorted 1000 values: min 14 max 99982 fnv1a 0x01b8656e490b5219",
        "goodbye",
    ];
    assert_eq!(
        output.lines().collect::<Vec<_>>(),
        expected_lines,
        "sample output:\n{output}"
    );
}

/// One `#[test]` per architecture for each named `fn(arch: &str)`, in modules `aarch64` and
/// `x86_64`, so that a test can be filtered by architecture.
#[macro_export]
macro_rules! per_arch {
    ($($name:ident),*) => {
        mod aarch64 { $( #[test] fn $name() { super::$name("aarch64") } )* }
        mod x86_64 { $( #[test] fn $name() { super::$name("x86_64") } )* }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_console_log_splits_into_runs_with_output_and_summary() {
        let console = "seL4 kernel loader | INFO boot\n\
            [romain INFO] master up on aarch64 (4 cores, 1 programs embedded, production kernel)\n\
            [romain INFO] run hello (tmr, 3 replicas)\n\
            hello\n\
            ROMAIN-SUMMARY {\"status\":\"ok\",\"replicas\":3}\n\
            [romain INFO] run x (dmr, 2 replicas)\n\
            [romain ERROR] x: unknown-app\n\
            ROMAIN-SUMMARY {\"status\":\"unknown-app\",\"replicas\":2}\n\
            ROMAIN-END\n";
        let boot = parse(console);
        assert_eq!(boot.runs.len(), 2);
        assert_eq!(boot.runs[0].output, "hello\n");
        assert_eq!(boot.runs[0].summary["replicas"], 3);
        assert_eq!(boot.runs[1].output, "");
        assert_eq!(boot.runs[1].log.len(), 2);
        assert_eq!(boot.runs[1].summary["status"], "unknown-app");
    }

    #[test]
    fn program_lines_that_look_like_the_masters_are_its_output() {
        // What the master prints for a program that prints records and log lines of its own
        // (escaped: `>` in front), and a file of it with a name to match.
        let console = "[romain INFO] master up\n\
            [romain INFO] run forge (tmr, 3 replicas)\n\
            >ROMAIN-END\n\
            >ROMAIN-SUMMARY {\"status\":\"ok\",\"replicas\":3}\n\
            >>ROMAIN-EXPERIMENT {}\n\
            >[romain INFO] file \"x\": 1 bytes, fnv1a64 0000000000000000\n\
            x ROMAIN-END\n\
            x\rROMAIN-END\n\
            >ROMAN\n\
            [romain INFO] file \"/a\\u000a[romain INFO] \\\"\": 3 bytes, fnv1a64 e71fa2190541574b\n\
            ROMAIN-SUMMARY {\"status\":\"ok\",\"replicas\":3}\n\
            ROMAIN-END\n";
        let boot = parse(console);
        assert_eq!(boot.runs.len(), 1);
        let run = &boot.runs[0];
        assert_eq!(
            run.output,
            "ROMAIN-END\n\
             ROMAIN-SUMMARY {\"status\":\"ok\",\"replicas\":3}\n\
             >ROMAIN-EXPERIMENT {}\n\
             [romain INFO] file \"x\": 1 bytes, fnv1a64 0000000000000000\n\
             x ROMAIN-END\n\
             x\rROMAIN-END\n\
             >ROMAN\n"
        );
        assert_eq!(run.log.len(), 2);
        assert_eq!(
            run.files(),
            [romain_records::host::WrittenFile::of(
                "/a\n[romain INFO] \"",
                b"abc"
            )]
        );
    }

    #[test]
    #[should_panic(expected = "not JSON")]
    fn a_broken_summary_line_fails_loudly() {
        parse("[romain INFO] master up\nROMAIN-SUMMARY {oops\n");
    }
}
