//! Fault-injection campaigns: which fault each experiment injects, and what came of it.
//!
//! An experiment's fault is drawn from the campaign's seed, the experiment's index and the
//! golden run (no fault) of the same program and mode ([`draw`]): the golden run gives the number
//! of events and the run time that triggers are drawn from, and the output hash that outcomes
//! are judged against ([`classify`]). Event-triggered models (`reg`, `data`, `code`, `fpreg`)
//! reproduce from the seed wherever a shard runs; time-triggered ones (`delay`, `result`,
//! `fpdelay`) are drawn against the golden run's measured length, which differs between boots,
//! so they do not (docs/campaigns.md, "What a seed reproduces").
//!
//! Fault models (one bit flip in one replica):
//! - `reg`: a general-purpose register (PC and SP included) when the replica reaches event E;
//! - `data`: a random word of the replica's writable memory at event E;
//! - `code`: a random word of the replica's private code at event E;
//! - `delay`: a register at a random time in the middle of computation (the replica is stopped
//!   asynchronously, flipped and resumed): a corrupted instruction result.
//! - `result`: the register the instruction at hand writes, at a random time;
//! - `fpreg`: an FP/SIMD register (any bit of its width) when the replica reaches event E;
//! - `fpdelay`: an FP/SIMD register at a random time.

use core::fmt;

use romain_core::inject::{Injection, Target};
use romain_core::random::SplitMix64;
use romain_core::regs::Arch;
use romain_core::summary::{JsonStr, Status, Summary};

/// A fault model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    Register,
    Data,
    Code,
    Delay,
    /// An instruction's result, at a random time.
    Result,
    /// An FP/SIMD register at an event.
    Fp,
    /// An FP/SIMD register at a random time.
    FpDelay,
}

impl Model {
    pub const ALL: [Model; 7] = [
        Model::Register,
        Model::Data,
        Model::Code,
        Model::Delay,
        Model::Result,
        Model::Fp,
        Model::FpDelay,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Model::Register => "reg",
            Model::Data => "data",
            Model::Code => "code",
            Model::Delay => "delay",
            Model::Result => "result",
            Model::Fp => "fpreg",
            Model::FpDelay => "fpdelay",
        }
    }

    pub fn parse(s: &str) -> Option<Model> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// A set of fault models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Models(u8);

impl Models {
    pub const ALL: Models = Models(0b111_1111);

    /// `all`, or model names separated by `/` (the plan already uses `,` and `:`).
    pub fn parse(s: &str) -> Option<Models> {
        if s == "all" {
            return Some(Models::ALL);
        }
        let mut bits = 0;
        for name in s.split('/') {
            bits |= 1 << Model::parse(name)? as u8;
        }
        Some(Models(bits))
    }

    /// The set without `fpreg` and `fpdelay`.
    pub fn without_fp(self) -> Models {
        Models(self.0 & !(1 << Model::Fp as u8 | 1 << Model::FpDelay as u8))
    }

    pub fn iter(self) -> impl Iterator<Item = Model> {
        Model::ALL
            .into_iter()
            .filter(move |m| self.0 & (1 << *m as u8) != 0)
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// A campaign as compiled into an image: `SEED:FIRST:COUNT:MODELS`, experiments
/// `FIRST..FIRST+COUNT` of every run of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Campaign {
    pub seed: u64,
    pub first: u64,
    pub count: u64,
    pub models: Models,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CampaignError;

impl fmt::Display for CampaignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a campaign is SEED:FIRST:COUNT:MODELS, MODELS `all` or names (reg, data, code, delay, result, fpreg, fpdelay) separated by `/`")
    }
}

impl Campaign {
    pub fn parse(s: &str) -> Result<Campaign, CampaignError> {
        let mut it = s.split(':');
        let (Some(seed), Some(first), Some(count), Some(models), None) =
            (it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            return Err(CampaignError);
        };
        let models = Models::parse(models).filter(|m| !m.is_empty());
        match (seed.parse(), first.parse(), count.parse(), models) {
            (Ok(seed), Ok(first), Ok(count), Some(models)) => Ok(Campaign {
                seed,
                first,
                count,
                models,
            }),
            _ => Err(CampaignError),
        }
    }

    pub fn indices(&self) -> core::ops::Range<u64> {
        self.first..self.first + self.count
    }
}

/// What the golden run showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Golden {
    pub events: u64,
    /// Counter ticks from start to end.
    pub cycles: u64,
    /// Console and written files ([`program_output`]).
    pub output_hash: u64,
    pub exit_code: Option<i64>,
    /// The group captured FP/SIMD state (`fp_bytes` > 0): the `fpreg` and `fpdelay` models
    /// apply.
    pub fp: bool,
    /// A multithreaded program: the events of each of its first threads (zeros otherwise). An
    /// event-timed fault then targets a thread drawn among them, at one of its events.
    pub thread_events: [u64; romain_core::summary::SHOWN_THREADS],
}

/// The fault of experiment `index` of a campaign with `seed`, for a group of `replicas` on `arch`
/// whose golden run is `golden`.
pub fn draw(
    seed: u64,
    index: u64,
    models: Models,
    replicas: usize,
    arch: Arch,
    golden: &Golden,
) -> (Model, Injection<'static>) {
    // The same on every platform: an experiment's fault depends only on the seed and its index.
    let mut rng = SplitMix64(seed ^ index.wrapping_mul(0xd6e8_feb8_6659_fd93));
    // FP/SIMD models only where the group has FP/SIMD state to flip (`all` on a soft-float
    // native program draws the other five); asked for alone, they are drawn anyway.
    let models = match models.without_fp() {
        rest if !golden.fp && !rest.is_empty() => rest,
        _ => models,
    };
    let model = models
        .iter()
        .nth(rng.below(models.len() as u64) as usize)
        .expect("models are not empty");
    let replica = rng.below(replicas as u64) as usize;
    let event = 1 + rng.below(golden.events);
    let register = rng.below(arch.num_registers() as u64) as usize;
    let bit = rng.below(64) as u32;
    let choice = rng.draw();
    let delay = 1 + rng.below(golden.cycles);
    let fp = romain_core::fp::FpName::nth(
        arch,
        rng.below(romain_core::fp::FpName::count(arch) as u64) as usize,
    );
    let fp_bit = rng.below(u64::from(fp.bits)) as u32;
    let injection = match model {
        Model::Register => Injection {
            replica,
            event,
            target: Target::Register { index: register },
            bit,
            delay: None,
            thread: None,
        },
        Model::Data | Model::Code => Injection {
            replica,
            event,
            target: Target::Word {
                code: model == Model::Code,
                choice,
            },
            bit,
            delay: None,
            thread: None,
        },
        Model::Delay => Injection {
            replica,
            event: 0,
            target: Target::Register { index: register },
            bit,
            delay: Some(delay),
            thread: None,
        },
        Model::Result => Injection {
            replica,
            event: 0,
            target: Target::Result,
            bit,
            delay: Some(delay),
            thread: None,
        },
        Model::Fp | Model::FpDelay => Injection {
            replica,
            event: if model == Model::Fp { event } else { 0 },
            target: Target::Fp { name: fp },
            bit: fp_bit,
            delay: (model == Model::FpDelay).then_some(delay),
            thread: None,
        },
    };
    // A multithreaded program: an event-timed fault hits a thread drawn among those that had
    // events, at one of its own (drawn after the rest: single-threaded campaigns are as before).
    let with_events = || {
        golden
            .thread_events
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
    };
    let count = with_events().count();
    let mut injection = injection;
    if count > 1 && injection.delay.is_none() {
        let (t, n) = with_events()
            .nth(rng.below(count as u64) as usize)
            .expect("drawn below the count");
        injection.thread = Some(t);
        injection.event = 1 + rng.below(*n);
    }
    (model, injection)
}

/// What came of an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The fault had no visible effect: no difference at any event, the golden output.
    Masked,
    /// Detected and repaired (TMR vote, or the watchdog and a majority): the golden output.
    Corrected,
    /// Detected and stopped (DMR fail-stop, or no majority).
    Detected,
    /// Detected, both replicas rolled back and re-executed (DMR): the golden output.
    RolledBack,
    /// A hang the watchdog reported.
    HangDetected,
    /// The program crashed in every replica alike, or ran out of memory, and the run said so.
    AppCrashDetected,
    /// The output or exit code differs from the golden run and nothing noticed.
    Sdc,
    /// The master failed (its error, or a protocol error).
    MasterFailure,
    /// The trigger was never reached (the run ended first).
    NotInjected,
}

impl Outcome {
    pub const ALL: [Outcome; 9] = [
        Outcome::Masked,
        Outcome::Corrected,
        Outcome::Detected,
        Outcome::RolledBack,
        Outcome::HangDetected,
        Outcome::AppCrashDetected,
        Outcome::Sdc,
        Outcome::MasterFailure,
        Outcome::NotInjected,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Outcome::Masked => "masked",
            Outcome::Corrected => "corrected",
            Outcome::Detected => "detected",
            Outcome::RolledBack => "rolled-back",
            Outcome::HangDetected => "hang-detected",
            Outcome::AppCrashDetected => "app-crash-detected",
            Outcome::Sdc => "sdc",
            Outcome::MasterFailure => "master-failure",
            Outcome::NotInjected => "not-injected",
        }
    }
}

/// What a run put out: its console, and the files it wrote (a Linux program's output files are
/// output like its console).
pub fn program_output(summary: &Summary<'_>) -> u64 {
    if summary.files_written == 0 {
        summary.output_hash
    } else {
        summary.output_hash.rotate_left(1) ^ summary.files_hash
    }
}

impl Observed {
    pub fn of(summary: &Summary<'_>) -> Observed {
        Observed {
            status: summary.status,
            injected: summary.injected.is_some(),
            output_hash: program_output(summary),
            exit_code: summary.exit_code,
            mismatches: summary.mismatches,
            recoveries: summary.recoveries,
            rollbacks: summary.rollbacks,
            watchdog_fired: summary.watchdog_fired,
        }
    }
}

impl Golden {
    pub fn of(summary: &Summary<'_>) -> Golden {
        Golden {
            events: summary.events,
            cycles: summary.cycles,
            output_hash: program_output(summary),
            exit_code: summary.exit_code,
            fp: summary.fp_bytes > 0,
            thread_events: core::array::from_fn(|t| {
                summary.threads.events.get(t).copied().unwrap_or(0)
            }),
        }
    }
}

/// The master's line for a golden run: `ROMAIN-GOLDEN {json}`.
pub struct GoldenLine<'a>(pub &'a Summary<'a>);

impl fmt::Display for GoldenLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        write!(
            f,
            "{}{{\"arch\":{},\"app\":{},\"mode\":{},\"events\":{},\"cycles\":{},\"output_hash\":\"{:#018x}\",\"files_written\":{},\"status\":\"{}\",\"error\":{}}}",
            romain_records::GOLDEN,
            JsonStr(s.arch),
            JsonStr(s.app),
            JsonStr(s.mode),
            s.events,
            s.cycles,
            program_output(s),
            s.files_written,
            s.status.name(),
            JsonStr(&s.error)
        )
    }
}

/// The master's line for one experiment: `ROMAIN-EXPERIMENT {json}`, what the host campaign
/// tool reads.
pub struct ExperimentLine<'a> {
    pub index: u64,
    pub model: Model,
    pub injection: &'a Injection<'a>,
    pub arch: Arch,
    pub outcome: Outcome,
    pub summary: &'a Summary<'a>,
}

impl fmt::Display for ExperimentLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.summary;
        write!(
            f,
            "{}{{\"index\":{},\"arch\":{},\"app\":{},\"mode\":{},\"model\":\"{}\",\"spec\":\"{}\",\"outcome\":\"{}\",\"status\":\"{}\",\"events\":{},\"mismatches\":{},\"recoveries\":{},\"rollbacks\":{},\"watchdog_fired\":{},\"cycles\":{},\"error\":{}}}",
            romain_records::EXPERIMENT,
            self.index,
            JsonStr(s.arch),
            JsonStr(s.app),
            JsonStr(s.mode),
            self.model.name(),
            self.injection.spec(self.arch),
            self.outcome.name(),
            s.status.name(),
            s.events,
            s.mismatches,
            s.recoveries,
            s.rollbacks,
            s.watchdog_fired,
            s.cycles,
            JsonStr(&s.error)
        )
    }
}

/// What an experiment's run showed (from its summary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    pub status: Status,
    pub injected: bool,
    pub output_hash: u64,
    pub exit_code: Option<i64>,
    pub mismatches: u64,
    pub recoveries: u64,
    pub rollbacks: u64,
    pub watchdog_fired: u64,
}

/// The outcome of an experiment against its golden run.
pub fn classify(golden: &Golden, run: &Observed) -> Outcome {
    if !run.injected {
        return Outcome::NotInjected;
    }
    match run.status {
        Status::Ok => {
            let golden_output =
                run.output_hash == golden.output_hash && run.exit_code == golden.exit_code;
            if !golden_output {
                Outcome::Sdc
            } else if run.rollbacks > 0 {
                Outcome::RolledBack
            } else if run.recoveries > 0 || run.mismatches > 0 || run.watchdog_fired > 0 {
                Outcome::Corrected
            } else {
                Outcome::Masked
            }
        }
        Status::Mismatch => Outcome::Detected,
        // A run that never ends, caught by the silence bound or the run's budget.
        Status::Hang | Status::OverBudget | Status::Livelock | Status::Deadlock => {
            Outcome::HangDetected
        }
        Status::AppFault | Status::OutOfMemory => Outcome::AppCrashDetected,
        _ => Outcome::MasterFailure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: Golden = Golden {
        events: 6,
        cycles: 1_000_000,
        output_hash: 0xabc,
        exit_code: Some(0),
        fp: true,
        thread_events: [0; romain_core::summary::SHOWN_THREADS],
    };

    #[test]
    fn a_multithreaded_golden_run_has_its_threads_drawn_at_their_own_events() {
        let mut threaded = GOLDEN;
        threaded.thread_events[..3].copy_from_slice(&[10, 0, 4]);
        let mut seen = [0u32; 3];
        for i in 0..2000 {
            let (_, at) = draw(5, i, Models::ALL, 3, Arch::Aarch64, &threaded);
            match (at.delay, at.thread) {
                (Some(_), thread) => assert_eq!(thread, None, "a delayed flip hits who runs"),
                (None, Some(t)) => {
                    assert!(at.event >= 1 && at.event <= threaded.thread_events[t]);
                    seen[t] += 1;
                }
                (None, None) => panic!("an event-timed fault of a threaded run without a thread"),
            }
        }
        assert!(seen[0] > 300 && seen[1] == 0 && seen[2] > 300, "{seen:?}");
        // A single-threaded run draws as before.
        for i in 0..100 {
            assert_eq!(
                draw(5, i, Models::ALL, 3, Arch::Aarch64, &GOLDEN).1.thread,
                None
            );
        }
    }

    #[test]
    fn campaigns_and_models_parse() {
        let c = Campaign::parse("7:100:50:reg/delay").unwrap();
        assert_eq!((c.seed, c.indices()), (7, 100..150));
        assert_eq!(
            c.models.iter().collect::<Vec<_>>(),
            [Model::Register, Model::Delay]
        );
        assert_eq!(Campaign::parse("7:0:5:all").unwrap().models.len(), 7);
        for bad in ["7:0:5", "7:0:5:cpu", "x:0:5:all", "7:0:5:", "7:0:5:all:1"] {
            assert_eq!(Campaign::parse(bad), Err(CampaignError), "{bad}");
        }
    }

    #[test]
    fn draws_depend_only_on_seed_and_index_and_stay_in_range() {
        let a = draw(1, 42, Models::ALL, 3, Arch::Aarch64, &GOLDEN);
        assert_eq!(a, draw(1, 42, Models::ALL, 3, Arch::Aarch64, &GOLDEN));
        assert_ne!(a, draw(1, 43, Models::ALL, 3, Arch::Aarch64, &GOLDEN));
        let mut seen = [0; 7];
        for i in 0..7000 {
            let (model, inj) = draw(9, i, Models::ALL, 3, Arch::X86_64, &GOLDEN);
            seen[model as usize] += 1;
            match inj.target {
                Target::Fp { name } => assert!(inj.bit < name.bits),
                _ => assert!(inj.bit < 64),
            }
            assert!(inj.replica < 3);
            match model {
                Model::Delay | Model::Result | Model::FpDelay => {
                    assert!(inj.delay.is_some_and(|d| (1..=GOLDEN.cycles).contains(&d)));
                }
                _ => assert!((1..=GOLDEN.events).contains(&inj.event)),
            }
            if let Target::Register { index } = inj.target {
                assert!(index < Arch::X86_64.num_registers());
            }
        }
        // Every model drawn, roughly evenly.
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
        // Without FP/SIMD state, `all` draws no FP/SIMD model; asked for alone, it is drawn.
        let soft = Golden {
            fp: false,
            ..GOLDEN
        };
        for i in 0..500 {
            let (model, _) = draw(9, i, Models::ALL, 3, Arch::X86_64, &soft);
            assert!(!matches!(model, Model::Fp | Model::FpDelay), "{model:?}");
        }
        let only_fp = Models::parse("fpreg").unwrap();
        assert_eq!(draw(9, 1, only_fp, 2, Arch::X86_64, &soft).0, Model::Fp);
        let only_code = Models::parse("code").unwrap();
        let (model, inj) = draw(9, 1, only_code, 2, Arch::Aarch64, &GOLDEN);
        assert_eq!(model, Model::Code);
        assert!(matches!(inj.target, Target::Word { code: true, .. }));
    }

    fn observed(status: Status) -> Observed {
        Observed {
            status,
            injected: true,
            output_hash: GOLDEN.output_hash,
            exit_code: GOLDEN.exit_code,
            mismatches: 0,
            recoveries: 0,
            rollbacks: 0,
            watchdog_fired: 0,
        }
    }

    #[test]
    fn experiment_lines_are_json_with_the_fields_the_host_tool_reads() {
        let mut s = Summary::new("x86_64", "sha", "tmr", 3);
        s.events = 7;
        s.fail(Status::Hang, format_args!("replica \"2\" late"));
        let (model, injection) = draw(3, 5, Models::ALL, 3, Arch::X86_64, &GOLDEN);
        let line = format!(
            "{}",
            ExperimentLine {
                index: 5,
                model,
                injection: &injection,
                arch: Arch::X86_64,
                outcome: Outcome::HangDetected,
                summary: &s,
            }
        );
        let json = line.strip_prefix(romain_records::EXPERIMENT).unwrap();
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["index"], 5);
        assert_eq!(v["outcome"], "hang-detected");
        assert_eq!(v["status"], "hang");
        assert_eq!(v["error"], "replica \"2\" late");
        assert_eq!(v["model"], model.name());
        let spec = v["spec"].as_str().unwrap();
        assert_eq!(
            romain_core::inject::parse(spec, Arch::X86_64).unwrap(),
            injection
        );
        // The host tools read the same line as their record type.
        let read = romain_records::host::Experiment::from_line(&line).unwrap();
        assert_eq!((read.index, read.outcome.as_str()), (5, "hang-detected"));
        let v = romain_records::host::golden(&format!("{}", GoldenLine(&s)))
            .expect("a golden line")
            .unwrap();
        assert_eq!(v["events"], 7);
    }

    #[test]
    fn the_records_name_every_outcome() {
        let mut names: Vec<&str> = Outcome::ALL.iter().map(|o| o.name()).collect();
        let mut records = romain_records::OUTCOMES.to_vec();
        names.sort();
        records.sort();
        assert_eq!(names, records);
    }

    #[test]
    fn outcomes_follow_the_summary() {
        let ok = observed(Status::Ok);
        assert_eq!(classify(&GOLDEN, &ok), Outcome::Masked);
        let fixed = Observed {
            mismatches: 1,
            recoveries: 1,
            ..ok
        };
        assert_eq!(classify(&GOLDEN, &fixed), Outcome::Corrected);
        let late = Observed {
            watchdog_fired: 1,
            recoveries: 1,
            ..ok
        };
        assert_eq!(classify(&GOLDEN, &late), Outcome::Corrected);
        let rolled = Observed {
            mismatches: 1,
            rollbacks: 1,
            ..ok
        };
        assert_eq!(classify(&GOLDEN, &rolled), Outcome::RolledBack);
        let wrong = Observed {
            output_hash: 1,
            ..ok
        };
        assert_eq!(classify(&GOLDEN, &wrong), Outcome::Sdc);
        let wrong_exit = Observed {
            exit_code: Some(3),
            ..fixed
        };
        assert_eq!(classify(&GOLDEN, &wrong_exit), Outcome::Sdc);
        let cases = [
            (Status::Mismatch, Outcome::Detected),
            (Status::Hang, Outcome::HangDetected),
            (Status::OverBudget, Outcome::HangDetected),
            (Status::AppFault, Outcome::AppCrashDetected),
            (Status::OutOfMemory, Outcome::AppCrashDetected),
            (Status::MasterError, Outcome::MasterFailure),
            (Status::ProtocolError, Outcome::MasterFailure),
            (Status::PersonalityError, Outcome::MasterFailure),
        ];
        for (status, outcome) in cases {
            assert_eq!(classify(&GOLDEN, &observed(status)), outcome);
        }
        let missed = Observed {
            injected: false,
            ..ok
        };
        assert_eq!(classify(&GOLDEN, &missed), Outcome::NotInjected);
    }

    #[test]
    fn a_written_file_that_differs_is_wrong_output() {
        let mut s = Summary::new("x86_64", "c-blowfish", "tmr", 3);
        s.output_hash = 0x1234;
        assert_eq!(program_output(&s), 0x1234, "no files: the console alone");
        s.files_written = 1;
        s.files_hash = 0x55;
        let golden = Golden::of(&s);
        s.injected = Some(heapless::String::try_from("reg:1:2:rsp:3").unwrap());
        assert_eq!(classify(&golden, &Observed::of(&s)), Outcome::Masked);
        s.files_hash = 0x56;
        assert_eq!(classify(&golden, &Observed::of(&s)), Outcome::Sdc);
    }
}
