//! `romain-mibench-c`: the original MiBench C programs for the Makefile and by hand.
//!
//! ```text
//! romain-mibench-c build                 fetch (pinned commit), build for both architectures
//! romain-mibench-c list                  the runs (c-<run>, c-<run>-large) and their runme lines
//! romain-mibench-c plan PLAN             PLAN with every c-<run> given its arguments
//! romain-mibench-c apps --arch A PLAN    name=path of their ELF files, for the image
//! romain-mibench-c files PLAN            name=path of their input files, for the image
//! romain-mibench-c reference --arch A c-sha   what the same binary prints and writes on Linux
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use romain_mibench_c::{Error, Layout, file_line, find, on_linux};

#[derive(Parser)]
struct Cli {
    /// The build folder (mibench-c/ goes under it).
    #[arg(long, default_value = "build")]
    build: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Build,
    List,
    Plan {
        plan: String,
    },
    Apps {
        #[arg(long)]
        arch: String,
        plan: String,
    },
    Files {
        plan: String,
    },
    Reference {
        #[arg(long)]
        arch: String,
        run: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let layout = Layout::new(&cli.build);
    let result = match cli.command {
        Cmd::Build => match romain_mibench_c::build(&layout) {
            Ok(()) => Ok(String::new()),
            Err(Error::Unreachable(why)) => {
                eprintln!(
                    "[mibench-c] SKIPPED: {}; the MiBench C programs are not built ({why})",
                    romain_mibench_c::UPSTREAM
                );
                Ok(String::new())
            }
            Err(e) => Err(e.to_string()),
        },
        Cmd::List => Ok(romain_mibench_c::table(&layout)),
        Cmd::Plan { plan } => romain_mibench_c::expand(&plan),
        Cmd::Apps { arch, plan } => romain_mibench_c::apps(&plan, &layout, &arch),
        Cmd::Files { plan } => romain_mibench_c::files(&plan, &layout),
        Cmd::Reference { arch, run } => find(&run, "")
            .ok_or_else(|| format!("{run}: no such run"))
            .and_then(|r| on_linux(&layout, r, &arch))
            .map(|reference| {
                let mut s = reference.output;
                for (name, bytes) in &reference.files {
                    s.push_str(&file_line(name, bytes));
                    s.push('\n');
                }
                s
            }),
    };
    match result {
        Ok(s) => {
            if !s.is_empty() {
                println!("{}", s.trim_end_matches('\n'));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("romain-mibench-c: {e}");
            ExitCode::FAILURE
        }
    }
}
