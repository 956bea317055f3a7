//! The component's loop: it asks for a request, sets the personality up with what the master
//! sends (the run's arguments, its embedded files), then performs each call the master sends and
//! answers with what it came to. Kernel-independent: the component's `main` gives it an seL4
//! [`Link`], the host tests a channel.

use alloc::string::String;
use alloc::vec::Vec;

use romain_core::regs::Arch;
use romain_core::summary::Summary;
use romain_linux::fs::FileSystem;
use romain_linux::invocation::Invocation;
use romain_linux::linux::{self, Class, Linux, Performed};
use romain_linux::rewrite::Sites;
use romain_protocol::CallScope;

use crate::remote::{Link, RemoteWorld, ask};
use crate::wire::{Answer, Ask, DATA_LEN, Done, Outcome, Perform, Request, Setup, WireError};

/// Test only: the call (by name) at which the personality panics, allocates without bound,
/// never answers, or faults (`fault`: touches memory that is not the component's), to show that
/// each ends only its group. `None` in every other build.
#[derive(Debug, Clone, Copy, Default)]
pub struct Switches {
    pub panic_on: Option<&'static str>,
    pub hog_on: Option<&'static str>,
    pub spin_on: Option<&'static str>,
    pub fault_on: Option<&'static str>,
    pub fault: Option<fn()>,
}

impl Switches {
    fn apply(&self, name: &str) {
        if self.panic_on == Some(name) {
            panic!("test switch TEST_PANIC_ON={name}");
        }
        if self.hog_on == Some(name) {
            // 1 MiB after 1 MiB, kept, until the component's quota stops it.
            let mut hoard = Vec::new();
            loop {
                hoard.push(alloc::vec![1u8; 1 << 20]);
            }
        }
        if self.spin_on == Some(name) {
            loop {
                core::hint::spin_loop();
            }
        }
        if self.fault_on == Some(name)
            && let Some(fault) = self.fault
        {
            fault();
        }
    }
}

/// Serves the master until it sends something that is no request (the host tests' end).
pub fn run<L: Link>(link: &mut L, arch: Arch, switches: &Switches) -> WireError {
    let mut linux: Option<Linux> = None;
    let mut random = 0;
    let mut request = ask(link, &Ask::Ready);
    loop {
        match Request::decode(arch, &request) {
            Ok(Request::Setup(setup)) => {
                random = setup.config.seed;
                linux = Some(set_up(link, arch, &setup));
                request = ask(link, &Ask::Ready);
            }
            Ok(Request::Perform(call)) => {
                let Some(personality) = linux.as_mut() else {
                    panic!("a call before the set-up");
                };
                let done = perform(link, personality, &call, &mut random, switches);
                request = ask(link, &Ask::Done(done));
            }
            Err(err) => return err,
        }
    }
}

/// Performs one call.
fn perform<L: Link>(
    link: &mut L,
    personality: &mut Linux,
    call: &Perform,
    random: &mut u64,
    switches: &Switches,
) -> Done {
    let arch = call.regs.arch();
    let class = call.class;
    let name = match class {
        Class::Vsyscall(number) => romain_linux::table::name(arch, number).unwrap_or("?"),
        Class::Emulated(insn) => insn.name(),
        _ => linux::name_of(arch, &call.regs),
    };
    switches.apply(name);
    let mut summary = Summary::new("", "", "", call.replicas);
    let mut device = call.device.clone();
    let inputs =
        link.with_buffer(|data| crate::prefetch::pieces(&data[..call.prefetched as usize]));
    let mut world = RemoteWorld::new(link, call.now, random, call.leader, inputs);
    let mut cx = CallScope {
        shell: &mut world,
        summary: &mut summary,
        device: &mut device,
        replicas: call.replicas,
        leader: call.leader,
        counter_hz: call.counter_hz,
        threads: call.threads,
    };
    let outcome = match personality.perform_call(class, &call.regs, &mut cx) {
        Performed::Resume(regs) => Outcome::Resume(regs),
        Performed::Exit => Outcome::Exit,
        Performed::Fault => Outcome::Fault,
        Performed::Thread(call) => Outcome::Thread(call),
    };
    Done {
        outcome,
        enosys: summary.linux_enosys,
        exit_code: summary.exit_code,
        files_written: summary.files_written,
        files_hash: summary.files_hash,
    }
}

/// The group's personality, from the set-up request and the files the master sends.
fn set_up<L: Link>(link: &mut L, arch: Arch, setup: &Setup) -> Linux {
    let lens = [
        Some(setup.app_len),
        Some(setup.args_len),
        setup.stdin_len,
        setup.dump_len,
    ];
    let mut strings = [const { None::<&'static str> }; 4];
    link.with_buffer(|data| {
        let mut at = 0usize;
        for (len, out) in lens.iter().zip(strings.iter_mut()) {
            let Some(len) = len else { continue };
            let end = at.saturating_add(*len as usize).min(DATA_LEN);
            let text = String::from_utf8_lossy(&data[at..end]).into_owned();
            *out = Some(text.leak());
            at = end;
        }
    });
    let [app, args, stdin, dump] = strings;
    let files = files(link);
    let invocation = Invocation::parse(app.unwrap_or(""), args.unwrap_or(""), stdin);
    let mut personality = Linux::new(
        arch,
        Sites::default(),
        FileSystem::new(&files, &invocation),
        setup.config.brk_base,
        setup.config.quota_mb,
        dump.map(String::from),
    );
    personality.fs.set_budget(setup.config.fs_budget);
    personality.set_comm(invocation.argv.first().copied().unwrap_or(""));
    personality.fp_captured = setup.config.fp_captured;
    personality
}

/// The embedded files: their names, and their bytes where the master shares them (read in
/// place, not copied: the master's own pages, mapped on first touch).
fn files<L: Link>(link: &mut L) -> Vec<(&'static str, &'static [u8])> {
    let mut files = Vec::new();
    for index in 0.. {
        let Answer::Ok([addr, len, name_len]) =
            Answer::decode(&ask(link, &Ask::File { index })).expect("an answer")
        else {
            return files;
        };
        let name = link.with_buffer(|data| {
            String::from_utf8_lossy(&data[..(name_len as usize).min(DATA_LEN)]).into_owned()
        });
        let bytes = link.shared(addr, len);
        // The component lives as long as its group: the names with it.
        files.push((&*name.leak(), bytes));
    }
    files
}
