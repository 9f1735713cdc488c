//! ws-hyper through the conformance seam: tokio runs the tasks, sockets and TLS; hyper serves each
//! accepted connection (HTTP/1.1 with upgrades) and ws-hyper's [`IncomingUpgrade`] validates the request,
//! hands it to the test's decision and answers; clients connect with `ws_hyper::tokio::connect`. So the
//! same cases that check the runtime adapters check the handshake as hyper does it.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use ws_async::{ClientBuilder, Config, Error, Opened, Request, Response};
use ws_core::Timeout;
use ws_hyper::{ClientError, HyperTimer, IncomingUpgrade, UpgradeFuture};

use crate::rt::{Decision, Rt, Task, Tokio};

/// tokio (as [`Tokio`]) with ws-hyper for the handshakes.
#[derive(Debug)]
pub struct Hyper;

type Body = Full<Bytes>;

impl Rt for Hyper {
    const NAME: &'static str = "hyper";
    type Native = tokio::net::TcpStream;
    type Tcp = ws_tokio::TokioIo<tokio::net::TcpStream>;
    type Io = ws_hyper::Io;
    type Timer = HyperTimer;
    type Listener = tokio::net::TcpListener;

    fn block_on<F: Future>(f: F) -> F::Output {
        Tokio::block_on(f)
    }

    fn spawn_raw<F>(f: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Tokio::spawn_raw(f)
    }

    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        Tokio::sleep(d)
    }

    fn listen() -> impl Future<Output = (Self::Listener, SocketAddr)> + Send {
        Tokio::listen()
    }

    fn accept_tcp(
        listener: &Self::Listener,
    ) -> impl Future<Output = io::Result<Self::Native>> + Send {
        Tokio::accept_tcp(listener)
    }

    fn connect_tcp(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Native>> + Send {
        Tokio::connect_tcp(addr)
    }

    fn into_tcp(native: Self::Native) -> Self::Tcp {
        Tokio::into_tcp(native)
    }

    fn timer() -> Self::Timer {
        HyperTimer::tokio()
    }

    fn is_tls(_: &Self::Io) -> Option<bool> {
        None
    }

    async fn connect_with(
        builder: &ClientBuilder,
    ) -> ws_async::Result<(ws_hyper::WebSocket, Opened)> {
        ws_hyper::tokio::connect(builder)
            .await
            .map_err(|e| match e {
                ClientError::WebSocket(e) => e,
                other => Error::Io(io::Error::other(other.to_string())),
            })
    }

    fn accept_with<F, Fut>(
        stream: Self::Native,
        config: Config,
        decide: F,
    ) -> impl Future<Output = ws_async::Result<ws_hyper::WebSocket>> + Send
    where
        F: FnOnce(Request) -> Fut + Send + 'static,
        Fut: Future<Output = Decision> + Send + 'static,
    {
        let _ = stream.set_nodelay(true);
        accept(TokioIo::new(stream), config, decide)
    }

    async fn accept_tls<F, Fut>(
        stream: Self::Native,
        tls: Arc<rustls::ServerConfig>,
        config: Config,
        decide: F,
    ) -> ws_async::Result<ws_hyper::WebSocket>
    where
        F: FnOnce(Request) -> Fut + Send + 'static,
        Fut: Future<Output = Decision> + Send + 'static,
    {
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        let tls = match config.timeouts.handshake {
            Some(limit) => tokio::time::timeout(limit, acceptor.accept(stream))
                .await
                .map_err(|_| Error::ConnectTimeout)?,
            None => acceptor.accept(stream).await,
        }
        .map_err(Error::Io)?;
        accept(TokioIo::new(tls), config, decide).await
    }
}

/// What the service tells the accepting task: the WebSocket to come, or why there is none.
type Outcome = ws_async::Result<UpgradeFuture>;

/// Serves one HTTP/1.1 connection with hyper until its first request is answered: `decide` chooses,
/// the answer is sent, and the upgraded stream becomes the WebSocket. The whole exchange is bounded by
/// the handshake timeout; when it runs out the connection is dropped.
async fn accept<I, F, Fut>(
    io: I,
    config: Config,
    decide: F,
) -> ws_async::Result<ws_hyper::WebSocket>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    F: FnOnce(Request) -> Fut + Send + 'static,
    Fut: Future<Output = Decision> + Send + 'static,
{
    let limit = config.timeouts.handshake;
    let (tx, rx) = tokio::sync::oneshot::channel::<Outcome>();
    let once = Arc::new(Mutex::new(Some((decide, tx, config))));
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let once = once.lock().unwrap().take();
        async move {
            let Some((decide, tx, config)) = once else {
                return Ok::<_, hyper::Error>(http(&Response::new(400, "one request only\n")));
            };
            let (response, outcome) = answer(&mut request, config, decide).await;
            let _ = tx.send(outcome);
            Ok(response)
        }
    });
    let connection = tokio::spawn(
        hyper::server::conn::http1::Builder::new()
            .serve_connection(io, service)
            .with_upgrades(),
    );
    let work = async {
        match rx.await {
            Ok(Ok(websocket)) => websocket.await,
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Io(io::ErrorKind::UnexpectedEof.into())),
        }
    };
    let Some(limit) = limit else {
        return work.await;
    };
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => {
            connection.abort();
            Err(Error::Failed(ws_core::Error::Timeout(Timeout::Handshake)))
        }
    }
}

/// The answer to an upgrade request and what the accepting task learns from it.
async fn answer<F, Fut>(
    request: &mut hyper::Request<Incoming>,
    config: Config,
    decide: F,
) -> (hyper::Response<Body>, Outcome)
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Decision>,
{
    let incoming = match IncomingUpgrade::from_request(request) {
        Ok(incoming) => incoming,
        Err(rejection) => {
            let error = Error::Io(io::Error::other(rejection.to_string()));
            return (rejection.response(), Err(error));
        }
    };
    match decide(incoming.request().clone()).await {
        Ok(accept) => match incoming.accept_with(&accept, config, HyperTimer::tokio()) {
            Ok((response, websocket)) => (response, Ok(websocket)),
            Err(rejection) => {
                let error = Error::Io(io::Error::other(rejection.to_string()));
                (rejection.response(), Err(error))
            }
        },
        Err(refusal) => (http(&refusal), Err(Error::Rejected(Box::new(refusal)))),
    }
}

/// ws-core's response as hyper's.
fn http(response: &Response) -> hyper::Response<Body> {
    let mut builder = hyper::Response::builder().status(response.status);
    for (name, value) in response.headers.iter() {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(response.body.clone()))
        .unwrap_or_else(|_| {
            let mut fallback =
                hyper::Response::new(Full::new(Bytes::from_static(b"bad response\n")));
            *fallback.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
}
