//! Aggregation of benchmark runs: per program and mode, the guest cycles (median, min, max), the
//! overhead against the unreplicated runs, the externalization events and the master's cost per
//! event, as a multiple of the bare seL4 round trip measured in the same boot.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

/// One measured run (from a `ROMAIN-SUMMARY` line).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub program: String,
    pub mode: String,
    pub ok: bool,
    pub cycles: u64,
    pub master_cycles: u64,
    pub events: u64,
    pub pages_copied: u64,
    /// The master's seL4 invocations: all, and those spent serving page faults and executing
    /// shared accesses; with the number of faults served and accesses executed.
    pub invocations: u64,
    pub paging_invocations: u64,
    pub shared_invocations: u64,
    pub console_invocations: u64,
    pub memory_faults: u64,
    pub shm_accesses: u64,
    /// A multithreaded program's thread switches (0 otherwise).
    pub switches: u64,
}

impl Sample {
    pub fn from_summary(s: &Value) -> Option<Sample> {
        Some(Sample {
            program: s["app"].as_str()?.to_string(),
            mode: s["mode"].as_str()?.to_string(),
            ok: s["status"] == "ok",
            cycles: s["cycles"].as_u64()?,
            master_cycles: s["master_cycles"].as_u64().unwrap_or(0),
            events: s["events"].as_u64()?,
            pages_copied: s["pages_copied"].as_u64().unwrap_or(0),
            invocations: s["invocations"]["total"].as_u64().unwrap_or(0),
            paging_invocations: s["invocations"]["paging"].as_u64().unwrap_or(0),
            shared_invocations: s["invocations"]["shared"].as_u64().unwrap_or(0),
            console_invocations: s["invocations"]["console"].as_u64().unwrap_or(0),
            memory_faults: s["memory_faults"].as_u64().unwrap_or(0),
            shm_accesses: s["shm_accesses"].as_u64().unwrap_or(0),
            switches: s["switches"].as_u64().unwrap_or(0),
        })
    }
}

/// Statistics of one program in one mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub program: String,
    pub mode: String,
    pub runs: usize,
    pub ok: usize,
    pub median: u64,
    pub min: u64,
    pub max: u64,
    /// Median cycles over the unreplicated median (None without unreplicated runs).
    pub overhead: Option<f64>,
    pub events: u64,
    /// Master ticks per event (median over runs).
    pub master_per_event: f64,
    /// `master_per_event` over the bare round trip.
    pub master_per_event_x_roundtrip: Option<f64>,
    pub pages_copied: u64,
    /// The master's seL4 invocations per event (page service, shared accesses and console output
    /// apart), per
    /// served page fault and per shared access (medians over runs; None where there were none).
    pub invocations_per_event: f64,
    pub invocations_per_fault: Option<f64>,
    pub invocations_per_access: Option<f64>,
    /// Thread switches per event (median over runs; None for a program with one thread).
    pub switches_per_event: Option<f64>,
}

/// Median over `runs` of `part / of` (None where `of` is 0 in every run).
fn median_ratio(
    runs: &[&Sample],
    part: impl Fn(&Sample) -> u64,
    of: impl Fn(&Sample) -> u64,
) -> Option<f64> {
    let mut v: Vec<u64> = runs
        .iter()
        .filter(|s| of(s) > 0)
        .map(|s| part(s) * 1000 / of(s))
        .collect();
    (!v.is_empty()).then(|| median(&mut v) as f64 / 1000.0)
}

pub fn median(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    let n = values.len();
    if n == 0 {
        0
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2
    }
}

/// Rows in program order, modes in `modes` order; `roundtrip` is the bare round trip in ticks.
pub fn aggregate(samples: &[Sample], modes: &[&str], roundtrip: Option<f64>) -> Vec<Row> {
    let mut by_key: BTreeMap<(String, String), Vec<&Sample>> = BTreeMap::new();
    let mut programs: Vec<String> = Vec::new();
    for s in samples {
        if !programs.contains(&s.program) {
            programs.push(s.program.clone());
        }
        by_key
            .entry((s.program.clone(), s.mode.clone()))
            .or_default()
            .push(s);
    }
    let mut rows = Vec::new();
    for program in &programs {
        let base = by_key
            .get(&(program.clone(), "none".to_string()))
            .map(|v| median(&mut v.iter().map(|s| s.cycles).collect::<Vec<_>>()));
        for mode in modes {
            let Some(runs) = by_key.get(&(program.clone(), mode.to_string())) else {
                continue;
            };
            let mut cycles: Vec<u64> = runs.iter().map(|s| s.cycles).collect();
            let med = median(&mut cycles);
            let mut per_event: Vec<u64> = runs
                .iter()
                .map(|s| s.master_cycles * 1000 / s.events.max(1))
                .collect();
            let master_per_event = median(&mut per_event) as f64 / 1000.0;
            rows.push(Row {
                program: program.clone(),
                mode: mode.to_string(),
                runs: runs.len(),
                ok: runs.iter().filter(|s| s.ok).count(),
                median: med,
                min: *cycles.iter().min().unwrap_or(&0),
                max: *cycles.iter().max().unwrap_or(&0),
                overhead: base.filter(|&b| b > 0).map(|b| med as f64 / b as f64),
                events: runs[0].events,
                master_per_event,
                master_per_event_x_roundtrip: roundtrip
                    .filter(|&r| r > 0.0)
                    .map(|r| master_per_event / r),
                pages_copied: runs.iter().map(|s| s.pages_copied).sum(),
                invocations_per_event: median_ratio(
                    runs,
                    |s| {
                        s.invocations
                            - s.paging_invocations
                            - s.shared_invocations
                            - s.console_invocations
                    },
                    |s| s.events,
                )
                .unwrap_or(0.0),
                invocations_per_fault: median_ratio(
                    runs,
                    |s| s.paging_invocations,
                    |s| s.memory_faults,
                ),
                invocations_per_access: median_ratio(
                    runs,
                    |s| s.shared_invocations,
                    |s| s.shm_accesses,
                ),
                switches_per_event: runs
                    .iter()
                    .any(|s| s.switches > 0)
                    .then(|| median_ratio(runs, |s| s.switches, |s| s.events))
                    .flatten(),
            });
        }
    }
    rows
}

/// Geometric mean of the overheads of `mode`.
pub fn geomean_overhead(rows: &[Row], mode: &str) -> Option<f64> {
    let values: Vec<f64> = rows
        .iter()
        .filter(|r| r.mode == mode)
        .filter_map(|r| r.overhead)
        .collect();
    (!values.is_empty())
        .then(|| (values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp())
}

pub fn table(rows: &[Row]) -> String {
    let mut t = String::new();
    writeln!(
        t,
        "{:<22} {:<5} {:>4} {:>13} {:>13} {:>13} {:>8} {:>7} {:>12} {:>9} {:>6} {:>7} {:>7} {:>7} {:>6}",
        "program",
        "mode",
        "ok",
        "median",
        "min",
        "max",
        "x none",
        "events",
        "master/ev",
        "x rtrip",
        "pages",
        "inv/ev",
        "inv/pf",
        "inv/shm",
        "sw/ev"
    )
    .unwrap();
    for r in rows {
        writeln!(
            t,
            "{:<22} {:<5} {:>4} {:>13} {:>13} {:>13} {:>8} {:>7} {:>12.1} {:>9} {:>6} {:>7.1} {:>7} {:>7} {:>6}",
            r.program,
            r.mode,
            format!("{}/{}", r.ok, r.runs),
            r.median,
            r.min,
            r.max,
            r.overhead.map_or("-".into(), |o| format!("{o:.3}")),
            r.events,
            r.master_per_event,
            r.master_per_event_x_roundtrip
                .map_or("-".into(), |x| format!("{x:.1}")),
            r.pages_copied,
            r.invocations_per_event,
            r.invocations_per_fault.map_or("-".into(), |x| format!("{x:.1}")),
            r.invocations_per_access.map_or("-".into(), |x| format!("{x:.1}")),
            r.switches_per_event.map_or("-".into(), |x| format!("{x:.2}"))
        )
        .unwrap();
    }
    t
}

pub fn rows_json(rows: &[Row]) -> Value {
    Value::Array(
        rows.iter()
            .map(|r| {
                json!({
                    "program": r.program, "mode": r.mode, "runs": r.runs, "ok": r.ok,
                    "cycles_median": r.median, "cycles_min": r.min, "cycles_max": r.max,
                    "overhead": r.overhead, "events": r.events,
                    "master_ticks_per_event": r.master_per_event,
                    "master_per_event_x_roundtrip": r.master_per_event_x_roundtrip,
                    "pages_copied": r.pages_copied,
                    "invocations_per_event": r.invocations_per_event,
                    "invocations_per_fault": r.invocations_per_fault,
                    "invocations_per_access": r.invocations_per_access,
                    "switches_per_event": r.switches_per_event,
                })
            })
            .collect(),
    )
}

pub fn rows_csv(rows: &[Row]) -> String {
    let mut t = String::from(
        "program,mode,runs,ok,cycles_median,cycles_min,cycles_max,overhead,events,master_ticks_per_event,master_per_event_x_roundtrip,pages_copied,invocations_per_event,invocations_per_fault,invocations_per_access,switches_per_event\n",
    );
    for r in rows {
        writeln!(
            t,
            "{},{},{},{},{},{},{},{},{},{:.1},{},{},{:.2},{},{},{}",
            r.program,
            r.mode,
            r.runs,
            r.ok,
            r.median,
            r.min,
            r.max,
            r.overhead.map_or(String::new(), |o| format!("{o:.4}")),
            r.events,
            r.master_per_event,
            r.master_per_event_x_roundtrip
                .map_or(String::new(), |x| format!("{x:.2}")),
            r.pages_copied,
            r.invocations_per_event,
            r.invocations_per_fault
                .map_or(String::new(), |x| format!("{x:.2}")),
            r.invocations_per_access
                .map_or(String::new(), |x| format!("{x:.2}")),
            r.switches_per_event
                .map_or(String::new(), |x| format!("{x:.3}"))
        )
        .unwrap();
    }
    t
}

/// A bar chart (SVG) of the overhead of each replicated mode per program.
pub fn svg(rows: &[Row], title: &str) -> String {
    let bars: Vec<&Row> = rows
        .iter()
        .filter(|r| r.mode != "none" && r.overhead.is_some())
        .collect();
    let programs: Vec<&str> = {
        let mut p: Vec<&str> = Vec::new();
        for r in &bars {
            if !p.contains(&r.program.as_str()) {
                p.push(&r.program);
            }
        }
        p
    };
    let modes = ["dmr", "tmr"];
    let max = bars
        .iter()
        .filter_map(|r| r.overhead)
        .fold(1.0f64, f64::max)
        .max(1.0)
        * 1.1;
    let (w, h, left, bottom, top) = (
        80.0 * programs.len().max(1) as f64 + 120.0,
        420.0,
        70.0,
        90.0,
        40.0,
    );
    let plot_h = h - bottom - top;
    let y = |v: f64| top + plot_h * (1.0 - v / max);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{title}</text>\n",
        w / 2.0
    );
    for i in 0..=4 {
        let v = max * i as f64 / 4.0;
        writeln!(
            s,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v:.2}</text>",
            w - 20.0,
            left - 6.0,
            y(v) + 4.0,
            y = y(v)
        )
        .unwrap();
    }
    writeln!(
        s,
        "<line x1=\"{left}\" x2=\"{}\" y1=\"{y1:.1}\" y2=\"{y1:.1}\" stroke=\"black\" stroke-dasharray=\"4\"/>",
        w - 20.0,
        y1 = y(1.0)
    )
    .unwrap();
    let colors = ["#4c72b0", "#dd8452"];
    for (pi, program) in programs.iter().enumerate() {
        let x0 = left + 10.0 + 80.0 * pi as f64;
        for (mi, mode) in modes.iter().enumerate() {
            if let Some(r) = bars
                .iter()
                .find(|r| r.program == *program && r.mode == *mode)
            {
                let v = r.overhead.unwrap();
                writeln!(
                    s,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"28\" height=\"{:.1}\" fill=\"{}\"><title>{program} {mode}: {v:.3}</title></rect>",
                    x0 + 30.0 * mi as f64,
                    y(v),
                    y(0.0) - y(v),
                    colors[mi]
                )
                .unwrap();
            }
        }
        writeln!(
            s,
            "<text transform=\"translate({:.1},{:.1}) rotate(-40)\" text-anchor=\"end\">{program}</text>",
            x0 + 30.0,
            h - bottom + 16.0
        )
        .unwrap();
    }
    for (mi, mode) in modes.iter().enumerate() {
        writeln!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{} / none</text>",
            w - 140.0,
            top + 18.0 * mi as f64,
            colors[mi],
            w - 122.0,
            top + 10.0 + 18.0 * mi as f64,
            mode.to_uppercase()
        )
        .unwrap();
    }
    writeln!(
        s,
        "<text x=\"16\" y=\"{:.1}\" transform=\"rotate(-90 16 {:.1})\" text-anchor=\"middle\">cycles / unreplicated cycles</text>\n</svg>",
        top + plot_h / 2.0,
        top + plot_h / 2.0
    )
    .unwrap();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(program: &str, mode: &str, cycles: u64, events: u64) -> Sample {
        Sample {
            program: program.into(),
            mode: mode.into(),
            ok: true,
            cycles,
            master_cycles: events * 50,
            events,
            pages_copied: 0,
            // 2N per event, 4 per served fault (10 faults), none shared.
            invocations: events * 2 * (if mode == "tmr" { 3 } else { 2 }) + 40,
            paging_invocations: 40,
            shared_invocations: 0,
            console_invocations: 0,
            memory_faults: 10,
            shm_accesses: 0,
            switches: if program.starts_with("splash3") {
                events / 4
            } else {
                0
            },
        }
    }

    #[test]
    fn switches_per_event_only_for_threaded_programs() {
        let samples = [
            sample("sha", "none", 100, 4),
            sample("splash3-fft-t4", "tmr", 300, 40),
        ];
        let rows = aggregate(&samples, &["none", "tmr"], None);
        assert_eq!(rows[0].switches_per_event, None);
        assert_eq!(rows[1].switches_per_event, Some(0.25));
        assert!(table(&rows).contains("0.25"));
    }

    #[test]
    fn medians_and_overheads_are_computed_per_program_and_mode() {
        let samples = [
            sample("sha", "none", 100, 4),
            sample("sha", "none", 120, 4),
            sample("sha", "none", 110, 4),
            sample("sha", "tmr", 121, 4),
            sample("sha", "tmr", 99, 4),
            sample("sha", "tmr", 132, 4),
            sample("fft", "none", 1000, 10),
            sample("fft", "dmr", 1500, 10),
        ];
        let rows = aggregate(&samples, &["none", "dmr", "tmr"], Some(25.0));
        assert_eq!(rows.len(), 4);
        let tmr = rows
            .iter()
            .find(|r| r.program == "sha" && r.mode == "tmr")
            .unwrap();
        assert_eq!((tmr.median, tmr.min, tmr.max), (121, 99, 132));
        assert!((tmr.overhead.unwrap() - 1.1).abs() < 1e-9);
        assert_eq!(tmr.master_per_event, 50.0);
        assert_eq!(tmr.master_per_event_x_roundtrip, Some(2.0));
        assert_eq!(tmr.invocations_per_event, 6.0);
        assert_eq!(tmr.invocations_per_fault, Some(4.0));
        assert_eq!(tmr.invocations_per_access, None);
        let fft = rows
            .iter()
            .find(|r| r.program == "fft" && r.mode == "dmr")
            .unwrap();
        assert!((fft.overhead.unwrap() - 1.5).abs() < 1e-9);
        assert!(geomean_overhead(&rows, "dmr").unwrap() - 1.5 < 1e-9);
        let table = table(&rows);
        assert!(table.contains("sha") && table.contains("1.100"));
        assert_eq!(rows_csv(&rows).lines().count(), 5);
        assert!(svg(&rows, "t").starts_with("<svg"));
    }

    #[test]
    fn even_counts_take_the_middle_pair() {
        assert_eq!(median(&mut [4, 1, 3, 2]), 2);
        assert_eq!(median(&mut []), 0);
    }
}
