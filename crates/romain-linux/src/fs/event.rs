//! eventfd counters and epoll instances, as a descriptor's node. Both live while a descriptor
//! refers to them. An epoll instance keeps its interest list by descriptor number (a closed
//! descriptor leaves every list, as its last close does on Linux) and reports readiness level by
//! level (EPOLLET is taken as level-triggered: nothing here changes while the program does not
//! run, so an edge is never missed, only reported again); EPOLLONESHOT disarms an entry once it
//! was reported.

use alloc::collections::BTreeMap;

use syscalls::Errno;

use super::{FileSystem, Node, Open};

/// The most an eventfd counter holds.
pub const EVENTFD_MAX: u64 = u64::MAX - 1;

/// EPOLLONESHOT.
const ONESHOT: u32 = 1 << 30;

/// One descriptor an epoll instance watches: the events asked for and the program's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interest {
    pub events: u32,
    pub data: u64,
}

/// An epoll instance's interest list, by descriptor.
pub type Interests = BTreeMap<u64, Interest>;

impl FileSystem {
    /// eventfd2: a counter starting at `initial`; `semaphore` reads take 1 at a time.
    pub fn eventfd(&mut self, initial: u64, semaphore: bool) -> Result<u64, Errno> {
        let id = self.next_object;
        self.next_object = self.next_object.saturating_add(1);
        self.counters.insert(id, (initial, semaphore));
        let open = Open::new(Node::EventFd(id), true, true);
        let fd = self.install(open, 0);
        if fd.is_err() {
            self.counters.remove(&id);
        }
        fd
    }

    /// The counter's value, if `id` is one.
    pub fn counter(&self, id: u64) -> Option<u64> {
        self.counters.get(&id).map(|c| c.0)
    }

    /// A read of the counter: its value (1 in semaphore mode), taken off; EAGAIN at 0 (nothing
    /// else could ever add to it while the program waits).
    pub fn counter_read(&mut self, id: u64) -> Result<u64, Errno> {
        let (value, semaphore) = self.counters.get_mut(&id).ok_or(Errno::EBADF)?;
        if *value == 0 {
            return Err(Errno::EAGAIN);
        }
        let taken = if *semaphore { 1 } else { *value };
        *value -= taken;
        Ok(taken)
    }

    /// A write adds to the counter: EINVAL for u64::MAX, EAGAIN past [`EVENTFD_MAX`].
    pub fn counter_write(&mut self, id: u64, add: u64) -> Result<(), Errno> {
        if add == u64::MAX {
            return Err(Errno::EINVAL);
        }
        let (value, _) = self.counters.get_mut(&id).ok_or(Errno::EBADF)?;
        match value.checked_add(add) {
            Some(v) if v <= EVENTFD_MAX => {
                *value = v;
                Ok(())
            }
            _ => Err(Errno::EAGAIN),
        }
    }

    /// epoll_create1: an empty interest list.
    pub fn epoll(&mut self) -> Result<u64, Errno> {
        let id = self.next_object;
        self.next_object = self.next_object.saturating_add(1);
        self.epolls.insert(id, Interests::new());
        let fd = self.install(Open::new(Node::Epoll(id), true, false), 0);
        if fd.is_err() {
            self.epolls.remove(&id);
        }
        fd
    }

    /// The interest list behind epoll descriptor `epfd` (EBADF: not open; EINVAL: no epoll).
    pub fn interests(&self, epfd: u64) -> Result<&Interests, Errno> {
        match self.fd(epfd)?.node {
            Node::Epoll(id) => self.epolls.get(&id).ok_or(Errno::EBADF),
            _ => Err(Errno::EINVAL),
        }
    }

    /// epoll_ctl: ADD (EEXIST if there), MOD and DEL (ENOENT if not). The watched descriptor
    /// must be open (EBADF), not the instance itself (EINVAL), and pollable: files, directories
    /// and devices are EPERM, as on Linux.
    pub fn epoll_ctl(
        &mut self,
        epfd: u64,
        op: u64,
        fd: u64,
        interest: Option<Interest>,
    ) -> Result<u64, Errno> {
        const ADD: u64 = 1;
        const DEL: u64 = 2;
        const MOD: u64 = 3;
        let Node::Epoll(id) = self.fd(epfd)?.node else {
            return Err(Errno::EINVAL);
        };
        let node = self.fd(fd)?.node;
        if fd == epfd {
            return Err(Errno::EINVAL);
        }
        if matches!(node, Node::File(_) | Node::Dir | Node::Device(_)) {
            return Err(Errno::EPERM);
        }
        let list = self.epolls.get_mut(&id).ok_or(Errno::EBADF)?;
        match (op, interest) {
            (ADD, Some(i)) if !list.contains_key(&fd) => {
                list.insert(fd, i);
                Ok(0)
            }
            (ADD, Some(_)) => Err(Errno::EEXIST),
            (MOD, Some(i)) => match list.get_mut(&fd) {
                Some(e) => {
                    *e = i;
                    Ok(0)
                }
                None => Err(Errno::ENOENT),
            },
            (DEL, _) => list.remove(&fd).map(|_| 0).ok_or(Errno::ENOENT),
            (ADD | MOD, None) => Err(Errno::EFAULT),
            _ => Err(Errno::EINVAL),
        }
    }

    /// After an entry was reported: a one-shot entry is disarmed until the next MOD.
    pub fn epoll_reported(&mut self, epfd: u64, fd: u64) {
        if let Ok(Node::Epoll(id)) = self.fd(epfd).map(|o| o.node)
            && let Some(e) = self.epolls.get_mut(&id).and_then(|l| l.get_mut(&fd))
            && e.events & ONESHOT != 0
        {
            e.events = ONESHOT;
        }
    }

    /// Descriptor `fd` is closed: it leaves every interest list.
    pub(super) fn forget_fd(&mut self, fd: u64) {
        for list in self.epolls.values_mut() {
            list.remove(&fd);
        }
    }
}
