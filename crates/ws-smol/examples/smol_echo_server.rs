//! Echo server on smol: `smol_echo_server --port N` (binds 127.0.0.1). Echoes every message back.

fn main() -> std::io::Result<()> {
    smol::block_on(async {
        let port = ws_testkit::port_arg(9001);
        let listener = async_net::TcpListener::bind(("127.0.0.1", port)).await?;
        ws_smol::serve(listener, ws_testkit::echo_config(), ws_testkit::echo).await
    })
}
