//! Fault-injection campaigns on the host: what the master's campaign mode prints, how a campaign
//! splits into shards and batches, and the report (counts, rates with 95% confidence intervals,
//! a plot).
//!
//! The master draws each experiment's fault from the campaign seed, the experiment's index and
//! the boot's golden run (`romain_plan::campaign`): a shard is a contiguous range of indices, a
//! batch the part of a shard one QEMU boot runs. Event-triggered faults are the same wherever a
//! shard runs; time-triggered ones (`delay`, `result`, `fpdelay`) are not (docs/campaigns.md).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::ops::Range;

pub use romain_records::OUTCOMES;
pub use romain_records::host::Experiment;

/// Shard `k` (from 1) of `n` of a campaign of `count` experiments: a contiguous index range.
pub fn shard(count: u64, k: u64, n: u64) -> Range<u64> {
    assert!((1..=n).contains(&k), "shard {k}/{n}");
    let start = count * (k - 1) / n;
    let end = count * k / n;
    start..end
}

/// The indices of `range` not yet in `done`, as batches of at most `batch` contiguous indices.
pub fn batches(range: Range<u64>, done: &BTreeSet<u64>, batch: u64) -> Vec<Range<u64>> {
    let mut out: Vec<Range<u64>> = Vec::new();
    for i in range.filter(|i| !done.contains(i)) {
        match out.last_mut() {
            Some(r) if r.end == i && r.end - r.start < batch => r.end += 1,
            _ => out.push(i..i + 1),
        }
    }
    out
}

/// The Wilson score interval (95%) of `k` successes in `n` trials, as fractions.
pub fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n, z) = (k as f64, n as f64, 1.959_964);
    let p = k / n;
    let centre = p + z * z / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    let denom = 1.0 + z * z / n;
    (
        ((centre - spread) / denom).max(0.0),
        ((centre + spread) / denom).min(1.0),
    )
}

/// Outcome counts of a set of experiments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub counts: BTreeMap<String, u64>,
    pub total: u64,
}

impl Tally {
    pub fn add(&mut self, e: &Experiment) {
        *self.counts.entry(e.outcome.clone()).or_default() += 1;
        self.total += 1;
    }

    pub fn count(&self, outcome: &str) -> u64 {
        self.counts.get(outcome).copied().unwrap_or(0)
    }

    /// Faults that took effect.
    pub fn activated(&self) -> u64 {
        self.total - self.count("masked") - self.count("not-injected")
    }

    /// Activated faults that ended with the correct output and the run going on: corrected by
    /// a vote or the watchdog, or rolled back.
    pub fn recovered(&self) -> u64 {
        self.count("corrected") + self.count("rolled-back")
    }

    /// Activated faults that something noticed (recovered, or stopped with a report).
    pub fn noticed(&self) -> u64 {
        self.activated() - self.count("sdc") - self.count("master-failure")
    }
}

/// Tallies by (arch, mode, app, model).
pub fn tally(experiments: &[Experiment]) -> BTreeMap<(String, String, String, String), Tally> {
    let mut t: BTreeMap<_, Tally> = BTreeMap::new();
    for e in experiments {
        t.entry((
            e.arch.clone(),
            e.mode.clone(),
            e.app.clone(),
            e.model.clone(),
        ))
        .or_default()
        .add(e);
    }
    t
}

fn percent(k: u64, n: u64) -> String {
    if n == 0 {
        return "–".into();
    }
    let (lo, hi) = wilson(k, n);
    format!(
        "{:.2}% [{:.2}, {:.2}]",
        100.0 * k as f64 / n as f64,
        100.0 * lo,
        100.0 * hi
    )
}

/// The report: per architecture and mode, a table of outcome counts per program and fault model
/// and the rates that matter, with 95% Wilson intervals; then the non-recovered faults of TMR.
pub fn report(experiments: &[Experiment]) -> String {
    let mut out = String::new();
    let tallies = tally(experiments);
    let groups: BTreeSet<(String, String)> = tallies
        .keys()
        .map(|(a, m, _, _)| (a.clone(), m.clone()))
        .collect();
    for (arch, mode) in &groups {
        let rows: Vec<_> = tallies
            .iter()
            .filter(|((a, m, _, _), _)| a == arch && m == mode)
            .collect();
        let mut all = Tally::default();
        for (_, t) in &rows {
            for (k, v) in &t.counts {
                *all.counts.entry(k.clone()).or_default() += v;
            }
            all.total += t.total;
        }
        let _ = writeln!(out, "\n### {arch}, {mode}: {} injections\n", all.total);
        let _ = writeln!(
            out,
            "| program | model | n | {} | recovered of activated | noticed of activated |",
            OUTCOMES.join(" | ")
        );
        let _ = writeln!(out, "|{}", "---|".repeat(OUTCOMES.len() + 5));
        let mut line = |name: &str, model: &str, t: &Tally| {
            let counts: Vec<String> = OUTCOMES.iter().map(|o| t.count(o).to_string()).collect();
            let _ = writeln!(
                out,
                "| {name} | {model} | {} | {} | {} | {} |",
                t.total,
                counts.join(" | "),
                percent(t.recovered(), t.activated()),
                percent(t.noticed(), t.activated())
            );
        };
        for ((_, _, app, model), t) in &rows {
            line(app, model, t);
        }
        line("**all**", "all", &all);
    }
    let unrecovered: Vec<&Experiment> = experiments
        .iter()
        .filter(|e| e.mode == "tmr" && e.activated() && !matches!(e.outcome.as_str(), "corrected"))
        .collect();
    if !unrecovered.is_empty() {
        let _ = writeln!(
            out,
            "\nTMR faults not corrected ({}), with the spec that repeats each:\n",
            unrecovered.len()
        );
        for e in unrecovered.iter().take(200) {
            let _ = writeln!(
                out,
                "- {} {} #{}: `{}` → {} ({})",
                e.arch, e.app, e.index, e.spec, e.outcome, e.error
            );
        }
    }
    out
}

/// Colours of the outcomes in the plot.
const COLOURS: [(u8, u8, u8); 9] = [
    (200, 200, 200),
    (44, 160, 44),
    (31, 119, 180),
    (255, 127, 14),
    (148, 103, 189),
    (140, 86, 75),
    (214, 39, 40),
    (0, 0, 0),
    (240, 240, 240),
];

/// An SVG of the outcome distribution: one stacked bar per (architecture, mode, program, model).
pub fn plot(experiments: &[Experiment]) -> String {
    use plotters::prelude::*;
    let tallies = tally(experiments);
    let bars: Vec<(String, &Tally)> = tallies
        .iter()
        .map(|((a, m, app, model), t)| (format!("{a} {m} {app} {model}"), t))
        .collect();
    let height = 80 + 18 * bars.len() as u32 + 40;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, height)).into_drawing_area();
        root.fill(&WHITE).ok();
        let (left, top, width) = (260i32, 40i32, 560i32);
        root.draw(&Text::new(
            "Outcome of each injection (share of experiments)",
            (left, 12),
            ("sans-serif", 14),
        ))
        .ok();
        for (row, (label, t)) in bars.iter().enumerate() {
            let y = top + 18 * row as i32;
            root.draw(&Text::new(label.clone(), (8, y + 3), ("sans-serif", 11)))
                .ok();
            let mut x = left as f64;
            for (i, outcome) in OUTCOMES.iter().enumerate() {
                let share = t.count(outcome) as f64 / t.total.max(1) as f64;
                let w = share * width as f64;
                if w > 0.0 {
                    let (r, g, b) = COLOURS[i];
                    root.draw(&Rectangle::new(
                        [(x as i32, y), ((x + w) as i32, y + 14)],
                        RGBColor(r, g, b).filled(),
                    ))
                    .ok();
                }
                x += w;
            }
        }
        let legend_y = top + 18 * bars.len() as i32 + 14;
        for (i, outcome) in OUTCOMES.iter().enumerate() {
            let x = 8 + 98 * i as i32;
            let (r, g, b) = COLOURS[i];
            root.draw(&Rectangle::new(
                [(x, legend_y), (x + 10, legend_y + 10)],
                RGBColor(r, g, b).filled(),
            ))
            .ok();
            root.draw(&Text::new(*outcome, (x + 13, legend_y), ("sans-serif", 10)))
                .ok();
        }
        root.present().ok();
    }
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn experiment(index: u64, mode: &str, model: &str, outcome: &str) -> Experiment {
        Experiment {
            index,
            arch: "x86_64".into(),
            app: "sha".into(),
            mode: mode.into(),
            model: model.into(),
            spec: format!("reg:0:1:rax:{index}"),
            outcome: outcome.into(),
            status: "ok".into(),
            events: 7,
            mismatches: 0,
            recoveries: 0,
            rollbacks: 0,
            watchdog_fired: 0,
            cycles: 1,
            error: String::new(),
        }
    }

    #[test]
    fn lines_parse_and_round_trip() {
        let e = experiment(3, "tmr", "reg", "corrected");
        let line = e.to_line();
        assert_eq!(Experiment::from_line(&line), Some(e));
        assert_eq!(Experiment::from_line("ROMAIN-SUMMARY {}"), None);
        assert_eq!(Experiment::from_line("ROMAIN-EXPERIMENT {broken"), None);
        // Only a whole line is a record: not a program's line the master escaped, nor one with
        // anything before the prefix.
        assert_eq!(Experiment::from_line(&format!(">{line}")), None);
        assert_eq!(Experiment::from_line(&format!("x{line}")), None);
        assert_eq!(Experiment::from_line(&format!("x\r{line}")), None);
    }

    #[test]
    fn shards_cover_the_campaign_once() {
        let n = 7;
        let ranges: Vec<_> = (1..=n).map(|k| shard(1000, k, n)).collect();
        assert_eq!(ranges[0].start, 0);
        assert_eq!(ranges[6].end, 1000);
        assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
    }

    #[test]
    fn batches_skip_what_is_done() {
        let done: BTreeSet<u64> = [2, 3, 7].into_iter().collect();
        assert_eq!(
            batches(0..10, &done, 3),
            vec![0..2, 4..7, 8..10],
            "resumed runs do only the missing indices"
        );
        assert_eq!(batches(0..5, &BTreeSet::new(), 2), vec![0..2, 2..4, 4..5]);
    }

    #[test]
    fn wilson_intervals_behave() {
        let (lo, hi) = wilson(50, 100);
        assert!((lo - 0.4038).abs() < 1e-3 && (hi - 0.5962).abs() < 1e-3);
        let (lo, hi) = wilson(1000, 1000);
        assert!(lo > 0.996 && hi == 1.0);
        assert_eq!(wilson(0, 0), (0.0, 1.0));
    }

    #[test]
    fn the_report_counts_and_rates() {
        let es = vec![
            experiment(0, "tmr", "reg", "masked"),
            experiment(1, "tmr", "reg", "corrected"),
            experiment(2, "tmr", "reg", "corrected"),
            experiment(3, "tmr", "reg", "hang-detected"),
            experiment(4, "dmr", "reg", "rolled-back"),
        ];
        let t = &tally(&es)[&("x86_64".into(), "tmr".into(), "sha".into(), "reg".into())];
        assert_eq!(
            (t.total, t.activated(), t.recovered(), t.noticed()),
            (4, 3, 2, 3)
        );
        let r = report(&es);
        assert!(r.contains("### x86_64, tmr: 4 injections"), "{r}");
        assert!(r.contains("| sha | reg | 4 | 1 | 2 | 0 | 0 | 1 |"), "{r}");
        assert!(r.contains("66.67%"), "{r}");
        assert!(r.contains("`reg:0:1:rax:3` → hang-detected"), "{r}");
        let svg = plot(&es);
        assert!(
            svg.starts_with("<svg") && svg.contains("x86_64 tmr sha reg"),
            "{svg:.200}"
        );
    }
}
