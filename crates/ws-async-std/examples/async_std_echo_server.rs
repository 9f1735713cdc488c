//! Echo server on async-std: `async_std_echo_server --port N` (binds 127.0.0.1). Echoes every message back.

fn main() -> std::io::Result<()> {
    async_std::task::block_on(async {
        let port = ws_testkit::port_arg(9001);
        let listener = async_std::net::TcpListener::bind(("127.0.0.1", port)).await?;
        ws_async_std::serve(listener, ws_testkit::echo_config(), ws_testkit::echo).await
    })
}
