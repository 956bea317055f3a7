//! The kernel's code in an x86_64 program's address space, as Linux provides it:
//!
//! - the **vDSO**, a small shared object whose address the auxiliary vector gives
//!   (AT_SYSINFO_EHDR). C libraries look their time functions up in it; dietlibc calls them
//!   without a fallback and, without a vDSO, parses the legacy vsyscall page as one and faults.
//!   Its functions here are the system calls themselves (`mov $nr, %eax; syscall; ret`), which
//!   the loader rewrites into traps like the program's own: each is an agreed event, performed
//!   once for all replicas, as when the program makes the call itself.
//! - the legacy **vsyscall page** at `0xffffffffff600000` (gettimeofday, time and getcpu at
//!   offsets 0, 0x400 and 0x800) that old static programs call directly. Nothing can be mapped
//!   there (it is the kernel's half of the address space), so a call faults and is emulated as
//!   Linux's `vsyscall=emulate` does: the call is made, and the program returns to its caller.
//!
//! aarch64 programs get no vDSO: their C libraries make the system calls when there is none.

use alloc::vec::Vec;

/// Where the vDSO's page is: just above the stack, in the range no image may reach.
pub const BASE: u64 = crate::linux::STACK_TOP;

/// The functions, with the x86_64 system calls they make: Linux's names with and without the
/// `__vdso_` prefix.
const FUNCTIONS: [(&str, &str, u32); 5] = [
    ("__vdso_clock_gettime", "clock_gettime", 228),
    ("__vdso_gettimeofday", "gettimeofday", 96),
    ("__vdso_time", "time", 201),
    ("__vdso_getcpu", "getcpu", 309),
    ("__vdso_clock_getres", "clock_getres", 229),
];

/// The legacy vsyscall page.
pub const VSYSCALL_PAGE: u64 = 0xffff_ffff_ff60_0000;

/// The x86_64 system call an entry point of the vsyscall page makes, by its address.
pub fn vsyscall(pc: u64) -> Option<u64> {
    match pc.wrapping_sub(VSYSCALL_PAGE) {
        0 => Some(96),
        0x400 => Some(201),
        0x800 => Some(309),
        _ => None,
    }
}

const SONAME: &str = "linux-vdso.so.1";
/// The version the functions are defined in, as Linux's vDSO has it (Go's runtime looks its
/// functions up by version and assumes the version table is there).
const VERSION: &str = "LINUX_2.6";
/// Bytes of an `Elf64_Verdef` and of its one `Elf64_Verdaux`.
const VERDEF: usize = 20;
const VERDAUX: usize = 8;
const EHDR: usize = 64;
const PHDR: usize = 56;
const SHDR: usize = 64;
const SYM: usize = 24;
const DYN: usize = 16;
/// Bytes of one function's code.
const CODE: usize = 8;

/// The vDSO image (an ELF shared object linked at 0, one page at most) and the range of its
/// code, whose system-call instructions the loader rewrites.
pub struct Image {
    pub bytes: Vec<u8>,
    pub text: core::ops::Range<usize>,
}

/// A section header's fields (`Elf64_Shdr`).
struct Section {
    name: u64,
    kind: u64,
    flags: u64,
    off: usize,
    size: usize,
    link: u64,
    info: u64,
    align: u64,
    entsize: usize,
}

/// The System V ELF hash of a name (a version definition's `vd_hash`).
fn elf_hash(name: &str) -> u32 {
    name.bytes().fold(0u32, |h, b| {
        let h = (h << 4).wrapping_add(u32::from(b));
        let high = h & 0xf000_0000;
        (h ^ (high >> 24)) & !high
    })
}

/// Appends `v`'s little-endian bytes.
fn put(out: &mut Vec<u8>, v: u64, size: usize) {
    out.extend_from_slice(&v.to_le_bytes()[..size]);
}

fn align(out: &mut Vec<u8>, to: usize) {
    out.resize(out.len().next_multiple_of(to), 0);
}

/// The x86_64 vDSO: ELF header, program headers (one R+X PT_LOAD of the whole image, the
/// PT_DYNAMIC), `.hash`, `.dynsym`, `.dynstr`, `.text`, `.dynamic`, `.shstrtab` and the section
/// headers (dietlibc finds the symbols through them; glibc and musl through the dynamic section).
pub fn x86_64() -> Image {
    // Strings: the soname, then each function's two names.
    let mut dynstr = alloc::vec![0u8];
    let name_at = |s: &str, dynstr: &mut Vec<u8>| {
        let at = dynstr.len() as u64;
        dynstr.extend_from_slice(s.as_bytes());
        dynstr.push(0);
        at
    };
    let soname = name_at(SONAME, &mut dynstr);
    let version = name_at(VERSION, &mut dynstr);
    let names: Vec<(u64, u64)> = FUNCTIONS
        .iter()
        .map(|(a, b, _)| (name_at(a, &mut dynstr), name_at(b, &mut dynstr)))
        .collect();
    let nsyms = 1 + 2 * FUNCTIONS.len();

    // Offsets, in order.
    let hash_off = EHDR + 2 * PHDR;
    let hash_len = 4 * (2 + 1 + nsyms);
    let dynsym_off = (hash_off + hash_len).next_multiple_of(8);
    let dynstr_off = dynsym_off + nsyms * SYM;
    let text_off = (dynstr_off + dynstr.len()).next_multiple_of(16);
    let text_len = FUNCTIONS.len() * CODE;
    let versym_off = text_off + text_len;
    let versym_len = 2 * nsyms;
    let verdef_off = (versym_off + versym_len).next_multiple_of(8);
    let verdef_len = 2 * (VERDEF + VERDAUX);
    let dynamic_off = (verdef_off + verdef_len).next_multiple_of(8);
    let dynamic_len = 10 * DYN;
    let shstrtab =
        b"\0.hash\0.dynsym\0.dynstr\0.text\0.dynamic\0.shstrtab\0.gnu.version\0.gnu.version_d\0";
    let shstrtab_off = dynamic_off + dynamic_len;
    let shdr_off = (shstrtab_off + shstrtab.len()).next_multiple_of(8);
    let total = shdr_off + 9 * SHDR;

    let mut out = Vec::with_capacity(total);
    // ELF header: 64-bit, little-endian, ET_DYN, EM_X86_64.
    out.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    out.resize(16, 0);
    put(&mut out, 3, 2);
    put(&mut out, 62, 2);
    put(&mut out, 1, 4);
    put(&mut out, 0, 8); // e_entry
    put(&mut out, EHDR as u64, 8);
    put(&mut out, shdr_off as u64, 8);
    put(&mut out, 0, 4);
    for v in [EHDR, PHDR, 2, SHDR, 9, 6] {
        put(&mut out, v as u64, 2);
    }
    // PT_LOAD (R+X) of everything, PT_DYNAMIC (R).
    for (kind, flags, off, len, align) in [
        (1u64, 5u64, 0, total, 0x1000),
        (2, 4, dynamic_off, dynamic_len, 8),
    ] {
        put(&mut out, kind, 4);
        put(&mut out, flags, 4);
        for v in [off, off, off, len, len, align] {
            put(&mut out, v as u64, 8);
        }
    }
    // .hash: one bucket holding the last symbol, each symbol chained to the one before it.
    for v in [1, nsyms, nsyms - 1] {
        put(&mut out, v as u64, 4);
    }
    for i in 0..nsyms {
        put(&mut out, i.saturating_sub(1) as u64, 4);
    }
    align(&mut out, 8);
    // .dynsym: the null symbol, then each function under both names (global functions in .text).
    out.resize(out.len() + SYM, 0);
    for (i, (a, b)) in names.iter().enumerate() {
        let value = (text_off + i * CODE) as u64;
        for name in [a, b] {
            put(&mut out, *name, 4);
            out.push(0x12); // STB_GLOBAL, STT_FUNC
            out.push(0);
            put(&mut out, 4, 2); // .text
            put(&mut out, value, 8);
            put(&mut out, CODE as u64, 8);
        }
    }
    out.extend_from_slice(&dynstr);
    align(&mut out, 16);
    // .text: mov $nr, %eax; syscall; ret.
    for (_, _, nr) in FUNCTIONS {
        out.push(0xb8);
        put(&mut out, u64::from(nr), 4);
        out.extend_from_slice(&[0x0f, 0x05, 0xc3]);
    }
    // .gnu.version: the null symbol local, every function in LINUX_2.6 (index 2).
    put(&mut out, 0, 2);
    for _ in 1..nsyms {
        put(&mut out, 2, 2);
    }
    align(&mut out, 8);
    // .gnu.version_d: the base version (the soname), then LINUX_2.6, each with its name.
    for (i, (flags, name, text)) in [(1u64, soname, SONAME), (0, version, VERSION)]
        .into_iter()
        .enumerate()
    {
        put(&mut out, 1, 2); // vd_version
        put(&mut out, flags, 2); // VER_FLG_BASE for the first
        put(&mut out, i as u64 + 1, 2); // vd_ndx
        put(&mut out, 1, 2); // vd_cnt
        put(&mut out, u64::from(elf_hash(text)), 4);
        put(&mut out, VERDEF as u64, 4); // vd_aux
        put(
            &mut out,
            if i == 0 { (VERDEF + VERDAUX) as u64 } else { 0 },
            4,
        ); // vd_next
        put(&mut out, name, 4); // vda_name
        put(&mut out, 0, 4); // vda_next
    }
    align(&mut out, 8);
    // .dynamic: DT_HASH, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT, DT_SONAME, DT_VERSYM,
    // DT_VERDEF, DT_VERDEFNUM, DT_NULL.
    for (tag, v) in [
        (4, hash_off as u64),
        (5, dynstr_off as u64),
        (6, dynsym_off as u64),
        (10, dynstr.len() as u64),
        (11, SYM as u64),
        (14, soname),
        (0x6fff_fff0, versym_off as u64),
        (0x6fff_fffc, verdef_off as u64),
        (0x6fff_fffd, 2),
        (0, 0),
    ] {
        put(&mut out, tag, 8);
        put(&mut out, v, 8);
    }
    out.extend_from_slice(shstrtab);
    align(&mut out, 8);
    let section = |name, kind, flags, off, size, link, info, align, entsize| Section {
        name,
        kind,
        flags,
        off,
        size,
        link,
        info,
        align,
        entsize,
    };
    let sections = [
        section(0, 0, 0, 0, 0, 0, 0, 0, 0),
        section(1, 5, 2, hash_off, hash_len, 2, 0, 8, 4),
        section(7, 11, 2, dynsym_off, nsyms * SYM, 3, 1, 8, SYM),
        section(15, 3, 2, dynstr_off, dynstr.len(), 0, 0, 1, 0),
        section(23, 1, 6, text_off, text_len, 0, 0, 16, 0),
        section(29, 6, 2, dynamic_off, dynamic_len, 3, 0, 8, DYN),
        section(38, 3, 0, shstrtab_off, shstrtab.len(), 0, 0, 1, 0),
        section(48, 0x6fff_ffff, 2, versym_off, versym_len, 2, 0, 2, 2),
        section(61, 0x6fff_fffd, 2, verdef_off, verdef_len, 3, 2, 8, 0),
    ];
    for s in sections {
        put(&mut out, s.name, 4);
        put(&mut out, s.kind, 4);
        put(&mut out, s.flags, 8);
        // Linked at 0: a loaded section's address is its offset (.shstrtab is not loaded).
        put(&mut out, if s.flags & 2 != 0 { s.off as u64 } else { 0 }, 8);
        put(&mut out, s.off as u64, 8);
        put(&mut out, s.size as u64, 8);
        put(&mut out, s.link, 4);
        put(&mut out, s.info, 4);
        put(&mut out, s.align, 8);
        put(&mut out, s.entsize as u64, 8);
    }
    debug_assert_eq!(out.len(), total);
    Image {
        bytes: out,
        text: text_off..text_off + text_len,
    }
}
