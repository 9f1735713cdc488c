//! Ctrl-C (SIGINT) and, on Unix, SIGTERM as one stream of interrupts.

use crate::failure::Failure;

/// Interrupt requests: Ctrl-C, and SIGTERM on Unix. Each signal is seen once, also when it arrives while
/// nobody is waiting in [`Interrupts::recv`].
pub(crate) struct Interrupts {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Interrupts {
    /// Installs the handlers (from here on these signals no longer kill the process).
    pub(crate) fn new() -> Result<Self, Failure> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let install =
                |kind| signal(kind).map_err(|e| Failure::io(format!("cannot handle signals: {e}")));
            Ok(Interrupts {
                interrupt: install(SignalKind::interrupt())?,
                terminate: install(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Interrupts {})
    }

    /// Waits for the next interrupt. Cancel-safe.
    pub(crate) async fn recv(&mut self) {
        #[cfg(unix)]
        {
            let got = tokio::select! {
                got = self.interrupt.recv() => got,
                got = self.terminate.recv() => got,
            };
            if got.is_none() {
                std::future::pending::<()>().await;
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
