//! `romain-campaign`: runs fault-injection campaigns in QEMU and reports on them.
//!
//! ```text
//! romain-campaign run --arch x86_64 --programs sha,qsort --modes tmr,dmr --count 1000 --out build/campaign/x86
//! romain-campaign run ... --shard 3/20            # one shard of a campaign (a batch-system array job)
//! romain-campaign merge build/campaign/shard-*    # shards into one result and report
//! romain-campaign report build/campaign/x86       # the report again
//! ```
//!
//! A campaign is a seed and a number of experiments per (program, mode). `run` splits its index
//! range into batches, builds an image per batch (the master's campaign mode, `CAMPAIGN=` in the
//! Makefile) and boots as many QEMUs at once as `--jobs` says, appending every experiment line
//! to `experiments.jsonl` as it comes: a stopped run resumes where it was. Results: the JSON
//! lines, `report.md` (counts and rates with 95% confidence intervals) and `outcomes.svg`.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use romain_campaign::{Experiment, batches, plot, report, shard};

#[derive(Parser)]
#[command(about = "Fault-injection campaigns on Romain for seL4 in QEMU")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Runs (or resumes) a campaign or one shard of it.
    Run(RunArgs),
    /// Merges result folders (shards) into one, with its report.
    Merge {
        inputs: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Writes the report of a result folder again.
    Report { dir: PathBuf },
}

#[derive(clap::Args)]
struct RunArgs {
    #[arg(long, default_value = "x86_64")]
    arch: String,
    #[arg(long, value_delimiter = ',', default_value = "sha")]
    programs: Vec<String>,
    #[arg(long, value_delimiter = ',', default_value = "tmr,dmr")]
    modes: Vec<String>,
    /// Fault models: `all`, or names (reg, data, code, delay, result) separated by `/`.
    #[arg(long, default_value = "all")]
    models: String,
    /// Experiments per (program, mode) in the whole campaign.
    #[arg(long, default_value_t = 100)]
    count: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// This process's shard `k/n` of the campaign (1-based k).
    #[arg(long, default_value = "1/1")]
    shard: String,
    /// QEMU instances at once (default: host cores / 2, at least 1; aarch64 needs 2 cores each).
    #[arg(long)]
    jobs: Option<usize>,
    /// Experiments per (program, mode) in one boot.
    #[arg(long, default_value_t = 50)]
    batch: u64,
    /// The master's lag bound and silence bound for the experiments (ms).
    #[arg(long, default_value_t = 1000)]
    watchdog_ms: u64,
    #[arg(long, default_value_t = 5000)]
    silence_ms: u64,
    /// Seconds one boot may take before QEMU is stopped (its missing experiments run again on
    /// resume).
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
    /// More `make` variables for the image (`APP_x=path`, `LINUX=x`, `FILES=...`, `QUOTA_MB=`):
    /// programs that are not built from this repository, with their arguments in --programs
    /// (`splash3-fft+-m16+-p4+-t`).
    #[arg(long = "make-var")]
    make_vars: Vec<String>,
    #[arg(long)]
    out: PathBuf,
}

fn main() {
    match Cli::parse().command {
        Cmd::Run(args) => run(args),
        Cmd::Merge { inputs, out } => {
            let mut seen = BTreeSet::new();
            let mut all = Vec::new();
            for dir in &inputs {
                for e in load(dir) {
                    if seen.insert(e.key()) {
                        all.push(e);
                    }
                }
            }
            fs::create_dir_all(&out).expect("output folder");
            let mut f = File::create(out.join("experiments.jsonl")).expect("results file");
            for e in &all {
                writeln!(f, "{}", serde_json::to_string(e).unwrap()).unwrap();
            }
            write_report(&out, &all);
        }
        Cmd::Report { dir } => write_report(&dir, &load(&dir)),
    }
}

/// The experiments of a result folder, each once (a resumed batch may have repeated some).
fn load(dir: &Path) -> Vec<Experiment> {
    let Ok(f) = File::open(dir.join("experiments.jsonl")) else {
        return Vec::new();
    };
    let mut seen = BTreeSet::new();
    BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<Experiment>(&l).ok())
        .filter(|e| seen.insert(e.key()))
        .collect()
}

fn write_report(dir: &Path, experiments: &[Experiment]) {
    let text = report(experiments);
    fs::write(dir.join("report.md"), &text).expect("report");
    fs::write(dir.join("outcomes.svg"), plot(experiments)).expect("plot");
    println!("{text}");
    println!(
        "{} experiments; report: {}, plot: {}",
        experiments.len(),
        dir.join("report.md").display(),
        dir.join("outcomes.svg").display()
    );
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn run(args: RunArgs) {
    let (k, n) = args
        .shard
        .split_once('/')
        .and_then(|(k, n)| Some((k.parse().ok()?, n.parse().ok()?)))
        .filter(|(k, n)| (1..=*n).contains(k))
        .expect("--shard k/n with 1 <= k <= n");
    let range = shard(args.count, k, n);
    fs::create_dir_all(&args.out).expect("output folder");
    let pairs: Vec<(String, String)> = args
        .programs
        .iter()
        .flat_map(|p| args.modes.iter().map(move |m| (p.clone(), m.clone())))
        .collect();
    // An index is done when every (program, mode) has it.
    let previous = load(&args.out);
    let done: BTreeSet<u64> = range
        .clone()
        .filter(|i| {
            pairs.iter().all(|(p, m)| {
                // The program's name, without its arguments.
                let app = p.split('+').next().unwrap_or(p);
                previous
                    .iter()
                    .any(|e| e.index == *i && e.app == app && &e.mode == m && e.arch == args.arch)
            })
        })
        .collect();
    let todo = batches(range.clone(), &done, args.batch);
    let total = range.clone().count() as u64 * pairs.len() as u64;
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} experiments, ETA {eta} {msg}",
        )
        .unwrap(),
    );
    bar.set_position(done.len() as u64 * pairs.len() as u64);
    let plan = pairs
        .iter()
        .map(|(p, m)| format!("{m}:{p}"))
        .collect::<Vec<_>>()
        .join(",");
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
    });
    eprintln!(
        "campaign: {} on {}, shard {k}/{n} = experiments {:?}, {} batches to do, {jobs} QEMU at a time",
        plan,
        args.arch,
        range,
        todo.len()
    );
    let results = Arc::new(Mutex::new(
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(args.out.join("experiments.jsonl"))
            .expect("results file"),
    ));
    let queue = Arc::new(Mutex::new(todo));
    let build_lock = Arc::new(Mutex::new(()));
    let args = Arc::new(args);
    let workers: Vec<_> = (0..jobs)
        .map(|worker| {
            let (queue, results, build_lock, args, bar, plan) = (
                queue.clone(),
                results.clone(),
                build_lock.clone(),
                args.clone(),
                bar.clone(),
                plan.clone(),
            );
            std::thread::spawn(move || {
                loop {
                    let Some(batch) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let dir = args.out.join(format!("work-{worker}"));
                    let image = {
                        let _guard = build_lock.lock().unwrap();
                        bar.set_message(format!("building batch {batch:?}"));
                        build(&args, &plan, &batch, &dir)
                    };
                    bar.set_message(String::new());
                    boot(&args, &image, |e| {
                        let mut f = results.lock().unwrap();
                        writeln!(f, "{}", serde_json::to_string(&e).unwrap()).unwrap();
                        bar.inc(1);
                        if e.outcome == "sdc" || e.outcome == "master-failure" {
                            bar.println(format!(
                                "{} {} {} #{}: {} → {}",
                                e.arch, e.mode, e.app, e.index, e.spec, e.outcome
                            ));
                        }
                    });
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    bar.finish();
    write_report(&args.out, &load(&args.out));
}

/// What a built batch boots.
enum Image {
    Aarch64(PathBuf),
    X86_64 { kernel: PathBuf, master: PathBuf },
}

/// Builds the image for one batch and copies it into `dir` (the build folder is shared).
fn build(args: &RunArgs, plan: &str, batch: &std::ops::Range<u64>, dir: &Path) -> Image {
    let campaign = format!(
        "{}:{}:{}:{}",
        args.seed,
        batch.start,
        batch.end - batch.start,
        args.models
    );
    let status = Command::new("make")
        .current_dir(repo_root())
        .args(["--no-print-directory", "-s", "image"])
        .arg(format!("ARCH={}", args.arch))
        .arg(format!("PLAN={plan}"))
        .arg(format!("CAMPAIGN={campaign}"))
        .arg(format!("WATCHDOG_MS={}", args.watchdog_ms))
        .arg(format!("SILENCE_MS={}", args.silence_ms))
        .args(&args.make_vars)
        .stdout(Stdio::null())
        .status()
        .expect("make runs");
    assert!(status.success(), "building the campaign image failed");
    fs::create_dir_all(dir).expect("work folder");
    let build = std::env::var("ROMAIN_BUILD")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("build"));
    let copy = |from: PathBuf, name: &str| {
        let to = dir.join(name);
        fs::copy(&from, &to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        to
    };
    if args.arch == "aarch64" {
        Image::Aarch64(copy(build.join("out/qemu-arm-virt/image.elf"), "image.elf"))
    } else {
        Image::X86_64 {
            kernel: copy(build.join("out/pc99/kernel32.elf"), "kernel32.elf"),
            master: copy(
                build.join("out/pc99/romain-master.elf"),
                "romain-master.elf",
            ),
        }
    }
}

/// Boots `image` and hands every experiment line to `each` as it comes.
fn boot(args: &RunArgs, image: &Image, mut each: impl FnMut(Experiment)) {
    let mut cmd = Command::new(repo_root().join("scripts/qemu-run.py"));
    cmd.args(["--arch", &args.arch, "--timeout", &args.timeout.to_string()]);
    match image {
        Image::Aarch64(path) => cmd.arg("--image").arg(path),
        Image::X86_64 { kernel, master } => {
            cmd.arg("--kernel").arg(kernel).arg("--initrd").arg(master)
        }
    };
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("qemu-run.py runs");
    let stdout = child.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(e) = Experiment::from_line(&line) {
            each(e);
        }
    }
    let _ = child.wait();
}
