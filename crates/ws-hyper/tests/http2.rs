//! RFC 8441: WebSockets over HTTP/2 extended CONNECT, ws-hyper's client against ws-hyper's server,
//! the fallback to HTTP/1.1 when the server does not enable extended CONNECT, and bad requests sent
//! with a raw HTTP/2 client (the `h2` crate).

mod common;

use bytes::Bytes;
use common::{start, timer};
use ws_hyper::{ClientBuilder, ClientError, CloseCode, Message, Upgrader};

#[tokio::test]
async fn two_websockets_share_one_http2_connection_with_deflate() {
    let mut server = start(true, Upgrader::new(timer()).protocols(["chat"])).await;
    let builder = ClientBuilder::new(&server.url("/chat"))
        .unwrap()
        .subprotocol("chat");
    let h2 = ws_hyper::tokio::connect_http2(&builder).await.unwrap();
    assert!(h2.is_extended_connect_enabled());

    let (mut first, opened1) = h2.connect(&builder).await.unwrap();
    let (mut second, opened2) = h2.connect(&builder).await.unwrap();
    for opened in [&opened1, &opened2] {
        assert_eq!(opened.subprotocol.as_deref(), Some("chat"));
        let agreed = opened
            .extensions
            .as_deref()
            .expect("deflate agreed over h2");
        assert!(agreed.starts_with("permessage-deflate"), "{agreed}");
    }
    for _ in 0..2 {
        let seen = server.seen.recv().await.unwrap();
        assert_eq!(seen.version, http::Version::HTTP_2);
        assert!(seen.extensions.unwrap().starts_with("permessage-deflate"));
    }

    // Interleaved traffic on both streams, compressible and large enough to span many DATA frames.
    let big = "abc".repeat(40_000);
    first.send(big.as_str()).await.unwrap();
    second.send("two").await.unwrap();
    assert_eq!(second.recv().await.unwrap().unwrap(), Message::from("two"));
    assert_eq!(
        first.recv().await.unwrap().unwrap(),
        Message::from(big.as_str())
    );
    let binary = Message::Binary(Bytes::from(vec![1u8; 70_000]));
    second.send(binary.clone()).await.unwrap();
    assert_eq!(second.recv().await.unwrap().unwrap(), binary);

    // Closing one stream leaves the other working.
    first.send("close:4002").await.unwrap();
    assert!(first.recv().await.is_none());
    assert_eq!(first.close_frame().unwrap().code, CloseCode(4002));
    second.send("still here").await.unwrap();
    assert_eq!(
        second.recv().await.unwrap().unwrap(),
        Message::from("still here")
    );
    second.close(CloseCode::NORMAL, "").await.unwrap();

    // One TCP connection carried both.
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn http2_websocket_split_across_tasks() {
    let server = start(true, Upgrader::new(timer())).await;
    let builder = ClientBuilder::new(&server.url("/")).unwrap();
    let h2 = ws_hyper::tokio::connect_http2(&builder).await.unwrap();
    let (ws, _) = h2.connect(&builder).await.unwrap();
    let (mut reader, mut writer) = ws.split();
    let writing = tokio::spawn(async move {
        for i in 0..100 {
            writer.send(format!("{i}")).await.unwrap();
        }
        writer.close(CloseCode::NORMAL, "").await.unwrap();
    });
    for i in 0..100 {
        assert_eq!(
            reader.recv().await.unwrap().unwrap(),
            Message::from(format!("{i}"))
        );
    }
    assert!(reader.recv().await.is_none());
    writing.await.unwrap();
}

#[tokio::test]
async fn server_without_extended_connect_makes_the_client_fall_back_to_http1() {
    let mut server = start(false, Upgrader::new(timer())).await;
    let builder = ClientBuilder::new(&server.url("/")).unwrap();
    let h2 = ws_hyper::tokio::connect_http2(&builder).await.unwrap();
    assert!(!h2.is_extended_connect_enabled());
    match h2.connect(&builder).await {
        Err(ClientError::ExtendedConnectDisabled) => {}
        Err(other) => panic!("expected ExtendedConnectDisabled, got {other}"),
        Ok(_) => panic!("opened a WebSocket on a server that did not enable extended CONNECT"),
    }

    let addr = server.addr;
    let dial = || async move {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        Ok(hyper_util::rt::TokioIo::new(tcp))
    };
    let (mut ws, _) = ws_hyper::connect_http2_or_http1(&h2, &builder, dial)
        .await
        .unwrap();
    ws.send("via HTTP/1.1").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap(),
        Message::from("via HTTP/1.1")
    );
    let seen = server.seen.recv().await.unwrap();
    assert_eq!(seen.version, http::Version::HTTP_11);
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(
        server.connections(),
        2,
        "the HTTP/2 connection and a new HTTP/1.1 one"
    );
}

#[tokio::test]
async fn fallback_helper_stays_on_http2_when_enabled() {
    let mut server = start(true, Upgrader::new(timer())).await;
    let builder = ClientBuilder::new(&server.url("/")).unwrap();
    let h2 = ws_hyper::tokio::connect_http2(&builder).await.unwrap();
    let dial = || async {
        Err::<hyper_util::rt::TokioIo<tokio::net::TcpStream>, _>(std::io::Error::other(
            "must not dial",
        ))
    };
    let (mut ws, _) = ws_hyper::connect_http2_or_http1(&h2, &builder, dial)
        .await
        .unwrap();
    assert_eq!(
        server.seen.recv().await.unwrap().version,
        http::Version::HTTP_2
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}

/// Sends one request on a raw HTTP/2 connection and returns the response's status.
async fn raw_h2_status(addr: std::net::SocketAddr, request: http::Request<()>) -> http::StatusCode {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (send, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut send = send.ready().await.unwrap();
    let (response, _stream) = send.send_request(request, false).unwrap();
    response.await.unwrap().status()
}

fn extended_connect(
    addr: std::net::SocketAddr,
    protocol: Option<&'static str>,
) -> http::Request<()> {
    let mut request = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(format!("http://{addr}/chat"))
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    if let Some(protocol) = protocol {
        request
            .extensions_mut()
            .insert(h2::ext::Protocol::from_static(protocol));
    }
    request
}

#[tokio::test]
async fn raw_h2_bad_requests_get_400_and_501() {
    let server = start(true, Upgrader::new(timer())).await;
    let addr = server.addr;

    // A plain CONNECT (no :protocol): a tunnel request, not a WebSocket; 400.
    let tunnel = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(addr.to_string())
        .body(())
        .unwrap();
    assert_eq!(
        raw_h2_status(addr, tunnel).await,
        http::StatusCode::BAD_REQUEST
    );

    // Another protocol: 501.
    let other = extended_connect(addr, Some("webtransport"));
    assert_eq!(
        raw_h2_status(addr, other).await,
        http::StatusCode::NOT_IMPLEMENTED
    );

    // An HTTP/2 request with a Sec-WebSocket-Key (RFC 8441 forbids it): 400.
    let mut keyed = extended_connect(addr, Some("websocket"));
    keyed.headers_mut().insert(
        "sec-websocket-key",
        http::HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="),
    );
    assert_eq!(
        raw_h2_status(addr, keyed).await,
        http::StatusCode::BAD_REQUEST
    );

    // A wrong version: 426.
    let mut old = extended_connect(addr, Some("websocket"));
    old.headers_mut()
        .insert("sec-websocket-version", http::HeaderValue::from_static("8"));
    assert_eq!(
        raw_h2_status(addr, old).await,
        http::StatusCode::UPGRADE_REQUIRED
    );

    // And a good one: 200, the stream stays open for frames.
    let good = extended_connect(addr, Some("websocket"));
    assert_eq!(raw_h2_status(addr, good).await, http::StatusCode::OK);
}

/// A hand-written HTTP/2 server that answers every extended CONNECT with `status` and `headers`.
async fn lying_server(
    status: u16,
    headers: &'static [(&'static str, &'static str)],
) -> std::net::SocketAddr {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let service = hyper::service::service_fn(move |_request| async move {
                // A refusal explains itself in its body; a 200 opens the tunnel and sends nothing.
                let body = match status {
                    200..=299 => Bytes::new(),
                    _ => Bytes::from(format!("refused with {status}\n")),
                };
                let mut response = http::Response::new(http_body_util::Full::new(body));
                *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
                for (name, value) in headers {
                    response
                        .headers_mut()
                        .insert(*name, http::HeaderValue::from_static(value));
                }
                Ok::<_, hyper::Error>(response)
            });
            tokio::spawn(async move {
                let mut server = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                server.enable_connect_protocol();
                let _ = server.serve_connection(TokioIo::new(tcp), service).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn answers_with_what_we_never_offered_are_refused() {
    use ws_core::HandshakeError;
    let expect = |result: Result<(ws_hyper::WebSocket, ws_hyper::Opened), ClientError>,
                  wanted: HandshakeError| match result {
        Err(ClientError::WebSocket(ws_hyper::Error::Failed(ws_core::Error::Handshake(e)))) => {
            assert_eq!(e, wanted)
        }
        Err(other) => panic!("expected {wanted:?}, got {other}"),
        Ok(_) => panic!("accepted an answer with {wanted:?}"),
    };

    // permessage-deflate answered to a client that did not offer it.
    let addr = lying_server(200, &[("sec-websocket-extensions", "permessage-deflate")]).await;
    let builder = ClientBuilder::new(&format!("ws://{addr}/"))
        .unwrap()
        .config(ws_hyper::Config::default());
    let h2 = ws_hyper::tokio::connect_http2(&builder).await.unwrap();
    expect(
        h2.connect(&builder).await,
        HandshakeError::InvalidExtensions,
    );

    // A subprotocol the client never asked for.
    let addr = lying_server(200, &[("sec-websocket-protocol", "superchat")]).await;
    let builder = ClientBuilder::new(&format!("ws://{addr}/"))
        .unwrap()
        .subprotocol("chat");
    let h2 = ws_hyper::tokio::connect_http2(&builder).await.unwrap();
    expect(
        h2.connect(&builder).await,
        HandshakeError::UnexpectedSubprotocol,
    );

    // A refusal is a rejection with its status and body.
    let addr = lying_server(403, &[]).await;
    let builder = ClientBuilder::new(&format!("ws://{addr}/")).unwrap();
    let h2 = ws_hyper::tokio::connect_http2(&builder).await.unwrap();
    match h2.connect(&builder).await {
        Err(ClientError::WebSocket(ws_hyper::Error::Rejected(r))) => {
            assert_eq!(r.status, 403);
            assert_eq!(&r.body[..], b"refused with 403\n");
        }
        Err(e) => panic!("expected a rejection, got {e}"),
        Ok(_) => panic!("a 403 opened a WebSocket"),
    }

    // And a bare 200 is a valid RFC 8441 answer.
    let addr = lying_server(200, &[]).await;
    let builder = ClientBuilder::new(&format!("ws://{addr}/")).unwrap();
    let h2 = ws_hyper::tokio::connect_http2(&builder).await.unwrap();
    let (ws, opened) = h2.connect(&builder).await.unwrap();
    assert_eq!((opened.subprotocol, opened.extensions), (None, None));
    drop(ws);
}
