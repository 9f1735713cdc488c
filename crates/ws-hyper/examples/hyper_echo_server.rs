//! Echo server on hyper: `hyper_echo_server --port N` (binds 127.0.0.1). HTTP/1.1 upgrades and HTTP/2
//! extended CONNECTs (prior knowledge) on one port; every message is echoed back. The Autobahn driver
//! runs it as the `hyper` adapter's server.

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use ws_hyper::{HyperTimer, Upgrader};

fn main() -> std::io::Result<()> {
    let port = ws_testkit::port_arg(9001);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let upgrader = Upgrader::new(HyperTimer::tokio()).config(ws_testkit::echo_config());
        loop {
            let (tcp, _) = listener.accept().await?;
            tcp.set_nodelay(true)?;
            let upgrader = upgrader.clone();
            let service = service_fn(move |mut request: Request<Incoming>| {
                let accepted = upgrader.upgrade(&mut request);
                async move {
                    let response: Response<http_body_util::Empty<bytes::Bytes>> = match accepted {
                        Ok((response, websocket)) => {
                            tokio::spawn(async move {
                                if let Ok(ws) = websocket.await {
                                    ws_testkit::echo(ws).await;
                                }
                            });
                            response
                        }
                        Err(rejection) => rejection.response(),
                    };
                    Ok::<_, hyper::Error>(response)
                }
            });
            tokio::spawn(async move {
                let mut server = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                server.http2().enable_connect_protocol();
                let _ = server
                    .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                    .await;
            });
        }
    })
}
