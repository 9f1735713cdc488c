//! The clock every adapter reads: the process clock as the core's [`ws_core::Instant`].

use std::sync::OnceLock;
use std::time::Instant as StdInstant;

/// Converts between the process clock and the core's [`ws_core::Instant`] (time since the epoch every
/// clock of the process shares: the first start of one). A connection's clock takes no room.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    _shared: (),
}

/// The epoch of every [`Clock`].
static EPOCH: OnceLock<StdInstant> = OnceLock::new();

impl Clock {
    /// A clock (setting the process's epoch, if it is the first).
    pub fn start() -> Self {
        EPOCH.get_or_init(StdInstant::now);
        Clock { _shared: () }
    }

    fn epoch(&self) -> StdInstant {
        *EPOCH.get_or_init(StdInstant::now)
    }

    /// The current time for the core.
    pub fn now(&self) -> ws_core::Instant {
        ws_core::Instant::from_since_epoch(self.epoch().elapsed())
    }

    /// The process-clock time of a core instant.
    pub fn to_std(&self, instant: ws_core::Instant) -> StdInstant {
        self.epoch() + instant.since_epoch()
    }
}
