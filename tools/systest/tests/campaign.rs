//! The smoke campaign: the master's campaign mode runs a golden run and a dozen experiments per
//! mode in one boot, each in a fresh group with one random fault of a random model, and reports
//! one outcome per experiment. Under TMR nothing may end silently wrong or take the master down;
//! under DMR every activated fault is rolled back, detected or reported.

use std::sync::Arc;

use romain_campaign::{Experiment, Tally};
use romain_systest::{Boot, boot, enabled};

const COUNT: u64 = 12;

fn campaign_boot(arch: &str) -> Arc<Boot> {
    boot(
        arch,
        "tmr:hello,dmr:hello",
        &[
            &format!("CAMPAIGN=7:0:{COUNT}:all"),
            "WATCHDOG_MS=1000",
            "SILENCE_MS=3000",
        ],
    )
}

fn experiments(boot: &Boot, mode: &str) -> Vec<Experiment> {
    boot.console
        .lines()
        .filter_map(Experiment::from_line)
        .filter(|e| e.mode == mode)
        .collect()
}

fn smoke_campaign(arch: &str) {
    if !enabled(&format!("smoke_campaign({arch})")) {
        return;
    }
    let boot = campaign_boot(arch);
    let goldens: Vec<serde_json::Value> = boot
        .console
        .lines()
        .filter_map(romain_records::host::golden)
        .map(|g| g.unwrap())
        .collect();
    assert_eq!(goldens.len(), 2, "{}", boot.console);
    assert!(goldens.iter().all(|g| g["status"] == "ok"), "{goldens:?}");

    for mode in ["tmr", "dmr"] {
        let es = experiments(&boot, mode);
        assert_eq!(
            es.iter().map(|e| e.index).collect::<Vec<_>>(),
            (0..COUNT).collect::<Vec<_>>(),
            "{mode}: {}",
            boot.console
        );
        let mut t = Tally::default();
        for e in &es {
            assert_eq!(e.arch, arch);
            // Every experiment names the injection that repeats it.
            let arch_ = if arch == "aarch64" {
                romain_core::regs::Arch::Aarch64
            } else {
                romain_core::regs::Arch::X86_64
            };
            romain_core::inject::parse(&e.spec, arch_)
                .unwrap_or_else(|err| panic!("{}: {err}", e.spec));
            t.add(e);
        }
        assert_eq!(t.count("sdc"), 0, "{mode}: {es:#?}");
        assert_eq!(t.count("master-failure"), 0, "{mode}: {es:#?}");
        // The draws include register flips at events, which the full comparison always sees.
        let fixed = if mode == "tmr" {
            "corrected"
        } else {
            "rolled-back"
        };
        assert!(t.count(fixed) > 0, "{mode}: {es:#?}");
    }
}

#[test]
fn aarch64() {
    smoke_campaign("aarch64");
}

#[test]
fn x86_64() {
    smoke_campaign("x86_64");
}
