//! The runtime seam: how the engine sleeps until the core's next deadline, and the clock it reads.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Instant as StdInstant;

/// A runtime's timer. Adapters implement it in a few lines (`tokio::time::sleep_until`,
/// `async_io::Timer::at`).
pub trait Timer: Clone + Send + Sync + Unpin + 'static {
    /// The future a sleep returns.
    type Sleep: Future<Output = ()> + Send;
    /// A future that completes at `deadline`.
    fn sleep_until(&self, deadline: StdInstant) -> Self::Sleep;
}

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

/// A sleep until a core deadline, made again when the deadline moves.
pub(crate) struct Alarm<R: Timer> {
    sleep: Option<(ws_core::Instant, std::pin::Pin<Box<R::Sleep>>)>,
}

impl<R: Timer> Default for Alarm<R> {
    fn default() -> Self {
        Alarm { sleep: None }
    }
}

impl<R: Timer> Alarm<R> {
    /// Polls the sleep until `deadline`. Ready once it has passed; pending forever without one.
    pub(crate) fn poll(
        &mut self,
        timer: &R,
        deadline: Option<ws_core::Instant>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        let Some(deadline) = deadline else {
            self.sleep = None;
            return std::task::Poll::Pending;
        };
        if self.sleep.as_ref().is_none_or(|(at, _)| *at != deadline) {
            let sleep = timer.sleep_until(Clock::start().to_std(deadline));
            self.sleep = Some((deadline, Box::pin(sleep)));
        }
        let (_, sleep) = self.sleep.as_mut().expect("sleep was just set");
        std::task::ready!(sleep.as_mut().poll(cx));
        self.sleep = None;
        std::task::Poll::Ready(())
    }
}
