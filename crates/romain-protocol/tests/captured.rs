//! The capture wrapped around a shell (`romain_protocol::captured`): without a capture every effect
//! reaches the shell as it was asked; with one, a repaired or rolled-back replica runs the
//! restore routine before it goes on, and FP/SIMD injections need a capture.

use romain_core::event::{Event, EventKind, Words};
use romain_core::fp;
use romain_core::inject::{self, Injection};
use romain_core::regs::{Arch, RegisterFile};
use romain_core::summary::Status;
use romain_memory::{Repaired, Scope};
use romain_protocol::capture::{Capture, Threads};
use romain_protocol::captured::{CaptureShell, Captured};
use romain_protocol::{BadAddress, Executed, Injected, Input, OverQuota, Shell, Stop, World};

/// Records every raw effect, in order.
#[derive(Default)]
struct Recorder {
    log: Vec<String>,
    area: Vec<u8>,
    injected: Option<String>,
}

fn regs(pc: u64) -> RegisterFile {
    let mut r = RegisterFile::new(Arch::X86_64, &[0; 20]).unwrap();
    r.words_mut()[Arch::PC] = pc;
    r
}

impl World for Recorder {
    fn now(&self) -> u64 {
        0
    }
    fn print(&mut self, bytes: &[u8]) {
        self.log.push(format!("print {}", bytes.len()));
    }
    fn end_line(&mut self) {}
    fn random(&mut self) -> u64 {
        4
    }
    fn grow(&mut self, k: usize, bytes: u64) -> Result<u64, OverQuota> {
        self.log.push(format!("grow {k} {bytes}"));
        Ok(0)
    }
    fn ring_doorbell(&mut self) {}
    fn read_memory(&mut self, _k: usize, _addr: u64, _buf: &mut [u8]) -> Result<(), BadAddress> {
        Ok(())
    }
    fn write_memory(&mut self, _addr: u64, _bytes: &[u8]) -> Result<(), BadAddress> {
        Ok(())
    }
    fn map_lazy(&mut self, _range: core::ops::Range<u64>, _counted: bool) -> Result<(), OverQuota> {
        Ok(())
    }
}

impl Shell for Recorder {
    fn stop(&mut self, k: usize) -> Result<(), Stop> {
        self.log.push(format!("stop {k}"));
        Ok(())
    }
    fn start(&mut self, k: usize) -> Result<(), Stop> {
        self.log.push(format!("start {k}"));
        Ok(())
    }
    fn forget_reply(&mut self, k: usize) {
        self.log.push(format!("forget {k}"));
    }
    fn set_registers(&mut self, k: usize, r: &RegisterFile) -> Result<(), Stop> {
        self.log.push(format!("set {k} {:#x}", r.pc()));
        Ok(())
    }
    fn restart_at(&mut self, k: usize, r: &RegisterFile) -> Result<(), Stop> {
        self.log.push(format!("restart {k} {:#x}", r.pc()));
        Ok(())
    }
    fn reply(&mut self, k: usize, words: &[u64]) {
        self.log.push(format!("reply {k} {words:?}"));
    }
    fn repair(
        &mut self,
        good: usize,
        bad: usize,
        r: &RegisterFile,
        _: Scope,
    ) -> Result<Repaired, Stop> {
        self.log.push(format!("repair {good}->{bad} {:#x}", r.pc()));
        Ok(Repaired::default())
    }
    fn roll_back_memory(&mut self, k: usize) -> Result<usize, Stop> {
        self.log.push(format!("rollback {k}"));
        Ok(1)
    }
    fn agree_memory(&mut self, k: usize) -> Result<(), Stop> {
        self.log.push(format!("agree {k}"));
        Ok(())
    }
    fn private_digest(&mut self, _k: usize, _event: &Event) -> Option<u64> {
        None
    }
    fn execute_shared(&mut self, _leader: usize, event: &Event) -> Result<Executed, Stop> {
        Ok(Executed {
            regs: event.regs.clone(),
            rung: false,
        })
    }
    fn inject(
        &mut self,
        k: usize,
        at: &Injection<'static>,
        _event: Option<&mut Event>,
        _running: bool,
    ) -> Result<Injected, Stop> {
        self.log.push(format!("inject {k} bit {}", at.bit));
        Ok(Injected::Applied)
    }
}

impl Threads for Recorder {
    fn registers(&mut self, k: usize) -> Result<RegisterFile, Stop> {
        self.log.push(format!("read {k}"));
        Ok(regs(0x1000))
    }
    fn set_registers(&mut self, k: usize, r: &RegisterFile) -> Result<(), Stop> {
        Shell::set_registers(self, k, r)
    }
    fn restart_at(&mut self, k: usize, r: &RegisterFile) -> Result<(), Stop> {
        Shell::restart_at(self, k, r)
    }
    fn forget_reply(&mut self, k: usize) {
        Shell::forget_reply(self, k)
    }
    fn reply(&mut self, k: usize, words: &[u64]) {
        Shell::reply(self, k, words)
    }
    fn stop(&mut self, k: usize) -> Result<(), Stop> {
        Shell::stop(self, k)
    }
    fn area(&mut self, _k: usize) -> Result<&mut [u8], Stop> {
        Ok(&mut self.area)
    }
}

impl CaptureShell for Recorder {
    fn injected(&mut self, text: String) {
        self.injected = Some(text);
    }
}

/// A capture of three x86_64 replicas and a shell whose area is a new thread's.
fn capturing() -> (fp::Stubs, Capture, Recorder) {
    let (_, stubs) = fp::stubs(Arch::X86_64);
    let raw = Recorder {
        area: fp::initial_area(Arch::X86_64).to_vec(),
        ..Default::default()
    };
    (stubs, Capture::new(Arch::X86_64, stubs, 3), raw)
}

fn injection(spec: &'static str) -> Injection<'static> {
    inject::parse(spec, Arch::X86_64).unwrap()
}

#[test]
fn without_a_capture_every_effect_reaches_the_shell_as_asked() {
    let mut raw = Recorder::default();
    let mut shell = Captured::new(&mut raw, None);
    shell.stop(0).unwrap();
    shell.set_registers(1, &regs(0x10)).unwrap();
    shell.repair(0, 2, &regs(0x20), Scope::All).unwrap();
    shell.roll_back_memory(1).unwrap();
    shell.start(2).unwrap();
    shell.restart_at(0, &regs(0x30)).unwrap();
    shell.reply(1, &[7]);
    shell
        .inject(0, &injection("reg:0:3:rax:5"), None, true)
        .unwrap();
    assert_eq!(shell.grow(1, 4096), Ok(0));
    assert_eq!(
        raw.log,
        [
            "stop 0",
            "set 1 0x10",
            "repair 0->2 0x20",
            "rollback 1",
            "start 2",
            "restart 0 0x30",
            "reply 1 [7]",
            "inject 0 bit 5",
            "grow 1 4096",
        ]
    );
}

#[test]
fn an_fp_injection_without_a_capture_is_the_plans_mistake() {
    let mut raw = Recorder::default();
    let mut shell = Captured::new(&mut raw, None);
    let err = shell
        .inject(1, &injection("fpreg:1:3:xmm8:51"), None, true)
        .unwrap_err();
    assert_eq!(err.0, Status::BadPlan);
    assert!(raw.log.is_empty(), "nothing applied: {:?}", raw.log);
}

#[test]
fn a_repaired_or_rolled_back_replica_loads_its_area_before_it_runs_on() {
    let (stubs, mut capture, mut raw) = capturing();
    let mut shell = Captured::new(&mut raw, Some(&mut capture));
    // A replica that was not repaired runs on directly.
    shell.restart_at(0, &regs(0x40)).unwrap();
    // The repaired one goes through the restore routine first.
    shell.repair(0, 2, &regs(0x50), Scope::All).unwrap();
    shell.restart_at(2, &regs(0x50)).unwrap();
    // And so does a rolled-back one that is started where it is.
    shell.roll_back_memory(1).unwrap();
    shell.start(1).unwrap();
    let restore = format!("{:#x}", stubs.restore);
    let at = |line: &str| raw.log.iter().position(|l| l == line);
    assert_eq!(at("restart 0 0x40"), Some(0), "{:?}", raw.log);
    let repaired = at("repair 0->2 0x50").expect("repaired");
    let restored_2 = at(&format!("restart 2 {restore}")).expect("2 restored");
    let rolled = at("rollback 1").expect("rolled back");
    let restored_1 = at(&format!("restart 1 {restore}")).expect("1 restored");
    assert!(repaired < restored_2 && restored_2 < rolled && rolled < restored_1);
    // Neither continued at its own registers before the restore routine's trap.
    assert_eq!(at("restart 2 0x50"), None, "{:?}", raw.log);
    assert!(!raw.log.iter().any(|l| l == "start 1"), "{:?}", raw.log);
}

#[test]
fn an_fp_injection_with_a_capture_is_described_for_the_summary() {
    let (stubs, mut capture, mut raw) = capturing();
    let mut shell = Captured::new(&mut raw, Some(&mut capture));
    // A delayed flip of a running replica: stopped, sent through the save routine.
    let done = shell
        .inject(1, &injection("fpdelay:1:500:xmm8:51"), None, true)
        .unwrap();
    assert_eq!(done, Injected::Applied);
    assert_eq!(
        raw.injected.as_deref(),
        Some("replica 1 after 500 ticks FP/SIMD register xmm8 bit 51")
    );
    assert!(raw.log.iter().any(|l| l == "stop 1"), "{:?}", raw.log);
    assert!(
        raw.log
            .iter()
            .any(|l| *l == format!("restart 1 {:#x}", stubs.save)),
        "{:?}",
        raw.log
    );
}

#[test]
fn an_arrival_goes_to_the_core_only_once_its_fp_simd_state_is_saved() {
    let call = || Input::Arrival {
        replica: 1,
        event: Event::new(
            EventKind::Call(romain_abi::Call::Write),
            Words::new(),
            regs(0x1000),
        ),
    };
    // Without a capture every input is the core's as it came.
    let mut raw = Recorder::default();
    let mut shell = Captured::new(&mut raw, None);
    let passed = shell.input(call()).unwrap();
    assert!(
        matches!(&passed, Some(Input::Arrival { replica: 1, event }) if event.regs.pc() == 0x1000),
        "{passed:?}"
    );
    assert!(raw.log.is_empty());
    // With one, the replica first runs its save routine: nothing for the core yet.
    let (stubs, mut capture, mut raw) = capturing();
    let mut shell = Captured::new(&mut raw, Some(&mut capture));
    assert!(shell.input(call()).unwrap().is_none());
    assert!(matches!(
        shell.input(Input::Tick).unwrap(),
        Some(Input::Tick)
    ));
    assert!(
        raw.log
            .iter()
            .any(|l| *l == format!("restart 1 {:#x}", stubs.save)),
        "{:?}",
        raw.log
    );
}
