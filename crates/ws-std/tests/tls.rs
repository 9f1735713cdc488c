//! wss:// over loopback with a self-signed certificate made at test time.

mod common;

use std::sync::Arc;

use common::{bounded, listener};
use ws_std::{Accept, ClientBuilder, CloseCode, Config, Error, MaybeTlsStream, Message};

struct Certs {
    server: Arc<ws_std::rustls::ServerConfig>,
    client: Arc<ws_std::rustls::ClientConfig>,
}

fn certs() -> Certs {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = key.cert.pem();
    Certs {
        server: ws_std::tls::server_config_from_pem(
            cert_pem.as_bytes(),
            key.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap(),
        client: ws_std::tls::client_config_trusting_pem(cert_pem.as_bytes()).unwrap(),
    }
}

#[test]
fn wss_echo_and_close() {
    bounded(30, || {
        let Certs { server, client } = certs();
        let (listener, port) = listener();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let mut ws = ws_std::accept_tls(tcp, server, Config::default(), |req| {
                assert_eq!(req.path(), "/secure");
                Ok(Accept::new().subprotocol("chat"))
            })
            .unwrap();
            let mut echoed = 0;
            while let Some(message) = ws.recv() {
                ws.send(message.unwrap()).unwrap();
                echoed += 1;
            }
            let frame = ws.close_frame().cloned().unwrap();
            (echoed, frame.code, frame.reason.as_str().to_string())
        });

        let builder = ClientBuilder::new(&format!("wss://localhost:{port}/secure"))
            .unwrap()
            .subprotocol("chat")
            .tls_config(client);
        let (mut ws, opened) = ws_std::connect_with(&builder).unwrap();
        assert_eq!(opened.subprotocol.as_deref(), Some("chat"));
        assert!(matches!(ws.get_ref(), MaybeTlsStream::Tls(_)));

        ws.send("secret").unwrap();
        assert_eq!(ws.recv().unwrap().unwrap(), Message::from("secret"));
        let big: Vec<u8> = (0..300_000).map(|i| (i % 253) as u8).collect();
        ws.send(big.clone()).unwrap();
        assert_eq!(ws.recv().unwrap().unwrap().as_bytes(), &big[..]);
        for i in 0..200 {
            ws.send(format!("{i}")).unwrap();
        }
        for i in 0..200 {
            assert_eq!(
                ws.recv().unwrap().unwrap().as_text(),
                Some(format!("{i}").as_str())
            );
        }
        ws.close(CloseCode(4001), "tls bye").unwrap();
        assert!(ws.recv().is_none());
        assert_eq!(
            server.join().unwrap(),
            (202, CloseCode(4001), "tls bye".to_string())
        );
    });
}

#[test]
fn wss_cannot_be_split() {
    bounded(30, || {
        let Certs { server, client } = certs();
        let (listener, port) = listener();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let mut ws =
                ws_std::accept_tls(tcp, server, Config::default(), |_| Ok(Accept::new())).unwrap();
            while let Some(Ok(_)) = ws.recv() {}
        });
        let builder = ClientBuilder::new(&format!("wss://localhost:{port}/"))
            .unwrap()
            .tls_config(client);
        let (ws, _) = ws_std::connect_with(&builder).unwrap();
        let err = ws.split().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
        server.join().unwrap();
    });
}

#[test]
fn untrusted_certificate_is_a_tls_error() {
    bounded(30, || {
        let Certs { server, .. } = certs();
        let (listener, port) = listener();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            ws_std::accept_tls(tcp, server, Config::default(), |_| Ok(Accept::new())).map(|_| ())
        });
        // The default configuration trusts the webpki roots only.
        match ws_std::connect(&format!("wss://localhost:{port}/")) {
            Err(Error::Tls(message)) => {
                assert!(message.to_lowercase().contains("certificate"), "{message}")
            }
            other => panic!("expected a TLS error, got {other:?}"),
        }
        assert!(server.join().unwrap().is_err());
    });
}
