//! Echo server on tokio: `tokio_echo_server --port N` (binds 127.0.0.1). Echoes every message back.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let port = ws_testkit::port_arg(9001);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    ws_tokio::serve(listener, ws_testkit::echo_config(), ws_testkit::echo).await
}
