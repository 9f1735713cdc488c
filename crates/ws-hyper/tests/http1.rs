//! The ws-hyper server over HTTP/1.1 against ws-tokio's client (an independent handshake: ws-core's
//! built-in one over raw TCP) and ws-hyper's own HTTP/1.1 client.

mod common;

use common::{start, timer};
use ws_hyper::{ClientBuilder, CloseCode, Message, Upgrader};

#[tokio::test]
async fn ws_tokio_client_messages_deflate_and_close_codes() {
    let mut server = start(false, Upgrader::new(timer())).await;
    let (mut ws, opened) = ws_tokio::connect(&server.url("/echo")).await.unwrap();
    // permessage-deflate is on by default on both sides, so it is agreed.
    let agreed = opened.extensions.expect("an extension agreed");
    assert!(agreed.starts_with("permessage-deflate"), "{agreed}");

    ws.send("hello").await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::from("hello"));
    let binary = Message::Binary(vec![7u8; 100_000].into());
    ws.send(binary.clone()).await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), binary);

    let seen = server.seen.recv().await.unwrap();
    assert_eq!(seen.version, http::Version::HTTP_11);
    assert!(seen.extensions.unwrap().starts_with("permessage-deflate"));

    // The server closes with the code asked for; the client sees it.
    ws.send("close:4001").await.unwrap();
    assert!(ws.recv().await.is_none(), "a clean close ends recv");
    let frame = ws.close_frame().expect("the server's close frame");
    assert_eq!(
        (frame.code, frame.reason.as_str()),
        (CloseCode(4001), "asked to")
    );
    let _ = seen.close.await;
}

#[tokio::test]
async fn client_close_code_reaches_the_server() {
    let mut server = start(false, Upgrader::new(timer())).await;
    let (mut ws, _) = ws_tokio::connect(&server.url("/")).await.unwrap();
    let seen = server.seen.recv().await.unwrap();
    ws.close(CloseCode(4321), "done here").await.unwrap();
    let frame = seen.close.await.unwrap().expect("the client's close frame");
    assert_eq!(
        (frame.code, frame.reason.as_str()),
        (CloseCode(4321), "done here")
    );
}

#[tokio::test]
async fn ws_hyper_http1_client_subprotocol_and_split() {
    let upgrader = Upgrader::new(timer()).protocols(["v2", "v1"]);
    let mut server = start(false, upgrader).await;
    // The client prefers v1: the server picks the first of the client's that it speaks.
    let builder = ClientBuilder::new(&server.url("/"))
        .unwrap()
        .subprotocol("v0")
        .subprotocol("v1")
        .subprotocol("v2");
    let (ws, opened) = ws_hyper::tokio::connect(&builder).await.unwrap();
    assert_eq!(opened.subprotocol.as_deref(), Some("v1"));
    assert!(opened.extensions.unwrap().starts_with("permessage-deflate"));
    let seen = server.seen.recv().await.unwrap();
    assert_eq!(seen.subprotocol.as_deref(), Some("v1"));

    // Split: one task writes, this one reads.
    let (mut reader, mut writer) = ws.split();
    let writing = tokio::spawn(async move {
        for i in 0..50 {
            writer.send(format!("m{i}")).await.unwrap();
        }
        writer
    });
    for i in 0..50 {
        let message = reader.recv().await.unwrap().unwrap();
        assert_eq!(message, Message::from(format!("m{i}")));
    }
    let writer = writing.await.unwrap();
    let Ok(mut ws) = reader.reunite(writer) else {
        panic!("halves of one connection")
    };
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn no_common_subprotocol_means_none() {
    let server = start(false, Upgrader::new(timer()).protocols(["chat"])).await;
    let builder = ClientBuilder::new(&server.url("/"))
        .unwrap()
        .subprotocol("other");
    let (mut ws, opened) = ws_hyper::tokio::connect(&builder).await.unwrap();
    assert_eq!(opened.subprotocol, None);
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn deflate_off_on_the_server_is_not_agreed() {
    let config = ws_hyper::Config::default(); // no extensions configured
    let server = start(false, Upgrader::new(timer()).config(config)).await;
    let (mut ws, opened) = ws_tokio::connect(&server.url("/")).await.unwrap();
    assert_eq!(opened.extensions, None);
    ws.send("plain").await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap(), Message::from("plain"));
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn http1_bad_version_gets_426_and_plain_routes_still_work() {
    let server = start(false, Upgrader::new(timer())).await;
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let request = http::Request::builder()
        .uri("/ws")
        .header("Host", server.addr.to_string())
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("Sec-WebSocket-Version", "8")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = send.send_request(request).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()["sec-websocket-version"], "13");

    let request = http::Request::builder()
        .uri("/plain")
        .header("Host", server.addr.to_string())
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = send.send_request(request).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
}

#[tokio::test]
async fn ws_tokio_client_rejected_with_the_status() {
    // A client that offers no subprotocol against a server that requires none gets in; one whose
    // request is malformed is answered 400 (here: a key that is not 16 bytes, via a raw request).
    let server = start(false, Upgrader::new(timer())).await;
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let request = http::Request::builder()
        .uri("/ws")
        .header("Host", server.addr.to_string())
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Key", "c2hvcnQ=")
        .header("Sec-WebSocket-Version", "13")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = send.send_request(request).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn deflate_parameters_from_the_upgrader() {
    let deflate = ws_hyper::DeflateConfig::default().server_max_window_bits(10);
    let server = start(false, Upgrader::new(timer()).deflate(Some(deflate))).await;
    let (mut ws, opened) = ws_tokio::connect(&server.url("/")).await.unwrap();
    let agreed = opened.extensions.unwrap();
    assert!(agreed.contains("server_max_window_bits=10"), "{agreed}");
    let text = "compressible ".repeat(1000);
    ws.send(text.as_str()).await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::from(text.as_str())
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();

    let server = start(false, Upgrader::new(timer()).deflate(None)).await;
    let (mut ws, opened) = ws_tokio::connect(&server.url("/")).await.unwrap();
    assert_eq!(opened.extensions, None);
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}
