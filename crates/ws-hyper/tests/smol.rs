//! Runtime neutrality: ws-hyper's server and clients on smol (async-io timers and sockets, smol's
//! executor), with no tokio runtime anywhere, over HTTP/1.1 and HTTP/2.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use http_body_util::Empty;
use hyper::rt::{ReadBufCursor, Sleep, Timer};
use ws_hyper::{ClientBuilder, CloseCode, HyperTimer, Message, Upgrader};

/// async-io's timer as hyper's.
#[derive(Clone, Debug)]
struct SmolTimer;

struct SmolSleep(async_io::Timer);

impl Future for SmolSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

impl Sleep for SmolSleep {}

impl Timer for SmolTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        Box::pin(SmolSleep(async_io::Timer::after(duration)))
    }
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(SmolSleep(async_io::Timer::at(deadline)))
    }
}

/// smol's executor as hyper's.
#[derive(Clone, Copy, Debug)]
struct SmolExecutor;

impl<F> hyper::rt::Executor<F> for SmolExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        smol::spawn(future).detach();
    }
}

/// A smol socket with hyper's I/O traits.
struct SmolIo(async_net::TcpStream);

impl hyper::rt::Read for SmolIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let mut chunk = [0u8; 16 * 1024];
        let room = buf.remaining().min(chunk.len());
        let n = std::task::ready!(Pin::new(&mut self.0).poll_read(cx, &mut chunk[..room]))?;
        buf.put_slice(&chunk[..n]);
        Poll::Ready(Ok(()))
    }
}

impl hyper::rt::Write for SmolIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

/// An echo server on smol: HTTP/1.1 or HTTP/2 (prior knowledge, extended CONNECT enabled).
async fn serve(http2: bool) -> std::net::SocketAddr {
    let listener = async_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let upgrader = Upgrader::new(HyperTimer::new(SmolTimer));
    smol::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let upgrader = upgrader.clone();
            let service = hyper::service::service_fn(move |mut request| {
                let accepted = upgrader.upgrade::<_, Empty<Bytes>>(&mut request);
                async move {
                    let (response, websocket) = match accepted {
                        Ok(accepted) => accepted,
                        Err(rejection) => return Ok::<_, hyper::Error>(rejection.response()),
                    };
                    smol::spawn(async move {
                        let Ok(mut ws) = websocket.await else { return };
                        while let Some(Ok(message)) = ws.recv().await {
                            if ws.send(message).await.is_err() {
                                break;
                            }
                        }
                    })
                    .detach();
                    Ok(response)
                }
            });
            smol::spawn(async move {
                if http2 {
                    let mut server = hyper::server::conn::http2::Builder::new(SmolExecutor);
                    server.timer(SmolTimer).enable_connect_protocol();
                    let _ = server.serve_connection(SmolIo(tcp), service).await;
                } else {
                    let server = hyper::server::conn::http1::Builder::new();
                    let _ = server
                        .serve_connection(SmolIo(tcp), service)
                        .with_upgrades()
                        .await;
                }
            })
            .detach();
        }
    })
    .detach();
    addr
}

fn no_tokio_runtime() {
    assert!(tokio::runtime::Handle::try_current().is_err());
}

#[test]
fn http1_on_smol() {
    smol::block_on(async {
        no_tokio_runtime();
        let addr = serve(false).await;
        let tcp = async_net::TcpStream::connect(addr).await.unwrap();
        let builder = ClientBuilder::new(&format!("ws://{addr}/")).unwrap();
        let (mut ws, opened) =
            ws_hyper::connect_http1(SmolIo(tcp), &builder, HyperTimer::new(SmolTimer))
                .await
                .unwrap();
        assert!(opened.extensions.unwrap().starts_with("permessage-deflate"));
        ws.send("on smol").await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::from("on smol"));
        ws.close(CloseCode::NORMAL, "").await.unwrap();
    });
}

#[test]
fn http2_on_smol() {
    smol::block_on(async {
        no_tokio_runtime();
        let addr = serve(true).await;
        let tcp = async_net::TcpStream::connect(addr).await.unwrap();
        let mut h2 = hyper::client::conn::http2::Builder::new(SmolExecutor);
        h2.timer(SmolTimer);
        let (client, connection) =
            ws_hyper::Http2Client::handshake(&h2, SmolIo(tcp), HyperTimer::new(SmolTimer))
                .await
                .unwrap();
        smol::spawn(connection).detach();
        assert!(client.is_extended_connect_enabled());
        let builder = ClientBuilder::new(&format!("ws://{addr}/")).unwrap();
        let (mut a, _) = client.connect(&builder).await.unwrap();
        let (mut b, _) = client.connect(&builder).await.unwrap();
        a.send("a").await.unwrap();
        b.send("b").await.unwrap();
        assert_eq!(b.recv().await.unwrap().unwrap(), Message::from("b"));
        assert_eq!(a.recv().await.unwrap().unwrap(), Message::from("a"));
        a.close(CloseCode::NORMAL, "").await.unwrap();
        b.close(CloseCode::NORMAL, "").await.unwrap();
    });
}
