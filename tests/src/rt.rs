//! The runtime seam of the conformance suite: everything a test body needs from tokio, smol or async-std,
//! behind one trait, so each body is written once and instantiated per runtime (see `suite!` in
//! `tests/conformance.rs`). Every connection is made through the adapter crate's own functions
//! (`ws_tokio::connect_with`, `ws_smol::accept_with`, ...), so the glue is what is under test.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::FutureExt;
use ws_async::{Accept, ClientBuilder, Config, MaybeTlsStream, Opened, Request, Response, Timer};

/// The connection type every adapter hands out, spelled through the seam.
pub type Ws<R> = ws_async::WebSocket<<R as Rt>::Io, <R as Rt>::Timer>;

/// A spawned task's result. Panics inside the task are carried over and re-raised by the awaiting test.
pub type Task<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A decision callback result, as every adapter's `accept_with` takes it.
pub type Decision = std::result::Result<Accept, Response>;

/// One async runtime and its adapter crate.
pub trait Rt: Sized + Send + Sync + 'static {
    /// Used in failure messages.
    const NAME: &'static str;
    /// The runtime's own TCP stream (what its adapter's `accept_with` takes).
    type Native: Send + 'static;
    /// The same stream as a futures-io transport (what the adapter wraps in `MaybeTlsStream`).
    type Tcp: AsyncRead
        + AsyncWrite
        + ws_async::SplitIo<ReadHalf: Send + 'static, WriteHalf: Send + 'static>
        + Unpin
        + Send
        + 'static;
    /// The transport under the adapter's WebSocket (`MaybeTlsStream<Self::Tcp>` for the runtime
    /// adapters, hyper's upgraded stream for ws-hyper).
    type Io: AsyncRead
        + AsyncWrite
        + ws_async::SplitIo<ReadHalf: Send + 'static, WriteHalf: Send + 'static>
        + Unpin
        + Send
        + 'static;
    /// The adapter's timer.
    type Timer: Timer;
    /// The runtime's TCP listener.
    type Listener: Send + Sync + 'static;

    /// Runs `f` to completion on a fresh (or the global) runtime from a plain thread.
    fn block_on<F: Future>(f: F) -> F::Output;
    /// Spawns a task on the runtime; await the result to join it.
    fn spawn_raw<F>(f: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    /// The runtime's sleep.
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send;
    /// A listener on a free loopback port.
    fn listen() -> impl Future<Output = (Self::Listener, SocketAddr)> + Send;
    /// Accepts one TCP connection.
    fn accept_tcp(
        listener: &Self::Listener,
    ) -> impl Future<Output = io::Result<Self::Native>> + Send;
    /// Connects a plain TCP stream (for raw peers and hand-built transports).
    fn connect_tcp(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Native>> + Send;
    /// The native stream as a futures-io transport.
    fn into_tcp(native: Self::Native) -> Self::Tcp;
    /// The adapter's timer value.
    fn timer() -> Self::Timer;
    /// Whether the connection runs over TLS; `None` when the transport cannot tell (hyper's upgraded
    /// stream hides what it runs on).
    fn is_tls(io: &Self::Io) -> Option<bool>;

    /// The adapter's `connect_with`.
    fn connect_with(
        builder: &ClientBuilder,
    ) -> impl Future<Output = ws_async::Result<(Ws<Self>, Opened)>> + Send;
    /// The adapter's `accept_with`.
    fn accept_with<F, Fut>(
        stream: Self::Native,
        config: Config,
        decide: F,
    ) -> impl Future<Output = ws_async::Result<Ws<Self>>> + Send
    where
        F: FnOnce(Request) -> Fut + Send + 'static,
        Fut: Future<Output = Decision> + Send + 'static;
    /// The adapter's `accept_tls`.
    fn accept_tls<F, Fut>(
        stream: Self::Native,
        tls: Arc<rustls::ServerConfig>,
        config: Config,
        decide: F,
    ) -> impl Future<Output = ws_async::Result<Ws<Self>>> + Send
    where
        F: FnOnce(Request) -> Fut + Send + 'static,
        Fut: Future<Output = Decision> + Send + 'static;

    /// Spawns `f`; a panic in it is re-raised where the result is awaited.
    fn spawn<F>(f: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let task = Self::spawn_raw(std::panic::AssertUnwindSafe(f).catch_unwind());
        Box::pin(async move {
            match task.await {
                Ok(value) => value,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

/// The listener and stream functions of [`Rt`], for a runtime whose `net` module has tokio's shape
/// (`TcpListener::bind`, `accept`, `TcpStream::connect`, `set_nodelay`).
macro_rules! net_fns {
    ($($net:ident)::+) => {
        async fn listen() -> (Self::Listener, SocketAddr) {
            let listener = $($net::)+TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind 127.0.0.1:0");
            let addr = listener.local_addr().expect("local_addr");
            (listener, addr)
        }

        async fn accept_tcp(listener: &Self::Listener) -> io::Result<Self::Native> {
            Ok(listener.accept().await?.0)
        }

        async fn connect_tcp(addr: SocketAddr) -> io::Result<Self::Native> {
            let tcp = $($net::)+TcpStream::connect(addr).await?;
            tcp.set_nodelay(true)?;
            Ok(tcp)
        }
    };
}

/// The connection functions of [`Rt`]: the adapter crate's own `connect_with`, `accept_with` and
/// `accept_tls`, which every adapter spells alike.
macro_rules! adapter_fns {
    ($adapter:ident) => {
        fn connect_with(
            builder: &ClientBuilder,
        ) -> impl Future<Output = ws_async::Result<(Ws<Self>, Opened)>> + Send {
            $adapter::connect_with(builder)
        }

        fn accept_with<F, Fut>(
            stream: Self::Native,
            config: Config,
            decide: F,
        ) -> impl Future<Output = ws_async::Result<Ws<Self>>> + Send
        where
            F: FnOnce(Request) -> Fut + Send + 'static,
            Fut: Future<Output = Decision> + Send + 'static,
        {
            $adapter::accept_with(stream, config, decide)
        }

        fn accept_tls<F, Fut>(
            stream: Self::Native,
            tls: Arc<rustls::ServerConfig>,
            config: Config,
            decide: F,
        ) -> impl Future<Output = ws_async::Result<Ws<Self>>> + Send
        where
            F: FnOnce(Request) -> Fut + Send + 'static,
            Fut: Future<Output = Decision> + Send + 'static,
        {
            $adapter::accept_tls(stream, tls, config, decide)
        }
    };
}

/// tokio (multi-thread runtime, two workers) and `ws-tokio`.
#[derive(Debug)]
pub struct Tokio;

impl Rt for Tokio {
    const NAME: &'static str = "tokio";
    type Native = tokio::net::TcpStream;
    type Tcp = ws_tokio::TokioIo<tokio::net::TcpStream>;
    type Io = MaybeTlsStream<Self::Tcp>;
    type Timer = ws_tokio::TokioTimer;
    type Listener = tokio::net::TcpListener;

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(f)
    }

    fn spawn_raw<F>(f: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = tokio::spawn(f);
        Box::pin(async move { handle.await.expect("tokio task was cancelled") })
    }

    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(d)
    }

    net_fns!(tokio::net);

    fn into_tcp(native: Self::Native) -> Self::Tcp {
        ws_tokio::TokioIo::new(native)
    }

    fn timer() -> Self::Timer {
        ws_tokio::TokioTimer
    }

    fn is_tls(io: &Self::Io) -> Option<bool> {
        Some(io.is_tls())
    }

    adapter_fns!(ws_tokio);
}

/// smol and `ws-smol`. Tasks run on an `async-executor` with four threads rather than smol's global
/// executor, whose single default thread would be shared by every test running in parallel (a 4 MiB
/// deflate in one test could then starve another test's keepalive).
#[derive(Debug)]
pub struct Smol;

fn smol_executor() -> &'static smol::Executor<'static> {
    static EXECUTOR: OnceLock<&'static smol::Executor<'static>> = OnceLock::new();
    EXECUTOR.get_or_init(|| {
        let ex: &'static smol::Executor<'static> = Box::leak(Box::new(smol::Executor::new()));
        for i in 0..4 {
            std::thread::Builder::new()
                .name(format!("smol-tests-{i}"))
                .spawn(move || smol::block_on(ex.run(std::future::pending::<()>())))
                .expect("spawn an executor thread");
        }
        ex
    })
}

impl Rt for Smol {
    const NAME: &'static str = "smol";
    type Native = smol::net::TcpStream;
    type Tcp = smol::net::TcpStream;
    type Io = MaybeTlsStream<Self::Tcp>;
    type Timer = ws_smol::AsyncIoTimer;
    type Listener = smol::net::TcpListener;

    fn block_on<F: Future>(f: F) -> F::Output {
        smol::block_on(f)
    }

    fn spawn_raw<F>(f: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Box::pin(smol_executor().spawn(f))
    }

    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        smol::Timer::after(d).map(|_| ())
    }

    net_fns!(smol::net);

    fn into_tcp(native: Self::Native) -> Self::Tcp {
        native
    }

    fn timer() -> Self::Timer {
        ws_smol::AsyncIoTimer
    }

    fn is_tls(io: &Self::Io) -> Option<bool> {
        Some(io.is_tls())
    }

    adapter_fns!(ws_smol);
}

/// async-std (global executor) and `ws-async-std`.
#[derive(Debug)]
pub struct AsyncStd;

impl Rt for AsyncStd {
    const NAME: &'static str = "async-std";
    type Native = async_std::net::TcpStream;
    type Tcp = ws_async_std::Tcp;
    type Io = MaybeTlsStream<Self::Tcp>;
    type Timer = ws_async_std::AsyncIoTimer;
    type Listener = async_std::net::TcpListener;

    fn block_on<F: Future>(f: F) -> F::Output {
        async_std::task::block_on(f)
    }

    fn spawn_raw<F>(f: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Box::pin(async_std::task::spawn(f))
    }

    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        async_std::task::sleep(d)
    }

    net_fns!(async_std::net);

    fn into_tcp(native: Self::Native) -> Self::Tcp {
        ws_async_std::Tcp(native)
    }

    fn timer() -> Self::Timer {
        ws_async_std::AsyncIoTimer
    }

    fn is_tls(io: &Self::Io) -> Option<bool> {
        Some(io.is_tls())
    }

    adapter_fns!(ws_async_std);
}
