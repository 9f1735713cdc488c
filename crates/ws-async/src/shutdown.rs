//! Graceful shutdown for servers: stop accepting, close every connection with 1001, wait up to a grace
//! period, then return.

use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant as StdInstant};

use futures_io::{AsyncRead, AsyncWrite};
use ws_core::{Accept, Config, Request, Response};

use crate::timer::Timer;
use crate::websocket::WebSocket;

/// A shutdown switch shared by a server and its connections. Cloning shares it.
///
/// A connection given the switch ([`WebSocket::with_shutdown`]) starts the close handshake with 1001
/// ("going away") as soon as it is triggered, the next time the application waits in `recv`, and ends
/// normally; [`Shutdown::idle`] resolves when every such connection has ended.
///
/// ```
/// let shutdown = ws_async::Shutdown::new();
/// assert!(!shutdown.is_triggered());
/// shutdown.trigger();
/// assert!(shutdown.is_triggered());
/// assert_eq!(shutdown.active(), 0);
/// ```
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    triggered: AtomicBool,
    active: AtomicUsize,
    next_id: AtomicUsize,
    /// One waker per registered connection or waiter, keyed by its id; a connection's entry goes when it
    /// ends, so a long-running server keeps no wakers of past connections.
    wakers: Mutex<std::collections::BTreeMap<usize, Waker>>,
}

impl Shutdown {
    /// A switch that has not been triggered.
    pub fn new() -> Self {
        Shutdown::default()
    }

    /// Triggers shutdown and wakes every connection and waiter.
    pub fn trigger(&self) {
        self.inner.triggered.store(true, Ordering::SeqCst);
        self.wake_all();
    }

    /// Whether [`Shutdown::trigger`] was called.
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::SeqCst)
    }

    /// How many connections hold the switch and have not ended.
    pub fn active(&self) -> usize {
        self.inner.active.load(Ordering::SeqCst)
    }

    /// Resolves once triggered.
    pub async fn triggered(&self) {
        self.wait_until(|s| s.is_triggered()).await
    }

    /// Resolves once no connection holds the switch.
    pub async fn idle(&self) {
        self.wait_until(|s| s.active() == 0).await
    }

    async fn wait_until(&self, done: impl Fn(&Shutdown) -> bool) {
        // The entry goes when the wait ends or is dropped unfinished (a `select!` that took another
        // branch, or `serve`'s accept winning the race): a dropped waiter must not leave its waker behind.
        let waiter = Waiter {
            shutdown: self,
            id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
        };
        poll_fn(|cx| {
            if done(self) {
                return Poll::Ready(());
            }
            self.register(waiter.id, cx.waker());
            if done(self) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }

    /// How many wakers the switch holds (connections and waiters that have registered and not ended).
    #[cfg(test)]
    fn registered(&self) -> usize {
        self.inner.wakers.lock().unwrap().len()
    }

    /// Records the waker of connection or waiter `id` (replacing its previous one).
    pub(crate) fn register(&self, id: usize, waker: &Waker) {
        let mut wakers = self.inner.wakers.lock().unwrap_or_else(|e| e.into_inner());
        match wakers.get_mut(&id) {
            Some(w) if w.will_wake(waker) => {}
            Some(w) => *w = waker.clone(),
            None => {
                wakers.insert(id, waker.clone());
            }
        }
    }

    fn unregister(&self, id: usize) {
        self.inner
            .wakers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    fn wake_all(&self) {
        let wakers: Vec<Waker> = self
            .inner
            .wakers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for waker in wakers {
            waker.wake();
        }
    }

    pub(crate) fn enter(&self) -> Guard {
        self.inner.active.fetch_add(1, Ordering::SeqCst);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        Guard {
            shutdown: self.clone(),
            id,
            registered: None,
        }
    }
}

/// A pending [`Shutdown::wait_until`]; dropping it removes its waker.
struct Waiter<'a> {
    shutdown: &'a Shutdown,
    id: usize,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.shutdown.unregister(self.id);
    }
}

/// A connection's hold on a [`Shutdown`]; dropping it removes its waker and lets `idle` resolve.
pub(crate) struct Guard {
    pub(crate) shutdown: Shutdown,
    pub(crate) id: usize,
    /// The waker last registered, so that polling from the same task again takes no lock.
    registered: Option<Waker>,
}

impl Guard {
    /// Makes [`Shutdown::trigger`] wake `waker`'s task.
    pub(crate) fn register(&mut self, waker: &Waker) {
        if self.registered.as_ref().is_some_and(|w| w.will_wake(waker)) {
            return;
        }
        self.shutdown.register(self.id, waker);
        self.registered = Some(waker.clone());
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.shutdown.unregister(self.id);
        if self.shutdown.inner.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.shutdown.wake_all();
        }
    }
}

/// Accepts connections with `accept_tcp` and serves each WebSocket with `handler` in a task started by
/// `spawn`, until `shutdown` is triggered; then stops accepting, lets every connection close with 1001, and
/// waits up to `grace` for them before returning. `decide` accepts (choosing a subprotocol, adding headers)
/// or rejects each upgrade request before any 101. Each runtime crate's `serve` functions are this with its
/// own socket and spawner. A failing `accept` (for example out of file descriptors) is retried after a
/// short pause.
#[allow(clippy::too_many_arguments)]
pub async fn serve_until<S, R, Acc, AccFut, Sp, D, DFut, H, Fut>(
    mut accept_tcp: Acc,
    spawn: Sp,
    config: Config,
    timer: R,
    shutdown: Shutdown,
    grace: Duration,
    decide: D,
    handler: H,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    R: Timer,
    Acc: FnMut() -> AccFut,
    AccFut: Future<Output = io::Result<S>>,
    Sp: Fn(Pin<Box<dyn Future<Output = ()> + Send>>),
    D: Fn(Request) -> DFut + Clone + Send + Sync + 'static,
    DFut: Future<Output = Result<Accept, Response>> + Send + 'static,
    H: Fn(WebSocket<S, R>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    // One copy of the configuration, shared by every connection.
    let config = Arc::new(config);
    while !shutdown.is_triggered() {
        let accepted = {
            let mut next = pin!(accept_tcp());
            let mut stop = pin!(shutdown.triggered());
            poll_fn(|cx| {
                if let Poll::Ready(r) = next.as_mut().poll(cx) {
                    return Poll::Ready(Some(r));
                }
                stop.as_mut().poll(cx).map(|()| None)
            })
            .await
        };
        match accepted {
            None => break,
            Some(Ok(stream)) => {
                let guard = shutdown.enter();
                // The handshake runs in a box of its own, freed once it is done: the task then holds
                // only the handler's future, so an idle connection costs what its handler keeps. The
                // shutdown guard waits in that box too, and moves into the connection.
                let accepting =
                    crate::accept_with(stream, config.clone(), timer.clone(), decide.clone());
                let handshake =
                    Box::pin(async move { Some(accepting.await.ok()?.with_guard(guard)) });
                let handler = handler.clone();
                spawn(Box::pin(async move {
                    // No binding of the handshake's result may live across the handler's await.
                    let Some(ws) = handshake.await else {
                        return;
                    };
                    handler(ws).await;
                }));
            }
            Some(Err(_)) => {
                timer
                    .sleep_until(StdInstant::now() + Duration::from_millis(50))
                    .await
            }
        }
    }
    let mut idle = pin!(shutdown.idle());
    let mut sleep = pin!(timer.sleep_until(StdInstant::now() + grace));
    poll_fn(|cx| {
        if idle.as_mut().poll(cx).is_ready() {
            Poll::Ready(())
        } else {
            sleep.as_mut().poll(cx)
        }
    })
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Context;

    #[test]
    fn a_wait_dropped_unfinished_leaves_no_waker_behind() {
        let shutdown = Shutdown::new();
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..3 {
            let mut wait = Box::pin(shutdown.triggered());
            assert!(wait.as_mut().poll(&mut cx).is_pending());
            assert_eq!(shutdown.registered(), 1);
            drop(wait);
            assert_eq!(shutdown.registered(), 0);
        }
        let mut wait = Box::pin(shutdown.idle());
        assert!(wait.as_mut().poll(&mut cx).is_ready());
        assert_eq!(shutdown.registered(), 0);
    }

    #[test]
    fn an_ended_connection_leaves_no_waker_behind() {
        let shutdown = Shutdown::new();
        let mut guard = shutdown.enter();
        guard.register(Waker::noop());
        guard.register(Waker::noop());
        assert_eq!((shutdown.active(), shutdown.registered()), (1, 1));
        drop(guard);
        assert_eq!((shutdown.active(), shutdown.registered()), (0, 0));
    }
}
