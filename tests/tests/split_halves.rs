//! Split halves (tokio; the split is the one engine's, shared by every async runtime):
//!
//! - the reader takes no lock the writer holds while it receives data: with the writer's task stuck
//!   inside a write (its transport blocks the thread in `poll_write`, holding the write side), the
//!   reader on another thread still receives every message. A reader that shared one lock with the
//!   writer would wait for that write to end, and the test would time out;
//! - a send cancelled while its message is half written does not leave the rest sitting unsent: the
//!   reader, still running, writes it.

use std::io;
use std::pin::Pin;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use ws_async::{ClientBuilder, Message, SplitIo};
use ws_tests::watchdog;
use ws_tokio::{TokioIo, TokioTimer};

/// Holds writes while shut: a write that finds it shut tells the test, then blocks its thread until
/// it opens.
#[derive(Default)]
struct Gate {
    shut: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn set(&self, shut: bool) {
        *self.shut.lock().unwrap() = shut;
        self.opened.notify_all();
    }

    fn pass(&self, entered: &Mutex<Option<mpsc::Sender<()>>>) {
        let mut shut = self.shut.lock().unwrap();
        if *shut && let Some(tx) = entered.lock().unwrap().take() {
            let _ = tx.send(());
        }
        while *shut {
            shut = self.opened.wait(shut).unwrap();
        }
    }
}

/// A TCP stream whose writes go through a [`Gate`].
struct Gated<T> {
    inner: T,
    gate: Arc<Gate>,
    /// Told once, when a write first waits at the shut gate.
    entered: Arc<Mutex<Option<mpsc::Sender<()>>>>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Gated<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Gated<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.gate.pass(&this.entered);
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

impl<T: SplitIo> SplitIo for Gated<T> {
    type ReadHalf = Gated<T::ReadHalf>;
    type WriteHalf = Gated<T::WriteHalf>;

    fn split_io(self) -> (Self::ReadHalf, Self::WriteHalf) {
        let (read, write) = self.inner.split_io();
        let read = Gated {
            inner: read,
            gate: self.gate.clone(),
            entered: self.entered.clone(),
        };
        let write = Gated {
            inner: write,
            gate: self.gate,
            entered: self.entered,
        };
        (read, write)
    }

    fn unsplit_io(read: Self::ReadHalf, write: Self::WriteHalf) -> Self {
        Gated {
            inner: T::unsplit_io(read.inner, write.inner),
            gate: write.gate,
            entered: write.entered,
        }
    }
}

/// Runs `test` on a tokio runtime with two worker threads (the halves' tasks may run at once), bounded.
fn on_two_workers<F: std::future::Future<Output = ()>>(test: impl FnOnce() -> F + Send + 'static) {
    watchdog(Duration::from_secs(30), || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(test());
    });
}

#[test]
fn the_reader_receives_while_the_writer_is_stuck_inside_a_write() {
    on_two_workers(stuck_writer);
}

async fn stuck_writer() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = ws_tokio::accept(tcp, ws_async::Config::default())
            .await
            .unwrap();
        tokio::task::spawn_blocking(move || go_rx.recv().unwrap())
            .await
            .unwrap();
        for text in ["one", "two", "three"] {
            ws.send(text).await.unwrap();
        }
        // The writer's message arrives once its write is let through.
        let got = ws.recv().await.unwrap().unwrap();
        ws.close(ws_async::CloseCode::NORMAL, "").await.unwrap();
        got
    });

    let gate = Arc::new(Gate::default());
    let (entered_tx, entered_rx) = mpsc::channel();
    let transport = Gated {
        inner: TokioIo::new(TcpStream::connect(addr).await.unwrap()),
        gate: gate.clone(),
        entered: Arc::new(Mutex::new(Some(entered_tx))),
    };
    let builder = ClientBuilder::new(&format!("ws://{addr}/")).unwrap();
    let (ws, _) = ws_async::client_handshake(transport, &builder, TokioTimer)
        .await
        .unwrap();
    let (mut reader, mut writer) = ws.split();

    // The writer's task blocks its worker thread inside `poll_write`, holding the write side.
    gate.set(true);
    let writer_task = tokio::spawn(async move {
        writer.send("from the stuck writer").await.unwrap();
        writer
    });
    tokio::task::spawn_blocking(move || entered_rx.recv().unwrap())
        .await
        .unwrap();

    go_tx.send(()).unwrap();
    for expected in ["one", "two", "three"] {
        let message = tokio::time::timeout(Duration::from_secs(10), reader.recv())
            .await
            .expect("the reader waited for the writer")
            .unwrap()
            .unwrap();
        assert_eq!(message, Message::from(expected));
    }

    gate.set(false);
    let writer = writer_task.await.unwrap();
    assert!(reader.recv().await.is_none(), "the server closes cleanly");
    assert_eq!(
        server.await.unwrap(),
        Message::from("from the stuck writer")
    );
    drop((reader, writer));
}

#[test]
fn the_rest_of_a_cancelled_send_is_written_by_the_reader() {
    on_two_workers(cancelled_send);
}

async fn cancelled_send() {
    const BIG: usize = 16 << 20;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let config = ws_async::Config::default().limits(
            ws_async::Limits::default()
                .max_message_size(2 * BIG)
                .max_frame_size(2 * BIG),
        );
        let mut ws = ws_tokio::accept(tcp, config).await.unwrap();
        // Reads nothing until the client's send was cancelled half way.
        tokio::task::spawn_blocking(move || go_rx.recv().unwrap())
            .await
            .unwrap();
        let got = ws.recv().await.unwrap().unwrap();
        ws.send(format!("got {} bytes", got.len())).await.unwrap();
        ws.close(ws_async::CloseCode::NORMAL, "").await.unwrap();
    });

    let builder = ClientBuilder::new(&format!("ws://{addr}/")).unwrap();
    let (ws, _) = ws_tokio::connect_with(&builder).await.unwrap();
    let (mut reader, mut writer) = ws.split();
    let cancelled =
        tokio::time::timeout(Duration::from_millis(200), writer.send(vec![7u8; BIG])).await;
    assert!(cancelled.is_err(), "16 MiB fitted in the socket buffers");
    go_tx.send(()).unwrap();
    // Only the reader runs now: the writer is not touched again until the end.
    let reply = tokio::time::timeout(Duration::from_secs(10), reader.recv())
        .await
        .expect("the rest of the message was never written")
        .unwrap()
        .unwrap();
    assert_eq!(reply, Message::from(format!("got {BIG} bytes")));
    assert!(reader.recv().await.is_none());
    server.await.unwrap();
    drop(writer);
}

#[test]
fn a_writer_whose_reader_was_dropped_gives_up_on_a_peer_that_stopped_reading() {
    on_two_workers(reader_dropped);
}

async fn reader_dropped() {
    const PONG: Duration = Duration::from_millis(300);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = ws_tokio::accept(tcp, ws_async::Config::default())
            .await
            .unwrap();
        // Reads nothing, and holds the connection open until the test is done.
        tokio::task::spawn_blocking(move || done_rx.recv().unwrap())
            .await
            .unwrap();
        drop(ws);
    });

    let builder = ClientBuilder::new(&format!("ws://{addr}/"))
        .unwrap()
        .timeouts(ws_async::Timeouts::none().pong(Some(PONG)));
    let (ws, _) = ws_tokio::connect_with(&builder).await.unwrap();
    let (reader, mut writer) = ws.split();
    // Nobody runs the connection's timers from here on.
    drop(reader);
    let started = tokio::time::Instant::now();
    let sent: ws_async::Result<()> = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            writer.send(vec![7u8; 1 << 20]).await?;
        }
    })
    .await
    .expect("the writer waited on the peer for ever");
    let waited = started.elapsed();
    assert!(
        matches!(
            sent,
            Err(ws_async::Error::Failed(ws_core::Error::Timeout(
                ws_core::Timeout::Pong
            )))
        ),
        "{sent:?}"
    );
    assert!(waited >= PONG, "gave up after {waited:?}");
    assert!(writer.send("more").await.is_err());
    done_tx.send(()).unwrap();
    server.await.unwrap();
}
