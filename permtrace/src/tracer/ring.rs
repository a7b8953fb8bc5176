//! Reading the event ring buffer without busy-waiting.

use std::os::fd::{AsRawFd, RawFd};

use anyhow::{Context as _, Result};
use aya::maps::{Map, MapData, RingBuf};

pub struct EventRing {
    ring: RingBuf<MapData>,
}

impl EventRing {
    pub(super) fn new(map: Map) -> Result<Self> {
        Ok(Self {
            ring: RingBuf::try_from(map).context("opening the PT_EVENTS ring buffer")?,
        })
    }

    /// Hands every record waiting in the ring to `f`; returns how many there were.
    pub fn drain(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        let mut n = 0;
        while let Some(item) = self.ring.next() {
            f(&item);
            n += 1;
        }
        n
    }
}

impl AsRawFd for EventRing {
    fn as_raw_fd(&self) -> RawFd {
        self.ring.as_raw_fd()
    }
}
