//! The runtime crates' public API, written once: [`runtime_glue!`](crate::runtime_glue) expands to the same
//! `connect`/`accept`/`serve` functions and type aliases in `ws-tokio`, `ws-smol` and `ws-async-std`, given
//! what differs between runtimes (the TCP types, how to connect, resolve and spawn, and the timer), and
//! the runtime's [`Runtime`](crate::Runtime) for [`serve_until`](crate::serve_until).

/// Expands to a runtime crate's API. Not for use outside this workspace's runtime crates.
#[doc(hidden)]
#[macro_export]
macro_rules! runtime_glue {
    (
        runtime: $runtime:literal => $rt:ident,
        tcp: $tcp:ty,
        listener: $listener:ty,
        transport: $transport:ty,
        timer: $timer:expr => $timer_ty:ty,
        wrap: |$ws_s:ident| $wrap:expr,
        resolve: |$host:ident, $port:ident| $resolve:expr,
        connect: |$addr:ident| $connect:expr,
        spawn: |$fut:ident| $spawn:expr $(,)?
    ) => {
        #[doc = concat!("The transport of every connection made on ", $runtime, ": TCP, or TCP inside TLS.")]
        pub type Stream = $crate::MaybeTlsStream<$transport>;

        #[doc = concat!("The ", $runtime, " runtime as a [`ws_async::Runtime`]: how the `serve` functions accept")]
        #[doc = "connections and spawn their tasks."]
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $rt;

        impl $crate::Runtime for $rt {
            type Timer = $timer_ty;
            type Listener = $listener;
            type Stream = Stream;

            fn timer(&self) -> $timer_ty {
                $timer
            }

            async fn accept(&self, listener: &$listener) -> std::io::Result<Stream> {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                let $ws_s = stream;
                Ok($crate::MaybeTlsStream::Plain($wrap))
            }

            fn spawn(
                &self,
                $fut: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
            ) {
                $spawn;
            }
        }

        #[doc = concat!("A WebSocket connection on ", $runtime, ".")]
        pub type WebSocket<S = Stream> = $crate::WebSocket<S, $timer_ty>;
        /// The receiving half of [`WebSocket::split`].
        pub type Reader<S = Stream> = $crate::Reader<S, $timer_ty>;
        /// The sending half of [`WebSocket::split`].
        pub type Writer<S = Stream> = $crate::Writer<S, $timer_ty>;

        /// Connects to a `ws://` or `wss://` URL with default settings (permessage-deflate offered).
        pub async fn connect(url: &str) -> $crate::Result<(WebSocket, $crate::Opened)> {
            connect_with(&$crate::ClientBuilder::new(url)?).await
        }

        /// Connects with a [`ClientBuilder`](crate::ClientBuilder) (subprotocols, Origin, headers, limits,
        /// timeouts, TLS): resolves the host, connects TCP (`TCP_NODELAY`), sets up TLS for `wss://`, all
        /// within the connect timeout, then runs the handshake.
        pub async fn connect_with(
            builder: &$crate::ClientBuilder,
        ) -> $crate::Result<(WebSocket, $crate::Opened)> {
            let resolve = |$host: String, $port: u16| async move { $resolve };
            let connect = |$addr: std::net::SocketAddr| async move {
                let tcp: $tcp = $connect;
                tcp.set_nodelay(true)?;
                let $ws_s = tcp;
                Ok($wrap)
            };
            $crate::connect_with(builder, $timer, resolve, connect).await
        }

        /// Accepts a WebSocket on an accepted TCP stream, with no subprotocol.
        pub async fn accept(stream: $tcp, config: $crate::Config) -> $crate::Result<WebSocket> {
            accept_with(stream, config, |_| async { Ok($crate::Accept::new()) }).await
        }

        /// Accepts a WebSocket, letting `decide` look at the request (path, Origin, subprotocols,
        /// cookies) and accept or reject it before any 101 is written. Bad requests are answered with 400,
        /// 426 or 431 by the core and returned as errors.
        pub async fn accept_with<D, DFut>(
            stream: $tcp,
            config: $crate::Config,
            decide: D,
        ) -> $crate::Result<WebSocket>
        where
            D: FnOnce($crate::Request) -> DFut,
            DFut: std::future::Future<Output = std::result::Result<$crate::Accept, $crate::Response>>,
        {
            stream.set_nodelay(true)?;
            let $ws_s = stream;
            $crate::accept_with($crate::MaybeTlsStream::Plain($wrap), config, $timer, decide).await
        }

        /// Accepts a `wss://` WebSocket: the TLS handshake with `tls` (bounded by the handshake timeout),
        /// then as [`accept_with`].
        pub async fn accept_tls<D, DFut>(
            stream: $tcp,
            tls: std::sync::Arc<$crate::tls::rustls::ServerConfig>,
            config: $crate::Config,
            decide: D,
        ) -> $crate::Result<WebSocket>
        where
            D: FnOnce($crate::Request) -> DFut,
            DFut: std::future::Future<Output = std::result::Result<$crate::Accept, $crate::Response>>,
        {
            stream.set_nodelay(true)?;
            let $ws_s = stream;
            $crate::accept_tls($wrap, tls, config, $timer, decide).await
        }

        /// Accepts connections on `listener` forever, running `handler` in its own task for each
        /// WebSocket. Handshake failures are answered by the core (400/426/431) and skipped.
        pub async fn serve<H, Fut>(listener: $listener, config: $crate::Config, handler: H) -> std::io::Result<()>
        where
            H: Fn(WebSocket) -> Fut + Clone + Send + Sync + 'static,
            Fut: std::future::Future<Output = ()> + Send + 'static,
        {
            let never = $crate::Shutdown::new();
            serve_until(listener, config, never, std::time::Duration::ZERO, handler).await
        }

        /// Like [`serve`], until `shutdown` is triggered: then stops accepting, closes every connection
        /// with 1001 ("going away") and waits up to `grace` for them to end.
        pub async fn serve_until<H, Fut>(
            listener: $listener,
            config: $crate::Config,
            shutdown: $crate::Shutdown,
            grace: std::time::Duration,
            handler: H,
        ) -> std::io::Result<()>
        where
            H: Fn(WebSocket) -> Fut + Clone + Send + Sync + 'static,
            Fut: std::future::Future<Output = ()> + Send + 'static,
        {
            let accept_all = |_| async { Ok($crate::Accept::new()) };
            serve_until_with(listener, config, shutdown, grace, accept_all, handler).await
        }

        /// Like [`serve_until`], with `decide` accepting (subprotocol, headers) or rejecting (status,
        /// body) each upgrade request before any 101, for example to check the Origin or require a
        /// subprotocol.
        pub async fn serve_until_with<D, DFut, H, Fut>(
            listener: $listener,
            config: $crate::Config,
            shutdown: $crate::Shutdown,
            grace: std::time::Duration,
            decide: D,
            handler: H,
        ) -> std::io::Result<()>
        where
            D: Fn($crate::Request) -> DFut + Clone + Send + Sync + 'static,
            DFut: std::future::Future<Output = std::result::Result<$crate::Accept, $crate::Response>>
                + Send
                + 'static,
            H: Fn(WebSocket) -> Fut + Clone + Send + Sync + 'static,
            Fut: std::future::Future<Output = ()> + Send + 'static,
        {
            $crate::serve_until($rt, listener, config, shutdown, grace, decide, handler).await
        }
    };
}
