//! `ws_hyper::tokio::connect` through an HTTP CONNECT proxy (a small relay written here, which records
//! what it was asked) and across redirects.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use ws_async::{Accept, ClientBuilder, Error, Message, Proxy, Response};
use ws_core::proxy::ProxyError;
use ws_hyper::ClientError;

const STEP: Duration = Duration::from_secs(10);

/// An echo server (ws-tokio) for any number of connections.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(ws_tokio::serve(
        listener,
        ws_tokio::default_config(),
        |mut ws| async move {
            while let Some(Ok(message)) = ws.recv().await {
                if ws.send(message).await.is_err() {
                    break;
                }
            }
        },
    ));
    addr
}

/// A CONNECT proxy: answers `reply` to each request line it records; with a 2xx, relays both ways to
/// the target named in the request.
async fn connect_proxy(reply: &'static str) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let line = head.lines().next().unwrap_or_default().to_string();
                log.lock().unwrap().push(line.clone());
                client.write_all(reply.as_bytes()).await.unwrap();
                if !reply.starts_with("HTTP/1.1 2") {
                    return;
                }
                let target = line.split(' ').nth(1).unwrap_or_default().to_string();
                let mut server = TcpStream::connect(target).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn connects_through_an_http_proxy_and_echoes() {
    let echo = echo_server().await;
    let (proxy, seen) = connect_proxy("HTTP/1.1 200 Connection established\r\n\r\n").await;
    let builder = ClientBuilder::new(&format!("ws://{echo}/chat"))
        .unwrap()
        .proxy(Proxy::url(&format!("http://{proxy}")).unwrap());
    let (mut ws, _) = tokio::time::timeout(STEP, ws_hyper::tokio::connect(&builder))
        .await
        .unwrap()
        .expect("connect through the proxy");
    ws.send("through the tunnel").await.unwrap();
    let back = tokio::time::timeout(STEP, ws.recv()).await.unwrap();
    assert_eq!(back.unwrap().unwrap(), Message::from("through the tunnel"));
    ws.close(ws_async::CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [format!("CONNECT {echo} HTTP/1.1")],
        "the proxy carried the connection"
    );
}

#[tokio::test]
async fn a_407_is_a_proxy_status_error() {
    let (proxy, _) = connect_proxy(
        "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n",
    )
    .await;
    let builder = ClientBuilder::new("ws://127.0.0.1:9/")
        .unwrap()
        .proxy(Proxy::url(&format!("http://{proxy}")).unwrap());
    let result = tokio::time::timeout(STEP, ws_hyper::tokio::connect(&builder))
        .await
        .unwrap();
    match result {
        Err(ClientError::WebSocket(Error::Proxy(ProxyError::Status(response)))) => {
            assert_eq!(response.status, 407);
            assert_eq!(
                response.headers.get_str("proxy-authenticate"),
                Some("Basic realm=\"x\"")
            );
        }
        other => panic!("expected a 407 from the proxy, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn follows_a_redirect_to_the_echo_server() {
    let echo = echo_server().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mover = listener.local_addr().unwrap();
    let location = format!("ws://{echo}/moved");
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let refused = ws_tokio::accept_with(tcp, ws_tokio::default_config(), |_| async move {
            Err::<Accept, _>(Response::new(307, "").header("Location", &location))
        })
        .await;
        assert!(refused.is_err());
    });
    let builder = ClientBuilder::new(&format!("ws://{mover}/"))
        .unwrap()
        .proxy(Proxy::None);
    let (mut ws, _) = tokio::time::timeout(STEP, ws_hyper::tokio::connect(&builder))
        .await
        .unwrap()
        .expect("redirected connect");
    ws.send("moved").await.unwrap();
    let back = tokio::time::timeout(STEP, ws.recv()).await.unwrap();
    assert_eq!(back.unwrap().unwrap(), Message::from("moved"));
}
