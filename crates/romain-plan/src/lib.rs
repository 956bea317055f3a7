//! The run plan compiled into an image: which programs to run, each with how many replicas.
//!
//! Syntax: runs separated by `,`, each `MODE:APP[+ARG...][@INJECTION]`, with MODE one of `none`
//! (1 replica), `dmr` (2), `tmr` (3) or a replica count `1`..=[`MAX_REPLICAS`], ARGs the
//! program's arguments (see `romain_abi::Call::Args`) and INJECTION a fault to inject in that run
//! (see [`romain_core::inject`]). Example: `tmr:hello,dmr:fft+4+4096+-i@reg:1:2:x3:5`.
//!
//! A run's budget follows its mode: `tmr/events=100000:APP`, `dmr/ms=5000:APP`, or both
//! (`tmr/events=1000/ms=500:APP`): the group ends `over-budget` when it has decided that many
//! events or run that long (guest time). Unset parts take the image's defaults ([`Budget`]).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod campaign;

use core::fmt;

use alloc::vec::Vec;

use romain_core::vote::MAX_REPLICAS;

/// Most runs in one plan.
pub const MAX_RUNS: usize = 1024;

/// How many replicas a run has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    pub replicas: usize,
}

impl Mode {
    pub const NONE: Mode = Mode { replicas: 1 };
    pub const DMR: Mode = Mode { replicas: 2 };
    pub const TMR: Mode = Mode { replicas: 3 };

    pub fn parse(s: &str) -> Result<Mode, PlanError<'_>> {
        let replicas = match s {
            "none" => 1,
            "dmr" => 2,
            "tmr" => 3,
            _ => s.parse().map_err(|_| PlanError::BadMode(s))?,
        };
        if !(1..=MAX_REPLICAS).contains(&replicas) {
            return Err(PlanError::BadMode(s));
        }
        Ok(Mode { replicas })
    }

    pub fn name(self) -> &'static str {
        romain_core::vote::mode_name(self.replicas)
    }
}

/// One run: a program, its mode and the injection spec, if any (checked when the run starts,
/// since register names depend on the architecture).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run<'a> {
    pub app: &'a str,
    /// The arguments, `+`-separated as written (empty for none).
    pub args: &'a str,
    pub mode: Mode,
    pub inject: Option<&'a str>,
    /// What the plan sets of the run's budget.
    pub budget: Budget,
}

/// A run's budget as the plan sets it (`None`: the image's default; 0: unbounded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Budget {
    /// Most events the group may decide.
    pub events: Option<u64>,
    /// Most milliseconds the group may run.
    pub ms: Option<u64>,
}

impl Budget {
    /// `events=N` and `ms=N` parts, each after a `/`.
    fn parse(parts: &str) -> Option<Budget> {
        let mut budget = Budget::default();
        for part in parts.split('/') {
            let (key, value) = part.trim().split_once('=')?;
            let value = Some(value.trim().parse().ok()?);
            match key.trim() {
                "events" if budget.events.is_none() => budget.events = value,
                "ms" if budget.ms.is_none() => budget.ms = value,
                _ => return None,
            }
        }
        Some(budget)
    }

    /// This budget, with `defaults` where it sets nothing.
    pub fn or(self, defaults: Budget) -> Budget {
        Budget {
            events: self.events.or(defaults.events),
            ms: self.ms.or(defaults.ms),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanError<'a> {
    Empty,
    TooManyRuns,
    BadMode(&'a str),
    MissingApp(&'a str),
    BadBudget(&'a str),
}

impl fmt::Display for PlanError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Empty => write!(f, "the run plan is empty"),
            PlanError::TooManyRuns => write!(f, "the run plan has more than {MAX_RUNS} runs"),
            PlanError::BadMode(m) => write!(
                f,
                "bad mode {m:?}: use none, dmr, tmr or a replica count 1..={MAX_REPLICAS}"
            ),
            PlanError::MissingApp(r) => write!(f, "run {r:?} names no program: use MODE:APP"),
            PlanError::BadBudget(b) => write!(
                f,
                "bad budget {b:?}: use MODE/events=N:APP, MODE/ms=N:APP or both"
            ),
        }
    }
}

/// Parses a plan string.
pub fn parse(plan: &str) -> Result<Vec<Run<'_>>, PlanError<'_>> {
    let mut runs = Vec::new();
    for item in plan.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (run, inject) = match item.split_once('@') {
            Some((run, inject)) => (run, Some(inject.trim())),
            None => (item, None),
        };
        let (mode, app) = run.split_once(':').ok_or(PlanError::MissingApp(item))?;
        let (mode, budget) = match mode.split_once('/') {
            Some((mode, parts)) => (
                mode,
                Budget::parse(parts).ok_or(PlanError::BadBudget(parts))?,
            ),
            None => (mode, Budget::default()),
        };
        let (app, args) = app.trim().split_once('+').unwrap_or((app.trim(), ""));
        if app.is_empty() {
            return Err(PlanError::MissingApp(item));
        }
        let run = Run {
            app,
            args,
            mode: Mode::parse(mode.trim())?,
            inject,
            budget,
        };
        if runs.len() == MAX_RUNS {
            return Err(PlanError::TooManyRuns);
        }
        runs.push(run);
    }
    if runs.is_empty() {
        return Err(PlanError::Empty);
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_modes_and_apps() {
        let runs = parse("tmr:hello, dmr:fft+4+4096+-i@reg:1:2:x3:4,none:hello,5:x").unwrap();
        let tmr = Run {
            app: "hello",
            args: "",
            mode: Mode::TMR,
            inject: None,
            budget: Budget::default(),
        };
        assert_eq!(runs[0], tmr);
        let dmr = Run {
            app: "fft",
            args: "4+4096+-i",
            mode: Mode::DMR,
            inject: Some("reg:1:2:x3:4"),
            budget: Budget::default(),
        };
        assert_eq!(runs[1], dmr);
        assert_eq!(runs[2].mode.name(), "none");
        assert_eq!(runs[3].mode.replicas, 5);
    }

    #[test]
    fn a_run_may_set_its_budget() {
        let runs = parse("tmr/events=1000:loop+x,dmr/ms=50/events=7:b,none/ms=0:c").unwrap();
        assert_eq!(
            (runs[0].mode, runs[0].app, runs[0].args),
            (Mode::TMR, "loop", "x")
        );
        assert_eq!(
            runs[0].budget,
            Budget {
                events: Some(1000),
                ms: None
            }
        );
        assert_eq!(
            runs[1].budget,
            Budget {
                events: Some(7),
                ms: Some(50)
            }
        );
        let defaults = Budget {
            events: Some(5),
            ms: Some(9),
        };
        assert_eq!(
            runs[2].budget.or(defaults),
            Budget {
                events: Some(5),
                ms: Some(0)
            }
        );
        for bad in [
            "tmr/:a",
            "tmr/events:a",
            "tmr/events=x:a",
            "tmr/events=-1:a",
            "tmr/cycles=5:a",
            "tmr/events=1/events=2:a",
        ] {
            assert!(
                matches!(parse(bad), Err(PlanError::BadBudget(_))),
                "{bad}: {:?}",
                parse(bad)
            );
        }
    }

    #[test]
    fn rejects_bad_plans_with_a_reason() {
        assert_eq!(parse(""), Err(PlanError::Empty));
        assert_eq!(parse("quad:hello"), Err(PlanError::BadMode("quad")));
        assert_eq!(parse("0:hello"), Err(PlanError::BadMode("0")));
        assert_eq!(parse("9:hello"), Err(PlanError::BadMode("9")));
        assert_eq!(parse("tmr"), Err(PlanError::MissingApp("tmr")));
        assert_eq!(parse("tmr:"), Err(PlanError::MissingApp("tmr:")));
        assert_eq!(
            parse("tmr@reg:1:1:x0:0"),
            Err(PlanError::MissingApp("tmr@reg:1:1:x0:0"))
        );
        assert_eq!(
            parse("tmr@reg:1:1:x0:0"),
            Err(PlanError::MissingApp("tmr@reg:1:1:x0:0"))
        );
        let long = "none:a,".repeat(MAX_RUNS + 1);
        assert_eq!(parse(&long), Err(PlanError::TooManyRuns));
        assert!(format!("{}", PlanError::BadMode("x")).contains("none, dmr, tmr"));
    }
}
