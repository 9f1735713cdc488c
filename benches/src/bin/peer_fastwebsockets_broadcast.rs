//! Broadcast server on fastwebsockets: every text or binary message any
//! client sends goes to every connected client, the sender included.
//!
//! hyper performs the upgrade (as in the crate's examples); each connection is
//! one task that `select!`s between the next frame from its client (through a
//! `FragmentCollector`, which reassembles fragmented messages) and the next
//! message of the server's one `tokio::sync::broadcast` channel, written with
//! `write_frame`. A receiver that falls more than the channel's capacity
//! behind skips what it missed (`Lagged`). Close frames are answered by the
//! library (`auto_close`). No permessage-deflate (fastwebsockets 0.10 has
//! none).

use clap::Parser;
use fastwebsockets::{FragmentCollector, Frame, OpCode, Payload, WebSocketError, upgrade};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::broadcast::{self, error::RecvError};
use ws_benches::peer::{self, BROADCAST_CAPACITY, PeerArgs};

/// A broadcast message: its opcode and payload.
type Item = (OpCode, Bytes);

async fn handle_client(
    fut: upgrade::UpgradeFut,
    hub: broadcast::Sender<Item>,
) -> Result<(), WebSocketError> {
    let mut ws = FragmentCollector::new(fut.await?);
    let mut rx = hub.subscribe();
    loop {
        tokio::select! {
            frame = ws.read_frame() => {
                let frame = frame?;
                match frame.opcode {
                    OpCode::Close => break,
                    OpCode::Text | OpCode::Binary => {
                        let _ = hub.send((frame.opcode, Bytes::copy_from_slice(&frame.payload)));
                    }
                    _ => {}
                }
            }
            item = rx.recv() => match item {
                Ok((opcode, payload)) => {
                    let frame = Frame::new(true, opcode, None, Payload::Borrowed(&payload));
                    ws.write_frame(frame).await?;
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            },
        }
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args = PeerArgs::parse();
    let listener = peer::bind(&args, "peer-fastwebsockets-broadcast").await?;
    let (hub, _) = broadcast::channel::<Item>(BROADCAST_CAPACITY);
    loop {
        let stream = peer::accept(&listener).await;
        let hub = hub.clone();
        tokio::spawn(async move {
            // The one addition to the examples, made in every peer alike.
            let _ = stream.set_nodelay(true);
            let io = TokioIo::new(stream);
            let service = service_fn(move |mut req: Request<Incoming>| {
                let hub = hub.clone();
                async move {
                    let (response, fut) = upgrade::upgrade(&mut req)?;
                    tokio::spawn(async move {
                        match handle_client(fut, hub).await {
                            Ok(())
                            | Err(
                                WebSocketError::UnexpectedEOF | WebSocketError::ConnectionClosed,
                            ) => {}
                            Err(e) => eprintln!("websocket error: {e}"),
                        }
                    });
                    Ok::<Response<Empty<Bytes>>, WebSocketError>(response)
                }
            });
            let conn = http1::Builder::new()
                .serve_connection(io, service)
                .with_upgrades();
            let _ = conn.await;
        });
    }
}
