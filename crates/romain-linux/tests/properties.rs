//! No call, with any arguments, makes the personality (or the master) panic.

mod common;

use common::*;
use proptest::prelude::*;

/// Cases: `PROPTEST_CASES`, else 300.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]
    #[test]
    fn any_call_with_any_arguments_answers(
        x86 in any::<bool>(),
        calls in proptest::collection::vec(
            (0u64..460, proptest::collection::vec(
                prop_oneof![Just(0u64), Just(DATA), Just(DATA + 4090), Just(HEAP), Just(u64::MAX),
                            0u64..64, any::<u64>()], 6)),
            1..20),
    ) {
        let arch = if x86 { romain_core::regs::Arch::X86_64 } else { romain_core::regs::Arch::Aarch64 };
        let mut rig = Rig::new(arch, 2, &[("f", b"contents")], Some("f"));
        rig.fake.poke(DATA, b"f\0");
        for (number, args) in calls {
            match rig.call(number, &args) {
                Ok((romain_protocol::Flow::End, _)) => break,
                Ok(_) => {}
                Err(stop) => panic!("group stopped: {stop:?}"),
            }
        }
    }
}
