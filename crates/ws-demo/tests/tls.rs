//! `--tls-cert/--tls-key`: the page over HTTPS and the chat over `wss://` on the same port, over
//! HTTP/1.1 and over HTTP/2 (ALPN `h2`, RFC 8441 extended CONNECT).

use std::sync::Arc;
use std::time::Duration;

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use ws_tokio::{ClientBuilder, Message};

/// ws-demo serving TLS for `localhost` (a fresh self-signed certificate) on a free port.
struct TlsDemo {
    port: u16,
    /// A client configuration trusting the certificate.
    client_tls: Arc<rustls::ClientConfig>,
    /// Send to shut the server down.
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TlsDemo {
    async fn start() -> TlsDemo {
        let key = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let cert_pem = key.cert.pem();
        let server_tls = ws_tokio::tls::server_config_from_pem(
            cert_pem.as_bytes(),
            key.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap();
        let client_tls = ws_tokio::tls::client_config_trusting_pem(cert_pem.as_bytes()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(ws_demo::run_with(listener, Some(server_tls), async {
            let _ = stopped.await;
        }));
        TlsDemo {
            port,
            client_tls,
            stop,
            server,
        }
    }
}

#[tokio::test]
async fn https_page_and_wss_chat_on_one_port() {
    let TlsDemo {
        port,
        client_tls,
        stop,
        server,
    } = TlsDemo::start().await;

    tokio::time::timeout(Duration::from_secs(20), async {
        // HTTPS GET /
        let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let connector = futures_rustls::TlsConnector::from(Arc::clone(&client_tls));
        let name = ws_tokio::tls::server_name("localhost").unwrap();
        let mut tls = connector
            .connect(name, ws_tokio::TokioIo::new(tcp))
            .await
            .unwrap();
        tls.write_all(
            format!("GET / HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        let mut page = Vec::new();
        let _ = tls.read_to_end(&mut page).await; // the server may end TLS without close_notify
        let page = String::from_utf8_lossy(&page);
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.ends_with(ws_demo::INDEX_HTML));

        // wss:// chat with the page's own Origin, by the certificate's name.
        let builder = ClientBuilder::new(&format!("wss://localhost:{port}/chat?name=sec"))
            .unwrap()
            .subprotocol("chat")
            .origin(&format!("https://localhost:{port}"))
            .tls_config(client_tls);
        let (mut ws, _) = ws_tokio::connect_with(&builder).await.unwrap();
        assert_eq!(ws.subprotocol(), Some("chat"));
        let join = ws.recv().await.unwrap().unwrap();
        assert!(
            join.as_text()
                .unwrap()
                .contains(r#""type":"join","name":"sec""#),
            "{join:?}"
        );
        ws.send("over tls").await.unwrap();
        match ws.recv().await.unwrap().unwrap() {
            Message::Text(t) => assert!(t.as_str().contains(r#""text":"over tls""#)),
            other => panic!("{other:?}"),
        }
        let _ = stop.send(());
        while let Some(Ok(_)) = ws.recv().await {}
        assert_eq!(ws.close_frame().map(|f| f.code.0), Some(1001));
    })
    .await
    .expect("TLS test in time");
    drop(server);
}

#[tokio::test]
async fn two_chats_share_one_http2_connection() {
    let TlsDemo {
        port,
        client_tls,
        stop,
        server,
    } = TlsDemo::start().await;

    tokio::time::timeout(Duration::from_secs(20), async {
        let builder = |name: &str| {
            ws_hyper::ClientBuilder::new(&format!("wss://localhost:{port}/chat?name={name}"))
                .unwrap()
                .subprotocol("chat")
                .origin(&format!("https://localhost:{port}"))
                .tls_config(client_tls.clone())
        };
        // connect_http2 fails unless the server picks h2 by ALPN; both chats are streams of it.
        let h2 = ws_hyper::tokio::connect_http2(&builder("ann"))
            .await
            .unwrap();
        assert!(h2.is_extended_connect_enabled());
        let (mut ann, _) = h2.connect(&builder("ann")).await.unwrap();
        let (mut ben, _) = h2.connect(&builder("ben")).await.unwrap();
        assert_eq!(ann.subprotocol(), Some("chat"));
        let text = |m: Option<ws_hyper::Result<Message>>| match m {
            Some(Ok(Message::Text(t))) => t.as_str().to_owned(),
            other => panic!("{other:?}"),
        };
        assert!(text(ann.recv().await).contains(r#""type":"join","name":"ann""#));
        assert!(text(ann.recv().await).contains(r#""type":"join","name":"ben","#));
        assert!(text(ben.recv().await).contains(r#""name":"ben""#));
        ann.send("over h2").await.unwrap();
        for ws in [&mut ann, &mut ben] {
            let m = text(ws.recv().await);
            assert!(m.contains(r#""name":"ann","text":"over h2""#), "{m}");
        }
        // A foreign Origin is refused over HTTP/2 too (403 to the extended CONNECT).
        let foreign = builder("eve").origin("https://evil.example");
        let refused = h2.connect(&foreign).await.unwrap_err();
        assert_eq!(refused.rejected_status(), Some(403), "{refused}");
        let _ = stop.send(());
        for ws in [&mut ann, &mut ben] {
            while let Some(Ok(_)) = ws.recv().await {}
            assert_eq!(ws.close_frame().map(|f| f.code.0), Some(1001));
        }
    })
    .await
    .expect("HTTP/2 test in time");
    server.await.unwrap().unwrap();
}
