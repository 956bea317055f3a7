//! Checking a replica program's ELF image and laying it out in pages.
//!
//! The master loads whatever image the plan names; a malformed or hostile image must end in a
//! clear [`ImageError`] for that replica group, never in a master panic. Everything the master
//! later does with the image (which pages to create, with which rights, what to copy into them)
//! comes from the checked [`Layout`].
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use core::fmt;
use core::ops::Range;

use heapless::Vec;
use object::elf;
use object::read::elf::{Dyn as _, ElfFile64, FileHeader, ProgramHeader};
use object::{Endianness, Object};

use romain_core::regs::Arch;

pub use romain_core::PAGE_SIZE;
/// Lowest address a replica image may use (page 0 stays unmapped to catch null pointers).
pub const USER_START: u64 = 0x10_000;
/// End of the user address range the master gives replicas (47-bit, as on both architectures).
pub const USER_END: u64 = 0x7fff_0000_0000;
/// Most loadable segments an image may have.
pub const MAX_SEGMENTS: usize = 16;
/// Where a position-independent executable (a Linux static-pie, which relocates itself) is
/// placed: where non-PIE executables usually start.
pub const PIE_BASE: u64 = 0x40_0000;

/// Access rights of one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rights {
    pub read: bool,
    pub write: bool,
    pub execute: bool,
}

/// One loadable segment, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub mem_size: u64,
    /// Range of the segment's initialised data in the image bytes.
    pub file: Range<usize>,
    pub rights: Rights,
}

/// The checked layout of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub entry: u64,
    pub segments: Vec<Segment, MAX_SEGMENTS>,
    /// Page-aligned span of all segments.
    pub span: Range<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageError {
    /// Not a 64-bit little-endian ELF file, or its headers do not parse.
    NotElf,
    WrongMachine {
        expected: Arch,
        found: u16,
    },
    NotExecutable {
        elf_type: u16,
    },
    NoSegments,
    TooManySegments,
    /// A segment's file data lies outside the file, or is larger than the segment.
    BadFileRange {
        vaddr: u64,
    },
    /// A segment lies outside the user range, or wraps around.
    OutOfRange {
        vaddr: u64,
        size: u64,
    },
    /// Two segments claim the same bytes.
    Overlap {
        vaddr: u64,
    },
    /// The entry point is not in an executable segment.
    BadEntry {
        entry: u64,
    },
    /// The image needs more pages than the group may have.
    TooLarge {
        pages: u64,
        max: u64,
    },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::NotElf => write!(f, "not a 64-bit little-endian ELF executable"),
            ImageError::WrongMachine { expected, found } => {
                write!(f, "ELF machine {found} is not {}", expected.name())
            }
            ImageError::NotExecutable { elf_type } => {
                write!(f, "ELF type {elf_type} is not an executable")
            }
            ImageError::NoSegments => write!(f, "no loadable segments"),
            ImageError::TooManySegments => {
                write!(f, "more than {MAX_SEGMENTS} loadable segments")
            }
            ImageError::BadFileRange { vaddr } => {
                write!(
                    f,
                    "segment at {vaddr:#x} has file data outside the file or segment"
                )
            }
            ImageError::OutOfRange { vaddr, size } => write!(
                f,
                "segment at {vaddr:#x} (size {size:#x}) is outside {USER_START:#x}..{USER_END:#x}"
            ),
            ImageError::Overlap { vaddr } => write!(f, "segment at {vaddr:#x} overlaps another"),
            ImageError::BadEntry { entry } => {
                write!(f, "entry point {entry:#x} is not in an executable segment")
            }
            ImageError::TooLarge { pages, max } => {
                write!(f, "image needs {pages} pages, the group may have {max}")
            }
        }
    }
}

/// The ELF machine of `arch`.
fn elf_machine(arch: Arch) -> u16 {
    match arch {
        Arch::Aarch64 => elf::EM_AARCH64,
        Arch::X86_64 => elf::EM_X86_64,
    }
}

/// Checks `bytes` as an image for `arch` of at most `max_pages` pages.
pub fn load(bytes: &[u8], arch: Arch, max_pages: u64) -> Result<Layout, ImageError> {
    let file = ElfFile64::<Endianness>::parse(bytes).map_err(|_| ImageError::NotElf)?;
    if !file.is_little_endian() {
        return Err(ImageError::NotElf);
    }
    let header = file.elf_header();
    let endian = file.endian();
    let machine = header.e_machine(endian);
    if machine != elf_machine(arch) {
        return Err(ImageError::WrongMachine {
            expected: arch,
            found: machine,
        });
    }
    let elf_type = header.e_type(endian);
    let bias = load_bias(&file, bytes).ok_or(ImageError::NotExecutable { elf_type })?;

    let mut segments: Vec<Segment, MAX_SEGMENTS> = Vec::new();
    for ph in file.elf_program_headers() {
        if ph.p_type(endian) != elf::PT_LOAD || ph.p_memsz(endian) == 0 {
            continue;
        }
        let vaddr = ph
            .p_vaddr(endian)
            .checked_add(bias)
            .ok_or(ImageError::OutOfRange {
                vaddr: ph.p_vaddr(endian),
                size: ph.p_memsz(endian),
            })?;
        let mem_size = ph.p_memsz(endian);
        let (offset, file_size) = (ph.p_offset(endian), ph.p_filesz(endian));
        let end = vaddr
            .checked_add(mem_size)
            .filter(|&end| vaddr >= USER_START && end <= USER_END)
            .ok_or(ImageError::OutOfRange {
                vaddr,
                size: mem_size,
            })?;
        let file_end = offset.checked_add(file_size);
        if file_size > mem_size || file_end.is_none_or(|e| e > bytes.len() as u64) {
            return Err(ImageError::BadFileRange { vaddr });
        }
        if segments
            .iter()
            .any(|s| vaddr < s.vaddr + s.mem_size && s.vaddr < end)
        {
            return Err(ImageError::Overlap { vaddr });
        }
        let flags = ph.p_flags(endian);
        let segment = Segment {
            vaddr,
            mem_size,
            file: offset as usize..(offset + file_size) as usize,
            rights: Rights {
                read: flags & elf::PF_R != 0,
                write: flags & elf::PF_W != 0,
                execute: flags & elf::PF_X != 0,
            },
        };
        segments
            .push(segment)
            .map_err(|_| ImageError::TooManySegments)?;
    }
    let start = segments
        .iter()
        .map(|s| s.vaddr)
        .min()
        .ok_or(ImageError::NoSegments)?;
    let end = segments
        .iter()
        .map(|s| s.vaddr + s.mem_size)
        .max()
        .unwrap_or(start);
    let span = page_floor(start)..end.next_multiple_of(PAGE_SIZE);

    let entry = file.entry().wrapping_add(bias);
    let in_text =
        |s: &Segment| s.rights.execute && (s.vaddr..s.vaddr + s.mem_size).contains(&entry);
    if !segments.iter().any(in_text) {
        return Err(ImageError::BadEntry { entry });
    }
    let pages = (span.end - span.start) / PAGE_SIZE;
    if pages > max_pages {
        return Err(ImageError::TooLarge {
            pages,
            max: max_pages,
        });
    }
    Ok(Layout {
        entry,
        segments,
        span,
    })
}

/// How far the image is moved from its link addresses: 0 for an executable (ET_EXEC),
/// [`PIE_BASE`] for a position-independent executable that needs no interpreter (ET_DYN with
/// DF_1_PIE and no PT_INTERP: `gcc -static-pie`). `None` for anything else (a shared library).
fn load_bias(file: &ElfFile64<'_, Endianness>, bytes: &[u8]) -> Option<u64> {
    let endian = file.endian();
    match file.elf_header().e_type(endian) {
        elf::ET_EXEC => Some(0),
        elf::ET_DYN => {
            let headers = file.elf_program_headers();
            if headers.iter().any(|ph| ph.p_type(endian) == elf::PT_INTERP) {
                return None;
            }
            let pie = headers.iter().any(|ph| {
                ph.dynamic(endian, bytes).ok().flatten().is_some_and(|d| {
                    d.iter().any(|e| {
                        e.d_tag(endian) == elf::DT_FLAGS_1 as u64
                            && e.d_val(endian) & elf::DF_1_PIE as u64 != 0
                    })
                })
            });
            pie.then_some(PIE_BASE)
        }
        _ => None,
    }
}

/// What the start-up of a Linux program needs from its ELF file: where its program headers
/// are in memory (AT_PHDR), their size and number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinuxProgram {
    pub phdr: u64,
    pub phent: u64,
    pub phnum: u64,
}

/// Whether `bytes` is a Linux program rather than one of the native runtime: its OS/ABI is
/// GNU/Linux, or it has a note segment (glibc's ABI tag, a build ID); native replicas have
/// neither. `declared` says it is one whatever its marks (the image's `LINUX=` list: musl's
/// static programs have neither mark). `Err` for a dynamically linked program (it needs an
/// interpreter the master does not have).
pub fn linux_program(bytes: &[u8], declared: bool) -> Result<Option<LinuxProgram>, &'static str> {
    let Ok(file) = ElfFile64::<Endianness>::parse(bytes) else {
        return Ok(None);
    };
    let endian = file.endian();
    let header = file.elf_header();
    let headers = file.elf_program_headers();
    let gnu = header.e_ident.os_abi == elf::ELFOSABI_GNU;
    let notes = headers.iter().any(|ph| ph.p_type(endian) == elf::PT_NOTE);
    if !gnu && !notes && !declared {
        return Ok(None);
    }
    if headers.iter().any(|ph| ph.p_type(endian) == elf::PT_INTERP) {
        return Err("a dynamically linked Linux program: build it with -static");
    }
    let phoff = header.e_phoff(endian);
    // PT_PHDR where there is one, else the loaded segment that holds the headers.
    let phdr = headers
        .iter()
        .find(|ph| ph.p_type(endian) == elf::PT_PHDR)
        .map(|ph| ph.p_vaddr(endian))
        .or_else(|| {
            headers.iter().find_map(|ph| {
                let (off, size) = (ph.p_offset(endian), ph.p_filesz(endian));
                (ph.p_type(endian) == elf::PT_LOAD && off <= phoff && phoff < off + size)
                    .then(|| ph.p_vaddr(endian) + (phoff - off))
            })
        })
        .map_or(0, |a| a + load_bias(&file, bytes).unwrap_or(0));
    Ok(Some(LinuxProgram {
        phdr,
        phent: header.e_phentsize(endian) as u64,
        phnum: headers.len() as u64,
    }))
}

/// The address of symbol `name` in the image's symbol table (for injection specs that name a
/// symbol). `None` if the image has no such symbol or does not parse.
pub fn symbol_address(bytes: &[u8], name: &str) -> Option<u64> {
    use object::{ObjectSymbol, ObjectSymbolTable};
    let file = ElfFile64::<Endianness>::parse(bytes).ok()?;
    let bias = load_bias(&file, bytes).unwrap_or(0);
    let table = file.symbol_table()?;
    table
        .symbols()
        .find(|s| s.name() == Ok(name))
        .map(|s| s.address() + bias)
}

const fn page_floor(addr: u64) -> u64 {
    addr - addr % PAGE_SIZE
}

impl Layout {
    /// Whether the image, or the heap that may grow from `heap` (`heap.start` up to `heap.end`),
    /// reaches into `reserved`: address ranges the master keeps for itself (a shared region).
    /// Such an image is refused: its pages would shadow the region.
    pub fn reaches(&self, heap: &Range<u64>, reserved: &Range<u64>) -> bool {
        let meets = |r: &Range<u64>| r.start < reserved.end && reserved.start < r.end;
        meets(&self.span) || meets(heap)
    }

    /// Every page of the image in address order, with the union of the rights of the segments
    /// that touch it (segments may share a page).
    pub fn pages(&self) -> impl Iterator<Item = (u64, Rights)> + '_ {
        self.span
            .clone()
            .step_by(PAGE_SIZE as usize)
            .map(move |page| {
                let mut rights = Rights::default();
                for s in self.segments.iter().filter(|s| overlaps(s, page)) {
                    rights.read |= s.rights.read;
                    rights.write |= s.rights.write;
                    rights.execute |= s.rights.execute;
                }
                (page, rights)
            })
    }

    /// Writes the initial contents of the page at `page` (page-aligned) into `out`: the file data
    /// that falls into it, zeros elsewhere.
    pub fn fill_page(&self, image: &[u8], page: u64, out: &mut [u8]) {
        out.fill(0);
        for s in &self.segments {
            let data = &image[s.file.clone()];
            let data_range = s.vaddr..s.vaddr + data.len() as u64;
            let lo = data_range.start.max(page);
            let hi = data_range.end.min(page + PAGE_SIZE);
            if lo < hi {
                let src = &data[(lo - s.vaddr) as usize..(hi - s.vaddr) as usize];
                out[(lo - page) as usize..(hi - page) as usize].copy_from_slice(src);
            }
        }
    }

    /// Whether the page holds file data (pages without any start zeroed, as seL4 frames do).
    pub fn page_has_data(&self, page: u64) -> bool {
        self.segments.iter().any(|s| {
            let len = (s.file.end - s.file.start) as u64;
            s.vaddr < page + PAGE_SIZE && page < s.vaddr + len
        })
    }
}

fn overlaps(s: &Segment, page: u64) -> bool {
    s.vaddr < page + PAGE_SIZE && page < s.vaddr + s.mem_size
}

#[cfg(test)]
mod reserved_tests {
    use super::*;

    #[test]
    fn an_image_or_heap_reaching_a_reserved_range_is_seen() {
        let layout = Layout {
            entry: 0x40_0000,
            segments: Vec::new(),
            span: 0x40_0000..0x50_0000,
        };
        let reserved = 0x20_0000_0000..0x20_0000_4000;
        assert!(!layout.reaches(&(0x60_0000..0x460_0000), &reserved));
        assert!(layout.reaches(&(0x60_0000..0x20_0000_1000), &reserved));
        assert!(layout.reaches(&(0x60_0000..u64::MAX), &reserved));
        let inside = Layout {
            span: 0x20_0000_3000..0x20_0001_0000,
            ..layout
        };
        assert!(inside.reaches(&(0..0), &reserved));
        // Touching is not reaching: ranges are half-open.
        let below = Layout {
            span: 0x1f_ffff_0000..0x20_0000_0000,
            ..inside
        };
        assert!(!below.reaches(&(0x20_0000_4000..0x20_0001_0000), &reserved));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 executable: header, program headers, then the segments' file data.
    pub(super) struct Elf {
        machine: u16,
        elf_type: u16,
        pub(super) entry: u64,
        /// (vaddr, data, mem_size, flags)
        pub(super) segments: std::vec::Vec<(u64, std::vec::Vec<u8>, u64, u32)>,
    }

    impl Elf {
        pub(super) fn new(arch: Arch) -> Self {
            Elf {
                machine: elf_machine(arch),
                elf_type: elf::ET_EXEC,
                entry: 0x20_0010,
                segments: vec![
                    (0x20_0000, vec![0xaa; 100], 100, elf::PF_R | elf::PF_X),
                    (0x20_1100, vec![0xbb; 50], 0x3000, elf::PF_R | elf::PF_W),
                ],
            }
        }

        pub(super) fn bytes(&self) -> std::vec::Vec<u8> {
            let phoff = 64u64;
            let mut data_off = phoff + 56 * self.segments.len() as u64;
            let mut out = std::vec::Vec::new();
            out.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
            out.extend_from_slice(&[0; 8]);
            out.extend_from_slice(&self.elf_type.to_le_bytes());
            out.extend_from_slice(&self.machine.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            out.extend_from_slice(&self.entry.to_le_bytes());
            out.extend_from_slice(&phoff.to_le_bytes());
            out.extend_from_slice(&0u64.to_le_bytes()); // shoff
            out.extend_from_slice(&0u32.to_le_bytes()); // flags
            for half in [64u16, 56, self.segments.len() as u16, 64, 0, 0] {
                out.extend_from_slice(&half.to_le_bytes());
            }
            for (vaddr, data, memsz, flags) in &self.segments {
                out.extend_from_slice(&elf::PT_LOAD.to_le_bytes());
                out.extend_from_slice(&flags.to_le_bytes());
                for word in [
                    data_off,
                    *vaddr,
                    *vaddr,
                    data.len() as u64,
                    *memsz,
                    PAGE_SIZE,
                ] {
                    out.extend_from_slice(&word.to_le_bytes());
                }
                data_off += data.len() as u64;
            }
            for (_, data, _, _) in &self.segments {
                out.extend_from_slice(data);
            }
            out
        }
    }

    #[test]
    fn a_good_image_is_laid_out_in_pages_with_rights_and_data() {
        let elf = Elf::new(Arch::Aarch64);
        let bytes = elf.bytes();
        let layout = load(&bytes, Arch::Aarch64, 100).unwrap();
        assert_eq!(layout.entry, 0x20_0010);
        assert_eq!(layout.span, 0x20_0000..0x20_5000);
        let pages: std::vec::Vec<_> = layout.pages().collect();
        assert_eq!(pages.len(), 5);
        assert!(pages[0].1.execute && !pages[0].1.write);
        assert!(pages[1].1.write && !pages[1].1.execute);
        assert!(pages[4].1.write);

        let mut page = [0xffu8; PAGE_SIZE as usize];
        layout.fill_page(&bytes, 0x20_1000, &mut page);
        assert_eq!(&page[..0x100], &[0u8; 0x100][..]);
        assert_eq!(&page[0x100..0x132], &[0xbbu8; 50][..]);
        assert_eq!(page[0x132], 0);
        assert!(layout.page_has_data(0x20_1000));
        assert!(!layout.page_has_data(0x20_2000));
    }

    #[test]
    fn malformed_images_are_clear_errors() {
        let arch = Arch::X86_64;
        assert_eq!(load(b"", arch, 100), Err(ImageError::NotElf));
        assert_eq!(
            load(b"\x7fELF garbage that is not a header", arch, 100),
            Err(ImageError::NotElf)
        );
        let good = Elf::new(arch);
        let truncated = &good.bytes()[..100];
        assert_eq!(load(truncated, arch, 100), Err(ImageError::NotElf));

        assert!(matches!(
            load(&good.bytes(), Arch::Aarch64, 100),
            Err(ImageError::WrongMachine {
                found: elf::EM_X86_64,
                ..
            })
        ));
        let mut e = Elf::new(arch);
        e.elf_type = elf::ET_DYN;
        assert_eq!(
            load(&e.bytes(), arch, 100),
            Err(ImageError::NotExecutable { elf_type: 3 })
        );

        let mut e = Elf::new(arch);
        e.segments.clear();
        assert_eq!(load(&e.bytes(), arch, 100), Err(ImageError::NoSegments));

        let mut e = Elf::new(arch);
        e.segments[1].0 = 0x100; // below USER_START
        assert!(matches!(
            load(&e.bytes(), arch, 100),
            Err(ImageError::OutOfRange { .. })
        ));

        let mut e = Elf::new(arch);
        e.segments[1].0 = u64::MAX - 10; // wraps
        assert!(matches!(
            load(&e.bytes(), arch, 100),
            Err(ImageError::OutOfRange { .. })
        ));

        let mut e = Elf::new(arch);
        e.segments[1].0 = 0x20_0020; // inside the text segment
        assert_eq!(
            load(&e.bytes(), arch, 100),
            Err(ImageError::Overlap { vaddr: 0x20_0020 })
        );

        let mut e = Elf::new(arch);
        e.segments[1].2 = 10; // file data larger than the segment
        assert!(matches!(
            load(&e.bytes(), arch, 100),
            Err(ImageError::BadFileRange { .. })
        ));

        let mut e = Elf::new(arch);
        e.entry = 0x20_1100; // data, not text
        assert_eq!(
            load(&e.bytes(), arch, 100),
            Err(ImageError::BadEntry { entry: 0x20_1100 })
        );

        assert_eq!(
            load(&good.bytes(), arch, 4),
            Err(ImageError::TooLarge { pages: 5, max: 4 })
        );

        // File data pointing past the end of the file.
        let mut bytes = good.bytes();
        let ph1_filesz = 64 + 56 + 32;
        bytes[ph1_filesz..ph1_filesz + 8].copy_from_slice(&0xffff_ffffu64.to_le_bytes());
        bytes[ph1_filesz + 8..ph1_filesz + 16].copy_from_slice(&0xffff_ffffu64.to_le_bytes());
        assert!(load(&bytes, arch, 100).is_err());
    }
}

/// The loader against hostile files: whatever the bytes, `load` and `linux_program` answer
/// without panicking, and an image they accept is laid out inside the user range with every
/// page fillable. `PROPTEST_CASES` sets the count (CI runs the default; see docs/testing.md).
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::tests::Elf;
    use super::*;

    fn check(bytes: &[u8], arch: Arch) {
        let _ = linux_program(bytes, false);
        let _ = linux_program(bytes, true);
        if let Ok(layout) = load(bytes, arch, 64) {
            assert!(layout.span.start >= page_floor(USER_START) && layout.span.end <= USER_END);
            assert!(layout.span.end - layout.span.start <= 64 * PAGE_SIZE);
            let mut page = [0u8; PAGE_SIZE as usize];
            for (at, _) in layout.pages() {
                layout.fill_page(bytes, at, &mut page);
                let _ = layout.page_has_data(at);
            }
            for s in &layout.segments {
                assert!(layout.span.start <= s.vaddr && s.vaddr + s.mem_size <= layout.span.end);
            }
        }
    }

    fn arch() -> impl Strategy<Value = Arch> {
        prop_oneof![Just(Arch::Aarch64), Just(Arch::X86_64)]
    }

    /// Values near the edges that break sums and ranges.
    fn word() -> impl Strategy<Value = u64> {
        prop_oneof![
            any::<u64>(),
            0..0x40_0000u64,
            Just(u64::MAX),
            Just(1 << 63),
            Just(USER_END),
            Just(USER_END - PAGE_SIZE),
            (0..64u64).prop_map(|k| u64::MAX - k),
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_are_refused_or_loaded_never_a_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            arch in arch(),
        ) {
            check(&bytes, arch);
        }

        #[test]
        fn a_good_image_mutated_anywhere_is_refused_or_loaded_never_a_panic(
            arch in arch(),
            flips in proptest::collection::vec((0usize..400, any::<u8>()), 0..8),
            cut in proptest::option::of(0usize..400),
        ) {
            let mut bytes = Elf::new(arch).bytes();
            for (at, b) in flips {
                if let Some(x) = bytes.get_mut(at) {
                    *x = b;
                }
            }
            if let Some(cut) = cut {
                bytes.truncate(cut);
            }
            check(&bytes, arch);
        }

        #[test]
        fn absurd_segments_and_entries_are_refused_or_loaded_never_a_panic(
            arch in arch(),
            entry in word(),
            segments in proptest::collection::vec(
                (word(), 0usize..64, word(), any::<u32>()), 0..20),
        ) {
            let mut elf = Elf::new(arch);
            elf.entry = entry;
            elf.segments = segments
                .into_iter()
                .map(|(vaddr, len, mem, flags)| (vaddr, vec![0x5a; len], mem, flags & 7))
                .collect();
            check(&elf.bytes(), arch);
        }
    }
}
