//! `ws-demo [--port 8080] [--host 127.0.0.1] [--tls-cert PEM --tls-key PEM] [--redis redis://HOST:PORT]`:
//! the chat server. With `--redis`, every process given the same Redis server serves one chat room (see
//! `ws_demo::bus`).

use std::sync::Arc;

use std::process::ExitCode;

use ws_demo::bus::Bus;

const USAGE: &str = "usage: ws-demo [--port 8080] [--host 127.0.0.1] [--tls-cert cert.pem --tls-key key.pem] [--redis redis://127.0.0.1:6379]";

struct Args {
    host: String,
    port: u16,
    cert: Option<String>,
    key: Option<String>,
    redis: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        host: "127.0.0.1".into(),
        port: 8080,
        cert: None,
        key: None,
        redis: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => args.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--host" => args.host = value()?,
            "--tls-cert" => args.cert = Some(value()?),
            "--tls-key" => args.key = Some(value()?),
            "--redis" => args.redis = Some(value()?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.cert.is_some() != args.key.is_some() {
        return Err("--tls-cert and --tls-key go together".into());
    }
    Ok(args)
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("ws-demo: {e}");
            }
            eprintln!("{USAGE}");
            return if e.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let tls = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            let loaded = std::fs::read(cert)
                .and_then(|c| std::fs::read(key).map(|k| (c, k)))
                .map_err(|e| e.to_string())
                .and_then(|(c, k)| {
                    ws_adapter::tls::server_config_from_pem(&c, &k).map_err(|e| e.to_string())
                });
            match loaded {
                Ok(config) => Some(config),
                Err(e) => {
                    eprintln!("ws-demo: TLS: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        _ => None,
    };
    let hub = Arc::new(ws_demo::chat::Hub::default());
    let bus = match &args.redis {
        None => Bus::local(hub),
        Some(url) => match Bus::redis(hub, url) {
            Ok(bus) => bus,
            Err(e) => {
                eprintln!("ws-demo: --redis {url}: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let listener = match tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ws-demo: cannot listen on {}:{}: {e}", args.host, args.port);
            return ExitCode::FAILURE;
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| format!("{}:{}", args.host, args.port));
    let (http, ws, versions) = if tls.is_some() {
        ("https", "wss", "HTTP/2 and HTTP/1.1 by ALPN")
    } else {
        ("http", "ws", "HTTP/1.1")
    };
    println!("ws-demo: chat on {http}://{addr}/ (WebSocket at {ws}://{addr}/chat, {versions})");
    match ws_demo::run_with_bus(listener, tls, bus, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ws-demo: {e}");
            ExitCode::FAILURE
        }
    }
}
