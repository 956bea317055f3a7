//! The same Linux binary run on Linux (natively on x86_64, under Debian's qemu-aarch64 for
//! aarch64): the independent reference a replicated run is compared with. How it runs (the
//! runner, argv[0], one pipe for both streams) is the MiBench C reference's
//! (`romain_mibench_c::linux_command`, `output_in_one_pipe`).

use std::collections::BTreeMap;
use std::path::Path;

/// What a program did on Linux.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// stdout and stderr in one pipe, as the master's console has them.
    pub output: String,
    pub exit_code: i32,
    /// The files it left in its directory (the inputs excluded), by name.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Runs `build/linux-apps/{arch}/{program}` with `args` in a fresh directory holding `inputs`
/// (paths relative to the repository, copied in under their file names), stdin from `stdin`
/// (one of them) or empty. `None`, said loudly, where this host cannot run it.
pub fn on_linux(
    arch: &str,
    program: &str,
    args: &[&str],
    inputs: &[&str],
    stdin: Option<&str>,
) -> Option<Reference> {
    let repo = crate::repo_root();
    let bin = repo.join(format!("build/linux-apps/{arch}/{program}"));
    let inputs: Vec<(String, std::path::PathBuf)> = inputs
        .iter()
        .map(|input| {
            let name = Path::new(input).file_name().unwrap();
            (name.to_string_lossy().into_owned(), repo.join(input))
        })
        .collect();
    on_linux_at(arch, &bin, program, args, &inputs, stdin)
}

/// Runs `bin` (argv[0] `program`) with `args` in a fresh directory holding `inputs` (each copied
/// in under its name, which may have directories), stdin from `stdin` (one of them) or empty.
/// `None`, said loudly, where this host cannot run it.
pub fn on_linux_at(
    arch: &str,
    bin: &Path,
    program: &str,
    args: &[&str],
    inputs: &[(String, std::path::PathBuf)],
    stdin: Option<&str>,
) -> Option<Reference> {
    let mut command = match romain_mibench_c::linux_command(arch, bin, program) {
        Ok(command) => command,
        Err(why) => {
            eprintln!("SKIPPED the Linux reference of {program}: {why}");
            return None;
        }
    };
    let dir = std::env::temp_dir().join(format!(
        "romain-reference-{arch}-{program}-{}-{}",
        args.join("_").replace('/', "_"),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut names = Vec::new();
    for (name, from) in inputs {
        let to = dir.join(name);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, &to).unwrap();
        names.push(to);
    }
    let stdin = match stdin {
        Some(name) => std::fs::File::open(dir.join(name)).unwrap().into(),
        None => std::process::Stdio::null(),
    };
    command
        .args(args)
        .current_dir(&dir)
        .env_clear()
        .stdin(stdin);
    let (output, status) = romain_mibench_c::output_in_one_pipe(command, true)
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_file() && !names.contains(&entry.path()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            files.insert(name, std::fs::read(entry.path()).unwrap());
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    Some(Reference {
        output: String::from_utf8_lossy(&output).into_owned(),
        exit_code: status.code().unwrap_or(-1),
        files,
    })
}
