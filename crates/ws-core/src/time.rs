//! Time as the core sees it: a point on a clock the caller owns.
//!
//! The core never reads a clock. The caller picks an epoch and passes [`Instant`]s measured from it: in the
//! adapters every `ws_async::Clock` shares the process's epoch (set by the first one started), so a
//! connection's clock takes no room; tests pass any values they like, which is how keepalive and timeouts are
//! tested in microseconds without sleeping. An [`Instant`] is nanoseconds since the epoch in one word
//! (`NonZeroU64`).

use core::num::NonZeroU64;
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
///
/// Kept as whole nanoseconds (up to about 584 years after the epoch; later instants saturate there) in
/// one word, so that an optional deadline takes one word too: a connection keeps five of them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(NonZeroU64);

impl Instant {
    /// The epoch itself.
    pub const ZERO: Instant = Instant(NonZeroU64::MIN);

    /// The instant `elapsed` after the epoch.
    pub const fn from_since_epoch(elapsed: Duration) -> Self {
        Instant::from_nanos(saturating_nanos(elapsed))
    }

    /// The time elapsed from the epoch to this instant.
    pub const fn since_epoch(self) -> Duration {
        Duration::from_nanos(self.nanos())
    }

    /// The time from `earlier` to `self`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.nanos().saturating_sub(earlier.nanos()))
    }

    /// Nanoseconds since the epoch (stored plus one, so that `Option<Instant>` needs no extra word).
    const fn nanos(self) -> u64 {
        self.0.get() - 1
    }

    const fn from_nanos(nanos: u64) -> Self {
        match NonZeroU64::new(nanos.saturating_add(1)) {
            Some(n) => Instant(n),
            None => Instant::ZERO,
        }
    }
}

impl Default for Instant {
    fn default() -> Self {
        Instant::ZERO
    }
}

impl core::fmt::Debug for Instant {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("Instant").field(&self.since_epoch()).finish()
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        Instant::from_nanos(self.nanos().saturating_add(saturating_nanos(rhs)))
    }
}

/// `duration` in nanoseconds, saturating at `u64::MAX`.
const fn saturating_nanos(duration: Duration) -> u64 {
    let nanos = duration.as_nanos();
    if nanos > u64::MAX as u128 {
        u64::MAX
    } else {
        nanos as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_optional_instant_takes_one_word() {
        assert_eq!(core::mem::size_of::<Option<Instant>>(), 8);
    }

    #[test]
    fn arithmetic_and_order_round_trip_and_saturate() {
        let t = Instant::ZERO + Duration::from_millis(1500);
        assert_eq!(t.since_epoch(), Duration::from_millis(1500));
        assert_eq!(
            Instant::from_since_epoch(Duration::from_nanos(7)).since_epoch(),
            Duration::from_nanos(7)
        );
        assert!(Instant::ZERO < t && t < t + Duration::from_nanos(1));
        assert_eq!(
            t.saturating_duration_since(Instant::ZERO),
            Duration::from_millis(1500)
        );
        assert_eq!(Instant::ZERO.saturating_duration_since(t), Duration::ZERO);
        let far = Instant::from_since_epoch(Duration::MAX);
        assert_eq!(far + Duration::from_secs(1), far);
        assert!(far > t);
        assert_eq!(Instant::default(), Instant::ZERO);
    }
}
