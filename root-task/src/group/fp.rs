//! FP/SIMD capture on seL4: the group's replicas as the capture's [`Threads`] (the decisions
//! are `romain_group::capture`'s).

use romain_core::fp;
use romain_core::regs::RegisterFile;
use romain_core::summary::Status;
use romain_group::Stop;
use romain_group::capture::Threads;

use super::OrStop;
use super::access::page_of;
use crate::replica::Replica;

/// The replicas, one seL4 invocation per method.
pub(super) struct Replicas<'r>(pub &'r [Replica]);

impl Threads for Replicas<'_> {
    fn registers(&mut self, k: usize) -> Result<RegisterFile, Stop> {
        self.0[k].registers().or_stop()
    }

    fn set_registers(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop> {
        self.0[k].set_registers(regs).or_stop()
    }

    fn restart_at(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop> {
        self.0[k].restart_at(regs).or_stop()
    }

    fn forget_reply(&mut self, k: usize) {
        self.0[k].forget_reply();
    }

    fn reply(&mut self, k: usize, words: &[u64]) {
        self.0[k].reply(super::machine::message(words));
    }

    fn stop(&mut self, k: usize) -> Result<(), Stop> {
        self.0[k].stop().or_stop()
    }

    fn area(&mut self, k: usize) -> Result<&mut [u8], Stop> {
        let (_, frame) = page_of(&self.0[k], fp::AREA_VA)
            .ok_or_else(|| Stop::new(Status::MasterError, "FP/SIMD area missing"))?;
        // SAFETY: the area page is touched only here, and the borrow of `self` bounds this one.
        Ok(unsafe { &mut frame.bytes()[..fp::area_len(crate::arch::ARCH)] })
    }
}
