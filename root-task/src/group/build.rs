//! A group's replicas from its program's image, and its companion with the shared region.

use alloc::vec::Vec;

use romain_abi::{ReplicaBadge, region, slot};
use romain_core::inject;
use romain_core::regs::Arch;
use romain_core::summary::{Status, Summary};
use romain_image::{self as image, PAGE_SIZE};
use romain_memory::Tracking;
use romain_plan as plan;
use romain_protocol::Stop;
use romain_protocol::settings::{self, Settings, settings};

use romain_linux::invocation::Invocation;
use romain_linux::linux;
use romain_linux::rewrite::Sites;
use romain_linux::stack;
use romain_remote::proxy::{Proxy, Start};
use romain_remote::wire::Config;

use super::access::PrivateMemory;
use super::inject::Pending;
use super::output;
use super::personality;
use super::{Components, Context, Options, OrStop};
use crate::arch::ARCH;
use crate::cae::{self, Region};
use crate::memory::Frame;
use crate::objects::Objects;
use crate::replica::{BuildError, Program, Replica};
use crate::sandbox::Sandbox;

/// The heap starts this far above the IPC buffer (a guard gap), aligned to it.
pub(super) const HEAP_GAP: u64 = 2 << 20;

/// Where replicas and the companion see the shared region.
const SHARED_BASE: u64 = 0x20_0000_0000;

/// The core the executor sandbox runs on: the master's, so that an access costs no switch to
/// another core and back. (On aarch64 every user thread could program its core's timer, which on
/// core 0 is the watchdog's: the decoders admit no system instruction, and the master re-arms
/// its timer after every sandbox run.)
const SANDBOX_CORE: usize = 0;

/// What the shell keeps of a built group besides its replicas.
pub(super) struct Built {
    pub tracking: Tracking,
    pub injection: Option<Pending>,
    pub shared: Option<Region>,
    /// The notification the companion waits on.
    pub doorbell: Option<sel4::cap::Notification>,
    /// Where agreed shared accesses are executed.
    pub sandbox: Option<Sandbox>,
    /// A Linux program's personality, in its component (None: the native call ABI).
    pub linux: Option<Proxy<&'static mut [u8]>>,
    /// Where the FP/SIMD routines are, if the group captures FP/SIMD state at its events.
    pub fp: Option<romain_core::fp::Stubs>,
}

/// The core of replica `index`: core 0 is the master's, replicas take the others in turn.
fn core_of(index: usize, cores: usize) -> usize {
    if cores <= 1 {
        0
    } else {
        1 + index % (cores - 1)
    }
}

pub(super) fn build(
    ctx: &mut Context<'_>,
    run: &plan::Run<'static>,
    apps: &[(&str, &'static [u8])],
    options: &Options,
    replicas: &mut Vec<Replica>,
    components: &mut Components,
    summary: &mut Summary<'_>,
) -> Result<Built, Stop> {
    let (app, mode) = (run.app, run.mode);
    let bytes = apps
        .iter()
        .find(|(name, _)| *name == app)
        .map(|(_, bytes)| *bytes)
        .ok_or_else(|| {
            Stop(
                Status::UnknownApp,
                alloc::format!("no program {app:?} in this image"),
            )
        })?;
    // An image may take at most half the arena per replica: room for tables and objects.
    let max_pages = (ctx.objects.arena_bytes() as u64 / PAGE_SIZE) / (2 * mode.replicas as u64);
    let layout = image::load(bytes, ARCH, max_pages)
        .map_err(|e| Stop(Status::BadImage, alloc::format!("{e}")))?;
    let declared = crate::embedded::LINUX.contains(&app);
    let linux =
        image::linux_program(bytes, declared).map_err(|e| Stop(Status::BadImage, e.into()))?;
    // An x86_64 Linux program gets a vDSO, as on Linux (see romain_linux::vdso).
    let vdso = (linux.is_some() && ARCH == Arch::X86_64).then(romain_linux::vdso::x86_64);
    // A Linux program's system-call instructions, found in its executable segments and its vDSO.
    let sites = linux.map(|_| {
        let mut sites = Sites::default();
        for seg in layout.segments.iter().filter(|s| s.rights.execute) {
            sites.scan(ARCH, seg.vaddr, &bytes[seg.file.clone()]);
        }
        if let Some(v) = &vdso {
            let text = v.text.start as u64;
            sites.scan(
                ARCH,
                romain_linux::vdso::BASE + text,
                &v.bytes[v.text.clone()],
            );
        }
        sites
    });
    if sites.as_ref().is_some_and(Sites::overflowed) {
        return Err(Stop(
            Status::BadImage,
            alloc::format!(
                "more than {} system-call sites",
                romain_linux::rewrite::MAX_SITES
            ),
        ));
    }
    let Settings {
        fp,
        tracking,
        repair,
        fail_stop,
    } = settings(
        mode.replicas,
        linux.is_some(),
        settings::Build {
            fp: crate::embedded::FP,
            hard_float: crate::embedded::HARD_FLOAT,
            written: crate::embedded::REPAIR == "written",
        },
    );
    summary.repair = repair;
    let ipc_buffer_end = layout.span.end + PAGE_SIZE;
    let (stub_code, stubs) = romain_core::fp::stubs(ARCH);
    let program = Program {
        bytes,
        layout: &layout,
        heap_base: (ipc_buffer_end + HEAP_GAP).next_multiple_of(HEAP_GAP),
        quota_pages: ((crate::embedded::QUOTA_MB << 20) / PAGE_SIZE) as usize,
        tracking,
        sites: sites.as_ref(),
        fp_stubs: fp.then_some(&stub_code[..]),
        vdso: vdso.as_ref().map(|v| &v.bytes[..]),
    };
    // The shared region's addresses and the sandbox's are the master's: no image or heap there.
    let heap = program.heap_base
        ..program
            .heap_base
            .saturating_add(program.quota_pages as u64 * PAGE_SIZE);
    // A Linux program's mappings and stack have fixed places too.
    let linux_reserved = [
        linux::MMAP_AREA,
        linux::STACK_TOP - linux::STACK_SIZE..u64::MAX,
    ];
    for reserved in [
        SHARED_BASE..SHARED_BASE + region::DEVICE_PAGES as u64 * PAGE_SIZE,
        crate::sandbox::CODE_VA..crate::sandbox::BOUNCE_VA + PAGE_SIZE,
        romain_core::fp::PAGES,
    ]
    .into_iter()
    .chain(
        linux
            .is_some()
            .then_some(linux_reserved)
            .into_iter()
            .flatten(),
    ) {
        if layout.reaches(&heap, &reserved) {
            return Err(Stop(
                Status::BadImage,
                alloc::format!(
                    "the image or its heap reaches {:#x}..{:#x}, which the master reserves (shared memory, the sandbox, FP/SIMD capture; a Linux program's mappings and stack)",
                    reserved.start,
                    reserved.end
                ),
            ));
        }
    }
    let injection = match (options.injection, run.inject) {
        (Some(at), _) => Some(at),
        (None, Some(spec)) => Some(
            inject::parse(spec, ARCH).map_err(|e| Stop(Status::BadPlan, alloc::format!("{e}")))?,
        ),
        (None, None) => None,
    }
    .map(|at| Pending::new(at, bytes, mode))
    .transpose()?;

    if mode.replicas >= ctx.cores {
        log::warn!(
            "{} replicas on {} cores: some share a core",
            mode.replicas,
            ctx.cores
        );
    }
    for index in 0..mode.replicas {
        let badge = ReplicaBadge {
            group: ctx.group_number,
            replica: index as u8,
        };
        let core = core_of(index, ctx.cores);
        let replica = Replica::build(ctx.objects, &program, ctx.endpoint, badge, core).map_err(
            |err| match err {
                BuildError::Alloc(e) => Stop::from(e),
                BuildError::Quota { pages } => Stop(
                    Status::OutOfMemory,
                    alloc::format!(
                        "the image needs more than the memory quota of {pages} pages per replica"
                    ),
                ),
            },
        )?;
        log::info!(
            "replica {index} on core {core} ({} pages loaded)",
            replica.space.borrow().len()
        );
        summary.cores.push(core).ok();
        replicas.push(replica);
    }
    let mut built = Built {
        tracking,
        injection,
        shared: None,
        doorbell: None,
        sandbox: None,
        linux: None,
        fp: fp.then_some(stubs),
    };
    if fp {
        log::info!(
            "FP/SIMD state captured at every event ({} bytes per replica)",
            romain_core::fp::area_len(ARCH)
        );
    }
    if let (Some(info), Some(sites)) = (linux, &sites) {
        summary.personality = "linux";
        let linux = Linux {
            info,
            sites: sites.clone(),
            heap_base: program.heap_base,
            vdso: program.vdso.map(|_| romain_linux::vdso::BASE),
            quota_pages: program.quota_pages,
            fp_captured: fp,
        };
        built.linux = Some(start_linux(ctx, run, &layout, linux, replicas, components)?);
        if fail_stop {
            log::warn!(
                "DMR on a Linux program detects and stops (fail-stop) with FP=off: its FP/SIMD registers cannot be rolled back"
            );
        }
    }

    // A companion component `<app>-device`, if the image has one: outside the group, sharing a
    // region with it.
    let device = alloc::format!("{app}-device");
    let Some((_, device_bytes)) = apps.iter().find(|(name, _)| *name == device) else {
        return Ok(built);
    };
    let region = make_region(ctx.objects)?;
    if cae::LAX {
        log::warn!("copy & execute in the sandbox test's lax mode: no range check, no write sets");
    }
    built.sandbox = Some(
        Sandbox::new(ctx.objects, region.base, &region.frames, SANDBOX_CORE)
            .map_err(|e| Stop(Status::MasterError, alloc::format!("sandbox: {e:?}")))?,
    );
    let device_layout = image::load(device_bytes, ARCH, max_pages)
        .map_err(|e| Stop(Status::BadImage, alloc::format!("{device}: {e}")))?;
    let shared_range = region.base..region.base + region.len();
    if device_layout.reaches(&(0..0), &shared_range) {
        return Err(Stop(
            Status::BadImage,
            alloc::format!("{device}: the image covers the shared region's addresses"),
        ));
    }
    let device_program = Program {
        bytes: device_bytes,
        layout: &device_layout,
        heap_base: (device_layout.span.end + PAGE_SIZE + HEAP_GAP).next_multiple_of(HEAP_GAP),
        quota_pages: program.quota_pages,
        tracking: Tracking::Off,
        sites: None,
        fp_stubs: None,
        vdso: None,
    };
    let badge = ReplicaBadge {
        group: ctx.group_number,
        replica: ReplicaBadge::COMPANION,
    };
    let c = Replica::build(ctx.objects, &device_program, ctx.endpoint, badge, 0)
        .map_err(|_| Stop(Status::OutOfMemory, alloc::format!("cannot build {device}")))?;
    // Doorbells, real notifications: one the companion waits on (the master signals it for the
    // replicas), and the master's own, which the companion rings.
    let bell = ctx.objects.alloc::<sel4::cap_type::Notification>()?;
    c.cnode
        .absolute_cptr_from_bits_with_depth(slot::DOORBELL_WAIT, slot::BITS)
        .copy(
            &sel4::init_thread::slot::CNODE.cap().absolute_cptr(bell),
            sel4::CapRights::read_only(),
        )
        .or_stop()?;
    if let Some(timer) = ctx.timer.as_deref() {
        timer
            .mint_doorbell(c.cnode, slot::DOORBELL_RING)
            .or_stop()?;
    }
    built.doorbell = Some(bell);
    log::info!(
        "companion {device} on core 0, sharing {} pages; shared accesses run in a sandbox on core {SANDBOX_CORE}",
        region.frames.len()
    );
    components.companion = Some(c);
    built.shared = Some(region);
    Ok(built)
}

/// What a Linux program's start needs besides its image.
struct Linux {
    info: image::LinuxProgram,
    sites: Sites,
    heap_base: u64,
    vdso: Option<u64>,
    quota_pages: usize,
    fp_captured: bool,
}

/// A Linux program's start: the stack (argc, argv, auxv) in every replica alike, its registers,
/// and its personality component, set up with the group's files at its first call.
fn start_linux(
    ctx: &mut Context<'_>,
    run: &plan::Run<'static>,
    layout: &image::Layout,
    linux: Linux,
    replicas: &[Replica],
    components: &mut Components,
) -> Result<Proxy<&'static mut [u8]>, Stop> {
    let Linux { info, sites, .. } = linux;
    let mut random = [0u8; 16];
    random[..8].copy_from_slice(&output::random().to_le_bytes());
    random[8..].copy_from_slice(&output::random().to_le_bytes());
    let invocation = Invocation::parse(run.app, run.args, crate::embedded::STDIN);
    let start = stack::Start {
        arch: ARCH,
        argv: &invocation.argv,
        envp: &[],
        phdr: info.phdr,
        phent: info.phent,
        phnum: info.phnum,
        entry: layout.entry,
        random,
        vdso: linux.vdso,
    };
    let (sp, bytes) = stack::try_build(linux::STACK_TOP, &start).map_err(|_| {
        Stop(
            Status::BadPlan,
            "the program's arguments do not fit its initial stack".into(),
        )
    })?;
    for r in replicas {
        r.space
            .borrow_mut()
            .add_lazy(
                linux::STACK_TOP - linux::STACK_SIZE..linux::STACK_TOP,
                false,
            )
            .map_err(|_| Stop(Status::OutOfMemory, "no room for the stack".into()))?;
    }
    cae::Private::write(
        &mut PrivateMemory {
            objects: ctx.objects,
            replicas,
            leader: 0,
        },
        sp,
        &bytes,
    )
    .map_err(|e| {
        Stop(
            Status::OutOfMemory,
            alloc::format!("initial stack: {}", e.0),
        )
    })?;
    let regs = romain_linux::arch::initial(ARCH, layout.entry, sp);
    for r in replicas {
        r.set_registers(&regs).or_stop()?;
    }
    log::info!(
        "{}: a Linux program ({} system-call sites rewritten into traps)",
        run.app,
        sites.len()
    );
    let quota_mb = crate::embedded::QUOTA_MB;
    let start = Start {
        config: Config {
            seed: output::random(),
            brk_base: linux.heap_base,
            quota_mb,
            // The files' bytes live in the component: they may take three quarters of its
            // quota, so that a program filling its files gets ENOSPC while the rest of its state
            // has room.
            fs_budget: quota_mb.saturating_mul(3 << 18),
            fp_captured: linux.fp_captured,
        },
        app: run.app.into(),
        args: run.args.into(),
        stdin: crate::embedded::STDIN.map(Into::into),
        dump: crate::embedded::DUMP.map(Into::into),
    };
    if !start.fits() {
        return Err(Stop(
            Status::BadPlan,
            "the program's name and arguments are too long".into(),
        ));
    }
    let (files, span) = personality::shared_files();
    let (component, buffer) = personality::build(ctx, linux.quota_pages, span)?;
    log::info!(
        "{}: its personality in a component on core 0 ({} pages loaded)",
        run.app,
        component.replica.space.borrow().len()
    );
    components.personality = Some(component);
    Ok(Proxy::new(ARCH, sites, buffer, files, start))
}

/// A shared region of `region::DEVICE_PAGES` frames, consecutive in the master's view.
fn make_region(objects: &mut Objects) -> Result<Region, Stop> {
    let mut frames: Vec<Frame> = Vec::new();
    for i in 0..region::DEVICE_PAGES {
        let frame = objects.frame()?;
        if i > 0 && frame.addr() != frames[0].addr() + i * PAGE_SIZE as usize {
            return Err(Stop(
                Status::MasterError,
                "shared region frames not consecutive".into(),
            ));
        }
        frames.push(frame);
    }
    Ok(Region {
        base: SHARED_BASE,
        frames,
    })
}
