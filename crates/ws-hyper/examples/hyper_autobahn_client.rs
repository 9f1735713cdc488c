//! Autobahn TestSuite client on hyper's HTTP/1.1 client: `hyper_autobahn_client --url
//! ws://127.0.0.1:9001 --agent NAME`.

use ws_hyper::ClientError;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let base = ws_testkit::arg("url").unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = ws_testkit::arg("agent").unwrap_or_else(|| "ws-hyper".into());
    let connect = |url: String| async move {
        let builder =
            ws_hyper::ClientBuilder::new(&url)?.config(ws_testkit::autobahn_client_config());
        match ws_hyper::tokio::connect(&builder).await {
            Ok((ws, _)) => Ok(ws),
            Err(ClientError::WebSocket(e)) => Err(e),
            Err(other) => Err(ws_hyper::Error::Io(std::io::Error::other(
                other.to_string(),
            ))),
        }
    };
    match ws_testkit::autobahn_client(&base, &agent, connect).await {
        Ok(count) => println!("ran {count} cases"),
        Err(e) => {
            eprintln!("autobahn client: {e}");
            std::process::exit(1);
        }
    }
}
