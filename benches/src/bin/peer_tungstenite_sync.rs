//! Blocking echo server on tungstenite (no async runtime), written like the
//! crate's own `examples/server.rs`: a thread per connection that reads a
//! message and sends it back (`send` writes and flushes). The peer of the
//! blocking `ws-std` server. Close frames are answered by tungstenite itself.

use std::net::{TcpListener, TcpStream};
use std::thread;

use clap::Parser;
use tungstenite::Message;
use ws_benches::peer::PeerArgs;

fn main() -> std::io::Result<()> {
    let args = PeerArgs::parse();
    let listener = TcpListener::bind(args.addr())?;
    eprintln!(
        "peer-tungstenite-sync: listening on {}",
        listener.local_addr()?
    );
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        thread::spawn(move || echo(stream));
    }
    Ok(())
}

fn echo(stream: TcpStream) {
    // The one addition to the example, made in every peer alike.
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = tungstenite::accept(stream) else {
        return;
    };
    loop {
        match ws.read() {
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(message).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}
