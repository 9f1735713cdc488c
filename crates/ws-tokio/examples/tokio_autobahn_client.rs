//! Autobahn TestSuite client on tokio: `tokio_autobahn_client --url ws://127.0.0.1:9001 --agent NAME`.

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let base = ws_testkit::arg("url").unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = ws_testkit::arg("agent").unwrap_or_else(|| "ws-tokio".into());
    let connect = |url: String| async move {
        let builder =
            ws_tokio::ClientBuilder::new(&url)?.config(ws_testkit::autobahn_client_config());
        Ok(ws_tokio::connect_with(&builder).await?.0)
    };
    match ws_testkit::autobahn_client(&base, &agent, connect).await {
        Ok(count) => println!("ran {count} cases"),
        Err(e) => {
            eprintln!("autobahn client: {e}");
            std::process::exit(1);
        }
    }
}
