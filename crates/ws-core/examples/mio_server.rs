//! Readiness-based echo server on mio: many connections in one thread, driving `ws_core::Connection`.
//!
//! `mio_server [ADDR]` (default `127.0.0.1:9002`; `--port N` binds `127.0.0.1:N`, `--port 0` a free
//! port). Prints `listening on ws://ADDR` first. Every message is echoed back as the same type.
//!
//! Each socket is registered once for both readiness kinds (mio is edge-triggered), and a connection is
//! driven until it would block: events, writes, shutdown, reads while the core wants input. The poll
//! timeout is the earliest deadline of all connections. The core owns the lifecycle (close handshake,
//! lingering after a failure); the loop drops a connection when `is_finished()` says so.

use std::collections::HashMap;
use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::net::Shutdown;
use std::time::Instant as StdInstant;

use bytes::Buf;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use ws_core::{Accept, Config, Connection, Event, Instant, ReadInterest};

const LISTENER: Token = Token(usize::MAX);

struct Peer {
    tcp: TcpStream,
    conn: Connection,
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = match args.as_slice() {
        [] => "127.0.0.1:9002".into(),
        [flag, port] if flag == "--port" => format!("127.0.0.1:{port}"),
        [addr] => addr.clone(),
        _ => panic!("usage: mio_server [ADDR | --port N]"),
    };
    let mut listener = TcpListener::bind(addr.parse().expect("an IP address and port"))?;
    println!("listening on ws://{}", listener.local_addr()?);
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let (mut events, mut peers) = (Events::with_capacity(256), HashMap::<usize, Peer>::new());
    let (mut next_token, mut buf) = (0, vec![0u8; 64 * 1024]);
    let epoch = StdInstant::now(); // the monotonic clock all `Instant`s count from
    let now = || Instant::from_since_epoch(epoch.elapsed());
    let config = std::sync::Arc::new(Config::default()); // one shared configuration
    loop {
        // Sleep until I/O is ready, but no later than the earliest deadline.
        let deadline = peers.values().filter_map(|p| p.conn.next_deadline()).min();
        let timeout = deadline.map(|d| d.saturating_duration_since(now()));
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let mut ready: Vec<usize> = Vec::new();
        for event in events.iter() {
            if event.token() == LISTENER {
                while let Ok((mut tcp, _)) = listener.accept() {
                    let token = next_token;
                    next_token += 1;
                    let both = Interest::READABLE | Interest::WRITABLE;
                    poll.registry().register(&mut tcp, Token(token), both)?;
                    let conn = Connection::server(config.clone(), now());
                    peers.insert(token, Peer { tcp, conn });
                    ready.push(token);
                }
            } else {
                ready.push(event.token().0);
            }
        }
        // Connections whose deadline passed are driven too (`drive` calls `handle_time`).
        let t = now();
        ready.extend(
            peers
                .iter()
                .filter(|(_, p)| p.conn.next_deadline().is_some_and(|d| d <= t))
                .map(|(k, _)| *k),
        );
        for token in ready {
            let Some(peer) = peers.get_mut(&token) else {
                continue;
            };
            if drive(peer, &mut buf, now()) {
                let mut peer = peers.remove(&token).expect("present");
                let _ = poll.registry().deregister(&mut peer.tcp); // dropping it closes the socket
            }
        }
    }
}

/// Drives one connection until it would block. Returns whether it is finished (drop the socket).
fn drive(peer: &mut Peer, buf: &mut [u8], now: Instant) -> bool {
    let Peer { tcp, conn } = peer;
    conn.handle_time(now);
    loop {
        // Events one at a time (frames are parsed lazily, so drain after every input).
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Request(_) => conn.accept(Accept::new(), now).expect("a request waits"),
                Event::Message(message) => {
                    let _ = conn.send(&message); // fails only after our close frame: drop it then
                }
                _ => {} // pings, close echoes and failures are handled by the core
            }
        }
        // Write what we can (vectored: a large payload is queued as its own run), then shut if asked.
        let mut out = conn.output();
        while out.has_remaining() {
            let mut runs = [IoSlice::new(&[]); 16];
            let count = out.chunks_vectored(&mut runs);
            match tcp.write_vectored(&runs[..count]) {
                Ok(n) => out.advance(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break, // WRITABLE will come
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    conn.receive_eof(now); // the transport broke: record it, and drop the socket
                    while conn.poll_event().is_some() {}
                    return true;
                }
            }
        }
        if conn.poll_shutdown() {
            let _ = tcp.shutdown(Shutdown::Write); // after a close handshake or a failure
        }
        if conn.is_finished() {
            return true; // `conn.outcome()` says how it ended
        }
        // Read while the core wants input. An echo server has no send of its own waiting, so
        // `WhileSending` (output above `max_queued_output`) means: wait for WRITABLE, not read.
        if conn.read_interest() != ReadInterest::Read {
            return false;
        }
        match tcp.read(buf) {
            Ok(0) => conn.receive_eof(now),
            Ok(n) => conn.receive(&buf[..n], now),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false, // READABLE will come
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => conn.receive_eof(now), // a failed read ends the transport too
        }
    }
}
