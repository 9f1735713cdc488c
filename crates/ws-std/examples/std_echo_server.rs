//! Echo server: `std_echo_server --port N` binds 127.0.0.1:N and echoes every message back as the same
//! type, one thread per connection (the server side of the Autobahn runs).

use std::net::TcpListener;

use ws_std::Limits;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut port = 9001u16;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                port = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            _ => usage(),
        }
    }
    let config = ws_std::default_config().limits(
        Limits::default()
            .max_frame_size(64 << 20)
            .max_message_size(64 << 20),
    );
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    eprintln!("echo server listening on ws://127.0.0.1:{port}");
    ws_std::serve(listener, config, |mut ws| {
        // `feed` queues the reply; the next `recv` writes all queued replies before it blocks.
        while let Some(Ok(message)) = ws.recv() {
            if ws.feed(message).is_err() {
                break;
            }
        }
    })
}

fn usage() -> ! {
    eprintln!("usage: std_echo_server --port N");
    std::process::exit(2)
}
