//! `ws serve`: an echo or broadcast server. Ctrl-C (or SIGTERM) shuts down gracefully: no new
//! connections, every open one closed with 1001, up to [`GRACE`] to finish.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use ws_tokio::{Accept, CloseFrame, Config, Error, Message, PreparedMessage, Shutdown, WebSocket};

use crate::ServeArgs;
use crate::failure::{Failure, connection_failure, describe_io};
use crate::signals::Interrupts;

/// How long a shutdown waits for connections to finish their close handshakes.
pub(crate) const GRACE: Duration = Duration::from_secs(2);

/// Messages queued for one broadcast client before further ones are dropped for it.
const BROADCAST_QUEUE: usize = 1024;

/// The most queued broadcasts a client's writer takes at once: fed together, they leave in one write.
const BROADCAST_BATCH: usize = 64;

/// Exit code after a second Ctrl-C during shutdown.
const EXIT_INTERRUPTED: u8 = 130;

/// What the server does with messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Back to the sender.
    Echo,
    /// To every connected client.
    Broadcast,
}

/// State shared by all connections.
#[derive(Default)]
struct Server {
    /// The number the next connection gets in the log.
    next_id: AtomicU64,
    /// Connections currently open.
    connected: AtomicUsize,
    /// Broadcast mode: each client's outgoing queue.
    clients: Mutex<HashMap<u64, Client>>,
}

/// A broadcast client's outgoing queue.
struct Client {
    queue: mpsc::Sender<PreparedMessage>,
    /// Whether "queue full" was already logged for this client.
    warned: bool,
}

/// Runs `ws serve`.
pub(crate) async fn run(args: ServeArgs) -> Result<(), Failure> {
    let mode = if args.broadcast {
        Mode::Broadcast
    } else {
        Mode::Echo
    };
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .await
        .map_err(|e| {
            Failure::io(format!(
                "cannot listen on {}:{}: {}",
                args.host,
                args.port,
                describe_io(&e)
            ))
        })?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::io(format!("cannot read the listening address: {e}")))?;
    let mode_name = match mode {
        Mode::Echo => "echo",
        Mode::Broadcast => "broadcast",
    };
    eprintln!("listening on ws://{local}/ ({mode_name}; Ctrl-C to stop)");

    let config = match (args.no_deflate, mode) {
        (true, _) => Config::default(),
        (false, Mode::Echo) => ws_tokio::default_config(),
        // Each message compressed once for all clients (no context takeover on our side).
        (false, Mode::Broadcast) => ws_tokio::broadcast_config(),
    };
    let server = Arc::new(Server::default());
    let handler = move |ws: WebSocket| handle(ws, mode, server.clone());
    let shutdown = Shutdown::new();
    let mut interrupts = Interrupts::new()?;

    let serving = async {
        if args.subprotocols.is_empty() {
            ws_tokio::serve_until(listener, config, shutdown.clone(), GRACE, handler).await
        } else {
            let protocols = Arc::new(args.subprotocols.clone());
            serve_with_subprotocols(listener, config, shutdown.clone(), protocols, handler).await
        }
    };
    let mut serving = std::pin::pin!(serving);
    let result = tokio::select! {
        result = &mut serving => result,
        () = interrupts.recv() => {
            eprintln!(
                "shutting down: closing {} connection(s) with 1001 (Ctrl-C again to quit at once)",
                shutdown.active()
            );
            shutdown.trigger();
            tokio::select! {
                result = &mut serving => result,
                () = interrupts.recv() => {
                    return Err(Failure { code: EXIT_INTERRUPTED, message: "interrupted".into() });
                }
            }
        }
    };
    result.map_err(|e| Failure::io(format!("server failed: {}", describe_io(&e))))?;
    let left = shutdown.active();
    if left > 0 {
        eprintln!(
            "stopped; {left} connection(s) did not close within {} s",
            GRACE.as_secs()
        );
    } else {
        eprintln!("stopped");
    }
    Ok(())
}

/// Serves like [`ws_tokio::serve_until`] (stop accepting on shutdown, wait up to [`GRACE`] for the
/// connections, which close with 1001), but answers with the first of `protocols` that the client offers.
/// `serve_until` always accepts with no subprotocol, hence this loop.
async fn serve_with_subprotocols<H, Fut>(
    listener: TcpListener,
    config: Config,
    shutdown: Shutdown,
    protocols: Arc<Vec<String>>,
    handler: H,
) -> io::Result<()>
where
    H: Fn(WebSocket) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.triggered() => break,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors and the like: pause instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let (config, protocols, shutdown, handler) = (
            config.clone(),
            protocols.clone(),
            shutdown.clone(),
            handler.clone(),
        );
        tokio::spawn(async move {
            let accepted = ws_tokio::accept_with(stream, config, |request| async move {
                let chosen = protocols.iter().find(|p| request.offers_subprotocol(p));
                Ok(match chosen {
                    Some(protocol) => Accept::new().subprotocol(protocol.clone()),
                    None => Accept::new(),
                })
            })
            .await;
            if let Ok(ws) = accepted {
                handler(ws.with_shutdown(&shutdown)).await;
            }
        });
    }
    let _ = tokio::time::timeout(GRACE, shutdown.idle()).await;
    Ok(())
}

/// Serves one connection and logs its open and close.
async fn handle(ws: WebSocket, mode: Mode, server: Arc<Server>) {
    let log = ConnectionLog::open(&ws, server);
    match mode {
        Mode::Echo => echo(ws, &log).await,
        Mode::Broadcast => broadcast(ws, &log).await,
    }
}

/// One connection's lines in the server log.
struct ConnectionLog {
    id: u64,
    peer: String,
    server: Arc<Server>,
}

impl ConnectionLog {
    /// Counts the connection and logs `open`.
    fn open(ws: &WebSocket, server: Arc<Server>) -> Self {
        let id = server.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let peer = ws
            .get_ref()
            .get_ref()
            .get_ref()
            .peer_addr()
            .map_or_else(|_| "unknown peer".to_string(), |a| a.to_string());
        let connected = server.connected.fetch_add(1, Ordering::Relaxed) + 1;
        let protocol = ws
            .subprotocol()
            .map(|p| format!(" subprotocol {p}"))
            .unwrap_or_default();
        eprintln!("open  #{id} {peer}{protocol} ({connected} connected)");
        ConnectionLog { id, peer, server }
    }

    /// Logs `close` with the peer's close frame or the failure. Called while the connection still exists,
    /// so that a graceful shutdown (which waits for connections to be dropped) never cuts the line off.
    fn closed(&self, ending: &Result<Option<CloseFrame>, Error>) {
        let connected = self.server.connected.fetch_sub(1, Ordering::Relaxed) - 1;
        let how = match ending {
            Ok(Some(frame)) if frame.reason.is_empty() => format!("{}", frame.code.0),
            Ok(Some(frame)) => format!("{} {}", frame.code.0, frame.reason.as_str()),
            Ok(None) => "1005 (no status)".to_string(),
            Err(e) => format!("failed: {}", connection_failure(e).message),
        };
        eprintln!(
            "close #{} {} {how} ({connected} connected)",
            self.id, self.peer
        );
    }
}

/// Echoes every message until the connection ends.
async fn echo(mut ws: WebSocket, log: &ConnectionLog) {
    let ending = loop {
        match ws.recv().await {
            Some(Ok(message)) => match ws.send(message).await {
                // Closing (the peer's close frame arrived): `recv` finishes the handshake.
                Ok(()) | Err(Error::Send(_)) => {}
                Err(e) => break Err(e),
            },
            Some(Err(e)) => break Err(e),
            None => break Ok(ws.close_frame().cloned()),
        }
    };
    log.closed(&ending);
}

/// Broadcast mode: every message from this client goes to every client's queue, prepared once (framed,
/// and compressed where the clients' parameters allow, once for all); a task per client writes its
/// queue, every broadcast waiting in it in one write.
async fn broadcast(ws: WebSocket, log: &ConnectionLog) {
    let (server, id) = (&log.server, log.id);
    let (mut reader, mut writer) = ws.split();
    let (queue, mut outgoing) = mpsc::channel::<PreparedMessage>(BROADCAST_QUEUE);
    lock(&server.clients).insert(
        id,
        Client {
            queue,
            warned: false,
        },
    );
    let mut sender = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(BROADCAST_BATCH);
        'writing: while outgoing.recv_many(&mut batch, BROADCAST_BATCH).await > 0 {
            for message in batch.drain(..) {
                if writer.feed(message).await.is_err() {
                    break 'writing;
                }
            }
            if writer.flush().await.is_err() {
                break;
            }
        }
        writer
    });
    let ending = loop {
        match reader.recv().await {
            Some(Ok(message)) => publish(server, message),
            Some(Err(e)) => break Err(e),
            None => break Ok(reader.close_frame()),
        }
    };
    // Dropping the hub's sender lets the writer task drain its queue and end.
    lock(&server.clients).remove(&id);
    log.closed(&ending);
    if tokio::time::timeout(GRACE, &mut sender).await.is_err() {
        sender.abort();
    }
}

/// Queues `message` for every client; a client whose queue is full misses it (logged once per client).
fn publish(server: &Server, message: Message) {
    let prepared = PreparedMessage::new(message);
    let mut clients = lock(&server.clients);
    for (id, client) in clients.iter_mut() {
        if let Err(mpsc::error::TrySendError::Full(_)) = client.queue.try_send(prepared.clone())
            && !client.warned
        {
            client.warned = true;
            eprintln!("slow  #{id}: its queue is full, dropping messages for it");
        }
    }
}

/// Locks a mutex, ignoring poisoning (the data stays consistent: every update is a single insert/remove).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
