//! FP/SIMD capture on seL4: the group's replicas as the capture's [`Threads`], one invocation
//! per method (the decisions are `romain_protocol::capture`'s, and `romain_protocol::captured` wraps
//! the shell's effects in them).

use romain_core::fp;
use romain_core::regs::RegisterFile;
use romain_core::summary::Status;
use romain_protocol::Stop;
use romain_protocol::capture::Threads;

use super::OrStop;
use super::access::page_of;
use super::machine::Machine;

impl Threads for Machine<'_, '_> {
    fn registers(&mut self, k: usize) -> Result<RegisterFile, Stop> {
        self.replicas[k].registers().or_stop()
    }

    fn set_registers(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop> {
        self.replicas[k].set_registers(regs).or_stop()
    }

    fn restart_at(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop> {
        self.replicas[k].restart_at(regs).or_stop()
    }

    fn forget_reply(&mut self, k: usize) {
        self.replicas[k].forget_reply();
    }

    fn reply(&mut self, k: usize, words: &[u64]) {
        self.replicas[k].reply(super::machine::message(words));
    }

    fn stop(&mut self, k: usize) -> Result<(), Stop> {
        self.replicas[k].stop().or_stop()
    }

    fn area(&mut self, k: usize) -> Result<&mut [u8], Stop> {
        let (_, frame) = page_of(&self.replicas[k], fp::AREA_VA)
            .ok_or_else(|| Stop::new(Status::MasterError, "FP/SIMD area missing"))?;
        // SAFETY: the area page is touched only here, and the borrow of `self` bounds this one.
        Ok(unsafe { &mut frame.bytes()[..fp::area_len(crate::arch::ARCH)] })
    }
}
