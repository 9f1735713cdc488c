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

/// A sleep until a core deadline. A deadline that moves later (the keepalive deadline moves with every
/// message received) keeps the sleep already armed: it wakes up early once and is armed again for the
/// real deadline then, instead of a new sleep (an allocation and a timer-wheel entry) per message. A
/// deadline that moves earlier arms a new sleep at once.
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
        loop {
            match &mut self.sleep {
                Some((at, sleep)) if *at <= deadline => {
                    let at = *at;
                    std::task::ready!(sleep.as_mut().poll(cx));
                    self.sleep = None;
                    if at == deadline {
                        return std::task::Poll::Ready(());
                    }
                    // Woke up before the deadline, which moved later: armed again below.
                }
                _ => {
                    let sleep = timer.sleep_until(Clock::start().to_std(deadline));
                    self.sleep = Some((deadline, Box::pin(sleep)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};
    use std::time::Duration;

    /// A timer on a hand-moved clock that records every sleep it makes.
    #[derive(Clone, Default)]
    struct FakeTimer {
        made: Arc<Mutex<Vec<StdInstant>>>,
        now: Arc<Mutex<Option<StdInstant>>>,
    }

    struct FakeSleep {
        at: StdInstant,
        now: Arc<Mutex<Option<StdInstant>>>,
    }

    impl Future for FakeSleep {
        type Output = ();
        fn poll(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            match *self.now.lock().unwrap() {
                Some(now) if now >= self.at => Poll::Ready(()),
                _ => Poll::Pending,
            }
        }
    }

    impl Timer for FakeTimer {
        type Sleep = FakeSleep;
        fn sleep_until(&self, deadline: StdInstant) -> FakeSleep {
            self.made.lock().unwrap().push(deadline);
            FakeSleep {
                at: deadline,
                now: self.now.clone(),
            }
        }
    }

    #[test]
    fn a_later_deadline_keeps_the_armed_sleep_and_an_earlier_one_replaces_it() {
        let timer = FakeTimer::default();
        let clock = Clock::start();
        let base = clock.now();
        let at = |ms: u64| Some(base + Duration::from_millis(ms));
        let mut alarm = Alarm::<FakeTimer>::default();
        let mut cx = Context::from_waker(Waker::noop());
        let made = || timer.made.lock().unwrap().len();
        let mut poll = |deadline| alarm.poll(&timer, deadline, &mut cx);

        assert!(poll(at(1_000)).is_pending());
        assert!(poll(at(2_000)).is_pending());
        assert!(poll(at(3_000)).is_pending());
        assert_eq!(made(), 1, "a deadline moving later made a new sleep");

        // The armed sleep comes due before the deadline: armed again, for the deadline itself.
        *timer.now.lock().unwrap() = Some(clock.to_std(base + Duration::from_millis(1_000)));
        assert!(poll(at(3_000)).is_pending());
        assert_eq!(made(), 2);
        assert_eq!(
            timer.made.lock().unwrap()[1],
            clock.to_std(at(3_000).unwrap())
        );

        // An earlier deadline cannot wait for the armed sleep.
        assert!(poll(at(2_500)).is_pending());
        assert_eq!(made(), 3);
        *timer.now.lock().unwrap() = Some(clock.to_std(base + Duration::from_millis(2_500)));
        assert!(poll(at(2_500)).is_ready());
        assert!(poll(None).is_pending());
    }
}
