//! Real static programs as users bring them: Debian's busybox-static (applets: text tools,
//! checksums, archivers, bc and dc, `sh` running a script of builtins), bash-static, zsh-static,
//! sash, mksh's three static builds (musl, klibc, dietlibc), e2fsck-static, and a C, a C++ and a
//! Rust `std` program of ours (`linux-apps/corpus/`: calls.c uses the calls of the others the
//! way they use them). Every case runs under none and TMR in one boot
//! per architecture, and its output, exit code and written files are compared with the same
//! binary run on Linux (natively on x86_64, under qemu-aarch64 for aarch64).
//!
//! The programs come from `scripts/corpus.sh` (run by `make test`); where they could not be
//! fetched or built the cases that need them say loudly that they were skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use romain_systest::{boot, enabled, per_arch};

/// The cases (`linux-apps/corpus/cases`): the program (its name in the plan, which is also its
/// argv[0]) and its arguments, `+`-separated as a plan has them; `<name` is stdin, `>name`
/// stdout into a file.
fn cases() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("linux-apps/corpus/cases")).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// Each program's file under `build/corpus/<arch>/`.
const PROGRAMS: &[(&str, &str)] = &[
    ("busybox", "busybox"),
    ("bash", "bash-static"),
    ("zsh", "zsh-static"),
    ("sash", "sash"),
    ("mksh-musl", "mksh-musl"),
    ("mksh-klibc", "mksh-klibc"),
    ("mksh-diet", "mksh-diet"),
    ("e2fsck", "e2fsck.static"),
    ("cxx", "cxx"),
    ("calls", "calls"),
    ("rust-std", "rust-std"),
    ("cxx-threads", "cxx-threads"),
    ("omp", "omp"),
    ("gothreads", "gothreads"),
];

/// Differences from Linux this project accepts, by case, with the reason.
const KNOWN: &[(&str, &str)] = &[(
    "busybox+zcat+t.gz",
    "busybox's zcat decompresses in a child process: fork is EAGAIN until programs may have \
     more than one process (gunzip -c, which does not fork, is a case of its own)",
)];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The input files: every file of `linux-apps/corpus/` (but the sources of our programs) and
/// the generated ones, by the relative name the programs open.
fn inputs(arch_dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let base = repo().join("linux-apps/corpus");
    let mut stack = vec![base.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p
                .strip_prefix(&base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel.starts_with("rust-std")
                || rel.ends_with(".cpp")
                || rel.ends_with(".c")
                || rel == "cases"
            {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((rel, p));
            }
        }
    }
    let generated = arch_dir.join("../inputs");
    for name in ["fs.img", "t.gz"] {
        if generated.join(name).exists() {
            out.push((name.to_string(), generated.join(name)));
        }
    }
    out.sort();
    out
}

/// What a run did: its output, exit code, and written files (name → bytes).
#[derive(Debug)]
struct Outcome {
    output: String,
    exit_code: i64,
    files: BTreeMap<String, (usize, u64)>,
}

/// The case on Linux, in a fresh directory holding the inputs.
fn on_linux(arch: &str, bin: &Path, case: &str, inputs: &[(String, PathBuf)]) -> Option<Outcome> {
    let mut parts = case.split('+');
    let app = parts.next().unwrap();
    let mut command = match romain_mibench_c::linux_command(arch, bin, app) {
        Ok(c) => c,
        Err(why) => {
            eprintln!("SKIPPED the Linux reference of {case}: {why}");
            return None;
        }
    };
    let dir = std::env::temp_dir().join(format!(
        "romain-corpus-{arch}-{}-{}",
        std::process::id(),
        case.replace(['/', '*', '<', '>', '\\', '%'], "_")
    ));
    let _ = std::fs::remove_dir_all(&dir);
    for (name, path) in inputs {
        let to = dir.join(name);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(path, to).unwrap();
    }
    let mut stdout = None;
    command
        .current_dir(&dir)
        .env_clear()
        .stdin(std::process::Stdio::null());
    for arg in parts {
        if let Some(name) = arg.strip_prefix('<') {
            command.stdin(std::fs::File::open(dir.join(name)).unwrap());
        } else if let Some(name) = arg.strip_prefix('>') {
            stdout = Some(name.to_string());
            command.stdout(std::fs::File::create(dir.join(name)).unwrap());
        } else {
            command.arg(arg);
        }
    }
    let (output, status) = romain_mibench_c::output_in_one_pipe(command, stdout.is_none()).unwrap();
    let mut output = String::from_utf8_lossy(&output).into_owned();
    // The console ends a program's last line when the run ends.
    if !output.is_empty() && !output.ends_with('\n') {
        output.push('\n');
    }
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&p).unwrap();
            let input = inputs.iter().find(|(n, _)| *n == rel);
            if input.is_none_or(|(_, from)| std::fs::read(from).unwrap() != bytes) {
                let f = romain_records::host::WrittenFile::of(&format!("/{rel}"), &bytes);
                files.insert(f.name, (f.size, f.hash));
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    use std::os::unix::process::ExitStatusExt;
    let exit_code = status
        .code()
        .map_or_else(|| 128 + i64::from(status.signal().unwrap_or(0)), i64::from);
    Some(Outcome {
        output,
        exit_code,
        files,
    })
}

fn real_static_programs_print_what_they_print_on_linux_under_none_and_tmr(arch: &str) {
    if !enabled(&format!("corpus({arch})")) {
        return;
    }
    let dir = romain_systest::build_dir().join(format!("corpus/{arch}"));
    if !dir.join("VERSIONS").exists() {
        eprintln!(
            "SKIPPED the corpus on {arch}: {} is missing (scripts/corpus.sh could not fetch the \
             Debian packages: see its CORPUS: line)",
            dir.join("VERSIONS").display()
        );
        return;
    }
    let present: Vec<(&str, PathBuf)> = PROGRAMS
        .iter()
        .filter_map(|(app, file)| {
            let p = dir.join(file);
            if p.exists() {
                Some((*app, p))
            } else {
                eprintln!(
                    "SKIPPED the {app} cases on {arch}: {} is missing",
                    p.display()
                );
                None
            }
        })
        .collect();
    let bin = |case: &str| {
        let app = case.split('+').next().unwrap();
        present
            .iter()
            .find(|(a, _)| *a == app)
            .map(|(_, p)| p.clone())
    };
    let all = cases();
    let cases: Vec<&str> = all
        .iter()
        .map(String::as_str)
        .filter(|c| bin(c).is_some())
        .collect();
    let inputs = inputs(&dir);
    let plan = cases
        .iter()
        .flat_map(|c| [format!("none:{c}"), format!("tmr:{c}")])
        .collect::<Vec<_>>()
        .join(",");
    let files = inputs
        .iter()
        .map(|(n, p)| format!("{n}={}", p.display()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut extra: Vec<String> = present
        .iter()
        .map(|(app, p)| format!("APP_{app}={}", p.display()))
        .collect();
    let names: Vec<&str> = present.iter().map(|(a, _)| *a).collect();
    extra.push(format!("LINUX={}", names.join(" ")));
    extra.push(format!("FILES={files}"));
    extra.push("TIMEOUT=2400".into());
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let boot = boot(arch, &plan, &extra);
    assert_eq!(boot.runs.len(), 2 * cases.len(), "{}", boot.console);

    let mut equal = 0;
    let mut differ = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let Some(linux) = on_linux(arch, &bin(case).unwrap(), case, &inputs) else {
            continue;
        };
        for (j, mode) in ["none", "tmr"].iter().enumerate() {
            let run = &boot.runs[2 * i + j];
            let s = &run.summary;
            assert_eq!(s["mode"], *mode, "{s}");
            let files: BTreeMap<String, (usize, u64)> = run
                .files()
                .into_iter()
                .map(|f| (f.name, (f.size, f.hash)))
                .collect();
            let ours = Outcome {
                output: run.output.clone(),
                exit_code: s["exit_code"].as_i64().unwrap_or(-1),
                files,
            };
            let same = s["status"] == "ok"
                && ours.output == linux.output
                && ours.exit_code == linux.exit_code
                && ours.files == linux.files;
            if same {
                equal += 1;
            } else {
                differ.push(format!(
                    "{mode}:{case}: status {} ({})\n--- Linux (exit {}, files {:?}):\n{}--- here (exit {}, files {:?}):\n{}--- log:\n{}",
                    s["status"],
                    s["reason"],
                    linux.exit_code,
                    linux.files,
                    linux.output,
                    ours.exit_code,
                    ours.files,
                    ours.output,
                    run.log.join("\n")
                ));
            }
        }
    }
    eprintln!(
        "corpus on {arch}: {equal} of {} runs ({} programs x none, tmr) equal Linux",
        2 * cases.len(),
        cases.len()
    );
    let unexplained: Vec<&String> = differ
        .iter()
        .filter(|d| {
            !KNOWN
                .iter()
                .any(|(c, _)| d.split_once(':').unwrap().1.starts_with(&format!("{c}:")))
        })
        .collect();
    for d in &differ {
        eprintln!("DIFFERS {d}\n");
    }
    assert!(
        unexplained.is_empty(),
        "{} runs differ from Linux",
        unexplained.len()
    );
}

per_arch!(real_static_programs_print_what_they_print_on_linux_under_none_and_tmr);
