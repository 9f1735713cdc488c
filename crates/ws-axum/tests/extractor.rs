//! The extractor on an axum router served by `axum::serve`: over HTTP/1.1 (ws-tokio's client) and
//! HTTP/2 extended CONNECT (ws-hyper's h2 client), next to an ordinary route; the handler sees the
//! requested protocols and chooses; bad requests get ws-core's statuses.

use std::net::SocketAddr;

use axum::Router;
use axum::response::Response;
use axum::routing::{any, get};
use tokio::sync::mpsc;
use ws_axum::{CloseCode, Message, WebSocketUpgrade};
use ws_hyper::ClientBuilder;

#[derive(Debug)]
struct Seen {
    requested: Vec<String>,
    http2: bool,
}

async fn start() -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let (tx, seen) = mpsc::unbounded_channel();
    let echo = move |upgrade: WebSocketUpgrade| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(Seen {
                requested: upgrade.requested_protocols().to_vec(),
                http2: upgrade.is_http2(),
            });
            upgrade
                .protocols(["v2", "v1"])
                .on_upgrade(|mut ws| async move {
                    while let Some(Ok(message)) = ws.recv().await {
                        if ws.send(message).await.is_err() {
                            break;
                        }
                    }
                })
        }
    };
    // The second form: the response and the future, the handler spawning it itself; no deflate.
    let parts = |upgrade: WebSocketUpgrade| async move {
        let (response, websocket): (Response, _) = upgrade.deflate(None).into_parts();
        tokio::spawn(async move {
            if let Ok(mut ws) = websocket.await {
                let _ = ws.send("from into_parts").await;
                let _ = ws.close(CloseCode(4000), "done").await;
            }
        });
        response
    };
    let app = Router::new()
        .route("/", get(|| async { "plain" }))
        .route("/echo", any(echo))
        .route("/parts", any(parts));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

#[tokio::test]
async fn http1_upgrade_chooses_protocol_and_deflate() {
    let (addr, mut seen) = start().await;
    let builder = ws_tokio::ClientBuilder::new(&format!("ws://{addr}/echo"))
        .unwrap()
        .subprotocol("v1")
        .subprotocol("v3");
    let (mut ws, opened) = ws_tokio::connect_with(&builder).await.unwrap();
    assert_eq!(opened.subprotocol.as_deref(), Some("v1"));
    assert!(opened.extensions.unwrap().starts_with("permessage-deflate"));
    let seen = seen.recv().await.unwrap();
    assert_eq!(seen.requested, ["v1", "v3"]);
    assert!(!seen.http2);
    ws.send("hi").await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::from("hi"));
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn http2_extended_connect_on_an_any_route() {
    let (addr, mut seen) = start().await;
    let builder = ClientBuilder::new(&format!("ws://{addr}/echo"))
        .unwrap()
        .subprotocol("v2");
    let h2 = ws_hyper::tokio::connect_http2(&builder).await.unwrap();
    assert!(
        h2.is_extended_connect_enabled(),
        "axum::serve enables extended CONNECT"
    );
    let (mut a, opened) = h2.connect(&builder).await.unwrap();
    let (mut b, _) = h2.connect(&builder).await.unwrap();
    assert_eq!(opened.subprotocol.as_deref(), Some("v2"));
    assert!(opened.extensions.unwrap().starts_with("permessage-deflate"));
    assert!(seen.recv().await.unwrap().http2);
    a.send("a").await.unwrap();
    b.send("b").await.unwrap();
    assert_eq!(b.recv().await.unwrap().unwrap(), Message::from("b"));
    assert_eq!(a.recv().await.unwrap().unwrap(), Message::from("a"));
    a.close(CloseCode::NORMAL, "").await.unwrap();
    b.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn into_parts_form_and_deflate_off() {
    let (addr, _seen) = start().await;
    let (mut ws, opened) = ws_tokio::connect(&format!("ws://{addr}/parts"))
        .await
        .unwrap();
    assert_eq!(
        opened.extensions, None,
        "the handler declined permessage-deflate"
    );
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::from("from into_parts")
    );
    assert!(ws.recv().await.is_none());
    assert_eq!(ws.close_frame().unwrap().code, CloseCode(4000));
}

#[tokio::test]
async fn plain_route_and_bad_upgrades() {
    let (addr, _seen) = start().await;
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let get = |path: &str| {
        http::Request::builder()
            .uri(path)
            .header("Host", addr.to_string())
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap()
    };
    let response = send.send_request(get("/")).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    // A GET without Upgrade on the WebSocket route: 426 with the version spoken.
    let response = send.send_request(get("/echo")).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()["sec-websocket-version"], "13");
}

#[tokio::test]
async fn http2_unknown_protocol_is_501() {
    let (addr, _seen) = start().await;
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let mut request = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(format!("http://{addr}/echo"))
        .header("sec-websocket-version", "13")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    request
        .extensions_mut()
        .insert(hyper::ext::Protocol::from_static("webtransport"));
    // Sent without waiting for the server's SETTINGS: the server (which enabled extended CONNECT
    // from the start) judges the request.
    let response = send.send_request(request).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::NOT_IMPLEMENTED);
}
