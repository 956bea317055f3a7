//! The x86_64 vDSO and the legacy vsyscall page: the image is a shared object whose functions
//! C libraries find (through the dynamic section as glibc and musl look, through the section
//! headers as dietlibc does) and whose system calls the loader rewrites; a call of the vsyscall
//! page is performed and returns to its caller; anything else there is the program's fault.

mod common;

use common::*;
use romain_core::event::{Event, EventKind, Words};
use romain_core::regs::{Arch, RegisterFile};
use romain_core::summary::Status;
use romain_linux::vdso;
use romain_protocol::Input;

fn u16_at(b: &[u8], at: usize) -> u64 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap()).into()
}
fn u32_at(b: &[u8], at: usize) -> u64 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()).into()
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
fn c_str(b: &[u8], at: usize) -> &str {
    let end = b[at..].iter().position(|&c| c == 0).unwrap();
    std::str::from_utf8(&b[at..at + end]).unwrap()
}

/// A symbol's address found as glibc and musl do: PT_DYNAMIC, then DT_HASH's chains over
/// DT_SYMTAB with names in DT_STRTAB (the image is linked at 0).
fn by_dynamic(b: &[u8], name: &str) -> Option<u64> {
    let (phoff, phnum) = (u64_at(b, 32) as usize, u16_at(b, 56) as usize);
    let dynamic = (0..phnum)
        .map(|i| phoff + 56 * i)
        .find(|&p| u32_at(b, p) == 2)
        .map(|p| u64_at(b, p + 16) as usize)?;
    let mut tags = std::collections::HashMap::new();
    let mut at = dynamic;
    while u64_at(b, at) != 0 {
        tags.insert(u64_at(b, at), u64_at(b, at + 8) as usize);
        at += 16;
    }
    let (hash, strtab, symtab) = (tags[&4], tags[&5], tags[&6]);
    let nbucket = u32_at(b, hash);
    let bucket = hash + 8;
    let chain = bucket + 4 * nbucket as usize;
    // Any hash goes to bucket hash % nbucket: take the name's ELF hash as glibc does.
    let h = name.bytes().fold(0u32, |h, c| {
        let h = (h << 4).wrapping_add(u32::from(c));
        let g = h & 0xf000_0000;
        (h ^ (g >> 24)) & !g
    });
    let mut i = u32_at(b, bucket + 4 * (h as usize % nbucket as usize)) as usize;
    while i != 0 {
        let sym = symtab + 24 * i;
        if c_str(b, strtab + u32_at(b, sym) as usize) == name && u16_at(b, sym + 6) != 0 {
            return Some(u64_at(b, sym + 8));
        }
        i = u32_at(b, chain + 4 * i) as usize;
    }
    None
}

/// The same as dietlibc does: the first allocated SHT_STRTAB, the SHT_DYNSYM, the symbol's
/// section's offset.
fn by_sections(b: &[u8], name: &str) -> Option<u64> {
    let (shoff, shentsize, shnum) = (
        u64_at(b, 40) as usize,
        u16_at(b, 58) as usize,
        u16_at(b, 60) as usize,
    );
    let sh = |i: usize| shoff + shentsize * i;
    let strtab =
        (0..shnum).find(|&i| u32_at(b, sh(i) + 4) == 3 && u64_at(b, sh(i) + 8) & 2 != 0)?;
    let strings = u64_at(b, sh(strtab) + 24) as usize;
    let dynsym = (0..shnum).find(|&i| u32_at(b, sh(i) + 4) == 11)?;
    let (off, size, entsize) = (
        u64_at(b, sh(dynsym) + 24) as usize,
        u64_at(b, sh(dynsym) + 32) as usize,
        u64_at(b, sh(dynsym) + 56) as usize,
    );
    (0..size / entsize)
        .map(|i| off + i * entsize)
        .find_map(|sym| {
            (c_str(b, strings + u32_at(b, sym) as usize) == name).then(|| {
                let sec = sh(u16_at(b, sym + 6) as usize);
                u64_at(b, sec + 24) + u64_at(b, sym + 8) - u64_at(b, sec + 16)
            })
        })
}

#[test]
fn the_vdso_gives_its_functions_to_every_c_library_and_they_make_the_system_calls() {
    let image = vdso::x86_64();
    let b = &image.bytes;
    assert!(b.len() <= 4096, "one page: {}", b.len());
    assert_eq!(&b[..4], b"\x7fELF");
    let mut sites = romain_linux::rewrite::Sites::default();
    sites.scan(
        Arch::X86_64,
        vdso::BASE + image.text.start as u64,
        &b[image.text.clone()],
    );
    assert_eq!(sites.len(), 5);
    for (name, nr) in [
        ("__vdso_clock_gettime", 228),
        ("__vdso_gettimeofday", 96),
        ("__vdso_time", 201),
        ("__vdso_getcpu", 309),
        ("__vdso_clock_getres", 229),
        ("gettimeofday", 96),
    ] {
        let at = by_dynamic(b, name).unwrap_or_else(|| panic!("{name} by the dynamic section"));
        assert_eq!(
            by_sections(b, name),
            Some(at),
            "{name} by the section headers"
        );
        let code = &b[at as usize..at as usize + 8];
        assert_eq!(code[0], 0xb8, "{name}: mov $nr, %eax");
        assert_eq!(u32_at(code, 1), nr, "{name}");
        assert_eq!(&code[5..], [0x0f, 0x05, 0xc3], "{name}: syscall; ret");
        assert!(
            sites.contains(vdso::BASE + at + 5),
            "{name}: its syscall is a site"
        );
    }
    assert_eq!(by_dynamic(b, "__vdso_nothing"), None);
    assert_eq!(by_sections(b, "__vdso_nothing"), None);
}

/// A fault at `pc` (an instruction fetch there), the stack at `sp`.
fn fetch_fault(pc: u64, sp: u64, args: &[u64]) -> Event {
    let mut regs = call_regs(Arch::X86_64, 0, 0, args);
    let w = regs.words_mut();
    w[Arch::PC] = pc;
    w[Arch::SP] = sp;
    let regs = RegisterFile::new(Arch::X86_64, regs.words()).unwrap();
    Event::new(
        EventKind::VmFault {
            addr: pc,
            fsr: 0x15,
            prefetch: true,
        },
        Words::new(),
        regs,
    )
}

fn step_all(rig: &mut Rig, event: Event) {
    for k in 0..rig.fake.replicas.len() {
        let _ = rig.group.step(
            Input::Arrival {
                replica: k,
                event: event.clone(),
            },
            &mut rig.fake,
            &mut rig.summary,
        );
    }
}

#[test]
fn a_vsyscall_is_performed_and_returns_to_its_caller() {
    let mut rig = Rig::new(Arch::X86_64, 3, &[], None);
    let sp = DATA + 0x1000;
    rig.fake.poke(sp, &(CODE + 0x123).to_le_bytes());
    rig.fake.now = 5_000_000;
    // time(&t) at 0x...400.
    step_all(
        &mut rig,
        fetch_fault(vdso::VSYSCALL_PAGE + 0x400, sp, &[DATA]),
    );
    for k in 0..3 {
        assert_eq!(
            rig.pc(k),
            CODE + 0x123,
            "replica {k} returned to its caller"
        );
        assert_eq!(rig.fake.replicas[k].regs[Arch::SP], sp + 8);
        assert_eq!(
            rig.result(k),
            1,
            "seconds of the program's clock (it starts at 1 s)"
        );
    }
    assert_eq!(rig.fake.peek(2, DATA, 8), 1u64.to_le_bytes());
    // gettimeofday(&tv, NULL) at 0x...000.
    step_all(
        &mut rig,
        fetch_fault(vdso::VSYSCALL_PAGE, sp, &[DATA + 0x100, 0]),
    );
    assert_eq!(rig.result(0), 0);
    assert_eq!(rig.fake.peek(0, DATA + 0x100, 8), 1u64.to_le_bytes());
    assert_eq!(rig.summary.status, Status::Ok);
}

#[test]
fn a_jump_into_the_vsyscall_page_elsewhere_or_with_a_bad_stack_is_the_programs_fault() {
    for (pc, sp) in [
        (vdso::VSYSCALL_PAGE + 0x100, DATA + 0x1000),
        (vdso::VSYSCALL_PAGE + 0x400, 0xdead_0000),
    ] {
        let mut rig = Rig::new(Arch::X86_64, 3, &[], None);
        step_all(&mut rig, fetch_fault(pc, sp, &[DATA]));
        assert_eq!(rig.summary.status, Status::AppFault, "{pc:#x} {sp:#x}");
    }
    // On aarch64 there is no such page: the same fault is the program's.
    let mut rig = Rig::new(Arch::Aarch64, 3, &[], None);
    let mut event = fetch_fault(0, 0, &[]);
    let mut w = vec![0u64; Arch::Aarch64.num_registers()];
    w[Arch::PC] = vdso::VSYSCALL_PAGE + 0x400;
    event.regs = RegisterFile::new(Arch::Aarch64, &w).unwrap();
    step_all(&mut rig, event);
    assert_eq!(rig.summary.status, Status::AppFault);
}

/// The functions are versioned LINUX_2.6 as Go's runtime looks them up: DT_VERDEF has the
/// version (by its ELF hash and name) after the base one, DT_VERSYM gives each function its
/// index.
#[test]
fn the_functions_are_in_version_linux_2_6_as_go_looks_them_up() {
    let b = vdso::x86_64().bytes;
    let (phoff, phnum) = (u64_at(&b, 32) as usize, u16_at(&b, 56) as usize);
    let dynamic = (0..phnum)
        .map(|i| phoff + 56 * i)
        .find(|&p| u32_at(&b, p) == 2)
        .map(|p| u64_at(&b, p + 16) as usize)
        .unwrap();
    let mut tags = std::collections::HashMap::new();
    let mut at = dynamic;
    while u64_at(&b, at) != 0 {
        tags.insert(u64_at(&b, at), u64_at(&b, at + 8) as usize);
        at += 16;
    }
    let (strtab, symtab) = (tags[&5], tags[&6]);
    let (versym, verdef) = (tags[&0x6fff_fff0], tags[&0x6fff_fffc]);
    assert_eq!(tags[&0x6fff_fffd], 2);
    // The definitions, as Go's vdsoFindVersion walks them (the base one is skipped).
    let mut def = verdef;
    let mut found = None;
    loop {
        let (flags, ndx, hash) = (
            u16_at(&b, def + 2),
            u16_at(&b, def + 4),
            u32_at(&b, def + 8),
        );
        let aux = def + u32_at(&b, def + 12) as usize;
        let name = c_str(&b, strtab + u32_at(&b, aux) as usize);
        if flags & 1 == 0 && hash == 0x3ae75f6 && name == "LINUX_2.6" {
            found = Some(ndx);
        }
        match u32_at(&b, def + 16) {
            0 => break,
            next => def += next as usize,
        }
    }
    let version = found.expect("LINUX_2.6 defined");
    for (i, name) in ["__vdso_clock_gettime", "__vdso_gettimeofday"]
        .iter()
        .enumerate()
    {
        let index = (1..11)
            .find(|&s| c_str(&b, strtab + u32_at(&b, symtab + 24 * s) as usize) == *name)
            .unwrap_or_else(|| panic!("{name} {i}"));
        assert_eq!(u16_at(&b, versym + 2 * index) & 0x7fff, version, "{name}");
    }
}
