//! The Romain master: an seL4 root task that runs programs as N redundant replicas.
//!
//! The story, top to bottom:
//! 1. take the untyped memory and free slots from the boot info ([`objects`]);
//! 2. create the one endpoint on which every replica's calls and faults arrive;
//! 3. for each run of the plan compiled into the image, build a replica group from the program's
//!    ELF (each replica with its own VSpace, CNode slice and TCB on its own core, see
//!    [`replica`]), drive it event by event until it ends ([`group`]), print its
//!    `ROMAIN-SUMMARY` line and tear the group down, so that every run starts from nothing.
//!
//! What a replica does can end its group with an error status, never the master: a panic while
//! a group runs ends that group only (`group::contain`), and the group's heap use is bounded
//! (`heap`).
#![no_std]
#![no_main]
// An exhausted heap panics (and so ends only the group that exhausted it), see `heap`.
#![feature(alloc_error_handler)]

extern crate alloc;

mod arch;
mod cae;
mod console;
mod count;
mod group;
mod heap;
mod image;
mod memory;
mod objects;
mod replica;
mod sandbox;
mod timer;
mod vspace;

use romain_core::summary::{Status, Summary};
use romain_plan as plan;
use romain_plan::campaign::{self, Campaign, ExperimentLine, Golden, GoldenLine, Observed};
use sel4::CapTypeForObjectOfFixedSize;
use sel4_logging::{LevelFilter, Logger, LoggerBuilder};
use sel4_root_task::{Never, root_task};

use crate::objects::Objects;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

static LOGGER: Logger = LoggerBuilder::const_default()
    .level_filter(LevelFilter::Info)
    .filter(|meta| !meta.target().starts_with("sel4"))
    .write(|s| console::put_bytes(s.as_bytes()))
    .fmt(|record, f| write!(f, "[romain {}] {}", record.level(), record.args()))
    .build();

/// Printed after the last run: test harnesses stop QEMU when they see it.
const END_MARKER: &str = romain_records::END;

// The heap (files a Linux program writes, the groups' state) is `heap`'s. The stack is larger
// than rust-sel4's default of 64 KiB: unwinding code (landing pads, the guard's frame) takes more,
// and an overflow of the root task's stack is not caught by anything.
#[root_task(stack_size = 1 << 20)]
fn main(bootinfo: &sel4::BootInfoPtr) -> sel4::Result<Never> {
    let mut objects = Objects::new(bootinfo);
    image::init(bootinfo);
    // The console first: until then the master cannot say anything.
    let console = console::init(&mut objects, bootinfo);
    LOGGER.set().unwrap();
    group::contain::install_hooks();
    let cores = bootinfo.inner().numNodes as usize;
    log::info!(
        "master up on {} ({} cores, {} programs embedded, {} kernel)",
        arch::ARCH.name(),
        cores,
        embedded::APPS.len(),
        KERNEL
    );
    if let Err(err) = console {
        // Nothing reaches the console then; a debug kernel's own printing may still show this.
        log::error!("no console: {err:?}");
    }
    log::info!("{}", objects.describe());

    start_cpu_accounting(cores);
    let endpoint = objects
        .persistent(sel4::cap_type::Endpoint::object_blueprint())
        .expect("room for one endpoint")
        .cast::<sel4::cap_type::Endpoint>();

    let campaign = (!embedded::CAMPAIGN.is_empty()).then(|| Campaign::parse(embedded::CAMPAIGN));
    let mut timer = match timer::Timer::new(&mut objects, campaign.is_some()) {
        #[allow(unused_mut)]
        Ok(mut timer) => {
            #[cfg(target_arch = "x86_64")]
            {
                let hz = timer.calibrate(endpoint, campaign.is_some());
                arch::set_counter_hz(hz);
                log::info!("TSC: {} MHz (measured against the RTC)", hz / 1_000_000);
            }
            Some(timer)
        }
        Err(err) => {
            log::warn!("no timer ({err:?}): the watchdog polls while it runs");
            None
        }
    };

    let runs = plan::parse(embedded::PLAN).map_err(|err| alloc::format!("bad run plan: {err}"));
    let runs = match (runs, campaign) {
        (Ok(_), Some(Err(err))) => Err(alloc::format!(
            "bad campaign {:?}: {err}",
            embedded::CAMPAIGN
        )),
        (runs, _) => runs,
    };
    match runs {
        Ok(runs) => {
            let mut master = Master {
                objects: &mut objects,
                endpoint,
                timer: timer.as_mut(),
                cores,
                groups: 0,
            };
            for run in &runs {
                match campaign {
                    Some(Ok(campaign)) => master.campaign(run, &campaign),
                    _ => {
                        let options = group::Options {
                            injection: None,
                            quiet: false,
                            lag_ticks: arch::ticks_in_ms(embedded::WATCHDOG_MS),
                            silence_ticks: arch::ticks_in_ms(embedded::SILENCE_MS),
                        };
                        let summary = master.run(run, &options);
                        sel4_panicking_env::debug_println!("{summary}");
                        // Test only (`make TEST_PANIC_ON=master`): a panic outside any group.
                        if embedded::TEST_PANIC_ON == Some("master") {
                            panic!("test switch TEST_PANIC_ON=master");
                        }
                    }
                }
            }
        }
        Err(err) => {
            log::error!("{err}");
            let mut summary = Summary::new(arch::ARCH.name(), "", "", 0);
            summary.kernel = KERNEL;
            summary.fail(Status::MasterError, format_args!("{err}"));
            sel4_panicking_env::debug_println!("{summary}");
        }
    }
    sel4_panicking_env::debug_println!("{END_MARKER}");
    sel4::init_thread::suspend_self()
}

/// What every group needs from the master.
struct Master<'a> {
    objects: &'a mut Objects,
    endpoint: sel4::cap::Endpoint,
    timer: Option<&'a mut timer::Timer>,
    cores: usize,
    /// Groups run so far: the next group's number (badges name it).
    groups: usize,
}

impl Master<'_> {
    fn run(&mut self, run: &plan::Run<'static>, options: &group::Options) -> Summary<'static> {
        let ctx = group::Context {
            objects: self.objects,
            endpoint: self.endpoint,
            timer: self.timer.as_deref_mut(),
            cores: self.cores,
            group_number: self.groups as u8,
        };
        self.groups += 1;
        group::run(ctx, run, embedded::APPS, options)
    }

    /// A campaign over one run of the plan: its golden run, then one fresh group per experiment,
    /// each with one injection, each reported in one line.
    fn campaign(&mut self, run: &plan::Run<'static>, campaign: &Campaign) {
        let lag_ticks = arch::ticks_in_ms(match embedded::WATCHDOG_MS {
            0 => 1000,
            ms => ms,
        });
        let mut options = group::Options {
            injection: None,
            quiet: true,
            lag_ticks,
            silence_ticks: arch::ticks_in_ms(embedded::SILENCE_MS),
        };
        let golden = self.run(run, &options);
        sel4_panicking_env::debug_println!("{}", GoldenLine(&golden));
        if golden.status != Status::Ok {
            log::error!("golden run of {} failed: no experiments", run.app);
            return;
        }
        let golden = Golden::of(&golden);
        // Quiet from here: a few warnings per experiment at most.
        log::set_max_level(log::LevelFilter::Warn);
        // A fault that keeps every replica computing is a hang: bound it by the golden run.
        options.silence_ticks = options
            .silence_ticks
            .max(golden.cycles.saturating_mul(4))
            .max(arch::ticks_in_ms(2000));
        for index in campaign.indices() {
            let (model, injection) = campaign::draw(
                campaign.seed,
                index,
                campaign.models,
                run.mode.replicas,
                arch::ARCH,
                &golden,
            );
            options.injection = Some(injection);
            let summary = self.run(run, &options);
            let outcome = campaign::classify(&golden, &Observed::of(&summary));
            sel4_panicking_env::debug_println!(
                "{}",
                ExperimentLine {
                    index,
                    model,
                    injection: &injection,
                    arch: arch::ARCH,
                    outcome,
                    summary: &summary,
                }
            );
        }
        log::set_max_level(log::LevelFilter::Info);
    }
}

/// The kernel flavour (see cmake/): the debug one has debug, printing and benchmark calls.
const KERNEL: &str = if sel4::sel4_cfg_bool!(DEBUG_BUILD) {
    "debug"
} else {
    "production"
};

/// Turns on the kernel's per-thread CPU accounting on every core: it is per core, switched on by
/// `seL4_BenchmarkResetLog` on the core that calls it, so the master visits each core in turn
/// and returns to core 0.
#[sel4::sel4_cfg(BENCHMARK_TRACK_UTILISATION)]
fn start_cpu_accounting(cores: usize) {
    let tcb = sel4::init_thread::slot::TCB.cap();
    for core in (0..cores).rev() {
        if tcb.tcb_set_affinity(core as u64).is_ok() {
            sel4::r#yield();
            if let Err(err) = sel4::benchmark_reset_log() {
                log::warn!("no CPU accounting on core {core}: {err:?}");
            }
        }
    }
}

/// A production kernel has no CPU accounting: the summary then has no CPU-time fields.
#[sel4::sel4_cfg(not(BENCHMARK_TRACK_UTILISATION))]
fn start_cpu_accounting(_cores: usize) {}
