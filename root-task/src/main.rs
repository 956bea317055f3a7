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
//! What a replica does can end its group with an error status, never the master: the master
//! only panics on its own bugs.
#![no_std]
#![no_main]

extern crate alloc;

mod arch;
mod calls;
mod group;
mod memory;
mod objects;
mod replica;
mod timer;
mod vspace;

use romain_core::plan;
use romain_core::summary::{Status, Summary};
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
    .write(|s| sel4::debug_print!("{}", s))
    .fmt(|record, f| write!(f, "[romain {}] {}", record.level(), record.args()))
    .build();

/// Printed after the last run: test harnesses stop QEMU when they see it.
const END_MARKER: &str = "ROMAIN-END";

#[root_task(heap_size = 4 * 1024 * 1024)]
fn main(bootinfo: &sel4::BootInfoPtr) -> sel4::Result<Never> {
    LOGGER.set().unwrap();
    let cores = bootinfo.inner().numNodes as usize;
    log::info!(
        "master up on {} ({} cores, {} programs embedded)",
        arch::ARCH.name(),
        cores,
        embedded::APPS.len()
    );

    let mut objects = Objects::new(bootinfo);
    let endpoint = objects
        .persistent(sel4::cap_type::Endpoint::object_blueprint())
        .expect("room for one endpoint")
        .cast::<sel4::cap_type::Endpoint>();

    let mut timer = match timer::Timer::new(&mut objects) {
        #[allow(unused_mut)]
        Ok(mut timer) => {
            #[cfg(target_arch = "x86_64")]
            {
                let hz = timer.calibrate(endpoint);
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

    match plan::parse(embedded::PLAN) {
        Ok(runs) => {
            for (number, run) in runs.iter().enumerate() {
                let ctx = group::Context {
                    objects: &mut objects,
                    endpoint,
                    timer: timer.as_mut(),
                    cores,
                    group_number: number as u8,
                };
                let summary = group::run(ctx, run, embedded::APPS);
                sel4::debug_println!("{summary}");
            }
        }
        Err(err) => {
            log::error!("bad run plan {:?}: {err}", embedded::PLAN);
            let mut summary = Summary::new(arch::ARCH.name(), "", "", 0);
            summary.fail(Status::MasterError, format_args!("bad run plan: {err}"));
            sel4::debug_println!("{summary}");
        }
    }
    sel4::debug_println!("{END_MARKER}");
    sel4::init_thread::suspend_self()
}
