//! The chat server in-process: chatting, handshake rejections, limits, the page, shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use ws_tokio::{ClientBuilder, CloseCode, Error, TokioIo, WebSocket};

mod common;

use common::field;

const STEP: Duration = Duration::from_secs(5);

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(ws_demo::run(listener, async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stop: Some(stop),
        task,
    }
}

impl Server {
    fn url(&self, query: &str) -> String {
        format!("ws://{}/chat{query}", self.addr)
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("run returns")
            .unwrap()
            .unwrap();
    }
}

async fn join(server: &Server, name: &str) -> WebSocket {
    let builder = ClientBuilder::new(&server.url(&format!("?name={name}")))
        .unwrap()
        .subprotocol("chat");
    let (ws, _) = tokio::time::timeout(STEP, ws_tokio::connect_with(&builder))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ws.subprotocol(), Some("chat"));
    ws
}

async fn next_text(ws: &mut WebSocket) -> String {
    common::next_text(ws, STEP).await
}

fn assert_time(t: &str) {
    let b = t.as_bytes();
    assert!(
        t.len() == 8 && b[2] == b':' && b[5] == b':',
        "HH:MM:SS, got {t}"
    );
}

/// Waits for the end of `ws` and returns the close code the server sent.
async fn close_code(ws: &mut WebSocket) -> (u16, String) {
    loop {
        match tokio::time::timeout(STEP, ws.recv())
            .await
            .expect("the server closes in time")
        {
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("expected a clean close, got {e}"),
            None => break,
        }
    }
    let frame = ws.close_frame().expect("a close frame");
    (frame.code.0, frame.reason.as_str().to_string())
}

#[tokio::test]
async fn two_users_chat_and_see_joins_and_leaves() {
    let server = start().await;
    let mut alice = join(&server, "alice").await;
    let j = next_text(&mut alice).await;
    assert_eq!(
        (
            field(&j, "type").as_str(),
            field(&j, "name").as_str(),
            field(&j, "users").as_str()
        ),
        ("join", "alice", "1")
    );
    assert_time(&field(&j, "time"));

    let mut bob = join(&server, "bob").await;
    for ws in [&mut alice, &mut bob] {
        let j = next_text(ws).await;
        assert_eq!(
            (
                field(&j, "type").as_str(),
                field(&j, "name").as_str(),
                field(&j, "users").as_str()
            ),
            ("join", "bob", "2")
        );
    }

    alice.send("hello \"bob\" \\ ünïcode").await.unwrap();
    for ws in [&mut alice, &mut bob] {
        let m = next_text(ws).await;
        assert_eq!(field(&m, "type"), "message");
        assert_eq!(field(&m, "name"), "alice");
        assert_eq!(field(&m, "text"), "hello \"bob\" \\ ünïcode");
        assert_time(&field(&m, "time"));
    }
    bob.send("hi alice").await.unwrap();
    for ws in [&mut alice, &mut bob] {
        let m = next_text(ws).await;
        assert_eq!(
            (field(&m, "name").as_str(), field(&m, "text").as_str()),
            ("bob", "hi alice")
        );
    }

    bob.close(CloseCode::NORMAL, "bye").await.unwrap();
    // The server finishes (and announces the leave) when the client's TCP side closes too.
    drop(bob);
    let l = next_text(&mut alice).await;
    assert_eq!(
        (
            field(&l, "type").as_str(),
            field(&l, "name").as_str(),
            field(&l, "users").as_str()
        ),
        ("leave", "bob", "1")
    );
    alice.close(CloseCode::NORMAL, "").await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn names_are_sanitized_or_guest() {
    let server = start().await;
    let mut a = join(&server, "%3Cb%3E%20Mallory%22%20").await;
    assert_eq!(field(&next_text(&mut a).await, "name"), "b Mallory");
    let mut b = join(&server, &"x".repeat(50)).await;
    assert_eq!(field(&next_text(&mut b).await, "name"), "x".repeat(32));
    let builder = ClientBuilder::new(&server.url(""))
        .unwrap()
        .subprotocol("superchat")
        .subprotocol("chat");
    let (mut g, _) = ws_tokio::connect_with(&builder).await.unwrap();
    assert_eq!(g.subprotocol(), Some("chat"));
    assert!(field(&next_text(&mut g).await, "name").starts_with("guest-"));
    server.stop().await;
}

#[tokio::test]
async fn missing_chat_subprotocol_is_rejected_with_400() {
    let server = start().await;
    for builder in [
        ClientBuilder::new(&server.url("")).unwrap(),
        ClientBuilder::new(&server.url(""))
            .unwrap()
            .subprotocol("superchat"),
    ] {
        match ws_tokio::connect_with(&builder).await {
            Err(Error::Rejected(r)) => {
                assert_eq!(r.status, 400);
                assert!(
                    String::from_utf8_lossy(&r.body).contains("\"chat\" subprotocol"),
                    "{r:?}"
                );
            }
            other => panic!("expected a 400, got {:?}", other.map(|_| ())),
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn foreign_origin_is_rejected_with_403_and_own_origin_accepted() {
    let server = start().await;
    let foreign = ClientBuilder::new(&server.url(""))
        .unwrap()
        .subprotocol("chat")
        .origin("http://evil.example");
    let err = ws_tokio::connect_with(&foreign)
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.rejected_status(), Some(403), "{err}");
    let other_port = format!("http://127.0.0.1:{}", server.addr.port().wrapping_add(1));
    let err = ws_tokio::connect_with(
        &ClientBuilder::new(&server.url(""))
            .unwrap()
            .subprotocol("chat")
            .origin(&other_port),
    )
    .await
    .map(|_| ())
    .unwrap_err();
    assert_eq!(err.rejected_status(), Some(403));
    let own = ClientBuilder::new(&server.url(""))
        .unwrap()
        .subprotocol("chat")
        .origin(&format!("http://{}", server.addr));
    let (ws, _) = ws_tokio::connect_with(&own).await.unwrap();
    assert_eq!(ws.subprotocol(), Some("chat"));
    server.stop().await;
}

#[tokio::test]
async fn over_long_message_closes_with_1009() {
    let server = start().await;
    for deflate in [true, false] {
        let mut builder = ClientBuilder::new(&server.url("?name=big"))
            .unwrap()
            .subprotocol("chat");
        if !deflate {
            builder = builder.config(ws_tokio::Config::default());
        }
        let (mut ws, _) = ws_tokio::connect_with(&builder).await.unwrap();
        next_text(&mut ws).await; // own join
        ws.send("x".repeat(ws_demo::MAX_MESSAGE)).await.unwrap(); // exactly at the limit: fine
        assert_eq!(
            field(&next_text(&mut ws).await, "text").len(),
            ws_demo::MAX_MESSAGE
        );
        ws.send("y".repeat(5 * 1024)).await.unwrap();
        assert_eq!(close_code(&mut ws).await.0, 1009, "deflate: {deflate}");
    }
    server.stop().await;
}

#[tokio::test]
async fn binary_message_closes_with_1003() {
    let server = start().await;
    let mut ws = join(&server, "bin").await;
    next_text(&mut ws).await;
    ws.send(vec![1u8, 2, 3]).await.unwrap();
    assert_eq!(close_code(&mut ws).await, (1003, "text only".to_string()));
    server.stop().await;
}

/// Opens a raw WebSocket (no extensions) and returns the stream after the 101.
async fn raw_ws(addr: SocketAddr, query: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET /chat{query} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        tcp.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tcp
}

/// Reads one unmasked server frame: (opcode, payload).
async fn raw_frame(tcp: &mut TcpStream) -> (u8, Vec<u8>) {
    let frame = ws_testkit::raw::read_frame(&mut TokioIo::new(tcp))
        .await
        .unwrap();
    assert!(!frame.masked, "a masked frame from the server");
    (frame.opcode, frame.payload)
}

async fn raw_close_code(tcp: &mut TcpStream) -> (u16, String) {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let (op, payload) = raw_frame(tcp).await;
            if op == 8 {
                return (
                    u16::from_be_bytes([payload[0], payload[1]]),
                    String::from_utf8_lossy(&payload[2..]).into_owned(),
                );
            }
        }
    })
    .await
    .expect("a close frame in time")
}

#[tokio::test]
async fn invalid_utf8_closes_with_1007() {
    let server = start().await;
    let mut tcp = raw_ws(server.addr, "?name=raw").await;
    // FIN + text, masked with a zero mask, payload 0xff 0xfe.
    tcp.write_all(&[0x81, 0x82, 0, 0, 0, 0, 0xff, 0xfe])
        .await
        .unwrap();
    assert_eq!(raw_close_code(&mut tcp).await.0, 1007);
    server.stop().await;
}

#[tokio::test]
async fn slow_client_is_disconnected_with_1008() {
    let server = start().await;
    let mut slow = raw_ws(server.addr, "?name=slow").await; // never reads while the room floods
    let mut alice = join(&server, "alice").await;
    next_text(&mut alice).await; // own join
    let text: String = (0..4000)
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect();
    // In lockstep (alice waits for her own echo) so only the slow reader's queue grows.
    tokio::time::timeout(Duration::from_secs(60), async {
        for _ in 0..3000 {
            alice.send(text.as_str()).await.unwrap();
            let m = next_text(&mut alice).await;
            if field(&m, "type") == "leave" {
                continue;
            }
            assert_eq!(field(&m, "type"), "message");
        }
    })
    .await
    .expect("flooding in time");
    assert_eq!(
        raw_close_code(&mut slow).await,
        (1008, "too slow".to_string())
    );
    drop(slow);
    server.stop().await;
}

async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(STEP, tcp.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn page_is_served_over_plain_http_on_the_same_port() {
    let server = start().await;
    let page = http_get(server.addr, "/").await;
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(
        page.to_ascii_lowercase()
            .contains("content-type: text/html; charset=utf-8\r\n")
    );
    assert!(page.ends_with(ws_demo::INDEX_HTML));
    assert!(page.contains("new WebSocket(url, [\"chat\", \"superchat\"])"));
    assert!(
        http_get(server.addr, "/nope")
            .await
            .starts_with("HTTP/1.1 404 ")
    );
    // A plain GET of the WebSocket endpoint: 426 with the version it needs.
    let plain = http_get(server.addr, "/chat").await;
    assert!(plain.starts_with("HTTP/1.1 426 "), "{plain}");
    assert!(
        plain
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13\r\n"),
        "{plain}"
    );
    // The WebSocket still works on the same port afterwards.
    let mut ws = join(&server, "after").await;
    assert_eq!(field(&next_text(&mut ws).await, "type"), "join");
    server.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_sends_1001() {
    let server = start().await;
    let mut alice = join(&server, "alice").await;
    let mut bob = join(&server, "bob").await;
    next_text(&mut alice).await;
    let addr = server.addr;
    let started = std::time::Instant::now();
    let stopping = tokio::spawn(server.stop());
    for ws in [&mut alice, &mut bob] {
        assert_eq!(
            close_code(ws).await,
            (1001, "server shutting down".to_string())
        );
    }
    stopping.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}
