//! The shutdown switch for servers, and each connection's hold on it. What a connection does when it is
//! triggered (close with 1001) is the session's; the serve loop (stop accepting, wait up to a grace
//! period) is in the `serve` module.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

/// A shutdown switch shared by a server and its connections. Cloning shares it.
///
/// A connection given the switch ([`crate::WebSocket::with_shutdown`]) starts the close handshake with 1001
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
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
