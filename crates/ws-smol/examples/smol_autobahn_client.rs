//! Autobahn TestSuite client on smol: `smol_autobahn_client --url ws://127.0.0.1:9001 --agent NAME`.

fn main() {
    let base = ws_testkit::arg("url").unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = ws_testkit::arg("agent").unwrap_or_else(|| "ws-smol".into());
    let connect = |url: String| async move {
        let builder =
            ws_smol::ClientBuilder::new(&url)?.config(ws_testkit::autobahn_client_config());
        Ok(ws_smol::connect_with(&builder).await?.0)
    };
    match smol::block_on(ws_testkit::autobahn_client(&base, &agent, connect)) {
        Ok(count) => println!("ran {count} cases"),
        Err(e) => {
            eprintln!("autobahn client: {e}");
            std::process::exit(1);
        }
    }
}
