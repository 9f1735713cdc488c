//! How chat events reach the users: within one process ([`Bus::Local`]), or across processes through
//! one Redis server ([`Bus::Redis`], `ws-demo --redis redis://HOST:PORT`).
//!
//! Whatever the bus, local delivery happens in one place: [`Hub`]'s broadcast, which queues the JSON
//! for every user of this process. The bus decides what gets there.
//!
//! # Across processes
//!
//! * **Events.** Chat messages, joins and leaves are published on one Redis pub/sub channel,
//!   [`CHANNEL`], as `PROCESS_ID '\n' JSON`. Every process subscribes to it and hands what others
//!   published to its hub. A process delivers its *own* events locally right away and skips them when
//!   they come back from Redis: nothing is delivered twice, and local users keep chatting while Redis is
//!   away. A process id is the OS pid plus the start time (see [`RedisBus::process_id`]).
//! * **Order.** One task per process (the relay) takes that process's events in order, delivers each
//!   locally and then publishes it, so every user sees one process's events in the order they happened.
//!   Events from different processes may interleave differently on different processes, and a user
//!   who joins while another process's events are still on their way may see those first.
//! * **Presence.** Each process keeps its own user count in Redis under
//!   `ws-demo:users:PROCESS_ID` ([`PRESENCE_PREFIX`]) with a [`PRESENCE_TTL`] expiry, refreshed on
//!   every join and leave and by a heartbeat every [`HEARTBEAT`], and lists itself in the set
//!   [`PROCESSES`]. The `users` of a join or leave is the sum over the listed processes whose key is
//!   still there (stale members are removed from the set): a killed process's users age out of the
//!   total within [`PRESENCE_TTL`] (no leave events are sent for them). A process that shuts down
//!   gracefully removes its key at once.
//! * **Outages.** When Redis goes away (the subscription's connection closes, or Redis leaves the PING
//!   sent on it every [`HEARTBEAT`] unanswered for a second) each process keeps serving its own users
//!   (their messages, joins and leaves, with this process's count), logs one line,
//!   `ws-demo: redis unavailable (…); serving local users only, retrying`, and reconnects and
//!   resubscribes with exponential backoff (100 ms doubling up to [`MAX_BACKOFF`]); once subscribed
//!   again it logs `ws-demo: redis is back (…)`.
//! * **At most once.** Delivery across processes is at most once: what is published while a process
//!   is not subscribed (Redis down, or the moments around a reconnect) never reaches that process's
//!   users, and is not replayed.
//!
//! The Redis side is the `redis` crate: its async pub/sub ([`redis::aio::PubSub`]) for the
//! subscription and its [`ConnectionManager`] for `PUBLISH` and the presence commands.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSub};
use redis::{Client, RedisResult};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use crate::chat::{Hub, presence_json};

/// The Redis pub/sub channel every process publishes its chat events on.
pub const CHANNEL: &str = "ws-demo:chat";

/// Prefix of each process's user-count key: `ws-demo:users:PROCESS_ID`.
pub const PRESENCE_PREFIX: &str = "ws-demo:users:";

/// The Redis set of the process ids that have announced themselves.
pub const PROCESSES: &str = "ws-demo:processes";

/// Expiry of a process's user-count key: a killed process's users leave the total after this.
pub const PRESENCE_TTL: Duration = Duration::from_secs(10);

/// How often a process refreshes its user-count key.
pub const HEARTBEAT: Duration = Duration::from_secs(3);

/// Longest wait between two reconnection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// First wait between two reconnection attempts.
const MIN_BACKOFF: Duration = Duration::from_millis(100);

/// Bound for one Redis step (connecting, a command, a pipeline).
const REDIS_TIMEOUT: Duration = Duration::from_secs(1);

/// Events a process may have waiting for its relay task; beyond that they are delivered locally only.
const RELAY_DEPTH: usize = 1024;

/// Where a session's events go.
#[derive(Clone, Debug)]
pub enum Bus {
    /// One process: events go straight to the hub's users.
    Local(Arc<Hub>),
    /// Many processes sharing one Redis (see the [module docs](self)).
    Redis(Arc<RedisBus>),
}

impl Bus {
    /// A bus for one process.
    pub fn local(hub: Arc<Hub>) -> Bus {
        Bus::Local(hub)
    }

    /// A bus through the Redis server at `url` (`redis://HOST:PORT`). Connects in the background (the
    /// server need not be up yet) and keeps reconnecting; fails only on a malformed URL. Call it inside
    /// a Tokio runtime: it spawns the bus's tasks.
    pub fn redis(hub: Arc<Hub>, url: &str) -> RedisResult<Bus> {
        RedisBus::start(hub, url).map(|bus| Bus::Redis(Arc::new(bus)))
    }

    /// The hub of this process's users.
    pub fn hub(&self) -> &Arc<Hub> {
        match self {
            Bus::Local(hub) => hub,
            Bus::Redis(bus) => &bus.link.hub,
        }
    }

    /// Delivers a chat message (`json` from [`message_json`](crate::chat::message_json)) to every user.
    pub fn message(&self, json: String) {
        match self {
            Bus::Local(hub) => hub.broadcast(&json),
            Bus::Redis(bus) => bus.relay(Event::Message(json)),
        }
    }

    /// Announces that `name` joined or left (`kind` is `"join"` or `"leave"`), `local_users` being this
    /// process's user count right after; the event carries the total across processes.
    pub fn presence(&self, kind: &'static str, name: &str, local_users: usize) {
        match self {
            Bus::Local(hub) => hub.broadcast(&presence_json(kind, name, local_users)),
            Bus::Redis(bus) => bus.relay(Event::Presence {
                kind,
                name: name.to_string(),
                local_users,
            }),
        }
    }

    /// Winds the bus down after the server stopped: with Redis, relays what is still queued (the last
    /// leaves), removes this process from the presence (at most about a second, best effort) and stops
    /// the bus's tasks. Nothing to do for a local bus.
    pub async fn close(&self) {
        if let Bus::Redis(bus) = self {
            let (done, closed) = oneshot::channel();
            let _ = tokio::time::timeout(REDIS_TIMEOUT * 2, async {
                if bus.events.send(Event::Close(done)).await.is_ok() {
                    let _ = closed.await;
                }
            })
            .await;
            bus.stop();
        }
    }
}

/// The Redis side of a [`Bus::Redis`]: a relay task (this process's events, in order: deliver locally,
/// then publish; plus the presence heartbeat) and a subscriber task (others' events, reconnecting with
/// backoff). Dropping it stops both.
#[derive(Debug)]
pub struct RedisBus {
    link: Arc<Link>,
    events: mpsc::Sender<Event>,
    tasks: Vec<AbortHandle>,
}

/// What both tasks share.
#[derive(Debug)]
struct Link {
    hub: Arc<Hub>,
    id: String,
    /// Subscribed and the command connection answered: events are published, counts are totals.
    up: AtomicBool,
    manager: ConnectionManager,
}

/// One of this process's events for the relay task.
#[derive(Debug)]
enum Event {
    Message(String),
    Presence {
        kind: &'static str,
        name: String,
        local_users: usize,
    },
    /// Leave the presence, then report.
    Close(oneshot::Sender<()>),
}

impl RedisBus {
    fn start(hub: Arc<Hub>, url: &str) -> RedisResult<RedisBus> {
        let client = Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(MAX_BACKOFF);
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros();
        let link = Arc::new(Link {
            hub,
            id: format!("{}-{started:x}", std::process::id()),
            up: AtomicBool::new(false),
            manager,
        });
        let (events, queued) = mpsc::channel(RELAY_DEPTH);
        let tasks = vec![
            tokio::spawn(relay(link.clone(), queued)).abort_handle(),
            tokio::spawn(subscribe(link.clone(), client, url.to_string())).abort_handle(),
        ];
        Ok(RedisBus {
            link,
            events,
            tasks,
        })
    }

    /// This process's id on the channel and in the presence keys: `PID-STARTMICROS` (hex).
    pub fn process_id(&self) -> &str {
        &self.link.id
    }

    /// Whether the bus is subscribed to Redis right now (events cross processes).
    pub fn is_connected(&self) -> bool {
        self.link.is_up()
    }

    fn relay(&self, event: Event) {
        match self.events.try_send(event) {
            Ok(()) => {}
            // The relay is stuck on Redis (or gone): this process's users still get the event.
            Err(
                mpsc::error::TrySendError::Full(event) | mpsc::error::TrySendError::Closed(event),
            ) => {
                self.link.deliver_locally(&event);
            }
        }
    }

    fn stop(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Link {
    fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    fn presence_key(&self) -> String {
        format!("{PRESENCE_PREFIX}{}", self.id)
    }

    /// An event with this process's count, to this process's users only.
    fn deliver_locally(&self, event: &Event) {
        match event {
            Event::Message(json) => self.hub.broadcast(json),
            Event::Presence {
                kind,
                name,
                local_users,
            } => self.hub.broadcast(&presence_json(kind, name, *local_users)),
            Event::Close(_) => {}
        }
    }

    /// A payload from the channel: to this process's users, unless this process published it.
    fn deliver_remote(&self, payload: &[u8]) {
        let Ok(payload) = std::str::from_utf8(payload) else {
            return;
        };
        match payload.split_once('\n') {
            Some((origin, json)) if origin != self.id => self.hub.broadcast(json),
            _ => {}
        }
    }

    /// Publishes `json` for the other processes (at most once: a failure drops it).
    async fn publish(&self, json: &str) {
        let mut manager = self.manager.clone();
        let payload = format!("{}\n{json}", self.id);
        let _ = bounded(
            redis::cmd("PUBLISH")
                .arg(CHANNEL)
                .arg(payload)
                .query_async::<()>(&mut manager),
        )
        .await;
    }

    /// Stores this process's user count (with its expiry) and lists the process.
    async fn refresh_presence(&self, local_users: usize) -> RedisResult<()> {
        let mut manager = self.manager.clone();
        bounded(
            redis::pipe()
                .cmd("SET")
                .arg(self.presence_key())
                .arg(local_users)
                .arg("EX")
                .arg(PRESENCE_TTL.as_secs())
                .ignore()
                .cmd("SADD")
                .arg(PROCESSES)
                .arg(&self.id)
                .ignore()
                .query_async::<()>(&mut manager),
        )
        .await
    }

    /// Stores this process's count, then sums the counts of the live processes.
    async fn total_users(&self, local_users: usize) -> RedisResult<usize> {
        let mut manager = self.manager.clone();
        self.refresh_presence(local_users).await?;
        let ids: Vec<String> = bounded(
            redis::cmd("SMEMBERS")
                .arg(PROCESSES)
                .query_async(&mut manager),
        )
        .await?;
        let keys: Vec<String> = ids
            .iter()
            .map(|id| format!("{PRESENCE_PREFIX}{id}"))
            .collect();
        let counts: Vec<Option<usize>> =
            bounded(redis::cmd("MGET").arg(&keys).query_async(&mut manager)).await?;
        let gone: Vec<&String> = ids
            .iter()
            .zip(&counts)
            .filter_map(|(id, count)| count.is_none().then_some(id))
            .collect();
        if !gone.is_empty() {
            let _ = bounded(
                redis::cmd("SREM")
                    .arg(PROCESSES)
                    .arg(gone)
                    .query_async::<()>(&mut manager),
            )
            .await;
        }
        Ok(counts.into_iter().flatten().sum())
    }

    /// Removes this process from the presence.
    async fn leave_presence(&self) -> RedisResult<()> {
        let mut manager = self.manager.clone();
        bounded(
            redis::pipe()
                .cmd("DEL")
                .arg(self.presence_key())
                .ignore()
                .cmd("SREM")
                .arg(PROCESSES)
                .arg(&self.id)
                .ignore()
                .query_async::<()>(&mut manager),
        )
        .await
    }

    /// One of this process's events: to the local users, then (when connected) to the others.
    async fn handle(&self, event: Event) {
        match event {
            Event::Message(json) => {
                self.hub.broadcast(&json);
                if self.is_up() {
                    self.publish(&json).await;
                }
            }
            Event::Presence {
                kind,
                name,
                local_users,
            } => {
                let users = if self.is_up() {
                    self.total_users(local_users).await.unwrap_or(local_users)
                } else {
                    local_users
                };
                let json = presence_json(kind, &name, users);
                self.hub.broadcast(&json);
                if self.is_up() {
                    self.publish(&json).await;
                }
            }
            Event::Close(done) => {
                if self.is_up() {
                    let _ = self.leave_presence().await;
                }
                let _ = done.send(());
            }
        }
    }

    /// Subscribes to [`CHANNEL`] and makes sure the command connection answers and this process's
    /// count is stored, so that events published from now on cross processes.
    async fn connect(&self, client: &Client) -> RedisResult<PubSub> {
        let mut pubsub = bounded(client.get_async_pubsub()).await?;
        bounded(pubsub.subscribe(CHANNEL)).await?;
        // A PING through the manager: a failed one (a connection from before an outage) makes it
        // reconnect, and the next one waits for that connection.
        let mut manager = self.manager.clone();
        let mut ping = Ok(());
        for _ in 0..3 {
            ping = bounded(redis::cmd("PING").query_async::<()>(&mut manager)).await;
            if ping.is_ok() {
                break;
            }
        }
        ping?;
        self.refresh_presence(self.hub.user_count()).await?;
        Ok(pubsub)
    }
}

impl Link {
    /// Hands what others publish to the hub until the subscription ends; returns why. A PING every
    /// [`HEARTBEAT`] notices a Redis that stopped answering without closing the connection.
    async fn listen(&self, pubsub: PubSub) -> String {
        let (mut sink, mut messages) = pubsub.split();
        let mut liveness = tokio::time::interval(HEARTBEAT);
        liveness.reset();
        loop {
            tokio::select! {
                message = messages.next() => match message {
                    Some(message) => self.deliver_remote(message.get_payload_bytes()),
                    None => return "connection lost".to_string(),
                },
                _ = liveness.tick() => {
                    if let Err(e) = bounded(sink.ping::<redis::Value>()).await {
                        return format!("no answer to PING: {e}");
                    }
                }
            }
        }
    }
}

/// A Redis step bounded by [`REDIS_TIMEOUT`].
async fn bounded<T>(step: impl Future<Output = RedisResult<T>>) -> RedisResult<T> {
    match tokio::time::timeout(REDIS_TIMEOUT, step).await {
        Ok(result) => result,
        Err(_) => Err(redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no answer from redis in time",
        ))),
    }
}

/// The relay task: this process's events in order, and the presence heartbeat.
async fn relay(link: Arc<Link>, mut events: mpsc::Receiver<Event>) {
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => link.handle(event).await,
                None => break,
            },
            _ = heartbeat.tick() => {
                if link.is_up() {
                    let _ = link.refresh_presence(link.hub.user_count()).await;
                }
            }
        }
    }
}

/// The subscriber task: (re)connects with backoff, hands what others publish to the hub, and logs one
/// line when Redis goes away and one when it is back.
async fn subscribe(link: Arc<Link>, client: Client, url: String) {
    let mut backoff = MIN_BACKOFF;
    let mut connected_before = false;
    let mut outage_logged = false;
    loop {
        let error = match link.connect(&client).await {
            Ok(pubsub) => {
                backoff = MIN_BACKOFF;
                link.up.store(true, Ordering::Release);
                if !connected_before {
                    eprintln!(
                        "ws-demo: redis connected ({url}, channel {CHANNEL}, process {})",
                        link.id
                    );
                } else if outage_logged {
                    eprintln!("ws-demo: redis is back ({url}); chat spans processes again");
                }
                connected_before = true;
                outage_logged = false;
                let lost = link.listen(pubsub).await;
                link.up.store(false, Ordering::Release);
                lost
            }
            Err(e) => {
                link.up.store(false, Ordering::Release);
                e.to_string()
            }
        };
        if !outage_logged {
            eprintln!(
                "ws-demo: redis unavailable ({url}: {error}); serving local users only, retrying"
            );
            outage_logged = true;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
