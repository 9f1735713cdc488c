//! The runtime seam: how the engine sleeps until the core's next deadline (the clock it reads is
//! [`Clock`], shared with the blocking adapter).

use std::future::Future;
use std::task::{Context, Poll, Waker};
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
    /// The waker the pending sleep was last polled with: it wakes that task at the deadline, so a
    /// poll by the same task before the deadline need not poll the sleep again.
    waker: Option<Waker>,
}

impl<R: Timer> Default for Alarm<R> {
    fn default() -> Self {
        Alarm {
            sleep: None,
            waker: None,
        }
    }
}

impl<R: Timer> Alarm<R> {
    /// Polls the sleep until `deadline`. Ready once it has passed; pending forever without one.
    ///
    /// With `now` (the time the caller has just read), a poll before the deadline by the task the
    /// sleep already holds the waker of returns `Pending` without polling the sleep: the sleep wakes
    /// the task at the deadline, and the clock read then is past it. (Polling a runtime's sleep
    /// registers the waker again each time: ~5% of the user CPU of a small-message echo.)
    pub(crate) fn poll(
        &mut self,
        timer: &R,
        deadline: Option<ws_core::Instant>,
        now: Option<ws_core::Instant>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let Some(deadline) = deadline else {
            self.sleep = None;
            self.waker = None;
            return Poll::Pending;
        };
        if self.sleep.as_ref().is_none_or(|(at, _)| *at != deadline) {
            let sleep = timer.sleep_until(Clock::start().to_std(deadline));
            self.sleep = Some((deadline, Box::pin(sleep)));
            self.waker = None;
        }
        let registered = self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
        if registered && now.is_some_and(|now| now < deadline) {
            return Poll::Pending;
        }
        let (_, sleep) = self.sleep.as_mut().expect("sleep was just set");
        if sleep.as_mut().poll(cx).is_pending() {
            if !registered {
                self.waker = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        self.sleep = None;
        self.waker = None;
        Poll::Ready(())
    }
}
