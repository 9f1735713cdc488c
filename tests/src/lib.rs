//! The harness shared by the cross-crate tests in `tests/tests/`:
//!
//! - [`rt`]: the runtime seam ([`Rt`]) the conformance suite is written against once, with its tokio, smol and
//!   async-std instances;
//! - [`raw`] (from `ws-testkit`, shared with ws-tokio's hardening tests): a WebSocket peer written by hand
//!   over plain TCP (handshake and frames), to play the other side where our own code must not (a client
//!   that never sends its request, a peer that never answers pings, a sender that trickles a message in);
//! - [`tap`]: an instrumented futures-io transport counting writes, to show write coalescing;
//! - time bounds ([`run`], [`within`], [`t!`]): every test and every await in it is bounded, so a hang fails
//!   instead of blocking CI;
//! - test data and a self-signed certificate made at test time ([`Certs`]).

#![forbid(unsafe_code)]

pub use ws_testkit::raw;
pub mod hyper_rt;
pub mod proxies;
pub mod rt;
pub mod tap;

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use futures_util::future::{Either, select};

pub use hyper_rt::Hyper;
pub use rt::{AsyncStd, Decision, Rt, Smol, Task, Tokio, Ws};

/// The bound on any single await in a test.
pub const STEP: Duration = Duration::from_secs(10);
/// The bound on a whole test.
pub const WHOLE_TEST: Duration = Duration::from_secs(60);

/// Runs `f` on its own thread and fails (panics) if it takes longer than `limit`. A panic in `f` is
/// re-raised here, so assertion messages are kept.
pub fn watchdog<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread returned without sending"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test did not finish within {limit:?}"),
    }
}

/// Runs an async test body on runtime `R`, bounded by [`WHOLE_TEST`]. The body is made on the runtime's
/// thread, so it need not be `Send`.
pub fn run<R: Rt, Fut: Future<Output = ()>>(make: impl FnOnce() -> Fut + Send + 'static) {
    watchdog(WHOLE_TEST, move || R::block_on(make()));
}

/// Awaits `fut`, panicking with `what` if it takes longer than [`STEP`].
pub async fn within<R: Rt, F: Future>(what: &str, fut: F) -> F::Output {
    within_for::<R, F>(STEP, what, fut).await
}

/// Awaits `fut`, panicking with `what` if it takes longer than `limit`.
pub async fn within_for<R: Rt, F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    match select(pin!(fut), pin!(R::sleep(limit))).await {
        Either::Left((value, _)) => value,
        Either::Right(_) => panic!("[{}] timed out after {limit:?}: {what}", R::NAME),
    }
}

/// `Some(value)` if `fut` finishes within `limit`, else `None` (the future is dropped: a cancellation).
pub async fn timeout<R: Rt, F: Future>(limit: Duration, fut: F) -> Option<F::Output> {
    match select(pin!(fut), pin!(R::sleep(limit))).await {
        Either::Left((value, _)) => Some(value),
        Either::Right(_) => None,
    }
}

/// `t!(future)`: awaits it within [`STEP`] on the runtime named `R` in the calling scope.
#[macro_export]
macro_rules! t {
    ($e:expr) => {
        $crate::within::<R, _>(concat!(file!(), ":", line!(), ": ", stringify!($e)), $e).await
    };
}

/// `n` bytes that do not compress (xorshift), different for each `seed`.
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// About `n` bytes of varied text mixing 1-, 2-, 3- and 4-byte characters (exactly `n` is not needed).
pub fn varied_text(n: usize, seed: u64) -> String {
    const PIECES: [&str; 8] = ["a", "é", "€", "𝄞", "word ", "ß", "✓", "\n"];
    let mut out = String::with_capacity(n + 4);
    for b in noise(n, seed) {
        if out.len() >= n {
            break;
        }
        out.push_str(PIECES[(b % 8) as usize]);
    }
    out
}

/// `n` bytes of highly compressible text (a repeated log line with a counter).
pub fn compressible_text(n: usize) -> String {
    let mut out = String::with_capacity(n + 64);
    let mut i = 0u64;
    while out.len() < n {
        out.push_str(&format!(
            "{{\"level\":\"info\",\"msg\":\"request served\",\"seq\":{i}}}\n"
        ));
        i += 1;
    }
    out
}

/// A self-signed certificate for `localhost`, made at test time.
#[derive(Debug)]
pub struct Certs {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM.
    pub key_pem: String,
}

impl Certs {
    /// A new key and certificate.
    pub fn localhost() -> Self {
        let key = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
            .expect("rcgen self-signed certificate");
        Certs {
            cert_pem: key.cert.pem(),
            key_pem: key.signing_key.serialize_pem(),
        }
    }

    /// A rustls server configuration serving this certificate.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        ws_async::tls::server_config_from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes())
            .expect("server config from PEM")
    }

    /// A rustls client configuration trusting only this certificate.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        ws_async::tls::client_config_trusting_pem(self.cert_pem.as_bytes())
            .expect("client config from PEM")
    }
}

/// A server configuration with limits large enough for the large-message cases.
pub fn big_config() -> ws_async::Config {
    ws_testkit::echo_config()
}

/// The same without permessage-deflate.
pub fn plain_config() -> ws_async::Config {
    ws_testkit::echo_config().extensions(None)
}
