//! Prints the declarative call table, one `arch name` line per call the personality performs
//! (the `syscalls` crate's names): what `scripts/corpus-calls.sh` compares a program's calls with.

use romain_core::regs::Arch;
use romain_linux::table::{LinuxCall, name};

fn main() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        for call in LinuxCall::ALL {
            if let Some(n) = call.number(arch).and_then(|nr| name(arch, nr)) {
                println!("{} {n}", arch.name());
            }
        }
    }
}
