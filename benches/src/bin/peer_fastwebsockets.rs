//! Echo server on fastwebsockets, written like the crate's own
//! `examples/echo_server.rs`: hyper performs the upgrade, a
//! `FragmentCollector` reassembles fragmented messages, and every text and
//! binary frame is written back. Close frames are answered automatically
//! (`auto_close`). Default limit: 64 MiB per message.

use clap::Parser;
use fastwebsockets::{FragmentCollector, OpCode, WebSocketError, upgrade};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use ws_benches::peer::{self, PeerArgs};

async fn handle_client(fut: upgrade::UpgradeFut) -> Result<(), WebSocketError> {
    let mut ws = FragmentCollector::new(fut.await?);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => break,
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
    Ok(())
}

async fn server_upgrade(
    mut req: Request<Incoming>,
) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    let (response, fut) = upgrade::upgrade(&mut req)?;
    tokio::spawn(async move {
        // As in the example: the echo loop runs outside tokio's coop budget.
        let result = tokio::task::unconstrained(handle_client(fut)).await;
        match result {
            Ok(()) | Err(WebSocketError::UnexpectedEOF | WebSocketError::ConnectionClosed) => {}
            Err(e) => eprintln!("websocket error: {e}"),
        }
    });
    Ok(response)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args = PeerArgs::parse();
    let listener = peer::bind(&args, "peer-fastwebsockets").await?;
    loop {
        let stream = peer::accept(&listener).await;
        tokio::spawn(async move {
            // The one addition to the example, made in every peer alike.
            let _ = stream.set_nodelay(true);
            let io = TokioIo::new(stream);
            let conn = http1::Builder::new()
                .serve_connection(io, service_fn(server_upgrade))
                .with_upgrades();
            let _ = conn.await;
        });
    }
}
