//! The console: the master drives the serial device itself, and nothing else can write to it.
//!
//! The kernel is a production build without `seL4_DebugPutChar`, so no replica can print past
//! the master. The device frame (or, on x86_64, the I/O ports) is a capability only the master
//! holds:
//! - QEMU `virt`: the PL011 at 0x0900_0000 (rust-sel4's `sel4-pl011-driver`);
//! - Raspberry Pi 4: the mini-UART in the AUX block at 0xfe21_5000
//!   (`sel4-bcm2835-aux-uart-driver`);
//! - pc99: COM1, a 16550 at I/O ports 0x3f8–0x3ff (no rust-sel4 driver exists for it).
//!
//! Until [`init`] ran, bytes are dropped. The master's log, its summaries and the programs'
//! agreed output all come through [`put_bytes`] (the master's: [`put_char`], which rust-sel4's
//! panic printing uses too) and [`put_program_bytes`] (a program's, escaped by
//! `romain_records::Escaper`).
//!
//! Every console line is one writer's: the master's text never continues a program's unfinished
//! line, nor the other way round, each starts a line of its own (a newline comes first). So a
//! master log line or record that was not preceded by the group's `end_line` still starts its
//! line, and a program whose line the master so ended sees it ([`program_line_open`]) and escapes
//! what it writes next as a line's start.

use core::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use crate::objects::{AllocError, Objects};

/// The device's address in the master (aarch64) or the I/O port capability (x86_64); 0: none.
static DEVICE: AtomicU64 = AtomicU64::new(0);

sel4_panicking_env::register_debug_put_char!(put_char);

/// Makes the serial device the master's console.
pub(crate) fn init(objects: &mut Objects, bootinfo: &sel4::BootInfo) -> Result<(), AllocError> {
    #[cfg(target_arch = "aarch64")]
    {
        let addr = objects.persistent_device_frame(bootinfo, uart::FRAME)?;
        let base = addr + uart::OFFSET;
        // SAFETY: `base` is the device's register block, mapped uncached for the master only.
        let _ = unsafe { uart::Driver::new(base as *mut ()) };
        DEVICE.store(base as u64, Ordering::Release);
    }
    #[cfg(target_arch = "x86_64")]
    {
        let _ = bootinfo;
        let port = objects.persistent_io_ports(com1::BASE, com1::BASE + 7)?;
        com1::init(port);
        DEVICE.store(port, Ordering::Release);
    }
    // The firmware's last line may still be open (SeaBIOS's "Booting from ROM..").
    put_char(b'\n');
    Ok(())
}

/// Who wrote the console's unfinished line: [`NOBODY`] when the line is empty.
static OPEN_LINE: AtomicU8 = AtomicU8::new(NOBODY);
const NOBODY: u8 = 0;
const MASTER: u8 = 1;
const PROGRAM: u8 = 2;
const COMPANION: u8 = 3;

/// Writes one byte of the master's to the console (dropped before [`init`]).
pub(crate) fn put_char(byte: u8) {
    put_bytes(&[byte]);
}

/// Writes the master's bytes to the console, each line ending in CR LF (dropped before
/// [`init`]).
pub(crate) fn put_bytes(bytes: &[u8]) {
    put(MASTER, bytes);
}

/// Writes a program's bytes (escaped) to the console.
pub(crate) fn put_program_bytes(bytes: &[u8]) {
    put(PROGRAM, bytes);
}

/// Writes a companion's bytes (escaped like a program's, by its own escaper) to the console.
pub(crate) fn put_companion_bytes(bytes: &[u8]) {
    put(COMPANION, bytes);
}

/// Whether the console's last line is a program's, unfinished: what the program writes next
/// continues it (otherwise it starts a line).
pub(crate) fn program_line_open() -> bool {
    OPEN_LINE.load(Ordering::Relaxed) == PROGRAM
}

/// The same for the companion's output.
pub(crate) fn companion_line_open() -> bool {
    OPEN_LINE.load(Ordering::Relaxed) == COMPANION
}

fn put(writer: u8, bytes: &[u8]) {
    let Some(&last) = bytes.last() else {
        return;
    };
    let open = OPEN_LINE.load(Ordering::Relaxed);
    if open != NOBODY && open != writer {
        // The other writer's line is unfinished: this one starts its own.
        put_raw(b"\n");
    }
    put_raw(bytes);
    OPEN_LINE.store(
        if last == b'\n' { NOBODY } else { writer },
        Ordering::Relaxed,
    );
}

fn put_raw(bytes: &[u8]) {
    let device = DEVICE.load(Ordering::Acquire);
    if device != 0 {
        // Console output costs invocations per byte on x86_64 (COM1's I/O ports), not per event.
        crate::count::during(crate::count::Activity::Console, || write(device, bytes));
    }
}

/// The bytes with a CR before each LF.
fn with_crlf(bytes: &[u8]) -> impl Iterator<Item = u8> + '_ {
    bytes
        .iter()
        .flat_map(|&b| [b'\r', b].into_iter().skip(usize::from(b != b'\n')))
}

#[cfg(target_arch = "aarch64")]
fn write(device: u64, bytes: &[u8]) {
    use embedded_hal_nb::serial::Write;
    // SAFETY: `device` is the register block `init` mapped; the driver keeps no state of its own
    // beyond the pointer, and the master is single-threaded.
    let mut driver = unsafe { uart::Driver::new_uninit(device as *mut ()) };
    for byte in with_crlf(bytes) {
        let _ = embedded_hal_nb::nb::block!(driver.write(byte));
    }
}

#[cfg(target_arch = "x86_64")]
fn write(device: u64, bytes: &[u8]) {
    com1::write(device, with_crlf(bytes));
}

#[cfg(target_arch = "aarch64")]
mod uart {
    sel4::sel4_cfg_if! {
        if #[sel4_cfg(PLAT_BCM2711)] {
            pub(super) use sel4_bcm2835_aux_uart_driver::Driver;
            /// The AUX block's page; the mini-UART's registers start in it.
            pub(super) const FRAME: usize = 0xfe21_5000;
            pub(super) const OFFSET: usize = 0;
        } else {
            pub(super) use sel4_pl011_driver::Driver;
            pub(super) const FRAME: usize = 0x0900_0000;
            pub(super) const OFFSET: usize = 0;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod com1 {
    pub(super) const BASE: u16 = 0x3f8;
    const DATA: u16 = BASE;
    const IER: u16 = BASE + 1;
    const FCR: u16 = BASE + 2;
    const LCR: u16 = BASE + 3;
    const MCR: u16 = BASE + 4;
    const LSR: u16 = BASE + 5;
    /// Line status: the transmit holding register is empty.
    const THR_EMPTY: u8 = 0x20;

    /// `port`: the I/O port capability's slot.
    fn out8(port: u64, reg: u16, value: u8) {
        crate::count::note(crate::count::Kind::Other);
        sel4::with_ipc_buffer_mut(|ipc| {
            ipc.inner_mut()
                .seL4_X86_IOPort_Out8(port, reg.into(), value.into())
        });
    }

    fn in8(port: u64, reg: u16) -> Option<u8> {
        crate::count::note(crate::count::Kind::Other);
        sel4::with_ipc_buffer_mut(|ipc| {
            let ret = ipc.inner_mut().seL4_X86_IOPort_In8(port, reg);
            (ret.error == 0).then_some(ret.result)
        })
    }

    /// 115200 baud, 8N1, FIFOs on, no interrupts.
    pub(super) fn init(port: u64) {
        out8(port, IER, 0);
        out8(port, LCR, 0x80);
        out8(port, DATA, 1);
        out8(port, IER, 0);
        out8(port, LCR, 0x03);
        out8(port, FCR, 0xc7);
        out8(port, MCR, 0x03);
    }

    /// Waits (boundedly: a missing device must not stop the master) until the transmitter's
    /// FIFO is empty.
    fn wait_empty(port: u64) {
        for _ in 0..100_000 {
            match in8(port, LSR) {
                Some(status) if status & THR_EMPTY == 0 => continue,
                _ => break,
            }
        }
    }

    /// The 16550's transmit FIFO holds 16 bytes: one status read per 16 bytes written (every
    /// port access is a system call).
    pub(super) fn write(port: u64, bytes: impl Iterator<Item = u8>) {
        let mut room = 0;
        for byte in bytes {
            if room == 0 {
                wait_empty(port);
                room = 16;
            }
            out8(port, DATA, byte);
            room -= 1;
        }
    }
}
