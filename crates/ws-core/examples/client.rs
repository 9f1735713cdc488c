//! Blocking `std::net` client driving `ws_core::Connection`: `client ws://HOST:PORT/PATH [MESSAGE...]`
//! sends each MESSAGE (or each stdin line) as text once open, prints each reply (`< TEXT`; binary:
//! `< N bytes`), closes with 1000 once all were answered and prints `closed cleanly`. Only `ws://`.

use std::io::{self, BufRead, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant as StdInstant};

use bytes::Buf;
use ws_core::{ClientRequest, CloseCode, Config, Connection, Event, Instant, WsUrl};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = WsUrl::parse(&args.next().ok_or("usage: client URL [MESSAGE...]")?)?;
    if url.secure {
        return Err("only ws:// here: TLS is not part of this example".into());
    }
    let mut messages: Vec<String> = args.collect();
    if messages.is_empty() {
        messages = io::stdin().lock().lines().collect::<io::Result<_>>()?;
    }
    let mut tcp = TcpStream::connect((url.host.as_str(), url.port))?;
    let epoch = StdInstant::now(); // a monotonic clock; `Instant`s count from here
    let now = || Instant::from_since_epoch(epoch.elapsed());
    let mut seed = [0u8; 32]; // seeds the Sec-WebSocket-Key and the frame masks: 32 bytes from the OS
    getrandom::fill(&mut seed).map_err(|e| format!("no OS randomness: {e}"))?;
    let request = ClientRequest::from_url(&url); // `Connection::client` queues it at once
    let mut conn = Connection::client(&request, Config::default(), seed, now());
    let (mut buf, mut replies) = (vec![0u8; 64 * 1024], 0);
    while !conn.is_finished() {
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Open(_) => {
                    for text in &messages {
                        conn.send(text.as_str())?;
                    }
                }
                Event::Message(reply) => {
                    replies += 1;
                    match reply.as_text() {
                        Some(text) => println!("< {text}"),
                        None => println!("< {} bytes", reply.len()),
                    }
                }
                _ => {} // the terminal event is kept in `outcome()`
            }
            if replies == messages.len() && conn.state() == ws_core::State::Open {
                conn.close(CloseCode::NORMAL, "done", now())?;
            }
        }
        if let Err(e) = write_all(&mut tcp, &mut conn) {
            eprintln!("write failed: {e}");
            conn.receive_eof(now()); // the transport broke: the core records the loss
            break;
        }
        if conn.poll_shutdown() {
            let _ = tcp.shutdown(Shutdown::Write); // the server closed TCP (or gave up): close ours
        }
        if conn.is_finished() {
            break;
        }
        let wait = conn
            .next_deadline()
            .map(|d| d.saturating_duration_since(now()));
        if conn.read_interest() == ws_core::ReadInterest::Read {
            tcp.set_read_timeout(wait.map(|w| w.max(Duration::from_millis(1))))?;
            match tcp.read(&mut buf) {
                Ok(0) => conn.receive_eof(now()),
                Ok(n) => conn.receive(&buf[..n], now()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => conn.receive_eof(now()), // a failed read ends the transport too
            }
        } else {
            std::thread::sleep(wait.ok_or("stalled: nothing to read and no timer")?);
        }
        conn.handle_time(now());
    }
    while conn.poll_event().is_some() {} // after a broken transport: the terminal event
    match conn.outcome() {
        Some(outcome) if outcome.is_clean() => println!("closed cleanly"),
        outcome => return Err(format!("ended: {outcome:?}").into()),
    }
    Ok(())
}

/// Writes all of `conn`'s output, advancing it by what each write took (a write may take part of it).
fn write_all(tcp: &mut TcpStream, conn: &mut Connection) -> io::Result<()> {
    let mut out = conn.output();
    while out.has_remaining() {
        match tcp.write(out.chunk()) {
            Ok(n) => out.advance(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
