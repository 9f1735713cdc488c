//! Redirects of the opening handshake on every async adapter (tokio, smol, async-std): the library's own
//! servers answer the upgrade with 301, 302, 307 or 308 (absolute and relative `Location`s) until a last
//! one accepts; each case is written once over the runtime seam and instantiated per runtime.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use ws_async::{Accept, ClientBuilder, Error, Message, Request, Response};
use ws_core::http::RedirectError;
use ws_tests::{Certs, Rt, Task, t};

/// What a hop's server saw: the resource, the Host, the key and the Authorization header.
#[derive(Clone, Debug)]
struct Seen {
    resource: String,
    host: String,
    key: String,
    authorization: Option<String>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn seen(request: &Request) -> Seen {
    let header = |name| request.headers.get_str(name).map(str::to_string);
    Seen {
        resource: request.resource.clone(),
        host: header("host").unwrap_or_default(),
        key: header("sec-websocket-key").unwrap_or_default(),
        authorization: header("authorization"),
    }
}

/// A server that answers `count` upgrade requests with `status` and `Location: location` (`{port}` in it
/// becomes its own port), logging each request.
async fn redirector<R: Rt>(
    status: u16,
    location: &str,
    count: usize,
    log: Log,
) -> (SocketAddr, Task<()>) {
    let (listener, addr) = R::listen().await;
    let location = location.replace("{port}", &addr.port().to_string());
    let task = R::spawn(async move {
        for _ in 0..count {
            let tcp = t!(R::accept_tcp(&listener)).expect("accept TCP");
            let (log, location) = (log.clone(), location.clone());
            let refused = t!(R::accept_with(
                tcp,
                ws_async::Config::default(),
                move |req| {
                    log.lock().unwrap().push(seen(&req));
                    async move { Err(Response::new(status, "Moved").header("Location", &location)) }
                }
            ));
            assert!(matches!(refused, Err(Error::Rejected(_))));
        }
    });
    (addr, task)
}

/// An echo server for one connection, logging its request.
async fn echo<R: Rt>(log: Log) -> (SocketAddr, Task<()>) {
    let (listener, addr) = R::listen().await;
    let task = R::spawn(async move {
        let tcp = t!(R::accept_tcp(&listener)).expect("accept TCP");
        let mut ws = t!(R::accept_with(
            tcp,
            ws_async::Config::default(),
            move |req| {
                log.lock().unwrap().push(seen(&req));
                async { Ok(Accept::new()) }
            }
        ))
        .expect("server handshake");
        while let Some(Ok(message)) = t!(ws.recv()) {
            t!(ws.send(message)).expect("echo send");
        }
    });
    (addr, task)
}

/// A full chain that ends in an open connection: 302 -> 307 (relative, same server) -> 308 (`http://`)
/// -> echo, and a message goes both ways.
async fn a_chain_ends_in_an_open_connection<R: Rt>() {
    let log: Log = Arc::default();
    let (end, end_task) = echo::<R>(log.clone()).await;
    // One server answers twice: first a relative 307 to `../next`, then a 308 to the echo server.
    let (listener, hop_addr) = R::listen().await;
    let hop_log = log.clone();
    let final_location = format!("http://127.0.0.1:{}/final?room=1", end.port());
    let hop_task = R::spawn(async move {
        for location in ["../next", final_location.as_str()] {
            let tcp = t!(R::accept_tcp(&listener)).expect("accept TCP");
            let (log, location) = (hop_log.clone(), location.to_string());
            let status = if location.starts_with("..") { 307 } else { 308 };
            let refused = t!(R::accept_with(
                tcp,
                ws_async::Config::default(),
                move |req| {
                    log.lock().unwrap().push(seen(&req));
                    async move { Err(Response::new(status, "").header("Location", &location)) }
                }
            ));
            assert!(refused.is_err());
        }
    });
    let (first, first_task) = redirector::<R>(
        302,
        &format!("ws://127.0.0.1:{}/room/a", hop_addr.port()),
        1,
        log.clone(),
    )
    .await;
    let builder = ClientBuilder::new(&format!("ws://{first}/"))
        .unwrap()
        .header("Authorization", "Bearer secret");
    let (mut ws, _) = t!(R::connect_with(&builder)).expect("redirected connect");
    t!(ws.send("after three hops")).unwrap();
    let back = t!(ws.recv()).unwrap().unwrap();
    assert_eq!(back, Message::from("after three hops"));
    t!(ws.close(ws_async::CloseCode::NORMAL, "")).unwrap();
    t!(first_task);
    t!(hop_task);
    t!(end_task);
    let hops = log.lock().unwrap().clone();
    let resources: Vec<&str> = hops.iter().map(|h| h.resource.as_str()).collect();
    assert_eq!(resources, ["/", "/room/a", "/next", "/final?room=1"]);
    assert_eq!(hops[3].host, end.to_string());
    assert_eq!(hops[0].authorization.as_deref(), Some("Bearer secret"));
    assert!(hops[1..].iter().all(|h| h.authorization.is_none()));
    let mut keys: Vec<&str> = hops.iter().map(|h| h.key.as_str()).collect();
    keys.dedup();
    assert_eq!(keys.len(), 4, "every hop has a fresh key");
}

/// A server that redirects to itself: the client gives up after `max_redirects` hops.
async fn a_loop_stops_at_the_limit<R: Rt>() {
    let log: Log = Arc::default();
    let (addr, task) = redirector::<R>(301, "/again", 4, log.clone()).await;
    let builder = ClientBuilder::new(&format!("ws://{addr}/"))
        .unwrap()
        .max_redirects(3);
    match t!(R::connect_with(&builder)) {
        Err(Error::Redirect(RedirectError::TooMany(3))) => {}
        other => panic!("expected too many redirects, got {:?}", other.map(|_| ())),
    }
    t!(task);
    assert_eq!(log.lock().unwrap().len(), 4, "the first request and 3 hops");
}

/// With redirects off, the 3xx comes back to the caller with its Location.
async fn redirects_off_returns_the_3xx<R: Rt>() {
    let log: Log = Arc::default();
    let (addr, task) = redirector::<R>(301, "ws://elsewhere.example/", 1, log).await;
    let builder = ClientBuilder::new(&format!("ws://{addr}/"))
        .unwrap()
        .max_redirects(0);
    match t!(R::connect_with(&builder)) {
        Err(Error::Rejected(response)) => {
            assert_eq!(response.status, 301);
            assert_eq!(
                response.headers.get_str("location"),
                Some("ws://elsewhere.example/")
            );
        }
        other => panic!("expected the 301 back, got {:?}", other.map(|_| ())),
    }
    t!(task);
}

/// `wss://` redirected to `ws://` is refused: the connection would lose TLS.
async fn wss_to_ws_is_refused<R: Rt>() {
    let certs = Certs::localhost();
    let tls = certs.server_config();
    let (listener, addr) = R::listen().await;
    let task = R::spawn(async move {
        let tcp = t!(R::accept_tcp(&listener)).expect("accept TCP");
        let refused = t!(R::accept_tls(
            tcp,
            tls,
            ws_async::Config::default(),
            |_| async { Err(Response::new(301, "").header("Location", "ws://localhost/")) }
        ));
        assert!(refused.is_err());
    });
    let builder = ClientBuilder::new(&format!("wss://localhost:{}/", addr.port()))
        .unwrap()
        .tls_config(certs.client_config());
    match t!(R::connect_with(&builder)) {
        Err(Error::Redirect(RedirectError::Insecure)) => {}
        other => panic!("expected an insecure redirect, got {:?}", other.map(|_| ())),
    }
    t!(task);
}

macro_rules! cases {
    ($module:ident, $rt:ty) => {
        mod $module {
            #[test]
            fn a_chain_ends_in_an_open_connection() {
                ws_tests::run::<$rt, _>(super::a_chain_ends_in_an_open_connection::<$rt>);
            }
            #[test]
            fn a_loop_stops_at_the_limit() {
                ws_tests::run::<$rt, _>(super::a_loop_stops_at_the_limit::<$rt>);
            }
            #[test]
            fn redirects_off_returns_the_3xx() {
                ws_tests::run::<$rt, _>(super::redirects_off_returns_the_3xx::<$rt>);
            }
            #[test]
            fn wss_to_ws_is_refused() {
                ws_tests::run::<$rt, _>(super::wss_to_ws_is_refused::<$rt>);
            }
        }
    };
}

cases!(tokio, ws_tests::Tokio);
cases!(smol, ws_tests::Smol);
cases!(async_std, ws_tests::AsyncStd);
