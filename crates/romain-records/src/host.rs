//! The JSON records as the host tools read them.

use serde::{Deserialize, Serialize};

use crate::{EXPERIMENT, Record};

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
