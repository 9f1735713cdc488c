//! Blocking echo server on `std::net`, one thread per connection, driving `ws_core::Connection` directly.
//!
//! `echo_server [ADDR]` (default `127.0.0.1:9001`; `--port N` binds `127.0.0.1:N`, `--port 0` a free
//! port). Prints `listening on ws://ADDR` first. Every message is echoed back as the same type.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::{Duration, Instant as StdInstant};

use bytes::Buf;
use ws_core::{Accept, Config, Connection, Event, Instant, ReadInterest};

fn main() -> io::Result<()> {
    let listener = TcpListener::bind(address())?;
    println!("listening on ws://{}", listener.local_addr()?);
    let epoch = StdInstant::now(); // the monotonic clock every connection's `Instant`s count from
    for tcp in listener.incoming() {
        let tcp = tcp?;
        std::thread::spawn(move || serve(tcp, epoch));
    }
    Ok(())
}

fn address() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => "127.0.0.1:9001".into(),
        [flag, port] if flag == "--port" => format!("127.0.0.1:{port}"),
        [addr] => addr.clone(),
        _ => panic!("usage: echo_server [ADDR | --port N]"),
    }
}

fn serve(mut tcp: TcpStream, epoch: StdInstant) {
    let now = || Instant::from_since_epoch(epoch.elapsed());
    let _ = tcp.set_nodelay(true);
    // A peer that stops reading must not block a write forever: a write that takes this long fails.
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(10)));
    let mut conn = Connection::server(Config::default(), now());
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // 1. Events, one at a time (frames are parsed lazily): answer the request, echo messages.
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Request(_) => conn.accept(Accept::new(), now()).expect("a request waits"),
                Event::Message(message) => {
                    let _ = conn.send(&message); // fails only once we sent a close: then drop it
                }
                _ => {} // pings are answered and close frames echoed by the core itself
            }
        }
        // 2. Write everything queued (a blocking write may take part of it), then shut if asked to.
        if let Err(_broken) = write_all(&mut tcp, &mut conn) {
            conn.receive_eof(now()); // records the outcome; nothing more can be written: drop the socket
            return;
        }
        if conn.poll_shutdown() {
            let _ = tcp.shutdown(Shutdown::Write); // the server closes TCP first
        }
        if conn.is_finished() {
            return; // `conn.outcome()` says how it ended
        }
        // 3. Read, waiting no later than the next deadline, and fire due timers.
        let wait = conn
            .next_deadline()
            .map(|d| d.saturating_duration_since(now()));
        if conn.read_interest() == ReadInterest::Read {
            // `set_read_timeout` rejects a zero duration: wait at least a millisecond.
            let _ = tcp.set_read_timeout(wait.map(|w| w.max(Duration::from_millis(1))));
            match tcp.read(&mut buf) {
                Ok(0) => conn.receive_eof(now()),
                Ok(n) => conn.receive(&buf[..n], now()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => conn.receive_eof(now()), // a failed read ends the transport too
            }
        } else {
            // Nothing to read (all output is written here): only a timer can change anything now.
            let Some(wait) = wait else { return };
            std::thread::sleep(wait);
        }
        conn.handle_time(now());
    }
}

/// Writes all of `conn`'s output, advancing it by what each write took.
fn write_all(tcp: &mut TcpStream, conn: &mut Connection) -> io::Result<()> {
    let mut out = conn.output();
    while out.has_remaining() {
        match tcp.write(out.chunk()) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => out.advance(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
