//! The JSON records as the host tools read them.

use serde::{Deserialize, Serialize};

use crate::{EXPERIMENT, FILE, FileLine, Record};

/// One experiment, as the master printed it (`ROMAIN-EXPERIMENT`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Experiment {
    pub index: u64,
    pub arch: String,
    pub app: String,
    pub mode: String,
    pub model: String,
    /// The injection as an `INJECT=` spec: `make run ... INJECT=<spec>` repeats it.
    pub spec: String,
    pub outcome: String,
    pub status: String,
    pub events: u64,
    pub mismatches: u64,
    pub recoveries: u64,
    pub rollbacks: u64,
    pub watchdog_fired: u64,
    pub cycles: u64,
    pub error: String,
}

impl Experiment {
    /// The experiment of a console line, if it is one.
    pub fn from_line(line: &str) -> Option<Experiment> {
        match crate::parse(line)? {
            Record::Experiment(json) => serde_json::from_str(json).ok(),
            _ => None,
        }
    }

    /// What identifies it across shards and resumed runs.
    pub fn key(&self) -> (String, String, String, u64) {
        (
            self.arch.clone(),
            self.app.clone(),
            self.mode.clone(),
            self.index,
        )
    }

    /// A fault that took effect: neither masked nor never injected.
    pub fn activated(&self) -> bool {
        !matches!(self.outcome.as_str(), "masked" | "not-injected")
    }

    /// The line the master prints for it.
    pub fn to_line(&self) -> String {
        format!(
            "{EXPERIMENT}{}",
            serde_json::to_string(self).expect("plain fields")
        )
    }
}

/// The JSON of a golden run's line, if `line` is one (`Err` when it is one but not JSON).
pub fn golden(line: &str) -> Option<Result<serde_json::Value, serde_json::Error>> {
    match crate::parse(line)? {
        Record::Golden(json) => Some(serde_json::from_str(json)),
        _ => None,
    }
}

/// The JSON of a summary line, if `line` is one (`Err` when it is one but not JSON).
pub fn summary(line: &str) -> Option<Result<serde_json::Value, serde_json::Error>> {
    match crate::parse(line)? {
        Record::Summary(json) => Some(serde_json::from_str(json)),
        _ => None,
    }
}

/// A file a Linux program wrote, as the master's log names it ([`FileLine`]: `file "NAME": N
/// bytes, fnv1a64 H`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WrittenFile {
    pub name: String,
    pub size: usize,
    pub hash: u64,
}

impl WrittenFile {
    /// The file `name` with contents `bytes` (what the master's line for it must say).
    pub fn of(name: &str, bytes: &[u8]) -> WrittenFile {
        WrittenFile {
            name: name.to_string(),
            size: bytes.len(),
            hash: crate::fnv::hash(bytes),
        }
    }

    /// The file of a log text in [`FileLine`]'s form, if it is one.
    pub fn parse(text: &str) -> Option<WrittenFile> {
        let rest = text.strip_prefix(FILE)?;
        // The name: a JSON string, up to its first unescaped quote.
        let mut escaped = false;
        let end = rest.char_indices().skip(1).find_map(|(i, c)| {
            match (escaped, c) {
                (false, '"') => return Some(i),
                (false, '\\') => escaped = true,
                _ => escaped = false,
            }
            None
        })?;
        if !rest.starts_with('"') {
            return None;
        }
        let name: String = serde_json::from_str(&rest[..=end]).ok()?;
        let (size, hash) = rest[end + 1..]
            .strip_prefix(": ")?
            .split_once(" bytes, fnv1a64 ")?;
        let hash = hash.trim_end();
        if hash.len() != 16 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(WrittenFile {
            name,
            size: size.parse().ok()?,
            hash: u64::from_str_radix(hash, 16).ok()?,
        })
    }

    /// The file of a master log line (`[romain INFO] file ...`), if it is one.
    pub fn from_log_line(line: &str) -> Option<WrittenFile> {
        Self::parse(crate::log_line(line)?.1)
    }
}

impl std::fmt::Display for WrittenFile {
    /// As the master prints it ([`FileLine`]).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let WrittenFile { name, size, hash } = self;
        let (size, hash) = (*size, *hash);
        write!(f, "{}", FileLine { name, size, hash })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_line_reads_back_whatever_the_name() {
        for name in [
            "/out.txt",
            "",
            "/a\n[romain INFO] file \"x\": 1 bytes, fnv1a64 0000000000000000",
            "\"\\\"\\",
            "\u{0}\u{1f}\u{7f}\u{85}\u{2028}\u{2029}\r\t é ✓ \u{1f600}",
        ] {
            let file = WrittenFile::of(name, b"abc");
            let text = file.to_string();
            assert!(!text.contains(['\n', '\r', '\u{85}', '\u{2028}']), "{text}");
            assert_eq!(WrittenFile::parse(&text), Some(file.clone()), "{text}");
            assert_eq!(
                WrittenFile::from_log_line(&format!("[romain INFO] {text}\r")),
                Some(file)
            );
        }
    }

    #[test]
    fn other_lines_are_no_file() {
        for text in [
            "file /out.txt: 3 bytes, fnv1a64 0000000000000000",
            "file \"x: 3 bytes, fnv1a64 0000000000000000",
            "file \"x\": 3 bytes, fnv1a64 00",
            "file \"x\": three bytes, fnv1a64 0000000000000000",
            "files \"x\": 3 bytes, fnv1a64 0000000000000000",
            "",
        ] {
            assert_eq!(WrittenFile::parse(text), None, "{text}");
        }
        assert_eq!(
            WrittenFile::from_log_line(
                ">[romain INFO] file \"x\": 3 bytes, fnv1a64 0000000000000000"
            ),
            None
        );
    }
}
