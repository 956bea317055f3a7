//! The original MiBench C programs as unmodified static Linux replicas.
//!
//! - [`fetch`] and [`build`]: the sources from their public upstream at a pinned commit (the way
//!   set-up gets seL4), with two documented build fixes, built `-static` for x86_64 and aarch64
//!   with Debian's compilers.
//! - [`RUNS`]: every line of the programs' `runme_small.sh` / `runme_large.sh` as a run. A plan
//!   names one as `c-<run>` (small set) or `c-<run>-large`; [`expand`] turns that into the
//!   program's arguments, run in its upstream directory (`cd=`), with its redirections.
//! - [`on_linux`]: the same binary run on Linux (natively, or under `qemu-<arch>`): the golden
//!   output and the files it writes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use romain_linux::fs::normalise;

pub const UPSTREAM: &str = "https://github.com/embecosm/mibench";
/// The upstream's last commit ("Added README file."), 2015.
pub const COMMIT: &str = "0f3cbcf6b3d589a2b0753cfb9289ddf40b6b9ed8";
pub const ARCHES: [&str; 2] = ["x86_64", "aarch64"];

/// Upstream files missing from some copies of the upstream (the adpcm large PCM data): fetched
/// one by one, and the runs that read them skip where they are absent.
const OPTIONAL: [&str; 2] = [
    "telecomm/adpcm/data/large.pcm",
    "telecomm/adpcm/data/large.adpcm",
];

/// One program as its upstream Makefile builds it (always `-static`, as most of them are).
#[derive(Debug)]
pub struct Program {
    pub binary: &'static str,
    pub dir: &'static str,
    /// The upstream Makefile's optimisation flags, and the build fixes.
    pub flags: &'static [&'static str],
    pub sources: &'static [&'static str],
}

/// Flags every program gets: gcc 12 rejects the 1990s C otherwise (tentative definitions in
/// headers, implicit declarations); warnings are the upstream's business.
pub const COMMON_FLAGS: [&str; 4] = ["-static", "-fcommon", "-std=gnu89", "-w"];

pub const PROGRAMS: &[Program] = &[
    Program {
        binary: "basicmath_small",
        dir: "automotive/basicmath",
        flags: &["-O3"],
        sources: &["basicmath_small.c", "rad2deg.c", "cubic.c", "isqrt.c"],
    },
    Program {
        binary: "basicmath_large",
        dir: "automotive/basicmath",
        flags: &["-O3"],
        sources: &["basicmath_large.c", "rad2deg.c", "cubic.c", "isqrt.c"],
    },
    Program {
        binary: "bitcnts",
        dir: "automotive/bitcount",
        flags: &["-O3"],
        sources: &[
            "bitcnt_1.c",
            "bitcnt_2.c",
            "bitcnt_3.c",
            "bitcnt_4.c",
            "bitcnts.c",
            "bitfiles.c",
            "bitstrng.c",
            "bstr_i.c",
        ],
    },
    Program {
        binary: "qsort_small",
        dir: "automotive/qsort",
        flags: &["-O3"],
        sources: &["qsort_small.c"],
    },
    Program {
        binary: "qsort_large",
        dir: "automotive/qsort",
        flags: &["-O3"],
        sources: &["qsort_large.c"],
    },
    Program {
        binary: "susan",
        dir: "automotive/susan",
        flags: &["-O4"],
        sources: &["susan.c"],
    },
    Program {
        binary: "dijkstra_small",
        dir: "network/dijkstra",
        flags: &["-O3"],
        sources: &["dijkstra_small.c"],
    },
    Program {
        binary: "dijkstra_large",
        dir: "network/dijkstra",
        flags: &["-O3"],
        sources: &["dijkstra_large.c"],
    },
    // Build fix: patricia_test.c includes <rpc/rpc.h>, which glibc no longer has; Debian's
    // libtirpc-dev has it (the header only: nothing of it is linked).
    Program {
        binary: "patricia",
        dir: "network/patricia",
        flags: &["-O3", "-I/usr/include/tirpc"],
        sources: &["patricia.c", "patricia_test.c"],
    },
    Program {
        binary: "search_small",
        dir: "office/stringsearch",
        flags: &["-O3"],
        sources: &["bmhasrch.c", "bmhisrch.c", "bmhsrch.c", "pbmsrch_small.c"],
    },
    Program {
        binary: "search_large",
        dir: "office/stringsearch",
        flags: &["-O3"],
        sources: &["bmhasrch.c", "bmhisrch.c", "bmhsrch.c", "pbmsrch_large.c"],
    },
    Program {
        binary: "bf",
        dir: "security/blowfish",
        flags: &["-O3", "-fomit-frame-pointer"],
        sources: &[
            "bf.c",
            "bf_skey.c",
            "bf_ecb.c",
            "bf_enc.c",
            "bf_cbc.c",
            "bf_cfb64.c",
            "bf_ofb64.c",
        ],
    },
    // Build fix: fixes/rijndael-fpos.patch (aesxam.c casts glibc's struct fpos_t to char).
    Program {
        binary: "rijndael",
        dir: "security/rijndael",
        flags: &["-O3"],
        sources: &["aes.c", "aesxam.c"],
    },
    Program {
        binary: "sha",
        dir: "security/sha",
        flags: &["-O3"],
        sources: &["sha_driver.c", "sha.c"],
    },
    Program {
        binary: "crc",
        dir: "telecomm/CRC32",
        flags: &["-O3"],
        sources: &["crc_32.c"],
    },
    Program {
        binary: "fft",
        dir: "telecomm/FFT",
        flags: &["-O3", "-g"],
        sources: &["main.c", "fftmisc.c", "fourierf.c"],
    },
    Program {
        binary: "rawcaudio",
        dir: "telecomm/adpcm/src",
        flags: &["-O3"],
        sources: &["rawcaudio.c", "adpcm.c"],
    },
    Program {
        binary: "rawdaudio",
        dir: "telecomm/adpcm/src",
        flags: &["-O3"],
        sources: &["rawdaudio.c", "adpcm.c"],
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    Small,
    Large,
}

/// One line of a runme script.
#[derive(Debug)]
pub struct Run {
    pub id: &'static str,
    pub set: Set,
    /// Where the runme script runs it (relative paths start there).
    pub dir: &'static str,
    pub binary: &'static str,
    /// As in the runme line, the shell's `<` and `>` included (written without a space).
    pub args: &'static str,
    /// The files it reads (relative to `dir`).
    pub inputs: &'static [&'static str],
    /// It writes a file a later line of the same script reads: run at build time on Linux, as
    /// the script does, so that the later line has its input.
    pub feeds: bool,
}

const fn run(
    id: &'static str,
    set: Set,
    dir: &'static str,
    binary: &'static str,
    args: &'static str,
    inputs: &'static [&'static str],
) -> Run {
    Run {
        id,
        set,
        dir,
        binary,
        args,
        inputs,
        feeds: false,
    }
}

const fn feeding(mut r: Run) -> Run {
    r.feeds = true;
    r
}

use Set::{Large, Small};

/// The runme lines of the 13 programs, small and large. Where this differs from upstream:
/// crc32's `runme_small.sh` reads `../adpcm/data/large.pcm` (the large file, and absent from
/// copies of the upstream); its small run here reads `../adpcm/data/small.pcm`.
pub const RUNS: &[Run] = &[
    run(
        "basicmath",
        Small,
        "automotive/basicmath",
        "basicmath_small",
        "",
        &[],
    ),
    run(
        "basicmath",
        Large,
        "automotive/basicmath",
        "basicmath_large",
        "",
        &[],
    ),
    run(
        "bitcount",
        Small,
        "automotive/bitcount",
        "bitcnts",
        "75000",
        &[],
    ),
    run(
        "bitcount",
        Large,
        "automotive/bitcount",
        "bitcnts",
        "1125000",
        &[],
    ),
    run(
        "qsort",
        Small,
        "automotive/qsort",
        "qsort_small",
        "input_small.dat",
        &["input_small.dat"],
    ),
    run(
        "qsort",
        Large,
        "automotive/qsort",
        "qsort_large",
        "input_large.dat",
        &["input_large.dat"],
    ),
    run(
        "susan",
        Small,
        "automotive/susan",
        "susan",
        "input_small.pgm output_small.smoothing.pgm -s",
        &["input_small.pgm"],
    ),
    run(
        "susan-edges",
        Small,
        "automotive/susan",
        "susan",
        "input_small.pgm output_small.edges.pgm -e",
        &["input_small.pgm"],
    ),
    run(
        "susan-corners",
        Small,
        "automotive/susan",
        "susan",
        "input_small.pgm output_small.corners.pgm -c",
        &["input_small.pgm"],
    ),
    run(
        "susan",
        Large,
        "automotive/susan",
        "susan",
        "input_large.pgm output_large.smoothing.pgm -s",
        &["input_large.pgm"],
    ),
    run(
        "susan-edges",
        Large,
        "automotive/susan",
        "susan",
        "input_large.pgm output_large.edges.pgm -e",
        &["input_large.pgm"],
    ),
    run(
        "susan-corners",
        Large,
        "automotive/susan",
        "susan",
        "input_large.pgm output_large.corners.pgm -c",
        &["input_large.pgm"],
    ),
    run(
        "dijkstra",
        Small,
        "network/dijkstra",
        "dijkstra_small",
        "input.dat",
        &["input.dat"],
    ),
    run(
        "dijkstra",
        Large,
        "network/dijkstra",
        "dijkstra_large",
        "input.dat",
        &["input.dat"],
    ),
    run(
        "patricia",
        Small,
        "network/patricia",
        "patricia",
        "small.udp",
        &["small.udp"],
    ),
    run(
        "patricia",
        Large,
        "network/patricia",
        "patricia",
        "large.udp",
        &["large.udp"],
    ),
    run(
        "stringsearch",
        Small,
        "office/stringsearch",
        "search_small",
        "",
        &[],
    ),
    run(
        "stringsearch",
        Large,
        "office/stringsearch",
        "search_large",
        "",
        &[],
    ),
    feeding(run(
        "blowfish",
        Small,
        "security/blowfish",
        "bf",
        "e input_small.asc output_small.enc 1234567890abcdeffedcba0987654321",
        &["input_small.asc"],
    )),
    run(
        "blowfish-d",
        Small,
        "security/blowfish",
        "bf",
        "d output_small.enc output_small.asc 1234567890abcdeffedcba0987654321",
        &["output_small.enc"],
    ),
    feeding(run(
        "blowfish",
        Large,
        "security/blowfish",
        "bf",
        "e input_large.asc output_large.enc 1234567890abcdeffedcba0987654321",
        &["input_large.asc"],
    )),
    run(
        "blowfish-d",
        Large,
        "security/blowfish",
        "bf",
        "d output_large.enc output_large.asc 1234567890abcdeffedcba0987654321",
        &["output_large.enc"],
    ),
    feeding(run(
        "rijndael",
        Small,
        "security/rijndael",
        "rijndael",
        "input_small.asc output_small.enc e 1234567890abcdeffedcba09876543211234567890abcdeffedcba0987654321",
        &["input_small.asc"],
    )),
    run(
        "rijndael-d",
        Small,
        "security/rijndael",
        "rijndael",
        "output_small.enc output_small.dec d 1234567890abcdeffedcba09876543211234567890abcdeffedcba0987654321",
        &["output_small.enc"],
    ),
    feeding(run(
        "rijndael",
        Large,
        "security/rijndael",
        "rijndael",
        "input_large.asc output_large.enc e 1234567890abcdeffedcba09876543211234567890abcdeffedcba0987654321",
        &["input_large.asc"],
    )),
    run(
        "rijndael-d",
        Large,
        "security/rijndael",
        "rijndael",
        "output_large.enc output_large.dec d 1234567890abcdeffedcba09876543211234567890abcdeffedcba0987654321",
        &["output_large.enc"],
    ),
    run(
        "sha",
        Small,
        "security/sha",
        "sha",
        "input_small.asc",
        &["input_small.asc"],
    ),
    run(
        "sha",
        Large,
        "security/sha",
        "sha",
        "input_large.asc",
        &["input_large.asc"],
    ),
    run(
        "crc32",
        Small,
        "telecomm/CRC32",
        "crc",
        "../adpcm/data/small.pcm",
        &["../adpcm/data/small.pcm"],
    ),
    run(
        "crc32",
        Large,
        "telecomm/CRC32",
        "crc",
        "../adpcm/data/large.pcm",
        &["../adpcm/data/large.pcm"],
    ),
    run("fft", Small, "telecomm/FFT", "fft", "4 4096", &[]),
    run("fft-inv", Small, "telecomm/FFT", "fft", "4 8192 -i", &[]),
    run("fft", Large, "telecomm/FFT", "fft", "8 32768", &[]),
    run("fft-inv", Large, "telecomm/FFT", "fft", "8 32768 -i", &[]),
    run(
        "adpcm",
        Small,
        "telecomm/adpcm",
        "rawcaudio",
        "<data/small.pcm >output_small.adpcm",
        &["data/small.pcm"],
    ),
    run(
        "adpcm-d",
        Small,
        "telecomm/adpcm",
        "rawdaudio",
        "<data/small.adpcm >output_small.pcm",
        &["data/small.adpcm"],
    ),
    run(
        "adpcm",
        Large,
        "telecomm/adpcm",
        "rawcaudio",
        "<data/large.pcm >output_large.adpcm",
        &["data/large.pcm"],
    ),
    run(
        "adpcm-d",
        Large,
        "telecomm/adpcm",
        "rawdaudio",
        "<data/large.adpcm >output_large.pcm",
        &["data/large.adpcm"],
    ),
];

/// One run per program (its first runme line, small set): what campaigns, the bench and the
/// system test's none/DMR/TMR rows use.
pub const MAIN_RUNS: [&str; 13] = [
    "basicmath",
    "bitcount",
    "qsort",
    "susan",
    "dijkstra",
    "patricia",
    "stringsearch",
    "blowfish",
    "rijndael",
    "sha",
    "crc32",
    "fft",
    "adpcm",
];

impl Run {
    /// The plan's name of the run: `c-<id>`, `c-<id>-large`.
    pub fn app(&self) -> String {
        match self.set {
            Small => format!("c-{}", self.id),
            Large => format!("c-{}-large", self.id),
        }
    }

    pub fn program(&self) -> &'static Program {
        PROGRAMS
            .iter()
            .find(|p| p.binary == self.binary)
            .expect("every run's binary is in PROGRAMS")
    }

    /// The plan arguments: the working directory, then the runme line (`+`-separated).
    pub fn plan_args(&self) -> String {
        let mut s = format!("cd=/{}", self.dir);
        for a in self.args.split_whitespace() {
            s.push('+');
            s.push_str(a);
        }
        s
    }

    /// The embedded name (from the upstream root) of each input file: normalised as the
    /// master's file system does, without its leading `/`.
    pub fn input_names(&self) -> Vec<String> {
        self.inputs
            .iter()
            .map(|i| normalise(&format!("{}/{i}", self.dir))[1..].to_string())
            .collect()
    }

    /// Input files (embedded name, path here), or the names of those that are absent.
    pub fn inputs_at(&self, layout: &Layout) -> Result<Vec<(String, PathBuf)>, Vec<String>> {
        let all: Vec<(String, PathBuf)> = self
            .input_names()
            .into_iter()
            .map(|n| {
                let p = layout.src().join(&n);
                (n, p)
            })
            .collect();
        let missing: Vec<String> = all
            .iter()
            .filter(|(_, p)| !p.is_file())
            .map(|(n, _)| n.clone())
            .collect();
        if missing.is_empty() {
            Ok(all)
        } else {
            Err(missing)
        }
    }

    /// What output of the run can be compared: bitcount prints `clock()` readings ("Time:
    /// 0.010 sec.;") and names the fastest and slowest of its counters by them, which no two
    /// runs share; those are blanked.
    pub fn comparable(&self, output: &str) -> String {
        if self.binary != "bitcnts" {
            return output.to_string();
        }
        let mut out = String::new();
        for line in output.lines() {
            match (line.find("Time:"), line.find("sec.")) {
                (Some(a), Some(b)) if a < b => {
                    out.push_str(&line[..a + 5]);
                    out.push_str(" * ");
                    out.push_str(&line[b..]);
                }
                _ if line.starts_with("Best") || line.starts_with("Worst") => {
                    out.push_str(line.split('>').next().unwrap_or(line));
                    out.push_str("> *");
                }
                _ => out.push_str(line),
            }
            out.push('\n');
        }
        out
    }

    /// Why Linux's own output of the run varies from run to run, where it does: then only the
    /// master's runs can be compared with each other.
    pub fn varies_on_linux(&self) -> Option<&'static str> {
        (self.binary == "sha").then_some(
            "sha's LONG is `unsigned long`, 64 bits here: it hashes 64 bytes of each 128-byte \
             block buffer and the rest is whatever its (uninitialised) stack held, which on Linux \
             changes with the stack's random address",
        )
    }
}

/// A run by its plan name (`c-sha`, `c-sha-large`; `args` `large` selects the large set too).
pub fn find(app: &str, args: &str) -> Option<&'static Run> {
    let name = app.strip_prefix("c-")?;
    let (id, set) = match name.strip_suffix("-large") {
        Some(id) => (id, Large),
        None if args == "large" => (name, Large),
        None => (name, Small),
    };
    RUNS.iter().find(|r| r.id == id && r.set == set)
}

/// A plan's runs: `(mode, app, args, injection)`.
fn items(plan: &str) -> impl Iterator<Item = (&str, &str, &str, Option<&str>)> {
    plan.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (run, inject) = match item.split_once('@') {
                Some((r, i)) => (r, Some(i)),
                None => (item, None),
            };
            let (mode, app) = run.split_once(':').unwrap_or(("", run));
            let (app, args) = app.split_once('+').unwrap_or((app, ""));
            (mode, app, args, inject)
        })
}

/// The plan with every `c-<run>` (no arguments, or `large`) given its runme arguments. Other runs
/// stay as written; an unknown `c-` name is an error that lists the known ones.
pub fn expand(plan: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for (mode, app, args, inject) in items(plan) {
        let mut item = format!("{mode}:{app}");
        if app.starts_with("c-") {
            let run = find(app, args).ok_or_else(|| unknown(app))?;
            if args.is_empty() || args == "large" {
                item = format!("{mode}:{}+{}", run.app(), run.plan_args());
            } else {
                item = format!("{item}+{args}");
            }
        } else if !args.is_empty() {
            item = format!("{item}+{args}");
        }
        if let Some(i) = inject {
            item = format!("{item}@{i}");
        }
        out.push(item);
    }
    Ok(out.join(","))
}

fn unknown(app: &str) -> String {
    let mut known: Vec<String> = RUNS.iter().map(Run::app).collect();
    known.dedup();
    format!(
        "{app} is no MiBench C run; the runs are: {}",
        known.join(" ")
    )
}

/// The C runs of a plan (expanded or not), each once.
pub fn runs_of(plan: &str) -> Result<Vec<&'static Run>, String> {
    let mut runs: Vec<&'static Run> = Vec::new();
    for (_, app, args, _) in items(plan) {
        if app.starts_with("c-") {
            let run =
                find(app, if args == "large" { args } else { "" }).ok_or_else(|| unknown(app))?;
            if !runs.iter().any(|r| std::ptr::eq(*r, run)) {
                runs.push(run);
            }
        }
    }
    Ok(runs)
}

/// Where things are: `<build>/mibench-c/{src,x86_64,aarch64}`.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(build: &Path) -> Self {
        let build = std::path::absolute(build).unwrap_or_else(|_| build.to_path_buf());
        Layout {
            root: build.join("mibench-c"),
        }
    }

    pub fn src(&self) -> PathBuf {
        self.root.join("src")
    }

    pub fn binary(&self, arch: &str, binary: &str) -> PathBuf {
        self.root.join(arch).join(binary)
    }

    fn stamp(&self) -> PathBuf {
        self.root.join(format!("built-{COMMIT}"))
    }

    /// Whether [`build`] has run to its end.
    pub fn built(&self) -> bool {
        self.stamp().is_file()
    }
}

/// Why the programs are not there.
#[derive(Debug)]
pub enum Error {
    /// The upstream cannot be reached (offline): say so and skip.
    Unreachable(String),
    Failed(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Unreachable(why) => write!(f, "{UPSTREAM} cannot be reached: {why}"),
            Error::Failed(why) => write!(f, "{why}"),
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .map_err(|e| format!("git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The upstream sources at [`COMMIT`], the 13 programs' folders only, with the build fixes of
/// `fixes/` applied. A partial clone: blobs come as checked out, so that files missing from a
/// copy of the upstream ([`OPTIONAL`]) do not stop the others.
pub fn fetch(layout: &Layout) -> Result<(), Error> {
    let src = layout.src();
    if src.join(".git").is_dir() && git(&src, &["rev-parse", "HEAD"]).as_deref() == Ok(COMMIT) {
        return Ok(());
    }
    let _ = fs::remove_dir_all(&src);
    fs::create_dir_all(&layout.root).map_err(|e| Error::Failed(e.to_string()))?;
    let src_s = src.to_string_lossy().into_owned();
    git(
        &layout.root,
        &[
            "clone",
            "-q",
            "--filter=blob:none",
            "--no-checkout",
            UPSTREAM,
            &src_s,
        ],
    )
    .map_err(Error::Unreachable)?;
    let mut patterns: Vec<String> = Vec::new();
    for d in PROGRAMS
        .iter()
        .map(|p| p.dir)
        .chain(RUNS.iter().map(|r| r.dir))
    {
        let p = format!("/{d}/");
        if !patterns.contains(&p) {
            patterns.push(p);
        }
    }
    patterns.extend(OPTIONAL.iter().map(|o| format!("!/{o}")));
    let mut args = vec!["sparse-checkout", "set", "--no-cone"];
    args.extend(patterns.iter().map(String::as_str));
    git(&src, &args).map_err(Error::Failed)?;
    git(&src, &["checkout", "-q", COMMIT]).map_err(Error::Unreachable)?;
    for o in OPTIONAL {
        let out = Command::new("git")
            .current_dir(&src)
            .args(["show", &format!("{COMMIT}:{o}")])
            .stderr(Stdio::null())
            .output();
        match out {
            Ok(out) if out.status.success() => {
                fs::write(src.join(o), out.stdout).map_err(|e| Error::Failed(e.to_string()))?
            }
            _ => eprintln!("[mibench-c] {o} is absent from {UPSTREAM}: the runs that read it skip"),
        }
    }
    let fixes = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixes");
    let mut patches: Vec<PathBuf> = fs::read_dir(&fixes)
        .map_err(|e| Error::Failed(format!("{}: {e}", fixes.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "patch"))
        .collect();
    patches.sort();
    for p in patches {
        git(&src, &["apply", &p.to_string_lossy()]).map_err(Error::Failed)?;
    }
    Ok(())
}

pub fn compiler(arch: &str) -> &'static str {
    if arch == "aarch64" {
        "aarch64-linux-gnu-gcc"
    } else {
        "gcc"
    }
}

/// Fetches (see [`fetch`]), builds every program for both architectures and runs the lines that
/// feed later ones (the encryptions whose output the decryptions read) with the host's x86_64
/// binaries, as the runme scripts do. Quick when done.
pub fn build(layout: &Layout) -> Result<(), Error> {
    if layout.built() {
        return Ok(());
    }
    fetch(layout)?;
    let src = layout.src();
    for arch in ARCHES {
        fs::create_dir_all(layout.root.join(arch)).map_err(|e| Error::Failed(e.to_string()))?;
        for p in PROGRAMS {
            let out = layout.binary(arch, p.binary);
            let status = Command::new(compiler(arch))
                .current_dir(src.join(p.dir))
                .args(COMMON_FLAGS)
                .args(p.flags)
                .args(p.sources)
                .arg("-o")
                .arg(&out)
                .arg("-lm")
                .status()
                .map_err(|e| Error::Failed(format!("{}: {e}", compiler(arch))))?;
            if !status.success() {
                return Err(Error::Failed(format!(
                    "building {} for {arch} failed",
                    p.binary
                )));
            }
        }
    }
    for r in RUNS.iter().filter(|r| r.feeds) {
        if r.inputs_at(layout).is_err() {
            continue;
        }
        let bin = layout.binary("x86_64", r.binary);
        // Exit codes say little here: bf ends every run with exit(1).
        Command::new(&bin)
            .current_dir(src.join(r.dir))
            .args(r.args.split_whitespace())
            .stdout(Stdio::null())
            .status()
            .map_err(|e| Error::Failed(format!("{}: {e}", bin.display())))?;
    }
    fs::write(layout.stamp(), COMMIT).map_err(|e| Error::Failed(e.to_string()))?;
    Ok(())
}

/// `name=path` of the ELF of every C run of `plan`, comma-separated, for the image.
pub fn apps(plan: &str, layout: &Layout, arch: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for r in runs_of(plan)? {
        let bin = layout.binary(arch, r.binary);
        if !bin.is_file() {
            return Err(format!(
                "{} is not built (`make mibench-c`; it needs {UPSTREAM})",
                bin.display()
            ));
        }
        out.push(format!("{}={}", r.app(), bin.display()));
    }
    Ok(out.join(","))
}

/// `name=path` of the input files of every C run of `plan`, each once, comma-separated.
pub fn files(plan: &str, layout: &Layout) -> Result<String, String> {
    let mut out: Vec<String> = Vec::new();
    for r in runs_of(plan)? {
        let inputs = r.inputs_at(layout).map_err(|missing| {
            format!(
                "{}: {} absent (not in this copy of {UPSTREAM}, or not built)",
                r.app(),
                missing.join(", ")
            )
        })?;
        for (name, path) in inputs {
            let entry = format!("{name}={}", path.display());
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
    }
    Ok(out.join(","))
}

/// What the same binary does on Linux.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// stdout and stderr through one pipe, as the master's console has them.
    pub output: String,
    /// The files it wrote (or changed), by absolute name from the upstream root.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Its exit code (bf exits with 1 after every run).
    pub exit_code: Option<i32>,
}

/// The command that runs an `arch` binary here, or why there is none.
pub fn runner(arch: &str) -> Result<Option<String>, String> {
    if arch == std::env::consts::ARCH {
        return Ok(None);
    }
    let qemu = format!("qemu-{arch}");
    match Command::new(&qemu).arg("--version").output() {
        Ok(o) if o.status.success() => Ok(Some(qemu)),
        _ => Err(format!(
            "{qemu} (Debian's qemu-user) is not installed: no Linux reference for {arch}"
        )),
    }
}

/// A command that runs the `arch` Linux binary `bin` here, natively or under Debian's
/// qemu-user, with argv[0] `name`.
pub fn linux_command(arch: &str, bin: &Path, name: &str) -> Result<Command, String> {
    Ok(match runner(arch)? {
        Some(qemu) => {
            let mut c = Command::new(qemu);
            c.arg("-0").arg(name).arg(bin);
            c
        }
        None => {
            let mut c = Command::new(bin);
            std::os::unix::process::CommandExt::arg0(&mut c, name);
            c
        }
    })
}

/// Runs `cmd` with its stderr, and its stdout where `stdout` (it was not redirected), through
/// one pipe, as the master's console has them: what came through, and how it ended.
pub fn output_in_one_pipe(
    mut cmd: Command,
    stdout: bool,
) -> std::io::Result<(Vec<u8>, std::process::ExitStatus)> {
    let (mut reader, writer) = std::io::pipe()?;
    if stdout {
        cmd.stdout(writer.try_clone()?);
    }
    cmd.stderr(writer);
    let mut child = cmd.spawn()?;
    // The pipe's writing ends live in `cmd`: without them the read ends with the child.
    drop(cmd);
    let mut output = Vec::new();
    reader.read_to_end(&mut output)?;
    Ok((output, child.wait()?))
}

/// Runs `run`'s `arch` binary on Linux in a scratch copy of its inputs.
pub fn on_linux(layout: &Layout, run: &Run, arch: &str) -> Result<Reference, String> {
    let inputs = run
        .inputs_at(layout)
        .map_err(|m| format!("absent: {}", m.join(", ")))?;
    let scratch = std::env::temp_dir().join(format!(
        "romain-mibench-c-{}-{}-{arch}",
        std::process::id(),
        run.app()
    ));
    let _ = fs::remove_dir_all(&scratch);
    let cwd = scratch.join(run.dir);
    fs::create_dir_all(&cwd).map_err(|e| e.to_string())?;
    let mut given = BTreeMap::new();
    for (name, path) in &inputs {
        let to = scratch.join(name);
        fs::create_dir_all(to.parent().unwrap()).map_err(|e| e.to_string())?;
        let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        fs::write(&to, &bytes).map_err(|e| e.to_string())?;
        given.insert(format!("/{name}"), bytes);
    }
    let bin = layout.binary(arch, run.binary);
    // argv[0] as the master gives it (the plan's name).
    let mut cmd = linux_command(arch, &bin, &run.app())?;
    let mut stdout_file = false;
    cmd.current_dir(&cwd).env_clear().stdin(Stdio::null());
    for a in run.args.split_whitespace() {
        if let Some(f) = a.strip_prefix('<') {
            let f = fs::File::open(cwd.join(f)).map_err(|e| format!("{f}: {e}"))?;
            cmd.stdin(f);
        } else if let Some(f) = a.strip_prefix('>') {
            let f = fs::File::create(cwd.join(f)).map_err(|e| format!("{f}: {e}"))?;
            cmd.stdout(f);
            stdout_file = true;
        } else {
            cmd.arg(a);
        }
    }
    let (output, status) =
        output_in_one_pipe(cmd, !stdout_file).map_err(|e| format!("{}: {e}", bin.display()))?;
    let mut files = BTreeMap::new();
    collect(&scratch, &scratch, &mut files).map_err(|e| e.to_string())?;
    files.retain(|name, bytes| given.get(name) != Some(bytes));
    let _ = fs::remove_dir_all(&scratch);
    if status.code().is_none() {
        return Err(format!(
            "{} {} on Linux: {status}\n{}",
            run.binary,
            run.args,
            String::from_utf8_lossy(&output)
        ));
    }
    Ok(Reference {
        output: String::from_utf8_lossy(&output).into_owned(),
        files,
        exit_code: status.code(),
    })
}

fn collect(root: &Path, dir: &Path, into: &mut BTreeMap<String, Vec<u8>>) -> std::io::Result<()> {
    for e in fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            collect(root, &p, into)?;
        } else {
            let name = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            into.insert(format!("/{name}"), fs::read(&p)?);
        }
    }
    Ok(())
}

/// The master's log line (after its prefix) for a written file.
pub fn file_line(name: &str, bytes: &[u8]) -> String {
    romain_records::FileLine {
        name,
        size: bytes.len(),
        hash: romain_records::fnv::hash(bytes),
    }
    .to_string()
}

/// The runs as a table (for `list`).
pub fn table(layout: &Layout) -> String {
    let mut t = String::new();
    for r in RUNS {
        let state = match r.inputs_at(layout) {
            Ok(_) => String::new(),
            Err(m) => format!("  (absent: {})", m.join(", ")),
        };
        let _ = writeln!(
            t,
            "{:<22} {:<20} {} {}{state}",
            r.app(),
            r.dir,
            r.binary,
            r.args
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_runs_get_their_runme_arguments() {
        let plan =
            expand("tmr:c-sha,dmr:c-sha+large@reg:1:2:rsp:3,none:hello+x,tmr:c-adpcm").unwrap();
        assert_eq!(
            plan,
            "tmr:c-sha+cd=/security/sha+input_small.asc,\
             dmr:c-sha-large+cd=/security/sha+input_large.asc@reg:1:2:rsp:3,\
             none:hello+x,\
             tmr:c-adpcm+cd=/telecomm/adpcm+<data/small.pcm+>output_small.adpcm"
        );
        // Expanding again changes nothing.
        assert_eq!(expand(&plan).unwrap(), plan);
        assert!(expand("tmr:c-nope").unwrap_err().contains("c-susan-edges"));
    }

    #[test]
    fn every_program_has_its_runs_and_inputs_resolve_from_the_run_directory() {
        for id in MAIN_RUNS {
            assert!(find(&format!("c-{id}"), "").is_some(), "{id}");
            assert!(find(&format!("c-{id}-large"), "").is_some(), "{id} large");
        }
        for r in RUNS {
            r.program();
        }
        let crc = find("c-crc32", "").unwrap();
        assert_eq!(crc.input_names(), ["telecomm/adpcm/data/small.pcm"]);
        let plan = "tmr:c-susan,dmr:c-susan,tmr:c-susan-edges,none:c-sha";
        let runs: Vec<String> = runs_of(plan).unwrap().iter().map(|r| r.app()).collect();
        assert_eq!(runs, ["c-susan", "c-susan-edges", "c-sha"]);
    }

    #[test]
    fn bitcount_clock_readings_are_blanked() {
        let r = find("c-bitcount", "").unwrap();
        let line = "Optimized 1 bit/byte lookup count: Time:   0.010 sec.; Bits: 1178290\n";
        assert_eq!(
            r.comparable(line),
            "Optimized 1 bit/byte lookup count: Time: * sec.; Bits: 1178290\n"
        );
        assert_eq!(find("c-sha", "").unwrap().comparable(line), line);
        assert_eq!(
            r.comparable("Best  > Ratko's mystery algorithm\n"),
            "Best  > *\n"
        );
    }
}
