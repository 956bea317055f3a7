//! x86_64 instructions that read the core (`cpuid`, `rdtsc`, `rdtscp`): the loader finds them
//! as it finds system calls and rewrites them into the trap; the personality answers them once
//! for all replicas (`cpuid` with what tells cores apart cleared, the counters from the
//! program's clock).

mod common;

use common::*;
use romain_core::event::{Event, EventKind, Words};
use romain_core::regs::{Arch, RegisterFile};
use romain_linux::emulated::{Insn, same_on_every_core};
use romain_linux::linux::Linux;
use romain_linux::rewrite::Sites;
use romain_protocol::{Flow, Input};

#[test]
fn cpuid_is_a_site_and_is_answered_alike_in_every_replica() {
    // cpuid, a syscall, cpuid with a prefix (three bytes: trap and a nop).
    let code = [0x0f, 0xa2, 0x0f, 0x05, 0x66, 0x0f, 0xa2, 0x90];
    let mut sites = Sites::default();
    sites.scan(Arch::X86_64, CODE, &code);
    assert_eq!(sites.len(), 3);
    assert_eq!(sites.emulated(CODE), Some(Insn::Cpuid));
    assert_eq!(sites.emulated(CODE + 2), None, "a system call");
    assert_eq!(sites.emulated(CODE + 4), Some(Insn::Cpuid));
    let mut page = code.to_vec();
    sites.patch(Arch::X86_64, CODE, &mut page);
    assert_eq!(page, [0x0f, 0x0b, 0x0f, 0x0b, 0x0f, 0x0b, 0x90, 0x90]);

    let linux = Linux::new(
        Arch::X86_64,
        sites,
        romain_linux::fs::FileSystem::new(&[], &Default::default()),
        HEAP,
        1,
        None,
    );
    let fake = Fake::new(Arch::X86_64, 3, 64);
    let mut rig = Rig::around(Arch::X86_64, 3, linux, fake);
    // Leaf 1 in every replica (the trap at the first cpuid).
    let mut w = vec![0u64; Arch::X86_64.num_registers()];
    w[0] = CODE;
    w[3] = 1;
    let regs = RegisterFile::new(Arch::X86_64, &w).unwrap();
    for k in 0..3 {
        let event = Event::new(
            EventKind::UserException {
                number: romain_linux::arch::X86_64_UD_VECTOR,
                code: 0,
            },
            Words::new(),
            regs.clone(),
        );
        let flow = rig
            .group
            .step(
                Input::Arrival { replica: k, event },
                &mut rig.fake,
                &mut rig.summary,
            )
            .unwrap();
        assert_eq!(flow, Flow::Continue);
    }
    let after = &rig.fake.replicas[0].regs;
    assert_eq!(after[0], CODE + 2, "past the trap");
    assert_eq!(after[4] >> 24, 0, "no APIC ID in ebx");
    assert!(rig.fake.replicas.iter().all(|r| &r.regs == after));
    if cfg!(target_arch = "x86_64") {
        assert_ne!(after[3], 1, "eax holds the leaf's answer");
    }
}

#[test]
fn what_tells_cores_apart_is_cleared() {
    let all = [u32::MAX; 4];
    assert_eq!(
        same_on_every_core(1, all),
        [u32::MAX, 0x00ff_ffff, u32::MAX, u32::MAX]
    );
    assert_eq!(same_on_every_core(0xb, all)[3], 0);
    assert_eq!(same_on_every_core(0x1f, all)[3], 0);
    assert_eq!(same_on_every_core(0x8000_001e, all)[0], 0);
    assert_eq!(same_on_every_core(0, all), all);
}

#[test]
fn the_time_stamp_counter_is_the_programs_clock() {
    // rdtsc, rdtscp (three bytes: the trap and a nop).
    let code = [0x0f, 0x31, 0x0f, 0x01, 0xf9];
    let mut sites = Sites::default();
    sites.scan(Arch::X86_64, CODE, &code);
    assert_eq!(sites.emulated(CODE), Some(Insn::Rdtsc));
    assert_eq!(sites.emulated(CODE + 2), Some(Insn::Rdtscp));
    let mut page = code.to_vec();
    sites.patch(Arch::X86_64, CODE, &mut page);
    assert_eq!(page, [0x0f, 0x0b, 0x0f, 0x0b, 0x90]);
    let mut w = vec![0u64; Arch::X86_64.num_registers()];
    w[0] = CODE + 2;
    w[5] = 77;
    let regs = RegisterFile::new(Arch::X86_64, &w).unwrap();
    let out = romain_linux::emulated::answer(Insn::Rdtscp, &regs, 0x1_2345_6789);
    let o = out.words();
    assert_eq!((o[3], o[6], o[5], o[0]), (0x2345_6789, 1, 0, CODE + 4));
}
