//! The declarative call table: numbers, inputs and names hold together on both architectures.

use romain_core::regs::Arch;
use romain_linux::table::{self, Input, LinuxCall};

const ARCHES: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

#[test]
fn every_number_finds_its_call_and_no_number_is_taken_twice() {
    for arch in ARCHES {
        let mut seen = std::collections::BTreeSet::new();
        for &call in LinuxCall::ALL {
            let Some(n) = call.number(arch) else { continue };
            assert!(seen.insert(n), "{call:?}: number {n} twice on {arch:?}");
            assert_eq!(table::lookup(arch, n), Some(call), "{arch:?} {n}");
            assert!(table::name(arch, n).is_some(), "{call:?} has no Linux name");
        }
    }
    for &call in LinuxCall::ALL {
        let on = ARCHES.iter().filter(|a| call.number(**a).is_some()).count();
        assert!(on > 0, "{call:?} has a number on no architecture");
    }
}

#[test]
fn inputs_come_from_the_annotated_arguments_in_order() {
    // Distinct argument values name their positions: 0x100 + index.
    let args: [u64; 6] = core::array::from_fn(|i| 0x100 + i as u64);
    for &call in LinuxCall::ALL {
        let inputs = call.inputs(&args);
        // Every annotation becomes one input (none dropped for lack of room).
        let annotated = call.signature().matches(':').count();
        assert_eq!(inputs.len(), annotated, "{}", call.signature());
    }
    let at = |i: u64| 0x100 + i;
    assert_eq!(
        LinuxCall::Write.inputs(&args).as_slice(),
        &[Input::Bytes {
            addr: at(1),
            len: at(2)
        }]
    );
    assert_eq!(
        LinuxCall::Renameat.inputs(&args).as_slice(),
        &[Input::Str(at(1)), Input::Str(at(3))]
    );
    assert_eq!(
        LinuxCall::ClockNanosleep.inputs(&args).as_slice(),
        &[Input::Fixed {
            addr: at(2),
            size: 16
        }]
    );
    assert_eq!(
        LinuxCall::Readv.inputs(&args).as_slice(),
        &[Input::IovArray {
            addr: at(1),
            count: at(2)
        }]
    );
    assert!(LinuxCall::Read.inputs(&args).is_empty());
}

#[test]
fn the_old_path_calls_are_x86_64_only() {
    for call in [
        LinuxCall::Open,
        LinuxCall::Stat,
        LinuxCall::Access,
        LinuxCall::Dup2,
        LinuxCall::ArchPrctl,
    ] {
        assert!(call.number(Arch::X86_64).is_some());
        assert_eq!(call.number(Arch::Aarch64), None, "{call:?}");
    }
}
