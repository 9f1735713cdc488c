//! Serving: accept connections until a [`Shutdown`] switch is triggered, run each WebSocket in a task of
//! its own, then wait up to a grace period for them to end.

use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant as StdInstant};

use ws_core::{Accept, Config, Request, Response};

use crate::handshake::accept_with;
use crate::runtime::Runtime;
use crate::shutdown::Shutdown;
use crate::timer::Timer;
use crate::websocket::WebSocket;

/// Decides on an upgrade request before any 101: accept it (choosing a subprotocol, adding headers) or
/// reject it (status, headers, body). Implemented for every `Fn(Request) -> impl Future<Output =
/// Result<Accept, Response>>` that can be shared between connection tasks.
pub trait Decide: Clone + Send + Sync + 'static {
    /// The decision's future.
    type Future: Future<Output = Result<Accept, Response>> + Send + 'static;
    /// Decides on `request`.
    fn decide(&self, request: Request) -> Self::Future;
}

impl<F, Fut> Decide for F
where
    F: Fn(Request) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Accept, Response>> + Send + 'static,
{
    type Future = Fut;
    fn decide(&self, request: Request) -> Fut {
        self(request)
    }
}

/// Serves one connection `Ws` to its end. Implemented for every `Fn(Ws) -> impl Future<Output = ()>`
/// that can be shared between connection tasks.
pub trait Handler<Ws>: Clone + Send + Sync + 'static {
    /// The connection's task.
    type Future: Future<Output = ()> + Send + 'static;
    /// Serves `ws`.
    fn handle(&self, ws: Ws) -> Self::Future;
}

impl<Ws, F, Fut> Handler<Ws> for F
where
    F: Fn(Ws) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    type Future = Fut;
    fn handle(&self, ws: Ws) -> Fut {
        self(ws)
    }
}

/// Accepts connections on `listener` and serves each WebSocket with `handler` in a task spawned on
/// `runtime`, until `shutdown` is triggered; then stops accepting, lets every connection close with 1001,
/// and waits up to `grace` for them before returning. `decide` accepts (choosing a subprotocol, adding
/// headers) or rejects each upgrade request before any 101. Each runtime crate's `serve` functions are
/// this with its own [`Runtime`]. A failing `accept` (for example out of file descriptors) is retried
/// after a short pause.
pub async fn serve_until<Rt, D, H>(
    runtime: Rt,
    listener: Rt::Listener,
    config: Config,
    shutdown: Shutdown,
    grace: Duration,
    decide: D,
    handler: H,
) -> io::Result<()>
where
    Rt: Runtime,
    D: Decide,
    H: Handler<WebSocket<Rt::Stream, Rt::Timer>>,
{
    let timer = runtime.timer();
    // One copy of the configuration, shared by every connection.
    let config = Arc::new(config);
    while !shutdown.is_triggered() {
        let accepted = {
            let mut next = pin!(runtime.accept(&listener));
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
                let decide = decide.clone();
                let decide = move |request| decide.decide(request);
                let accepting = accept_with(stream, config.clone(), timer.clone(), decide);
                let handshake =
                    Box::pin(async move { Some(accepting.await.ok()?.with_guard(guard)) });
                let handler = handler.clone();
                runtime.spawn(Box::pin(async move {
                    // No binding of the handshake's result may live across the handler's await.
                    let Some(ws) = handshake.await else {
                        return;
                    };
                    handler.handle(ws).await;
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
