//! Loading: system-call sites found by decoding and rewritten in place, and the initial stack.

use romain_core::regs::Arch;
use romain_linux::rewrite::Sites;
use romain_linux::stack::{Start, build};

#[test]
fn x86_64_sites_are_decoded_not_scanned_for_bytes() {
    // mov eax, 0x050f (b8 0f 05 00 00) hides 0f 05 in an immediate; then mov eax, 1; syscall;
    // ret.
    let code = [
        0xb8, 0x0f, 0x05, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xc3,
    ];
    let mut sites = Sites::default();
    sites.scan(Arch::X86_64, 0x1000, &code);
    assert_eq!(sites.len(), 1);
    assert!(sites.contains(0x100a));
    assert!(!sites.contains(0x1001));
    let mut page = code;
    sites.patch(Arch::X86_64, 0x1000, &mut page);
    assert_eq!(&page[..10], &code[..10], "the immediate is untouched");
    assert_eq!(&page[10..12], &[0x0f, 0x0b], "syscall became ud2");
}

#[test]
fn a_site_straddling_two_pages_is_patched_in_both() {
    let mut code = vec![0x90u8; 8192];
    code[4095] = 0x0f;
    code[4096] = 0x05;
    let mut sites = Sites::default();
    sites.scan(Arch::X86_64, 0x10_000, &code);
    assert!(sites.contains(0x10_000 + 4095));
    let (mut a, mut b) = (code[..4096].to_vec(), code[4096..].to_vec());
    sites.patch(Arch::X86_64, 0x10_000, &mut a);
    sites.patch(Arch::X86_64, 0x11_000, &mut b);
    assert_eq!((a[4095], b[0]), (0x0f, 0x0b));
}

#[test]
fn aarch64_svc_words_become_the_trap() {
    let mut code = Vec::new();
    for w in [0xd280_0100u32, 0xd400_0001, 0xd65f_03c0, 0xd400_0001] {
        code.extend_from_slice(&w.to_le_bytes());
    }
    let mut sites = Sites::default();
    sites.scan(Arch::Aarch64, 0x40_0000, &code);
    assert_eq!(sites.len(), 2);
    assert!(sites.contains(0x40_0004) && sites.contains(0x40_000c));
    sites.patch(Arch::Aarch64, 0x40_0000, &mut code);
    let word = |i: usize| u32::from_le_bytes(code[4 * i..4 * i + 4].try_into().unwrap());
    assert_eq!(word(1), romain_linux::arch::AARCH64_TRAP);
    assert_eq!(word(0), 0xd280_0100);
}

#[test]
fn the_initial_stack_has_argc_argv_envp_and_auxv() {
    let top = romain_linux::linux::STACK_TOP;
    let start = Start {
        arch: Arch::Aarch64,
        argv: &["sha", "input_small.asc"],
        envp: &["LANG=C"],
        phdr: 0x40_0040,
        phent: 56,
        phnum: 6,
        entry: 0x40_1000,
        random: [7; 16],
        vdso: None,
    };
    let (sp, bytes) = build(top, &start);
    assert_eq!(sp % 16, 0);
    assert_eq!(sp + bytes.len() as u64, top);
    let word = |addr: u64| {
        let i = (addr - sp) as usize;
        u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap())
    };
    let string = |addr: u64| {
        let i = (addr - sp) as usize;
        let end = bytes[i..].iter().position(|&b| b == 0).unwrap();
        String::from_utf8(bytes[i..i + end].to_vec()).unwrap()
    };
    assert_eq!(word(sp), 2);
    assert_eq!(string(word(sp + 8)), "sha");
    assert_eq!(string(word(sp + 16)), "input_small.asc");
    assert_eq!(word(sp + 24), 0);
    assert_eq!(string(word(sp + 32)), "LANG=C");
    assert_eq!(word(sp + 40), 0);
    let mut aux = std::collections::BTreeMap::new();
    let mut at = sp + 48;
    loop {
        let (k, v) = (word(at), word(at + 8));
        if k == 0 {
            break;
        }
        aux.insert(k, v);
        at += 16;
    }
    assert_eq!(aux[&3], 0x40_0040); // AT_PHDR
    assert_eq!(aux[&5], 6); // AT_PHNUM
    assert_eq!(aux[&6], 4096); // AT_PAGESZ
    assert_eq!(aux[&9], 0x40_1000); // AT_ENTRY
    assert_eq!(aux[&16] & (1 << 11), 0, "no HWCAP_CPUID");
    assert_eq!(string(aux[&31]), "sha"); // AT_EXECFN
    assert_eq!(string(aux[&15]), "aarch64"); // AT_PLATFORM
    let r = (aux[&25] - sp) as usize; // AT_RANDOM
    assert_eq!(&bytes[r..r + 16], &[7; 16]);
    assert!(aux.contains_key(&26), "AT_HWCAP2 on aarch64");
}

#[test]
fn a_syscall_that_would_wrap_past_the_end_of_the_address_space_is_no_site() {
    // Found by tests/image_fuzz.rs: push rax at u64::MAX, then `syscall` at the wrapped
    // address 0 was taken as a site outside the segment.
    let mut sites = Sites::default();
    sites.scan(Arch::X86_64, u64::MAX, &[0x50, 0x0f, 0x05]);
    assert!(sites.is_empty());
    sites.scan(Arch::X86_64, u64::MAX - 1, &[0x0f, 0x05]);
    assert!(
        sites.contains(u64::MAX - 1),
        "the last two bytes of the address space"
    );
    let mut page = [0x0f, 0x05];
    sites.patch(Arch::X86_64, u64::MAX - 1, &mut page);
    assert_eq!(page, [0x0f, 0x0b]);
    // aarch64: an unaligned segment at the very end has no aligned word.
    let mut a64 = Sites::default();
    a64.scan(Arch::Aarch64, u64::MAX - 2, &[0; 16]);
    a64.scan(Arch::Aarch64, u64::MAX - 3, &0xd400_0001u32.to_le_bytes());
    assert_eq!(a64.len(), 1);
    assert!(a64.contains(u64::MAX - 3));
}

#[test]
fn a_prefixed_syscall_becomes_the_trap_and_nops_to_its_length() {
    // Found by tests/image_fuzz.rs: `ds syscall` (3e 0f 05) is one 3-byte instruction; the
    // trap replaced its first two bytes and the call returned into its last one.
    let code = [0x3e, 0x0f, 0x05, 0xc3];
    let mut sites = Sites::default();
    sites.scan(Arch::X86_64, 0x1000, &code);
    assert_eq!(sites.len(), 1);
    assert!(sites.contains(0x1000));
    let mut page = code;
    sites.patch(Arch::X86_64, 0x1000, &mut page);
    // ud2 where the instruction starts (the pc of the trap), a nop to its end, then `ret`:
    // the call returns at 0x1002 (past the trap) and runs on to 0x1003.
    assert_eq!(page, [0x0f, 0x0b, 0x90, 0xc3]);
    assert_eq!(romain_linux::arch::trap_len(Arch::X86_64), 2);
}

#[test]
fn an_image_with_more_sites_than_the_master_keeps_is_refused() {
    use romain_linux::rewrite::MAX_SITES;
    // Code that is nothing but system calls, on both architectures.
    let x86 = [0x0f, 0x05].repeat(MAX_SITES + 1);
    let a64 = 0xd400_0001u32.to_le_bytes().repeat(MAX_SITES + 1);
    for (arch, code) in [(Arch::X86_64, &x86), (Arch::Aarch64, &a64)] {
        let mut sites = Sites::default();
        sites.scan(
            arch,
            0x40_0000,
            &code[..code.len() - code.len() / (MAX_SITES + 1)],
        );
        assert!(!sites.overflowed(), "{arch:?}: exactly MAX_SITES fit");
        assert_eq!(sites.len(), MAX_SITES);
        let mut sites = Sites::default();
        sites.scan(arch, 0x40_0000, code);
        assert!(sites.overflowed(), "{arch:?}");
        assert_eq!(sites.len(), MAX_SITES, "the list stops at the limit");
    }
}
