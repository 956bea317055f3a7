//! Directories against a model: arbitrary sequences of mkdir, rmdir, file creation, unlink,
//! rename and chdir over a small tree of names give the errors POSIX gives (EEXIST, ENOENT,
//! ENOTDIR, EISDIR, ENOTEMPTY) exactly where the model says, and after every step every
//! directory lists exactly the model's entries with their kinds, and the file system's own
//! tables agree ([`FileSystem::verify`]).
//!
//! Cases: `PROPTEST_CASES` (200 by default).

use std::collections::BTreeSet;

use proptest::prelude::*;
use romain_linux::fs::{FileSystem, How, Kind};
use syscalls::Errno;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Clone)]
enum Op {
    Mkdir(String),
    Rmdir(String),
    Create(String),
    Unlink(String),
    Rename(String, String),
    Chdir(String),
}

/// Names under `/` and `/tmp`, up to three parts of `a`, `b`, `c`.
fn name() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just(""), Just("/tmp")],
        prop::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c")], 1..=3),
    )
        .prop_map(|(base, parts)| format!("{base}/{}", parts.join("/")))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => name().prop_map(Op::Mkdir),
        2 => name().prop_map(Op::Rmdir),
        3 => name().prop_map(Op::Create),
        2 => name().prop_map(Op::Unlink),
        2 => (name(), name()).prop_map(|(a, b)| Op::Rename(a, b)),
        1 => prop_oneof![Just("/".to_string()), Just("/tmp".to_string()), name()].prop_map(Op::Chdir),
    ]
}

/// The model: directories and files by absolute name.
struct Model {
    dirs: BTreeSet<String>,
    files: BTreeSet<String>,
}

fn parent(name: &str) -> &str {
    match name.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((p, _)) => p,
    }
}

impl Model {
    fn has_children(&self, dir: &str) -> bool {
        let prefix = format!("{dir}/");
        self.dirs
            .iter()
            .chain(&self.files)
            .any(|n| n.starts_with(&prefix))
    }

    /// Where a new name may go: its parent a directory.
    fn parent_ok(&self, name: &str) -> Result<(), Errno> {
        let p = parent(name);
        if self.dirs.contains(p) {
            Ok(())
        } else if self.files.contains(p) {
            Err(Errno::ENOTDIR)
        } else {
            Err(Errno::ENOENT)
        }
    }

    fn apply(&mut self, op: &Op) -> Result<(), Errno> {
        match op {
            Op::Mkdir(n) => {
                if self.dirs.contains(n) || self.files.contains(n) {
                    return Err(Errno::EEXIST);
                }
                self.parent_ok(n)?;
                self.dirs.insert(n.clone());
            }
            Op::Rmdir(n) => {
                if !self.dirs.contains(n) {
                    return Err(if self.files.contains(n) {
                        Errno::ENOTDIR
                    } else {
                        Errno::ENOENT
                    });
                }
                if self.has_children(n) {
                    return Err(Errno::ENOTEMPTY);
                }
                self.dirs.remove(n);
            }
            Op::Create(n) => {
                if self.dirs.contains(n) {
                    return Err(Errno::EISDIR);
                }
                if !self.files.contains(n) {
                    self.parent_ok(n)?;
                    self.files.insert(n.clone());
                }
            }
            Op::Unlink(n) => {
                if self.dirs.contains(n) {
                    return Err(Errno::EISDIR);
                }
                if !self.files.remove(n) {
                    return Err(Errno::ENOENT);
                }
            }
            Op::Rename(a, b) => {
                if !self.files.contains(a) {
                    return Err(if self.dirs.contains(a) {
                        Errno::EXDEV
                    } else {
                        Errno::ENOENT
                    });
                }
                if a == b {
                    return Ok(());
                }
                if self.dirs.contains(b) {
                    return Err(Errno::EISDIR);
                }
                if !self.files.contains(b) {
                    self.parent_ok(b)?;
                }
                self.files.remove(a);
                self.files.insert(b.clone());
            }
            Op::Chdir(n) => {
                if !self.dirs.contains(n) {
                    return Err(if self.files.contains(n) {
                        Errno::ENOTDIR
                    } else {
                        Errno::ENOENT
                    });
                }
            }
        }
        Ok(())
    }

    /// The entries of `dir` the model has (names and kinds), in name order.
    fn listing(&self, dir: &str) -> Vec<(String, Kind)> {
        let prefix = if dir == "/" {
            "/".to_string()
        } else {
            format!("{dir}/")
        };
        let direct = |n: &&String| n.starts_with(&prefix) && !n[prefix.len()..].contains('/');
        let mut out: Vec<(String, Kind)> = self
            .dirs
            .iter()
            .filter(direct)
            .map(|n| (n[prefix.len()..].to_string(), Kind::Dir))
            .chain(
                self.files
                    .iter()
                    .filter(direct)
                    .map(|n| (n[prefix.len()..].to_string(), Kind::File)),
            )
            .filter(|(n, _)| !n.is_empty())
            .collect();
        if dir == "/" {
            out.push(("dev".into(), Kind::Dir));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut fs = FileSystem::new(&[], &Default::default());
    let mut model = Model {
        dirs: ["/", "/tmp", "/proc"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        files: ["/proc/mounts"].iter().map(|s| s.to_string()).collect(),
    };
    for op in ops {
        let want = model.apply(op);
        let got = match op {
            Op::Mkdir(n) => fs.mkdir(n, 0o755).map(drop),
            Op::Rmdir(n) => fs.rmdir(n).map(drop),
            Op::Create(n) => {
                let how = How {
                    writable: true,
                    create: true,
                    ..How::default()
                };
                fs.open(n, how).and_then(|fd| fs.close(fd)).map(drop)
            }
            Op::Unlink(n) => fs.unlink(n).map(drop),
            Op::Rename(a, b) => fs.rename(a, b).map(drop),
            // The working directory stays `/`: chdir's answer only (a relative name would be
            // another test).
            Op::Chdir(n) => fs.at(n).and_then(|o| {
                if o.node == romain_linux::fs::Node::Dir {
                    Ok(())
                } else {
                    Err(Errno::ENOTDIR)
                }
            }),
        };
        prop_assert_eq!(got, want, "{:?}", op);
        prop_assert_eq!(fs.verify(), Ok(()));
        for dir in &model.dirs {
            let listing: Vec<(String, Kind)> = fs
                .entries(dir)
                .unwrap()
                .into_iter()
                .skip(2)
                .map(|e| (e.name, e.kind))
                .collect();
            prop_assert_eq!(
                listing,
                model.listing(dir),
                "listing of {} after {:?}",
                dir,
                op
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(200),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn directories_behave_as_the_model_says(ops in prop::collection::vec(op(), 1..60)) {
        run(&ops)?;
    }
}
