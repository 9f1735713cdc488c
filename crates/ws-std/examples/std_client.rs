//! Interactive client: `std_client URL` sends each stdin line as a text message and prints what arrives.
//! End stdin (Ctrl-D) to close.

use std::io::BufRead;

use ws_std::{CloseCode, Message};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: std_client URL");
        std::process::exit(2);
    };
    let (ws, opened) = ws_std::connect(&url)?;
    eprintln!("connected (subprotocol: {:?})", opened.subprotocol);
    // TLS (to the server, or to an https:// proxy) keeps one session for both directions: no split.
    let tls = match ws.get_ref() {
        ws_std::MaybeTlsStream::Tunnel(tunnel) => tunnel.is_tls() || tunnel.is_proxy_tls(),
        stream => stream.is_tls(),
    };
    if tls {
        // Send every line, then read until the server closes.
        let mut ws = ws;
        for line in std::io::stdin().lock().lines() {
            ws.send(line?)?;
        }
        ws.close(CloseCode::NORMAL, "")?;
    } else {
        // Read and write on two threads.
        let (reader, mut writer) = ws.split()?;
        let printer = std::thread::spawn(move || print_all(reader));
        for line in std::io::stdin().lock().lines() {
            writer.send(line?)?;
        }
        writer.close(CloseCode::NORMAL, "")?;
        printer.join().expect("printer thread");
    }
    Ok(())
}

fn print_all(messages: impl Iterator<Item = ws_std::Result<Message>>) {
    for message in messages {
        match message {
            Ok(Message::Text(text)) => println!("{text}"),
            Ok(Message::Binary(data)) => println!("<{} bytes of binary>", data.len()),
            Err(e) => eprintln!("error: {e}"),
        }
    }
}
