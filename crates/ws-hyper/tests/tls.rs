//! `wss://` through `ws_hyper::tokio`: rustls with ALPN choosing HTTP/2 (RFC 8441) or HTTP/1.1.

mod common;

use common::{certs, start_with, timer};
use ws_hyper::{ClientBuilder, ClientError, CloseCode, Message, Upgrader};

fn builder(
    addr: std::net::SocketAddr,
    client: std::sync::Arc<ws_async::tls::rustls::ClientConfig>,
) -> ClientBuilder {
    ClientBuilder::new(&format!("wss://localhost:{}/secure", addr.port()))
        .unwrap()
        .tls_config(client)
}

#[tokio::test]
async fn alpn_h2_with_extended_connect_goes_over_http2() {
    let (server_tls, client_tls) = certs(&[b"h2".as_slice(), b"http/1.1"]);
    let mut server = start_with(true, Upgrader::new(timer()), Some(server_tls)).await;
    let builder = builder(server.addr, client_tls);
    let (mut ws, opened) = ws_hyper::tokio::connect(&builder).await.unwrap();
    assert!(opened.extensions.unwrap().starts_with("permessage-deflate"));
    assert_eq!(
        server.seen.recv().await.unwrap().version,
        http::Version::HTTP_2
    );
    ws.send("secure h2").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::from("secure h2")
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();

    // Shared: two WebSockets on one TLS connection.
    let h2 = ws_hyper::tokio::connect_http2(&builder).await.unwrap();
    let (mut a, _) = h2.connect(&builder).await.unwrap();
    let (mut b, _) = h2.connect(&builder).await.unwrap();
    a.send("a").await.unwrap();
    b.send("b").await.unwrap();
    assert_eq!(a.recv().await.unwrap().unwrap(), Message::from("a"));
    assert_eq!(b.recv().await.unwrap().unwrap(), Message::from("b"));
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn alpn_http11_only_server_gets_an_http1_upgrade() {
    let (server_tls, client_tls) = certs(&[b"http/1.1".as_slice()]);
    let mut server = start_with(true, Upgrader::new(timer()), Some(server_tls)).await;
    let builder = builder(server.addr, client_tls);
    let (mut ws, _) = ws_hyper::tokio::connect(&builder).await.unwrap();
    assert_eq!(
        server.seen.recv().await.unwrap().version,
        http::Version::HTTP_11
    );
    ws.send("secure h1").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::from("secure h1")
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    // And an HTTP/2-only connect fails clearly, as a TLS error (the server refuses the ALPN offer).
    let error = ws_hyper::tokio::connect_http2(&builder).await.unwrap_err();
    assert!(
        matches!(error, ClientError::WebSocket(ws_hyper::Error::Tls(_))),
        "{error}"
    );
}

#[tokio::test]
async fn h2_without_extended_connect_reconnects_with_http11() {
    let (server_tls, client_tls) = certs(&[b"h2".as_slice(), b"http/1.1"]);
    let mut server = start_with(false, Upgrader::new(timer()), Some(server_tls)).await;
    let builder = builder(server.addr, client_tls);
    let (mut ws, _) = ws_hyper::tokio::connect(&builder).await.unwrap();
    assert_eq!(
        server.seen.recv().await.unwrap().version,
        http::Version::HTTP_11
    );
    ws.send("fell back").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::from("fell back")
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(
        server.connections(),
        2,
        "an h2 connection, then an HTTP/1.1 one"
    );
}

#[tokio::test]
async fn a_silent_tls_server_hits_the_connect_timeout() {
    // Accepts TCP and never answers the TLS hello.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        std::future::pending::<()>().await;
        drop(tcp);
    });
    let (_, client_tls) = certs(&[b"h2".as_slice()]);
    let builder =
        builder(addr, client_tls).connect_timeout(Some(std::time::Duration::from_millis(200)));
    // The outer bound turns a missing timeout into a failure rather than a hang.
    let attempt = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        ws_hyper::tokio::connect(&builder),
    );
    match attempt.await.expect("the connect timeout did not fire") {
        Err(ClientError::WebSocket(ws_hyper::Error::ConnectTimeout)) => {}
        Err(other) => panic!("expected a connect timeout, got {other}"),
        Ok(_) => panic!("connected to a server that never spoke TLS"),
    }
    holder.abort();
}
