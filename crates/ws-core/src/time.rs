//! Time as the core sees it: a point on a clock the caller owns.
//!
//! The core never reads a clock. Every adapter keeps an epoch (for example a `std::time::Instant` taken when
//! the connection starts) and passes [`Instant`]s measured from it; tests pass any values they like, which is
//! how keepalive and timeouts are tested in microseconds without sleeping.

use core::ops::Add;
use core::time::Duration;

/// A point in time: the time elapsed since an epoch chosen by the caller.
///
/// ```
/// use core::time::Duration;
/// use ws_core::Instant;
/// let t = Instant::ZERO + Duration::from_secs(5);
/// assert_eq!(t.since_epoch(), Duration::from_secs(5));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// The epoch itself.
    pub const ZERO: Instant = Instant(Duration::ZERO);

    /// The instant `elapsed` after the epoch.
    pub const fn from_since_epoch(elapsed: Duration) -> Self {
        Instant(elapsed)
    }

    /// The time elapsed from the epoch to this instant.
    pub const fn since_epoch(self) -> Duration {
        self.0
    }

    /// The time from `earlier` to `self`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(rhs))
    }
}
