//! Against independent implementations: tokio-tungstenite's client on our HTTP/1.1 server, and our
//! HTTP/2 client on axum's own (tungstenite-backed) WebSocket server over RFC 8441.

mod common;

use axum::extract::ws::{Message as AxumMessage, WebSocketUpgrade as AxumUpgrade};
use common::{start, timer};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite;
use ws_hyper::{ClientBuilder, CloseCode, Message, Upgrader};

#[tokio::test]
async fn tokio_tungstenite_client_on_our_http1_server() {
    let mut server = start(false, Upgrader::new(timer()).protocols(["chat"])).await;
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut request =
        tungstenite::client::IntoClientRequest::into_client_request(server.url("/t")).unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "chat".parse().unwrap());
    let (mut ws, response) = tokio_tungstenite::client_async(request, tcp).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    // tungstenite offers no permessage-deflate: none is agreed.
    assert!(response.headers().get("sec-websocket-extensions").is_none());

    ws.send(tungstenite::Message::text("hello")).await.unwrap();
    let echo = ws.next().await.unwrap().unwrap();
    assert_eq!(echo, tungstenite::Message::text("hello"));
    let big = vec![9u8; 200_000];
    ws.send(tungstenite::Message::binary(big.clone()))
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        tungstenite::Message::binary(big)
    );

    let seen = server.seen.recv().await.unwrap();
    assert_eq!(seen.subprotocol.as_deref(), Some("chat"));
    assert_eq!(seen.extensions, None);

    ws.close(Some(tungstenite::protocol::CloseFrame {
        code: tungstenite::protocol::frame::coding::CloseCode::from(4100),
        reason: "tungstenite done".into(),
    }))
    .await
    .unwrap();
    // Bounded: the server echoes the close and ends the connection.
    while let Some(Ok(_)) = ws.next().await {}
    // tungstenite does not shut its write side: dropping it closes TCP, which the server waits for.
    drop(ws);
    let frame = seen.close.await.unwrap().expect("the client's close frame");
    assert_eq!(
        (frame.code, frame.reason.as_str()),
        (CloseCode(4100), "tungstenite done")
    );
}

async fn axum_echo(upgrade: AxumUpgrade) -> axum::response::Response {
    upgrade
        .protocols(["chat"])
        .on_upgrade(|mut socket| async move {
            // Until the close handshake ends (tungstenite answers the close frame itself).
            while let Some(Ok(message)) = socket.recv().await {
                if matches!(message, AxumMessage::Close(_)) {
                    continue;
                }
                if socket.send(message).await.is_err() {
                    break;
                }
            }
        })
}

#[tokio::test]
async fn our_http2_client_on_axums_own_websocket_server() {
    let app = axum::Router::new().route("/ws", axum::routing::any(axum_echo));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let builder = ClientBuilder::new(&format!("ws://{addr}/ws"))
        .unwrap()
        .subprotocol("chat");
    let h2 = ws_hyper::tokio::connect_http2(&builder).await.unwrap();
    assert!(h2.is_extended_connect_enabled());
    let (mut a, opened) = h2.connect(&builder).await.unwrap();
    let (mut b, _) = h2.connect(&builder).await.unwrap();
    assert_eq!(opened.subprotocol.as_deref(), Some("chat"));
    // axum's WebSocket declines permessage-deflate: our offer goes unanswered, and that is fine.
    assert_eq!(opened.extensions, None);

    a.send("over h2").await.unwrap();
    b.send(Message::Binary(vec![3u8; 50_000].into()))
        .await
        .unwrap();
    assert_eq!(a.recv().await.unwrap().unwrap(), Message::from("over h2"));
    assert_eq!(
        b.recv().await.unwrap().unwrap(),
        Message::Binary(vec![3u8; 50_000].into())
    );
    a.close(CloseCode::NORMAL, "").await.unwrap();
    b.send("b still open").await.unwrap();
    assert_eq!(
        b.recv().await.unwrap().unwrap(),
        Message::from("b still open")
    );
    b.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn tungstenite_framing_over_hypers_h2_client_on_our_server() {
    let mut server = start(true, Upgrader::new(timer())).await;
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut send, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    // An extended CONNECT built by hand (no ws-core on this side), with no extension offered.
    let mut request = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(format!("http://{}/independent", server.addr))
        .header("sec-websocket-version", "13")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    request
        .extensions_mut()
        .insert(hyper::ext::Protocol::from_static("websocket"));
    let mut response = send.send_request(request).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    assert!(response.headers().get("sec-websocket-accept").is_none());
    let upgraded = hyper::upgrade::on(&mut response).await.unwrap();
    let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
        hyper_util::rt::TokioIo::new(upgraded),
        tungstenite::protocol::Role::Client,
        None,
    )
    .await;
    assert_eq!(
        server.seen.recv().await.unwrap().version,
        http::Version::HTTP_2
    );

    ws.send(tungstenite::Message::text("tungstenite over h2"))
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        tungstenite::Message::text("tungstenite over h2")
    );
    ws.send(tungstenite::Message::text("close:4003"))
        .await
        .unwrap();
    match ws.next().await.unwrap().unwrap() {
        tungstenite::Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 4003),
        other => panic!("expected the server's close frame, got {other:?}"),
    }
}
