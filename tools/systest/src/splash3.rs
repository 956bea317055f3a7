//! The Splash-3 programs as the tests and the benchmark run them: `linux-apps/splash3/runs` says
//! how each runs with the suite's small inputs and which lines of its output are timing
//! statistics (blanked) or depend on the interleaving (dropped); `scripts/splash3.sh` builds
//! them under `build/splash3/`.

use std::path::{Path, PathBuf};

use regex::Regex;

/// One program of the suite.
#[derive(Debug, Clone)]
pub struct Program {
    pub name: String,
    /// Its arguments, `+`-separated as a plan has them, `{P}` for the thread count.
    args: String,
    timing: Option<Regex>,
    racy: Option<Regex>,
    linux_racy: Option<Regex>,
}

impl Program {
    /// The plan's `APP+ARG...` for `threads` threads.
    pub fn case(&self, threads: u32) -> String {
        let args = self.args.replace("{P}", &threads.to_string());
        if args.is_empty() {
            self.name.clone()
        } else {
            format!("{}+{args}", self.name)
        }
    }

    /// The binary for `arch`, if `scripts/splash3.sh` built it.
    pub fn binary(&self, arch: &str) -> Option<PathBuf> {
        let p = crate::build_dir().join(format!("splash3/{arch}/{}", self.name));
        p.exists().then_some(p)
    }

    /// Its input files: the name it opens them by, and where they are.
    pub fn inputs(&self) -> Vec<(String, PathBuf)> {
        let dir = crate::build_dir().join(format!("splash3/inputs/{}", self.name));
        let mut found = Vec::new();
        walk(&dir, &dir, &mut found);
        found.sort();
        found
    }

    /// The output with timing lines blanked and the lines that depend on the interleaving
    /// dropped: what must be the same in every run at one thread count.
    pub fn comparable(&self, output: &str) -> String {
        let mut out = String::new();
        for line in output.lines() {
            if self.racy.as_ref().is_some_and(|r| r.is_match(line)) {
                continue;
            }
            if !self.timing.as_ref().is_some_and(|r| r.is_match(line)) {
                out.push_str(line);
            }
            out.push('\n');
        }
        out
    }

    /// What the same binary printed on Linux, made comparable with [`Program::comparable`] of a
    /// run here: the lines Linux's interleaving sometimes adds (a racy check in the program
    /// itself) dropped too. A run here must not print them.
    pub fn comparable_reference(&self, output: &str) -> String {
        let kept: Vec<&str> = output
            .lines()
            .filter(|line| !self.linux_racy.as_ref().is_some_and(|r| r.is_match(line)))
            .collect();
        self.comparable(&(kept.join("\n") + "\n"))
    }
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, found);
        } else {
            let name = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            found.push((name, path));
        }
    }
}

/// The `make` variables that embed `apps` (each a name in the plan and the program it runs) for
/// `arch`: the binaries, run as Linux programs, every program's inputs (the same name holds the
/// same bytes where two share one: water's random.in), and the memory quota radix needs (it
/// allocates 142 MB and touches little of it).
pub fn make_vars(arch: &str, apps: &[(String, &Program)]) -> Vec<String> {
    let mut files = std::collections::BTreeMap::new();
    let mut vars = Vec::new();
    for (name, p) in apps {
        if let Some(bin) = p.binary(arch) {
            vars.push(format!("APP_{name}={}", bin.display()));
        }
        for (n, path) in p.inputs() {
            files.entry(n).or_insert(path);
        }
    }
    let names: Vec<&str> = apps.iter().map(|(n, _)| n.as_str()).collect();
    vars.push(format!("LINUX={}", names.join(" ")));
    let files: Vec<String> = files
        .iter()
        .map(|(n, p)| format!("{n}={}", p.display()))
        .collect();
    vars.push(format!("FILES={}", files.join(" ")));
    vars.push("QUOTA_MB=256".into());
    vars
}

/// The programs of `linux-apps/splash3/runs`, in its order.
pub fn programs() -> Vec<Program> {
    let text = std::fs::read_to_string(crate::repo_root().join("linux-apps/splash3/runs"))
        .expect("linux-apps/splash3/runs");
    parse(&text)
}

/// The programs a runs file describes.
pub fn parse(text: &str) -> Vec<Program> {
    let mut programs: Vec<Program> = Vec::new();
    for line in text.lines() {
        let Some((kind, rest)) = line.split_once(' ') else {
            continue;
        };
        match kind {
            "run" => {
                let (name, args) = rest.split_once('+').unwrap_or((rest, ""));
                programs.push(Program {
                    name: name.to_string(),
                    args: args.to_string(),
                    timing: None,
                    racy: None,
                    linux_racy: None,
                });
            }
            "timing" | "racy" | "linux-racy" => {
                let (name, regex) = rest.split_once(' ').expect("NAME REGEX");
                let program = programs
                    .iter_mut()
                    .find(|p| p.name == name)
                    .unwrap_or_else(|| panic!("{kind} line for {name} before its run"));
                let regex = Some(Regex::new(regex).expect("a regular expression"));
                match kind {
                    "timing" => program.timing = regex,
                    "racy" => program.racy = regex,
                    _ => program.linux_racy = regex,
                }
            }
            _ => {}
        }
    }
    programs
}

/// The program named `name`.
pub fn program(name: &str) -> Option<Program> {
    programs().into_iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runs_file_parses_and_its_rules_apply() {
        let all = programs();
        assert!(all.len() >= 14, "{all:?}");
        let fft = all.iter().find(|p| p.name == "splash3-fft").unwrap();
        assert_eq!(fft.case(4), "splash3-fft+-m16+-p4+-t");
        let output = "FFT\nStart time  : 12\niter_num = 3\n  4 Processors\nok\n";
        assert_eq!(fft.comparable(output), "FFT\n\n  4 Processors\nok\n");
        let barnes = all.iter().find(|p| p.name == "splash3-barnes").unwrap();
        assert_eq!(barnes.case(2), "splash3-barnes+<n2048-p2");
        // cholesky's termination check, which Linux's interleaving sometimes trips: dropped
        // from the reference only.
        let cholesky = all.iter().find(|p| p.name == "splash3-cholesky").unwrap();
        let linux = "Bad received\nPASSED\n";
        assert_eq!(cholesky.comparable_reference(linux), "PASSED\n");
        assert_eq!(cholesky.comparable(linux), linux);
    }
}
