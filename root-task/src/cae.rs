//! Copy & execute, the seL4 side: the shared region's frames, and the executor sandbox
//! ([`crate::sandbox`]) as `romain_cae::execute` runs accesses in it. Every decision (what may
//! run, the region check, string chunks, the registers every replica continues with) is
//! `romain_cae::execute`'s, host-tested on both architectures.

use romain_cae::execute::{self, Refused};
use romain_core::regs::RegisterFile;

use crate::objects::Frame;
use crate::sandbox::{BOUNCE_VA, Failed, Sandbox};
use crate::timer::Timer;

pub(crate) use romain_cae::execute::Private;

impl From<Failed> for Refused {
    fn from(Failed(why): Failed) -> Self {
        Refused(why)
    }
}

/// The sandbox test's mode (`CAE_LAX=1`): no range check, and every register change is one the
/// decoder did not announce, as if the decoder had accepted what it should not have.
pub(crate) const LAX: bool = crate::embedded::CAE_LAX;

/// The shared region of a group: its frames (consecutive in the master's view) and where
/// replicas see it.
pub(crate) struct Region {
    pub base: u64,
    pub frames: alloc::vec::Vec<Frame>,
}

impl Region {
    pub(crate) fn len(&self) -> u64 {
        self.frames.len() as u64 * romain_image::PAGE_SIZE
    }

    /// The region as copy & execute plans with it.
    pub(crate) fn plan(&self) -> execute::Region {
        execute::Region {
            arch: crate::arch::ARCH,
            span: self.base..self.base + self.len(),
            lax: LAX,
        }
    }
}

/// The sandbox for one access, with the master's timer (it bounds the run).
pub(crate) struct Exec<'a> {
    pub sandbox: &'a mut Sandbox,
    pub timer: Option<&'a mut Timer>,
}

impl execute::Sandbox for Exec<'_> {
    fn run(&mut self, code: &[u8], regs: &RegisterFile) -> Result<RegisterFile, Refused> {
        Ok(self.sandbox.run(code, regs, self.timer.as_deref_mut())?)
    }

    fn bounce(&mut self) -> &mut [u8] {
        self.sandbox.bounce()
    }

    fn bounce_va(&self) -> u64 {
        BOUNCE_VA
    }
}
