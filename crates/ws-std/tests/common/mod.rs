//! Helpers shared by the integration tests: a loopback echo server, a watchdog, and a raw WebSocket peer
//! written by hand (`ws_testkit::raw`, to test against something that is not this crate) over blocking
//! streams.

#![allow(dead_code)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::io::AllowStdIo;
use ws_std::Config;
use ws_testkit::raw;

pub(crate) mod fakes;

/// Runs `f` on a thread and fails the test if it takes longer than `secs` seconds.
pub(crate) fn bounded<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread sent nothing and did not panic"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test did not finish within {secs} s"),
    }
}

/// A listener on a free loopback port.
pub(crate) fn listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// Starts an echo server (thread per connection) and returns its port.
pub(crate) fn echo_server(config: Config) -> u16 {
    let (listener, port) = listener();
    std::thread::spawn(move || {
        ws_std::serve(listener, config, |mut ws| {
            while let Some(Ok(message)) = ws.recv() {
                if ws.send(message).is_err() {
                    break;
                }
            }
        })
    });
    port
}

/// Runs one of `ws_testkit::raw`'s readers or handshakes over a blocking stream: `AllowStdIo` makes each
/// poll a blocking call, so the future is ready the first time it is polled.
pub(crate) fn blocking<T>(f: impl std::future::Future<Output = T>) -> T {
    f.now_or_never()
        .expect("a blocking stream never leaves a read pending")
}

/// A raw server: reads the upgrade request and answers 101 by hand.
pub(crate) fn raw_accept(listener: &TcpListener) -> TcpStream {
    let (mut stream, _) = listener.accept().unwrap();
    blocking(raw::server_handshake(&mut AllowStdIo::new(&mut stream))).unwrap();
    stream
}

/// Reads one frame: (opcode, payload), unmasked.
pub(crate) fn read_frame<S: std::io::Read>(stream: &mut S) -> (u8, Vec<u8>) {
    let frame = blocking(raw::read_frame(&mut AllowStdIo::new(stream))).unwrap();
    (frame.opcode, frame.payload)
}

/// Writes one unmasked frame (server to client) with FIN set.
pub(crate) fn write_frame(stream: &mut TcpStream, opcode: u8, payload: &[u8]) {
    stream
        .write_all(&raw::server_frame(true, opcode, payload))
        .unwrap();
}
