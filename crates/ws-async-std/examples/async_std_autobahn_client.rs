//! Autobahn TestSuite client on async-std: `async_std_autobahn_client --url ws://127.0.0.1:9001 --agent NAME`.

fn main() {
    let base = ws_testkit::arg("url").unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = ws_testkit::arg("agent").unwrap_or_else(|| "ws-async-std".into());
    let connect = |url: String| async move {
        let builder =
            ws_async_std::ClientBuilder::new(&url)?.config(ws_testkit::autobahn_client_config());
        Ok(ws_async_std::connect_with(&builder).await?.0)
    };
    match async_std::task::block_on(ws_testkit::autobahn_client(&base, &agent, connect)) {
        Ok(count) => println!("ran {count} cases"),
        Err(e) => {
            eprintln!("autobahn client: {e}");
            std::process::exit(1);
        }
    }
}
