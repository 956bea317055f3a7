//! The loader's part in this crate with arbitrary input: system-call sites found in arbitrary
//! code at arbitrary addresses (up to the end of the address space), pages patched anywhere,
//! initial stacks of arbitrary arguments below arbitrary tops. Never a panic; sites only where
//! the instruction is, patches only at sites; a stack that does not fit is an error.
//!
//! Cases: `PROPTEST_CASES` (a few hundred by default).

use proptest::prelude::*;
use romain_core::regs::Arch;
use romain_linux::arch::{AARCH64_SVC0, AARCH64_TRAP, X86_64_TRAP};
use romain_linux::rewrite::Sites;
use romain_linux::stack::{MAX_INITIAL, Start, TooBig, build, try_build};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn arch() -> impl Strategy<Value = Arch> {
    prop_oneof![Just(Arch::X86_64), Just(Arch::Aarch64)]
}

/// An address: anywhere, or near the ends of the address space.
fn address() -> impl Strategy<Value = u64> {
    prop_oneof![
        2 => any::<u64>(),
        1 => (0u64..64).prop_map(|d| u64::MAX - d),
        1 => (0u64..8192).prop_map(|d| u64::MAX - d),
        1 => 0u64..64,
        1 => (0u64..1024).prop_map(|p| 0x40_0000 + p * 4),
    ]
}

/// What the loader rewrites on x86_64: `syscall`, and `cpuid`, `rdtsc`, `rdtscp`
/// (`romain_linux::emulated`).
const X86_SITES: [&[u8]; 4] = [
    &[0x0f, 0x05],
    &[0x0f, 0xa2],
    &[0x0f, 0x31],
    &[0x0f, 0x01, 0xf9],
];

/// Code: arbitrary bytes with system-call (and emulated) instructions strewn in.
fn code() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            3 => proptest::collection::vec(any::<u8>(), 0..8),
            1 => Just(vec![0x0f, 0x05]),
            1 => Just(vec![0x0f, 0x31]),
            1 => Just(AARCH64_SVC0.to_le_bytes().to_vec()),
            1 => Just(vec![0x90]),
        ],
        0..200,
    )
    .prop_map(|parts| parts.concat())
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9=._/-]{0,12}",
        1 => any::<String>(),
        1 => (0usize..70_000).prop_map(|n| "x".repeat(n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(300),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn sites_are_found_and_patched_only_where_the_instructions_are(
        arch in arch(),
        vaddr in address(),
        code in code(),
        page in prop_oneof![Just(None), address().prop_map(Some)],
        len in 0usize..9000,
    ) {
        let mut sites = Sites::default();
        sites.scan(arch, vaddr, &code);
        let start = u128::from(vaddr);
        let end = start + code.len() as u128;
        // Every site is an instruction of the code, whole within it and the address space.
        let insn: &[u8] = &AARCH64_SVC0.to_le_bytes();
        let trap: &[u8] = match arch {
            Arch::X86_64 => &X86_64_TRAP,
            Arch::Aarch64 => &AARCH64_TRAP.to_le_bytes(),
        };
        // (offset in the code, length) of each site.
        let mut found: Vec<(usize, usize)> = Vec::new();
        for i in 0..code.len() {
            let at = start + i as u128;
            if at <= u128::from(u64::MAX) && sites.contains(at as u64) {
                // The instruction: on x86_64 up to 13 prefix bytes before `0f 05`.
                let len = match arch {
                    Arch::Aarch64 => 4,
                    Arch::X86_64 => {
                        // Up to 13 prefix bytes before the opcode.
                        let tail = &code[i..code.len().min(i + 15)];
                        let k = (0..tail.len()).find_map(|k| {
                            X86_SITES.iter().find(|o| tail[k..].starts_with(o)).map(|o| k + o.len())
                        });
                        prop_assert!(k.is_some(), "no syscall, cpuid or rdtsc at site {:#x}", at);
                        k.unwrap_or(0)
                    }
                };
                prop_assert!(at + len as u128 <= end, "a site past the code at {:#x}", at);
                if arch == Arch::Aarch64 {
                    prop_assert_eq!(&code[i + len - insn.len()..i + len], insn);
                }
                if arch == Arch::Aarch64 {
                    prop_assert_eq!(at % 4, 0);
                }
                found.push((i, len));
            }
        }
        prop_assert_eq!(found.len(), sites.len(), "sites outside the code");
        // Patching the code where it was loaded: the trap at each site (then nops to its
        // length), nothing else.
        let mut patched = code.clone();
        sites.patch(arch, vaddr, &mut patched);
        for (i, (&before, &after)) in code.iter().zip(&patched).enumerate() {
            match found.iter().find(|&&(s, len)| (s..s + len).contains(&i)) {
                Some(&(s, _)) => {
                    prop_assert_eq!(after, trap.get(i - s).copied().unwrap_or(0x90), "byte {}", i);
                }
                None => prop_assert_eq!(before, after, "byte {} changed", i),
            }
        }
        // Any page anywhere: no panic, and only bytes of sites change.
        let page = page.unwrap_or(vaddr);
        let mut bytes = vec![0xa5u8; len];
        sites.patch(arch, page, &mut bytes);
        for (i, &b) in bytes.iter().enumerate() {
            if b != 0xa5 {
                let at = u128::from(page) + i as u128;
                let site = found
                    .iter()
                    .map(|&(s, len)| (start + s as u128, len as u128))
                    .find(|&(s, len)| (s..s + len).contains(&at));
                prop_assert!(site.is_some(), "byte {:#x} patched, no site there", at);
            }
        }
    }

    #[test]
    fn the_initial_stack_fits_or_is_an_error(
        arch in arch(),
        top in prop_oneof![
            Just(romain_linux::linux::STACK_TOP),
            0u64..4096,
            (0u64..64).prop_map(|d| u64::MAX - d),
            any::<u64>(),
        ],
        argv in proptest::collection::vec(text(), 0..40),
        envp in proptest::collection::vec(text(), 0..10),
        values in any::<[u64; 4]>(),
    ) {
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let envp: Vec<&str> = envp.iter().map(String::as_str).collect();
        let start = Start {
            arch,
            argv: &argv,
            envp: &envp,
            phdr: values[0],
            phent: values[1],
            phnum: values[2],
            entry: values[3],
            random: [9; 16],
            vdso: None,
        };
        match try_build(top, &start) {
            Ok((sp, bytes)) => {
                prop_assert_eq!(sp % 16, 0);
                prop_assert_eq!(u128::from(sp) + bytes.len() as u128, u128::from(top));
                prop_assert!(bytes.len() as u64 <= MAX_INITIAL);
                prop_assert_eq!(&bytes[..8], &(argv.len() as u64).to_le_bytes());
                // argv[i] points at its string, NUL-terminated, within the stack.
                for (i, arg) in argv.iter().enumerate() {
                    let at = 8 + 8 * i;
                    let ptr = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
                    let off = (ptr - sp) as usize;
                    prop_assert_eq!(&bytes[off..off + arg.len()], arg.as_bytes());
                    prop_assert_eq!(bytes[off + arg.len()], 0);
                }
                prop_assert_eq!(build(top, &start), (sp, bytes));
            }
            Err(TooBig) => {
                // Only when it would not fit below `top` or in a quarter of the stack.
                let strings: usize = argv.iter().chain(&envp).map(|s| s.len() + 1).sum();
                prop_assert!(strings as u64 + 200 > top.min(MAX_INITIAL) || top < 4096);
                prop_assert_eq!(build(top, &start), (top, Vec::new()));
            }
        }
    }
}
