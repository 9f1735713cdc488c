//! The interop matrix: every client adapter (tokio, smol, async-std, blocking std, hyper) against every
//! server adapter, and each of ours against `tokio-tungstenite` as a peer in both directions. The hyper
//! adapter (ws-hyper) goes over HTTP/1.1 here: hyper's server does the upgrade (one port serving HTTP/1.1
//! and HTTP/2, as users run it), and its client connects through hyper's HTTP/1.1 client. Each pair runs the
//! same exchange: a text message, 64 KiB of binary, a text message sent in fragments cut inside multi-byte
//! characters, then a close with code 4000 and a reason that the server must see. Servers run on their own
//! thread and runtime; clients on the test's.
//!
//! Ours offer and accept permessage-deflate (`ws_async::default_config`), so adapter pairs negotiate it;
//! tungstenite does not implement it, so it must be declined gracefully: our server sees no offer from
//! it, and our client's offer to it is ignored, with plain frames on both sides.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use ws_async::{Accept, ClientBuilder, CloseCode, DataKind, Message, Request};
use ws_tests::{AsyncStd, Rt, STEP, Smol, Tokio, watchdog, within};

/// The text sent in fragments, and where it is cut (inside é, inside €, inside 𝄞).
const FRAGMENTED: &str = "fragmented héllo € 𝄞 done";

fn fragments() -> [&'static [u8]; 4] {
    let b = FRAGMENTED.as_bytes();
    let e = FRAGMENTED.find('é').unwrap() + 1;
    let euro = FRAGMENTED.find('€').unwrap() + 1;
    let clef = FRAGMENTED.find('𝄞').unwrap() + 3;
    [&b[..e], &b[e..euro], &b[euro..clef], &b[clef..]]
}

fn binary() -> Vec<u8> {
    ws_tests::noise(64 << 10, 42)
}

const CLOSE_CODE: u16 = 4000;
const CLOSE_REASON: &str = "matrix bye";
/// How long the close handshake may take over loopback.
const CLOSE_BOUND: Duration = Duration::from_secs(2);

/// The servers' echo loop: echoes every message until the client closes (each step bounded on `R`'s
/// clock), and reports what it saw.
async fn echo_all<R: Rt, T, M>(
    mut ws: ws_async::WebSocket<T, M>,
    offered: Option<String>,
) -> ServerSaw
where
    T: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
    M: ws_async::Timer,
{
    let mut saw = ServerSaw {
        offered,
        negotiated: ws.extensions().map(str::to_string),
        ..ServerSaw::default()
    };
    while let Some(Ok(m)) = within::<R, _>("server recv", ws.recv()).await {
        within::<R, _>("server send", ws.send(m)).await.unwrap();
        saw.echoed += 1;
    }
    saw.close = ws
        .close_frame()
        .map(|f| (f.code.0, f.reason.as_str().to_string()));
    saw
}

/// What a server saw on its one connection.
#[derive(Debug, Default)]
struct ServerSaw {
    /// The client's `Sec-WebSocket-Extensions` offer.
    offered: Option<String>,
    /// The extensions the server negotiated.
    negotiated: Option<String>,
    /// Messages echoed.
    echoed: usize,
    /// The client's close frame.
    close: Option<(u16, String)>,
}

/// What a client saw.
#[derive(Debug, Default)]
struct ClientSaw {
    negotiated: Option<String>,
    /// The server's close frame (its echo of ours).
    close: Option<(u16, String)>,
}

type StartServer = fn() -> (SocketAddr, mpsc::Receiver<ServerSaw>);
type RunClient = fn(String) -> ClientSaw;

// ----------------------------------------------------------------------------------------------------
// Our servers
// ----------------------------------------------------------------------------------------------------

/// An echo server on runtime `R` for one connection, on its own thread.
fn async_server<R: Rt>() -> (SocketAddr, mpsc::Receiver<ServerSaw>) {
    let (addr_tx, addr_rx) = mpsc::channel();
    let (saw_tx, saw_rx) = mpsc::channel();
    std::thread::spawn(move || {
        R::block_on(async move {
            let (listener, addr) = R::listen().await;
            addr_tx.send(addr).unwrap();
            let tcp = within::<R, _>("accept TCP", R::accept_tcp(&listener))
                .await
                .unwrap();
            let (offer_tx, offer_rx) = mpsc::channel();
            let decide = move |req: Request| async move {
                let _ = offer_tx.send(
                    req.headers
                        .get_str("sec-websocket-extensions")
                        .map(str::to_string),
                );
                Ok(Accept::new())
            };
            let accept = R::accept_with(tcp, ws_async::default_config(), decide);
            let ws = within::<R, _>("server handshake", accept).await.unwrap();
            let saw = echo_all::<R, _, _>(ws, offer_rx.recv().unwrap()).await;
            let _ = saw_tx.send(saw);
        })
    });
    (addr_rx.recv_timeout(STEP).expect("server address"), saw_rx)
}

/// The blocking server (ws-std), for one connection, on its own thread.
fn std_server() -> (SocketAddr, mpsc::Receiver<ServerSaw>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (saw_tx, saw_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let mut offered = None;
        let mut ws = ws_std::accept_with(tcp, ws_async::default_config(), |req| {
            offered = req
                .headers
                .get_str("sec-websocket-extensions")
                .map(str::to_string);
            Ok(Accept::new())
        })
        .unwrap();
        let mut saw = ServerSaw {
            offered,
            negotiated: ws.extensions().map(str::to_string),
            ..ServerSaw::default()
        };
        while let Some(Ok(m)) = ws.recv() {
            ws.send(m).unwrap();
            saw.echoed += 1;
        }
        saw.close = ws
            .close_frame()
            .map(|f| (f.code.0, f.reason.as_str().to_string()));
        let _ = saw_tx.send(saw);
    });
    (addr, saw_rx)
}

/// The hyper server (ws-hyper's `Upgrader` behind hyper-util's HTTP/1.1 + HTTP/2 server), for one
/// connection, on its own thread.
fn hyper_server() -> (SocketAddr, mpsc::Receiver<ServerSaw>) {
    use hyper::body::Incoming;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let (addr_tx, addr_rx) = mpsc::channel();
    let (saw_tx, saw_rx) = mpsc::channel();
    std::thread::spawn(move || {
        tokio_rt().block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let (tcp, _) = within::<Tokio, _>("accept TCP", listener.accept())
                .await
                .unwrap();
            let upgrader = ws_hyper::Upgrader::new(ws_hyper::HyperTimer::tokio())
                .config(ws_async::default_config());
            let (ws_tx, ws_rx) = tokio::sync::oneshot::channel();
            let ws_tx = std::sync::Mutex::new(Some(ws_tx));
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    let offered = request
                        .headers()
                        .get("sec-websocket-extensions")
                        .map(|v| v.to_str().unwrap().to_string());
                    let (response, upgrade) = upgrader
                        .upgrade::<_, http_body_util::Empty<bytes::Bytes>>(&mut request)
                        .expect("an upgrade request");
                    if let Some(tx) = ws_tx.lock().unwrap().take() {
                        let _ = tx.send((offered, upgrade));
                    }
                    async move { Ok::<_, hyper::Error>(response) }
                });
            tokio::spawn(async move {
                let mut server = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                server.http2().enable_connect_protocol();
                let _ = server
                    .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                    .await;
            });
            let (offered, upgrade) = within::<Tokio, _>("upgrade request", ws_rx).await.unwrap();
            let ws = within::<Tokio, _>("server handshake", upgrade)
                .await
                .unwrap();
            let saw = echo_all::<Tokio, _, _>(ws, offered).await;
            let _ = saw_tx.send(saw);
        })
    });
    (addr_rx.recv_timeout(STEP).expect("server address"), saw_rx)
}

// ----------------------------------------------------------------------------------------------------
// Our clients
// ----------------------------------------------------------------------------------------------------

/// The exchange from a client on runtime `R`.
fn async_client<R: Rt>(url: String) -> ClientSaw {
    watchdog(ws_tests::WHOLE_TEST, move || {
        R::block_on(async move {
            let builder = ClientBuilder::new(&url).unwrap();
            let (mut ws, opened) = within::<R, _>("connect", R::connect_with(&builder))
                .await
                .unwrap();
            assert_eq!(opened.extensions.as_deref(), ws.extensions());
            exchange::<R, _, _>(&mut ws, R::NAME).await
        })
    })
}

/// The exchange from the hyper client (ws-hyper over hyper's HTTP/1.1 client, on tokio).
fn hyper_client(url: String) -> ClientSaw {
    watchdog(ws_tests::WHOLE_TEST, move || {
        tokio_rt().block_on(async move {
            let builder = ClientBuilder::new(&url).unwrap();
            let (mut ws, opened) =
                within::<Tokio, _>("connect", ws_hyper::tokio::connect(&builder))
                    .await
                    .unwrap();
            assert_eq!(opened.extensions.as_deref(), ws.extensions());
            exchange::<Tokio, _, _>(&mut ws, "hyper").await
        })
    })
}

/// The exchange every async client runs once connected: text, 64 KiB of binary, a fragmented text, and
/// the close with code 4000.
async fn exchange<R: Rt, T, M>(ws: &mut ws_async::WebSocket<T, M>, name: &str) -> ClientSaw
where
    T: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
    M: ws_async::Timer,
{
    let negotiated = ws.extensions().map(str::to_string);
    let text = format!("hello from {name}");
    within::<R, _>("send", ws.send(text.as_str()))
        .await
        .unwrap();
    let m = within::<R, _>("recv", ws.recv()).await.unwrap().unwrap();
    assert_eq!(m, Message::from(text.as_str()));

    within::<R, _>("send", ws.send(binary())).await.unwrap();
    let m = within::<R, _>("recv", ws.recv()).await.unwrap().unwrap();
    assert!(m == Message::from(binary()), "binary echo differs");

    let parts = fragments();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        within::<R, _>("fragment", ws.send_fragment(DataKind::Text, part, last))
            .await
            .unwrap();
    }
    let m = within::<R, _>("recv", ws.recv()).await.unwrap().unwrap();
    assert_eq!(m, Message::from(FRAGMENTED));

    let start = Instant::now();
    within::<R, _>("close", ws.close(CloseCode(CLOSE_CODE), CLOSE_REASON))
        .await
        .unwrap();
    let took = start.elapsed();
    assert!(took < CLOSE_BOUND, "[{name}] close took {took:?}");
    ClientSaw {
        negotiated,
        close: ws
            .close_frame()
            .map(|f| (f.code.0, f.reason.as_str().to_string())),
    }
}

/// The exchange from the blocking client (ws-std).
fn std_client(url: String) -> ClientSaw {
    watchdog(ws_tests::WHOLE_TEST, move || {
        let builder = ClientBuilder::new(&url).unwrap();
        let (mut ws, opened) = ws_std::connect_with(&builder).unwrap();
        assert_eq!(opened.extensions.as_deref(), ws.extensions());
        let negotiated = ws.extensions().map(str::to_string);
        ws.send("hello from std").unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), Message::from("hello from std"));
        ws.send(binary()).unwrap();
        assert!(ws.recv().unwrap().unwrap() == Message::from(binary()));
        let parts = fragments();
        for (i, part) in parts.iter().enumerate() {
            ws.send_fragment(DataKind::Text, part, i + 1 == parts.len())
                .unwrap();
        }
        assert_eq!(ws.recv().unwrap().unwrap(), Message::from(FRAGMENTED));
        let start = Instant::now();
        ws.close(CloseCode(CLOSE_CODE), CLOSE_REASON).unwrap();
        let took = start.elapsed();
        assert!(took < CLOSE_BOUND, "[std] close took {took:?}");
        ClientSaw {
            negotiated,
            close: ws
                .close_frame()
                .map(|f| (f.code.0, f.reason.as_str().to_string())),
        }
    })
}

// ----------------------------------------------------------------------------------------------------
// tokio-tungstenite
// ----------------------------------------------------------------------------------------------------

mod tung {
    pub(crate) use tokio_tungstenite::tungstenite::Message;
    pub(crate) use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    pub(crate) use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    pub(crate) use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A tokio-tungstenite echo server for one connection, on its own thread.
#[allow(clippy::result_large_err)] // the handshake callback's signature is tungstenite's
fn tungstenite_server() -> (SocketAddr, mpsc::Receiver<ServerSaw>) {
    let (addr_tx, addr_rx) = mpsc::channel();
    let (saw_tx, saw_rx) = mpsc::channel();
    std::thread::spawn(move || {
        tokio_rt().block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let (tcp, _) = tokio::time::timeout(STEP, listener.accept())
                .await
                .unwrap()
                .unwrap();
            let mut offered = None;
            let callback = |req: &tokio_tungstenite::tungstenite::handshake::server::Request,
                            resp| {
                offered = req
                    .headers()
                    .get("sec-websocket-extensions")
                    .map(|v| v.to_str().unwrap().to_string());
                Ok(resp)
            };
            let mut ws =
                tokio::time::timeout(STEP, tokio_tungstenite::accept_hdr_async(tcp, callback))
                    .await
                    .unwrap()
                    .unwrap();
            let mut saw = ServerSaw {
                offered,
                ..ServerSaw::default()
            };
            while let Ok(Some(Ok(m))) = tokio::time::timeout(STEP, ws.next()).await {
                match m {
                    tung::Message::Text(_) | tung::Message::Binary(_) => {
                        ws.send(m).await.unwrap();
                        saw.echoed += 1;
                    }
                    tung::Message::Close(frame) => {
                        saw.close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    }
                    _ => {}
                }
            }
            let _ = saw_tx.send(saw);
        })
    });
    (addr_rx.recv_timeout(STEP).unwrap(), saw_rx)
}

/// The exchange from a tokio-tungstenite client.
fn tungstenite_client(url: String) -> ClientSaw {
    watchdog(ws_tests::WHOLE_TEST, move || {
        tokio_rt().block_on(async move {
            let addr = url.trim_start_matches("ws://").split('/').next().unwrap();
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (mut ws, response) =
                tokio::time::timeout(STEP, tokio_tungstenite::client_async(url.as_str(), tcp))
                    .await
                    .unwrap()
                    .unwrap();
            assert!(response.headers().get("sec-websocket-extensions").is_none());
            ws.send(tung::Message::text("hello from tungstenite"))
                .await
                .unwrap();
            let m = tokio::time::timeout(STEP, ws.next()).await.unwrap();
            assert_eq!(
                m.unwrap().unwrap(),
                tung::Message::text("hello from tungstenite")
            );
            ws.send(tung::Message::binary(binary())).await.unwrap();
            let m = tokio::time::timeout(STEP, ws.next()).await.unwrap();
            assert!(m.unwrap().unwrap() == tung::Message::binary(binary()));

            let parts = fragments();
            for (i, part) in parts.iter().enumerate() {
                let opcode = if i == 0 {
                    tung::OpCode::Data(tung::Data::Text)
                } else {
                    tung::OpCode::Data(tung::Data::Continue)
                };
                let frame = tung::Frame::message(part.to_vec(), opcode, i + 1 == parts.len());
                ws.send(tung::Message::Frame(frame)).await.unwrap();
            }
            let m = tokio::time::timeout(STEP, ws.next()).await.unwrap();
            assert_eq!(m.unwrap().unwrap(), tung::Message::text(FRAGMENTED));

            let start = Instant::now();
            ws.close(Some(tung::CloseFrame {
                code: CLOSE_CODE.into(),
                reason: CLOSE_REASON.into(),
            }))
            .await
            .unwrap();
            let mut close = None;
            while let Some(m) = tokio::time::timeout(STEP, ws.next()).await.unwrap() {
                match m {
                    Ok(tung::Message::Close(frame)) => {
                        close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    }
                    Ok(other) => panic!("unexpected message after close: {other:?}"),
                    Err(_) => break,
                }
            }
            let took = start.elapsed();
            assert!(took < CLOSE_BOUND, "[tungstenite] close took {took:?}");
            ClientSaw {
                negotiated: None,
                close,
            }
        })
    })
}

// ----------------------------------------------------------------------------------------------------
// The pairs
// ----------------------------------------------------------------------------------------------------

/// Runs one pair and returns what each side saw, after the checks every pair shares.
fn pair(server: StartServer, client: RunClient) -> (ServerSaw, ClientSaw) {
    let (addr, saw) = server();
    let client_saw = client(format!("ws://{addr}/interop"));
    let server_saw = saw.recv_timeout(STEP).expect("the server reported");
    assert_eq!(server_saw.echoed, 3, "{server_saw:?}");
    assert_eq!(
        server_saw.close,
        Some((CLOSE_CODE, CLOSE_REASON.to_string())),
        "the server did not see the client's close code and reason"
    );
    assert_eq!(
        client_saw.close.as_ref().map(|c| c.0),
        Some(CLOSE_CODE),
        "the server's close reply"
    );
    (server_saw, client_saw)
}

/// Ours against ours: permessage-deflate is offered, negotiated, and the same on both sides.
fn ours(server: StartServer, client: RunClient) {
    let (s, c) = pair(server, client);
    let offered = s.offered.expect("our client offers permessage-deflate");
    assert!(offered.contains("permessage-deflate"), "{offered}");
    let negotiated = s.negotiated.expect("our server accepts permessage-deflate");
    assert!(negotiated.starts_with("permessage-deflate"), "{negotiated}");
    assert_eq!(c.negotiated.as_deref(), Some(negotiated.as_str()));
}

/// tungstenite's client against our server: nothing offered, nothing negotiated, plain frames.
fn their_client(server: StartServer) {
    let (s, _) = pair(server, tungstenite_client);
    assert_eq!(s.offered, None);
    assert_eq!(s.negotiated, None);
}

/// Our client against tungstenite's server: our deflate offer is ignored and the client goes on without it.
fn their_server(client: RunClient) {
    let (s, c) = pair(tungstenite_server, client);
    let offered = s.offered.expect("our client offers permessage-deflate");
    assert!(offered.contains("permessage-deflate"), "{offered}");
    assert_eq!(c.negotiated, None, "nothing was negotiated");
}

/// One `#[test]` per client/server pair.
macro_rules! matrix {
    ($( $name:ident: $client:expr => $server:expr ;)*) => {
        $(
            #[test]
            fn $name() {
                ours($server, $client);
            }
        )*
    };
}

matrix! {
    tokio_to_tokio: async_client::<Tokio> => async_server::<Tokio>;
    tokio_to_smol: async_client::<Tokio> => async_server::<Smol>;
    tokio_to_async_std: async_client::<Tokio> => async_server::<AsyncStd>;
    tokio_to_std: async_client::<Tokio> => std_server;
    smol_to_tokio: async_client::<Smol> => async_server::<Tokio>;
    smol_to_smol: async_client::<Smol> => async_server::<Smol>;
    smol_to_async_std: async_client::<Smol> => async_server::<AsyncStd>;
    smol_to_std: async_client::<Smol> => std_server;
    async_std_to_tokio: async_client::<AsyncStd> => async_server::<Tokio>;
    async_std_to_smol: async_client::<AsyncStd> => async_server::<Smol>;
    async_std_to_async_std: async_client::<AsyncStd> => async_server::<AsyncStd>;
    async_std_to_std: async_client::<AsyncStd> => std_server;
    std_to_tokio: std_client => async_server::<Tokio>;
    std_to_smol: std_client => async_server::<Smol>;
    std_to_async_std: std_client => async_server::<AsyncStd>;
    std_to_std: std_client => std_server;
    tokio_to_hyper: async_client::<Tokio> => hyper_server;
    smol_to_hyper: async_client::<Smol> => hyper_server;
    async_std_to_hyper: async_client::<AsyncStd> => hyper_server;
    std_to_hyper: std_client => hyper_server;
    hyper_to_tokio: hyper_client => async_server::<Tokio>;
    hyper_to_smol: hyper_client => async_server::<Smol>;
    hyper_to_async_std: hyper_client => async_server::<AsyncStd>;
    hyper_to_std: hyper_client => std_server;
    hyper_to_hyper: hyper_client => hyper_server;
}

#[test]
fn tungstenite_client_to_tokio() {
    their_client(async_server::<Tokio>);
}

#[test]
fn tungstenite_client_to_smol() {
    their_client(async_server::<Smol>);
}

#[test]
fn tungstenite_client_to_async_std() {
    their_client(async_server::<AsyncStd>);
}

#[test]
fn tungstenite_client_to_std() {
    their_client(std_server);
}

#[test]
fn tokio_client_to_tungstenite() {
    their_server(async_client::<Tokio>);
}

#[test]
fn smol_client_to_tungstenite() {
    their_server(async_client::<Smol>);
}

#[test]
fn async_std_client_to_tungstenite() {
    their_server(async_client::<AsyncStd>);
}

#[test]
fn std_client_to_tungstenite() {
    their_server(std_client);
}

#[test]
fn tungstenite_client_to_hyper() {
    their_client(hyper_server);
}

#[test]
fn hyper_client_to_tungstenite() {
    their_server(hyper_client);
}
