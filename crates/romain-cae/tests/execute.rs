//! Copy & execute's plan on both architectures, against a fake sandbox that runs the few
//! instructions used here on a memory of its own (the region and the bounce page) and a fake
//! replica memory: what runs, the region check, the write-set check, string chunks through the
//! bounce page, and the registers every replica continues with.

use romain_cae::execute::{self, Private, Refused, Region, Sandbox};
use romain_core::regs::{Arch, RegisterFile};

const BASE: u64 = 0x20_0000_0000;
const LEN: u64 = 4 * 4096;
const PRIVATE: u64 = 0x40_0000;
const BOUNCE_VA: u64 = 0x30_0010_0000;
const PC: u64 = 0x1000;

fn region(arch: Arch) -> Region {
    Region {
        arch,
        span: BASE..BASE + LEN,
        lax: false,
    }
}

fn regs(arch: Arch, set: &[(&str, u64)]) -> RegisterFile {
    let mut r = RegisterFile::new(arch, &vec![0; arch.num_registers()]).unwrap();
    r.words_mut()[Arch::PC] = PC;
    for (name, value) in set {
        r.words_mut()[arch.register_index(name).unwrap()] = *value;
    }
    r
}

fn get(r: &RegisterFile, name: &str) -> u64 {
    r.words()[r.arch().register_index(name).unwrap()]
}

/// The sandbox: the region's bytes and the bounce page; runs `mov rax, [rbx]`, `rep movsb` and
/// A64 `ldr x0, [x1]`, or does what `effect` says.
struct Fake {
    arch: Arch,
    region: Vec<u8>,
    bounce: Vec<u8>,
    runs: Vec<Vec<u8>>,
    /// Extra register changes the "instruction" makes (name, value).
    effect: Vec<(&'static str, u64)>,
}

impl Fake {
    fn new(arch: Arch) -> Self {
        Fake {
            arch,
            region: (0..LEN).map(|i| (i * 7) as u8).collect(),
            bounce: vec![0; 4096],
            runs: Vec::new(),
            effect: Vec::new(),
        }
    }

    fn byte(&mut self, addr: u64) -> &mut u8 {
        if (BASE..BASE + LEN).contains(&addr) {
            &mut self.region[(addr - BASE) as usize]
        } else if (BOUNCE_VA..BOUNCE_VA + 4096).contains(&addr) {
            &mut self.bounce[(addr - BOUNCE_VA) as usize]
        } else {
            panic!("the sandbox touched {addr:#x}, outside its pages")
        }
    }

    fn load(&mut self, addr: u64) -> u64 {
        let mut b = [0u8; 8];
        for (i, x) in b.iter_mut().enumerate() {
            *x = *self.byte(addr + i as u64);
        }
        u64::from_le_bytes(b)
    }
}

impl Sandbox for Fake {
    fn run(&mut self, code: &[u8], regs: &RegisterFile) -> Result<RegisterFile, Refused> {
        self.runs.push(code.to_vec());
        let mut out = regs.clone();
        let arch = self.arch;
        let idx = |n: &str| arch.register_index(n).unwrap();
        match code {
            [0x48, 0x8b, 0x03] => {
                let v = self.load(get(regs, "rbx"));
                out.words_mut()[idx("rax")] = v;
            }
            [0xf3, 0xa4] => {
                let (mut si, mut di, n) = (get(regs, "rsi"), get(regs, "rdi"), get(regs, "rcx"));
                for _ in 0..n {
                    let b = *self.byte(si);
                    *self.byte(di) = b;
                    si += 1;
                    di += 1;
                }
                out.words_mut()[idx("rsi")] = si;
                out.words_mut()[idx("rdi")] = di;
                out.words_mut()[idx("rcx")] = 0;
            }
            [0x20, 0x00, 0x40, 0xf9] => {
                let v = self.load(get(regs, "x1"));
                out.words_mut()[idx("x0")] = v;
            }
            _ => {}
        }
        for (name, value) in &self.effect {
            out.words_mut()[idx(name)] = *value;
        }
        // The sandbox's own pc: whatever it is, the plan sets the replicas'.
        out.words_mut()[Arch::PC] = 0xdead;
        Ok(out)
    }

    fn bounce(&mut self) -> &mut [u8] {
        &mut self.bounce
    }

    fn bounce_va(&self) -> u64 {
        BOUNCE_VA
    }
}

/// The replicas' own memory at [`PRIVATE`].
struct Mem(Vec<u8>);

impl Private for Mem {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Refused> {
        let at = addr.checked_sub(PRIVATE).ok_or(Refused("below".into()))? as usize;
        let src = self
            .0
            .get(at..at + buf.len())
            .ok_or(Refused("past".into()))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write(&mut self, addr: u64, bytes: &[u8]) -> Result<(), Refused> {
        let at = (addr - PRIVATE) as usize;
        self.0[at..at + bytes.len()].copy_from_slice(bytes);
        Ok(())
    }
}

/// The instruction bytes at the replicas' pc, padded as the shell reads them.
fn code(bytes: &[u8]) -> [u8; 32] {
    let mut c = [0x90u8; 32];
    c[..bytes.len()].copy_from_slice(bytes);
    c
}

#[test]
fn an_x86_load_runs_once_at_the_replicas_address_and_the_pc_moves_past_it() {
    let mut fake = Fake::new(Arch::X86_64);
    let before = regs(Arch::X86_64, &[("rbx", BASE + 8), ("rcx", 5)]);
    let out = region(Arch::X86_64)
        .execute(
            &mut fake,
            &code(&[0x48, 0x8b, 0x03]),
            &before,
            &mut Mem(vec![]),
        )
        .unwrap();
    assert_eq!(fake.runs, vec![vec![0x48, 0x8b, 0x03]]);
    let want = u64::from_le_bytes(fake.region[8..16].try_into().unwrap());
    assert_eq!(get(&out, "rax"), want);
    assert_eq!(out.pc(), PC + 3);
    assert_eq!(get(&out, "rcx"), 5);
    assert_eq!(get(&out, "rbx"), BASE + 8);
}

#[test]
fn an_access_leaving_the_region_is_refused_before_anything_runs() {
    for (arch, bytes, set) in [
        (
            Arch::X86_64,
            vec![0x48, 0x8b, 0x03],
            ("rbx", BASE + LEN - 4),
        ),
        (Arch::X86_64, vec![0x48, 0x8b, 0x03], ("rbx", BASE - 8)),
        (
            Arch::Aarch64,
            vec![0x20, 0x00, 0x40, 0xf9],
            ("x1", BASE + LEN - 4),
        ),
    ] {
        let mut fake = Fake::new(arch);
        let err = region(arch)
            .execute(
                &mut fake,
                &code(&bytes),
                &regs(arch, &[set]),
                &mut Mem(vec![]),
            )
            .unwrap_err();
        assert!(
            err.0.contains("leaves the shared region"),
            "{arch:?}: {}",
            err.0
        );
        assert!(fake.runs.is_empty());
        // The sandbox test's lax mode checks no range: the sandbox runs it (and contains it).
        let lax = Region {
            lax: true,
            ..region(arch)
        };
        let mut fake = Fake::new(arch);
        fake.effect = vec![]; // a load that reads nothing new
        let r = regs(arch, &[(set.0, BASE + 8)]);
        let _ = lax.execute(&mut fake, &code(&bytes), &r, &mut Mem(vec![]));
        assert_eq!(fake.runs.len(), 1);
    }
}

#[test]
fn a_register_the_decoder_did_not_announce_is_caught_and_named() {
    for (arch, bytes, base, extra) in [
        (Arch::X86_64, vec![0x48, 0x8b, 0x03], "rbx", "rcx"),
        (Arch::Aarch64, vec![0x20, 0x00, 0x40, 0xf9], "x1", "x7"),
    ] {
        let mut fake = Fake::new(arch);
        fake.effect = vec![(extra, 0x77)];
        let err = region(arch)
            .execute(
                &mut fake,
                &code(&bytes),
                &regs(arch, &[(base, BASE)]),
                &mut Mem(vec![]),
            )
            .unwrap_err();
        assert_eq!(
            err.0,
            format!("the instruction changed {extra} (0x0 to 0x77), which it does not write")
        );
        // In the lax mode even the loaded register is unannounced.
        let lax = Region {
            lax: true,
            ..region(arch)
        };
        let mut fake = Fake::new(arch);
        let err = lax
            .execute(
                &mut fake,
                &code(&bytes),
                &regs(arch, &[(base, BASE + 8)]),
                &mut Mem(vec![]),
            )
            .unwrap_err();
        assert!(err.0.contains("which it does not write"), "{}", err.0);
    }
}

#[test]
fn flags_no_instruction_controls_may_change_the_arithmetic_ones_may_not() {
    let mut fake = Fake::new(Arch::X86_64);
    // Interrupts enabled (bit 9): the kernel's, not the instruction's.
    fake.effect = vec![("rflags", 0x202)];
    let r = regs(Arch::X86_64, &[("rbx", BASE), ("rflags", 0x2)]);
    let mov = code(&[0x48, 0x8b, 0x03]);
    assert!(
        region(Arch::X86_64)
            .execute(&mut fake, &mov, &r, &mut Mem(vec![]))
            .is_ok()
    );
    // The carry flag: a mov does not write it.
    let mut fake = Fake::new(Arch::X86_64);
    fake.effect = vec![("rflags", 0x3)];
    let err = region(Arch::X86_64)
        .execute(&mut fake, &mov, &r, &mut Mem(vec![]))
        .unwrap_err();
    assert!(err.0.contains("rflags"), "{}", err.0);
}

/// Runs `rep movsb` from the replicas' registers until the replicas' pc moves past it, as the
/// replicas would (each chunk a fault of its own); the registers at the end and the chunks.
fn rep_movsb(fake: &mut Fake, mem: &mut Mem, mut r: RegisterFile) -> (RegisterFile, usize) {
    let mut chunks = 0;
    while r.pc() == PC {
        r = region(Arch::X86_64)
            .execute(fake, &code(&[0xf3, 0xa4]), &r, mem)
            .unwrap();
        chunks += 1;
        assert!(chunks < 100);
    }
    (r, chunks)
}

#[test]
fn a_string_copy_into_the_region_goes_through_the_bounce_page_a_page_at_a_time() {
    let n = 10_000u64;
    let data: Vec<u8> = (0..n).map(|i| (i * 13 + 1) as u8).collect();
    let mut mem = Mem(data.clone());
    let mut fake = Fake::new(Arch::X86_64);
    let start = regs(
        Arch::X86_64,
        &[
            ("rsi", PRIVATE),
            ("rdi", BASE + 100),
            ("rcx", n),
            ("rflags", 2),
        ],
    );
    // What leaves the sphere of replication: the first chunk's private bytes.
    assert_eq!(
        region(Arch::X86_64).private_source(&code(&[0xf3, 0xa4]), &start),
        Some(PRIVATE..PRIVATE + 4096)
    );
    let (end, chunks) = rep_movsb(&mut fake, &mut mem, start);
    assert_eq!(chunks, 3, "4096 + 4096 + 1808 bytes");
    assert_eq!(&fake.region[100..100 + n as usize], &data[..]);
    assert_eq!(get(&end, "rsi"), PRIVATE + n);
    assert_eq!(get(&end, "rdi"), BASE + 100 + n);
    assert_eq!(get(&end, "rcx"), 0);
    assert_eq!(end.pc(), PC + 2);
}

#[test]
fn a_string_copy_out_of_the_region_writes_every_replica_and_moves_no_private_source() {
    let n = 5000u64;
    let mut mem = Mem(vec![0; n as usize]);
    let mut fake = Fake::new(Arch::X86_64);
    let start = regs(
        Arch::X86_64,
        &[
            ("rsi", BASE + 3),
            ("rdi", PRIVATE),
            ("rcx", n),
            ("rflags", 2),
        ],
    );
    assert_eq!(
        region(Arch::X86_64).private_source(&code(&[0xf3, 0xa4]), &start),
        None
    );
    let want = fake.region[3..3 + n as usize].to_vec();
    let (end, chunks) = rep_movsb(&mut fake, &mut mem, start);
    assert_eq!(chunks, 2);
    assert_eq!(mem.0, want);
    assert_eq!(get(&end, "rdi"), PRIVATE + n);
}

#[test]
fn string_instructions_with_no_operand_in_the_region_or_straddling_its_edge_are_refused() {
    let mut fake = Fake::new(Arch::X86_64);
    let both_private = regs(
        Arch::X86_64,
        &[("rsi", PRIVATE), ("rdi", PRIVATE + 64), ("rcx", 8)],
    );
    let err = region(Arch::X86_64)
        .execute(
            &mut fake,
            &code(&[0xf3, 0xa4]),
            &both_private,
            &mut Mem(vec![0; 128]),
        )
        .unwrap_err();
    assert!(err.0.contains("no operand in the region"), "{}", err.0);
    // movsq with its destination's element across the region's end.
    let straddle = regs(
        Arch::X86_64,
        &[("rsi", PRIVATE), ("rdi", BASE + LEN - 4), ("rcx", 1)],
    );
    let err = region(Arch::X86_64)
        .execute(
            &mut fake,
            &code(&[0xf3, 0x48, 0xa5]),
            &straddle,
            &mut Mem(vec![0; 64]),
        )
        .unwrap_err();
    assert!(err.0.contains("straddles the region's edge"), "{}", err.0);
    assert!(fake.runs.is_empty());
}

#[test]
fn an_a64_load_lands_in_the_register_files_own_slot_for_its_register() {
    let mut fake = Fake::new(Arch::Aarch64);
    let before = regs(Arch::Aarch64, &[("x1", BASE + 16), ("x30", 9)]);
    let out = region(Arch::Aarch64)
        .execute(
            &mut fake,
            &code(&[0x20, 0x00, 0x40, 0xf9]),
            &before,
            &mut Mem(vec![]),
        )
        .unwrap();
    let want = u64::from_le_bytes(fake.region[16..24].try_into().unwrap());
    assert_eq!(get(&out, "x0"), want);
    assert_eq!(get(&out, "x30"), 9);
    assert_eq!(out.pc(), PC + 4);
    assert_eq!(
        region(Arch::Aarch64).private_source(&code(&[0x20, 0x00, 0x40, 0xf9]), &before),
        None
    );
}

#[test]
fn the_result_register_is_named_by_its_register_file_index() {
    // add rax, rbx; mov r9d, ecx (zero-extended: all 64 bits written); a store writes none.
    let x = Arch::X86_64;
    assert_eq!(
        execute::result_register(x, &code(&[0x48, 0x01, 0xd8])),
        Some((x.register_index("rax").unwrap(), 64, 3))
    );
    assert_eq!(
        execute::result_register(x, &code(&[0x41, 0x89, 0xc9])),
        Some((x.register_index("r9").unwrap(), 64, 3))
    );
    assert_eq!(
        execute::result_register(x, &code(&[0x48, 0x89, 0x03])),
        None
    );
    // add x3, x4, x5; add sp, sp, #16 (sp is the register file's own slot); a branch: none.
    let a = Arch::Aarch64;
    assert_eq!(
        execute::result_register(a, &0x8b05_0083u32.to_le_bytes()),
        Some((a.register_index("x3").unwrap(), 64, 4))
    );
    assert_eq!(
        execute::result_register(a, &0x9100_43ffu32.to_le_bytes()),
        Some((a.register_index("sp").unwrap(), 64, 4))
    );
    assert_eq!(
        execute::result_register(a, &0x1400_0001u32.to_le_bytes()),
        None
    );
    // Too few bytes is no register, not a panic.
    assert_eq!(execute::result_register(x, &[0x48]), None);
}
