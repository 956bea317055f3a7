//! Embeds a real input file per program when the user has one: `make run APP=sha
//! INPUT=path/to/input_small.asc` sets MIBENCH_INPUT_SHA. Without one, the program generates
//! its input (see each port's `generated_small_input`).
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    for program in mibench_suite::PROGRAMS {
        let var = format!("MIBENCH_INPUT_{}", program.to_uppercase());
        println!("cargo::rerun-if-env-changed={var}");
        let bytes = match env::var(&var) {
            Ok(path) if !path.is_empty() => {
                println!("cargo::rerun-if-changed={path}");
                fs::read(&path).unwrap_or_else(|e| panic!("{var}={path}: {e}"))
            }
            _ => Vec::new(),
        };
        fs::write(out.join(format!("{program}.input")), bytes).unwrap();
    }
}
