//! The broadcast peers, run as the binaries `fanout` starts, under a short
//! fan-out load: every subscriber must receive the publisher's messages whole,
//! in order and nothing else; with `--deflate`, compressed.

use std::time::Duration;

use ws_benches::compare::servers::{RunningServer, ServerSpec};
use ws_benches::fanout::run::{self, RunConfig, RunReport};
use ws_benches::target::Target;

const PEERS: [&str; 4] = [
    env!("CARGO_BIN_EXE_peer-tungstenite-broadcast"),
    env!("CARGO_BIN_EXE_peer-fastwebsockets-broadcast"),
    env!("CARGO_BIN_EXE_peer-tokio-websockets-broadcast"),
    env!("CARGO_BIN_EXE_peer-sockudo-broadcast"),
];

/// Runs a short fan-out of `subscribers` × `size` against `command` (with a
/// `{port}`), on a fresh server.
fn short_run(command: &str, subscribers: usize, size: usize, deflate: bool) -> RunReport {
    let spec = ServerSpec {
        name: "peer".into(),
        command: command.into(),
    };
    let log = std::env::temp_dir().join(format!("fanout-test-{}.log", std::process::id()));
    let server = RunningServer::start(&spec, None, &log).unwrap();
    let cfg = RunConfig {
        target: Target::from_host_port("127.0.0.1", server.port).unwrap(),
        subscribers,
        size,
        deflate,
        window: 16,
        warmup: Duration::from_millis(100),
        duration: Duration::from_millis(300),
        connect_timeout: Duration::from_secs(5),
        connect_concurrency: 8,
        server_pid: Some(server.pid()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run::run(&cfg))
}

#[test]
fn every_peer_delivers_every_message_to_every_subscriber() {
    for peer in PEERS {
        for size in [20, 1024] {
            let r = short_run(&format!("{peer} --port {{port}}"), 20, size, false);
            assert!(r.errors.is_empty(), "{peer} {size}: {:?}", r.errors);
            assert_eq!(r.subscribers_open, 20, "{peer}");
            assert!(r.deliveries > 0 && r.sent > 0, "{peer}: {r:?}");
            assert_eq!(r.compressed, 0, "{peer}");
            assert!(r.server_us_per_delivery().is_some(), "{peer}");
        }
    }
}

#[test]
fn sockudo_compresses_with_deflate() {
    let peer = env!("CARGO_BIN_EXE_peer-sockudo-broadcast");
    let r = short_run(&format!("{peer} --port {{port}} --deflate"), 10, 1024, true);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.deflate_accepted, 10);
    assert!(r.deliveries > 0);
    assert_eq!(r.compressed, r.deliveries);
}
