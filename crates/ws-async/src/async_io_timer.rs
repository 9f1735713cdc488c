//! A [`Timer`] on `async-io`, the reactor under smol and async-std.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::timer::Timer;

/// async-io's timer (used by smol and async-std), for the core's deadlines.
#[derive(Clone, Copy, Debug, Default)]
pub struct AsyncIoTimer;

impl Timer for AsyncIoTimer {
    type Sleep = SleepUntil;
    fn sleep_until(&self, deadline: Instant) -> SleepUntil {
        SleepUntil(async_io::Timer::at(deadline))
    }
}

/// The future of [`AsyncIoTimer::sleep_until`].
pub struct SleepUntil(async_io::Timer);

impl Future for SleepUntil {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}
