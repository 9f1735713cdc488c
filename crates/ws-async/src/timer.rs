//! The runtime seam: how the engine sleeps until the core's next deadline (the clock it reads is
//! [`Clock`], shared with the blocking adapter).

use std::future::Future;
use std::time::Instant as StdInstant;

use ws_adapter::Clock;

/// A runtime's timer. Adapters implement it in a few lines (`tokio::time::sleep_until`,
/// `async_io::Timer::at`).
pub trait Timer: Clone + Send + Sync + Unpin + 'static {
    /// The future a sleep returns.
    type Sleep: Future<Output = ()> + Send;
    /// A future that completes at `deadline`.
    fn sleep_until(&self, deadline: StdInstant) -> Self::Sleep;
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
