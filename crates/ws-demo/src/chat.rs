//! The chat room: a registry of users, each with a bounded outgoing queue drained by its own writer task.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, watch};
use ws_axum::{CloseCode, Message, PreparedMessage, WebSocket, Writer};

use crate::bus::Bus;

/// Messages a user's writer may have queued before the user counts as too slow and is disconnected.
pub const QUEUE_DEPTH: usize = 64;

/// The most queued messages a user's writer takes at once: fed together, they leave in one write.
const WRITE_BATCH: usize = 16;

/// A close the writer should send: code and reason.
type Close = (CloseCode, &'static str);

/// One connected user as the room sees it.
#[derive(Debug)]
struct User {
    name: String,
    tx: mpsc::Sender<PreparedMessage>,
    control: Arc<watch::Sender<Option<Close>>>,
}

/// The chat room shared by all connections.
#[derive(Debug)]
pub struct Hub {
    users: Mutex<HashMap<u64, User>>,
    next_id: AtomicU64,
    guests: AtomicU64,
    shutdown: watch::Sender<bool>,
    /// Sessions still running (joined or not yet finished closing).
    live: watch::Sender<usize>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            users: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            guests: AtomicU64::new(1),
            shutdown: watch::channel(false).0,
            live: watch::channel(0).0,
        }
    }
}

impl Hub {
    /// A fresh `guest-N` name.
    pub fn guest_name(&self) -> String {
        format!("guest-{}", self.guests.fetch_add(1, Ordering::Relaxed))
    }

    /// How many users are connected.
    pub fn user_count(&self) -> usize {
        self.lock().len()
    }

    /// Tells every writer (current and future) to close with 1001 "server shutting down".
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// Resolves once no session is running (every close handshake has ended).
    pub async fn all_sessions_ended(&self) {
        let _ = self.live.subscribe().wait_for(|n| *n == 0).await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, User>> {
        self.users.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `json` for every user, framed (and compressed) once for all of them; users whose queue is
    /// full are told to close with 1008 "too slow". The one place where events reach this process's users
    /// (the [`Bus`] calls it).
    pub(crate) fn broadcast(&self, json: &str) {
        let prepared = PreparedMessage::new(json);
        for user in self.lock().values() {
            match user.tx.try_send(prepared.clone()) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    user.control.send_if_modified(|c| {
                        let first = c.is_none();
                        if first {
                            *c = Some((CloseCode::POLICY_VIOLATION, "too slow"));
                        }
                        first
                    });
                }
            }
        }
    }

    /// Adds `user`; returns its id and how many users this process has now.
    fn join(&self, user: User) -> (u64, usize) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut users = self.lock();
        users.insert(id, user);
        (id, users.len())
    }

    /// Removes user `id`; returns its name and how many users this process has left.
    fn leave(&self, id: u64) -> Option<(String, usize)> {
        let mut users = self.lock();
        let user = users.remove(&id)?;
        Some((user.name, users.len()))
    }
}

/// Counts a running session on the hub from creation to drop.
struct Live(Arc<Hub>);

impl Live {
    fn new(hub: Arc<Hub>) -> Self {
        hub.live.send_modify(|n| *n += 1);
        Live(hub)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.live.send_modify(|n| *n -= 1);
    }
}

/// Runs one chat user on an accepted WebSocket until it ends: a writer task drains the user's queue, this
/// task reads and hands the messages (and the user's join and leave) to the [`Bus`].
pub async fn session(ws: WebSocket, name: String, bus: Bus) {
    let hub = bus.hub().clone();
    let _live = Live::new(hub.clone());
    let (mut reader, writer) = ws.split();
    let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
    let control = Arc::new(watch::channel(None).0);
    let writer_task = tokio::spawn(write_loop(
        writer,
        rx,
        control.subscribe(),
        hub.shutdown.subscribe(),
    ));
    let (id, users) = hub.join(User {
        name: name.clone(),
        tx,
        control: control.clone(),
    });
    bus.presence("join", &name, users);
    while let Some(Ok(message)) = reader.recv().await {
        if control.borrow().is_some() {
            continue; // closing: the reader only waits for the peer's close frame now
        }
        match message {
            Message::Text(text) => bus.message(message_json(&name, text.as_str())),
            Message::Binary(_) => {
                control.send_replace(Some((CloseCode::UNSUPPORTED_DATA, "text only")));
            }
        }
    }
    if let Some((name, users)) = hub.leave(id) {
        bus.presence("leave", &name, users);
    }
    drop(reader);
    let abort = writer_task.abort_handle();
    if tokio::time::timeout(Duration::from_secs(3), writer_task)
        .await
        .is_err()
    {
        abort.abort();
    }
}

/// Resolves with the close the writer must send: the user's own (1003, 1008) or the server's 1001.
async fn closing(
    control: &mut watch::Receiver<Option<Close>>,
    shutdown: &mut watch::Receiver<bool>,
) -> Close {
    // The watch guards are not `Send`: copy the value out before anything else is awaited.
    let own = async { control.wait_for(Option::is_some).await.map(|close| *close) };
    let server = async { shutdown.wait_for(|s| *s).await.map(|_| ()) };
    tokio::select! {
        Ok(Some(close)) = own => close,
        Ok(()) = server => (CloseCode::GOING_AWAY, "server shutting down"),
        else => std::future::pending().await,
    }
}

/// Writes the user's queue until a close is due: every message waiting (up to [`WRITE_BATCH`]) in one
/// write.
async fn write_loop(
    mut writer: Writer,
    mut rx: mpsc::Receiver<PreparedMessage>,
    mut control: watch::Receiver<Option<Close>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    let close = loop {
        let taken = tokio::select! {
            biased;
            close = closing(&mut control, &mut shutdown) => break Some(close),
            taken = rx.recv_many(&mut batch, WRITE_BATCH) => taken,
        };
        if taken == 0 {
            break None;
        }
        let write = async {
            for message in batch.drain(..) {
                writer.feed(message).await?;
            }
            writer.flush().await
        };
        tokio::select! {
            biased;
            close = closing(&mut control, &mut shutdown) => break Some(close),
            sent = write => if sent.is_err() { break None },
        }
    };
    if let Some((code, reason)) = close {
        let _ = tokio::time::timeout(Duration::from_secs(2), writer.close(code, reason)).await;
    }
}

/// The user's name from the request's query (`?name=`, percent-decoded), sanitized; `None` when absent
/// or nothing is left.
///
/// ```
/// use ws_demo::chat::name_from_query;
/// assert_eq!(name_from_query(Some("x=1&name=al%20ice+b")).as_deref(), Some("al ice b"));
/// assert_eq!(name_from_query(Some("name=%3Cb%3E")).as_deref(), Some("b"));
/// assert_eq!(name_from_query(Some("name=")), None);
/// assert_eq!(name_from_query(None), None);
/// ```
pub fn name_from_query(query: Option<&str>) -> Option<String> {
    let (_, raw) = form_urlencoded::parse(query?.as_bytes()).find(|(key, _)| key == "name")?;
    sanitize_name(&raw)
}

/// A display name from user input: letters, digits, space, `-`, `_` and `.` only, trimmed, at most 32
/// characters; `None` if nothing is left.
///
/// ```
/// use ws_demo::chat::sanitize_name;
/// assert_eq!(sanitize_name(" <b>alice</b> ").as_deref(), Some("baliceb"));
/// assert_eq!(sanitize_name("\"';").as_deref(), None);
/// assert_eq!(sanitize_name(&"x".repeat(40)).unwrap().len(), 32);
/// ```
pub fn sanitize_name(raw: &str) -> Option<String> {
    let kept: String = raw
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'))
        .collect();
    let name: String = kept.trim().chars().take(32).collect();
    let name = name.trim_end().to_string();
    (!name.is_empty()).then_some(name)
}

/// `HH:MM:SS` in UTC, now.
pub fn utc_time() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// `s` as a JSON string literal.
///
/// ```
/// assert_eq!(ws_demo::chat::json_string("a\"b\\\n\u{1}"), r#""a\"b\\\n\u0001""#);
/// ```
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `{"type":"message","name":..,"text":..,"time":..}`.
pub fn message_json(name: &str, text: &str) -> String {
    format!(
        r#"{{"type":"message","name":{},"text":{},"time":"{}"}}"#,
        json_string(name),
        json_string(text),
        utc_time()
    )
}

/// `{"type":"join"|"leave","name":..,"time":..,"users":N}`.
pub fn presence_json(kind: &str, name: &str, users: usize) -> String {
    format!(
        r#"{{"type":"{kind}","name":{},"time":"{}","users":{users}}}"#,
        json_string(name),
        utc_time()
    )
}
