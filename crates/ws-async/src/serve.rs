//! Serving: accept connections until a [`Shutdown`] switch is triggered, run each WebSocket in a task of
//! its own, then wait up to a grace period for them to end.

use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant as StdInstant};

use futures_io::{AsyncRead, AsyncWrite};
use ws_core::{Accept, Config, Request, Response};

use crate::handshake::accept_with;
use crate::shutdown::Shutdown;
use crate::timer::Timer;
use crate::websocket::WebSocket;

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
                let accepting = accept_with(stream, config.clone(), timer.clone(), decide.clone());
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
