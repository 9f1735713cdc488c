//! hyper's timer ([`hyper::rt::Timer`]) as ws-async's [`ws_async::Timer`].

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

/// The timer that sleeps until ws-core's deadlines (keepalive pings, pong and close timeouts): any
/// [`hyper::rt::Timer`], the same trait hyper's own connection builders take, so no runtime is chosen
/// here. With tokio, `HyperTimer::new(hyper_util::rt::TokioTimer::new())`, or [`HyperTimer::tokio`]
/// with the `tokio` feature.
///
/// ```
/// // Any `hyper::rt::Timer`; here hyper-util's, the one hyper's own builders are given with tokio.
/// let timer = ws_hyper::HyperTimer::new(hyper_util::rt::TokioTimer::new());
/// let _shared = timer.clone(); // one allocation, shared by every connection
/// ```
#[derive(Clone)]
pub struct HyperTimer {
    inner: Arc<dyn hyper::rt::Timer + Send + Sync>,
}

impl HyperTimer {
    /// Wraps a hyper timer.
    pub fn new(timer: impl hyper::rt::Timer + Send + Sync + 'static) -> Self {
        HyperTimer {
            inner: Arc::new(timer),
        }
    }

    /// tokio's timer (hyper-util's `TokioTimer`); needs a tokio runtime with the time driver.
    #[cfg(feature = "tokio")]
    pub fn tokio() -> Self {
        HyperTimer::new(hyper_util::rt::TokioTimer::new())
    }
}

impl fmt::Debug for HyperTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperTimer").finish_non_exhaustive()
    }
}

impl ws_async::Timer for HyperTimer {
    type Sleep = Pin<Box<dyn hyper::rt::Sleep>>;

    fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
        self.inner.sleep_until(deadline)
    }
}
