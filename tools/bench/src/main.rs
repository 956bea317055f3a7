//! `make bench`: runs each program unreplicated, DMR and TMR, several times, in one boot per
//! architecture, and prints a table; writes JSON, CSV and an SVG plot (paths printed).

use std::path::PathBuf;

use clap::Parser;
use romain_bench::{Sample, aggregate, geomean_overhead, rows_csv, rows_json, svg, table};

#[derive(Parser)]
struct Cli {
    #[arg(long, default_value = "aarch64")]
    arch: String,
    /// Programs: the ports (replica programs of this repository), each with its C original.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "adpcm,basicmath,bitcount,blowfish,crc32,dijkstra,fft,patricia,qsort,rijndael,sha,stringsearch,susan"
    )]
    programs: Vec<String>,
    #[arg(long, value_delimiter = ',', default_value = "none,dmr,tmr")]
    modes: Vec<String>,
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Leave out the original C programs (by default each port runs beside its C original,
    /// `c-<program>`, both on the original small inputs, where the upstream can be reached).
    #[arg(long)]
    no_c: bool,
    /// Where the JSON, CSV and SVG go.
    #[arg(long, default_value = "build/bench")]
    out: PathBuf,
    /// Instead of MiBench: these Splash-3 programs (`all`, or names as in
    /// linux-apps/splash3/runs) at 1, 2 and 4 threads, each thread count a row of its own
    /// (`splash3-fft-t4`) with its overhead against unreplicated at the same thread count.
    #[arg(long, value_delimiter = ',')]
    splash3: Vec<String>,
}

/// The plan and `make` variables of a Splash-3 benchmark, and each row's program.
fn splash3_plan(
    cli: &Cli,
) -> (
    Vec<String>,
    Vec<String>,
    Vec<(String, romain_systest::splash3::Program)>,
) {
    let wanted = |name: &str| {
        cli.splash3
            .iter()
            .any(|w| w == "all" || w == name || format!("splash3-{w}") == name)
    };
    let programs: Vec<_> = romain_systest::splash3::programs()
        .into_iter()
        .filter(|p| wanted(&p.name))
        .filter(|p| {
            let built = p.binary(&cli.arch).is_some();
            if !built {
                eprintln!(
                    "romain-bench: SKIPPED {}: not built (scripts/splash3.sh)",
                    p.name
                );
            }
            built
        })
        .collect();
    let mut rows = Vec::new();
    for p in &programs {
        for t in [1, 2, 4] {
            rows.push((format!("{}-t{t}", p.name), p.clone()));
        }
    }
    let apps: Vec<(String, &romain_systest::splash3::Program)> =
        rows.iter().map(|(n, p)| (n.clone(), p)).collect();
    let mut extra = romain_systest::splash3::make_vars(&cli.arch, &apps);
    extra.push("TIMEOUT=7000".into());
    let mut plan = vec!["none:roundtrip".to_string()];
    for _ in 0..cli.reps {
        for (name, p) in &rows {
            let t: u32 = name.rsplit("-t").next().unwrap().parse().unwrap();
            let case = p.case(t);
            let args = case.strip_prefix(&p.name).unwrap_or("");
            for mode in &cli.modes {
                plan.push(format!("{mode}:{name}{args}"));
            }
        }
    }
    (plan, extra, rows)
}

fn main() {
    let cli = Cli::parse();
    if !cli.splash3.is_empty() {
        return splash3(&cli);
    }
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let layout = romain_mibench_c::Layout::new(&repo.join("build"));
    let with_c = !cli.no_c
        && match romain_mibench_c::build(&layout) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("romain-bench: SKIPPED the MiBench C originals: {e}");
                false
            }
        };
    let mut names: Vec<String> = Vec::new();
    for program in &cli.programs {
        names.push(program.clone());
        if with_c && romain_mibench_c::find(&format!("c-{program}"), "").is_some() {
            names.push(format!("c-{program}"));
        }
    }
    let mut plan = vec!["none:roundtrip".to_string()];
    for _ in 0..cli.reps {
        for program in &names {
            for mode in &cli.modes {
                plan.push(format!("{mode}:{program}"));
            }
        }
    }
    // The ports read the original inputs too, so that both sides do the same work: the input
    // file of the program's C run (basicmath, bitcount, fft and stringsearch read none).
    let inputs: Vec<String> = if with_c {
        cli.programs
            .iter()
            .filter_map(|p| {
                let run = romain_mibench_c::find(&format!("c-{p}"), "")?;
                let (_, path) = run.inputs_at(&layout).ok()?.into_iter().next()?;
                Some(format!(
                    "MIBENCH_INPUT_{}={}",
                    p.to_uppercase(),
                    path.display()
                ))
            })
            .collect()
    } else {
        Vec::new()
    };
    let vcpus = 4;
    let host_cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    eprintln!(
        "romain-bench: {} runs on {} in one boot ({vcpus} vCPUs under QEMU TCG on {host_cores} host cores)",
        plan.len(),
        cli.arch
    );
    let extra: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let boot = romain_systest::boot(&cli.arch, &plan.join(","), &extra);
    let roundtrip = boot.runs[0]
        .output
        .lines()
        .find_map(|l| l.strip_prefix("roundtrip: "))
        .and_then(|l| l.split(", ").nth(1))
        .and_then(|t| t.split(' ').next())
        .and_then(|t| t.parse::<f64>().ok());
    let samples: Vec<Sample> = boot.runs[1..]
        .iter()
        .filter_map(|r| Sample::from_summary(&r.summary))
        .collect();
    // Every run of a program must print the same (bitcount prints clock readings, the C sha's
    // output depends on its stack: skipped).
    let mut differing = Vec::new();
    for program in &names {
        let varies = romain_mibench_c::find(program, "")
            .is_some_and(|r| r.binary == "bitcnts" || r.varies_on_linux().is_some());
        let outputs: Vec<&str> = boot.runs[1..]
            .iter()
            .filter(|r| r.summary["app"] == program.as_str())
            .map(|r| r.output.as_str())
            .collect();
        if program != "bitcount" && !varies && outputs.windows(2).any(|w| w[0] != w[1]) {
            differing.push(program.clone());
        }
    }
    let modes: Vec<&str> = cli.modes.iter().map(String::as_str).collect();
    let rows = aggregate(&samples, &modes, roundtrip);
    let hz = boot.runs[0].summary["counter_hz"].as_u64().unwrap_or(0);
    println!(
        "{} ({vcpus} vCPUs, QEMU TCG, {host_cores} host cores); cycles in guest counter ticks{}",
        cli.arch,
        if hz > 0 {
            format!(" at {hz} Hz")
        } else {
            " (TSC)".into()
        }
    );
    println!(
        "bare seL4 IPC round trip to the master: {} ticks",
        roundtrip.map_or("-".into(), |r| r.to_string())
    );
    print!("{}", table(&rows));
    for mode in ["dmr", "tmr"] {
        if let Some(g) = geomean_overhead(&rows, mode) {
            println!("geometric-mean {mode} overhead: {g:.3}");
        }
    }
    std::fs::create_dir_all(&cli.out).unwrap();
    let stem = cli.out.join(format!("bench-{}", cli.arch));
    let json = serde_json::json!({
        "arch": cli.arch, "vcpus": vcpus, "host_cores": host_cores, "counter_hz": hz,
        "roundtrip_ticks": roundtrip, "reps": cli.reps, "rows": rows_json(&rows),
    });
    std::fs::write(
        stem.with_extension("json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
    std::fs::write(stem.with_extension("csv"), rows_csv(&rows)).unwrap();
    let title = format!(
        "Replication overhead, {} (QEMU TCG, {vcpus} vCPUs)",
        cli.arch
    );
    std::fs::write(stem.with_extension("svg"), svg(&rows, &title)).unwrap();
    println!("results: {0}.json {0}.csv {0}.svg", stem.display());
    if differing.is_empty() {
        println!(
            "outputs identical across all runs and modes of each program (bitcount: clock columns vary; c-sha: stack-dependent)"
        );
    } else {
        eprintln!("romain-bench: outputs differ between runs of {differing:?}");
        std::process::exit(1);
    }
    if rows.iter().any(|r| r.ok != r.runs) {
        eprintln!("romain-bench: some runs did not end ok");
        std::process::exit(1);
    }
}

/// The Splash-3 benchmark: overheads per program and thread count; outputs compared between the
/// runs of each (timing lines blanked).
fn splash3(cli: &Cli) {
    let (plan, extra, rows_of) = splash3_plan(cli);
    eprintln!(
        "romain-bench: {} Splash-3 runs on {} in one boot",
        plan.len(),
        cli.arch
    );
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let boot = romain_systest::boot(&cli.arch, &plan.join(","), &extra);
    let samples: Vec<Sample> = boot.runs[1..]
        .iter()
        .filter_map(|r| Sample::from_summary(&r.summary))
        .collect();
    let mut differing = Vec::new();
    for (name, p) in &rows_of {
        let outputs: Vec<String> = boot.runs[1..]
            .iter()
            .filter(|r| r.summary["app"] == name.as_str())
            .map(|r| p.comparable(&r.output))
            .collect();
        if outputs.windows(2).any(|w| w[0] != w[1]) {
            differing.push(name.clone());
        }
    }
    let modes: Vec<&str> = cli.modes.iter().map(String::as_str).collect();
    let rows = aggregate(&samples, &modes, None);
    println!(
        "{} Splash-3 (4 vCPUs, QEMU TCG); cycles in guest counter ticks; overhead against unreplicated at the same thread count",
        cli.arch
    );
    print!("{}", table(&rows));
    for mode in ["dmr", "tmr"] {
        if let Some(g) = geomean_overhead(&rows, mode) {
            println!("geometric-mean {mode} overhead: {g:.3}");
        }
    }
    std::fs::create_dir_all(&cli.out).unwrap();
    let stem = cli.out.join(format!("splash3-{}", cli.arch));
    let json = serde_json::json!({"arch": cli.arch, "reps": cli.reps, "rows": rows_json(&rows)});
    std::fs::write(
        stem.with_extension("json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
    std::fs::write(stem.with_extension("csv"), rows_csv(&rows)).unwrap();
    println!("results: {0}.json {0}.csv", stem.display());
    if !differing.is_empty() {
        eprintln!("romain-bench: outputs differ between runs of {differing:?}");
        std::process::exit(1);
    }
    if rows.iter().any(|r| r.ok != r.runs) {
        eprintln!("romain-bench: some runs did not end ok");
        std::process::exit(1);
    }
}
