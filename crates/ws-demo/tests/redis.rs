//! `--redis`: two ws-demo processes (the built binary) share one chat room through a real redis-server
//! started by the test on a free loopback port: messages and presence cross, counts are totals, nothing
//! arrives twice; a Redis outage leaves each process serving its own users, and chat crosses again once
//! Redis is back, without restarting the demo; a killed process's users age out of the total.
//!
//! Needs `redis-server` on PATH (`apt-get install -y redis-server`): without it the tests fail.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ws_tokio::{ClientBuilder, CloseCode, WebSocket};

/// Bound for every wait on a condition.
mod common;

use common::field;

const STEP: Duration = Duration::from_secs(10);

fn redis_server() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("redis-server"))
                .find(|path| path.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "redis-server is not on PATH: the --redis tests need a real Redis; \
                 install it with `apt-get install -y redis-server`"
            )
        })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether a Redis answers PING on `port`.
fn pong(port: u16) -> bool {
    let Ok(mut tcp) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0u8; 7];
    tcp.write_all(b"PING\r\n").is_ok()
        && tcp.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

/// A redis-server on a loopback port, no persistence; killed (by its pid) on drop.
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    fn start() -> Redis {
        let mut redis = Redis {
            port: free_port(),
            child: None,
        };
        redis.restart();
        redis
    }

    /// Starts redis-server on this port (again) and waits until it answers.
    fn restart(&mut self) {
        let deadline = Instant::now() + STEP;
        loop {
            let port = self.port.to_string();
            let mut child = Command::new(redis_server())
                .args(["--port", &port, "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server starts");
            while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
                if pong(self.port) {
                    self.child = Some(child);
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            assert!(
                Instant::now() < deadline,
                "redis-server did not come up on port {port}"
            );
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (`STOP`, `CONT`) to the redis-server, by its pid.
    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("redis-server running").id();
        let status = Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A ws-demo process with `--redis`; its stderr lines are collected; killed on drop.
struct Demo {
    child: Child,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Demo {
    /// Starts the demo on a free port and waits until it has subscribed to Redis.
    async fn start(redis: &Redis) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ws-demo"))
            .args(["--port", "0", "--redis", &redis.url()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ws-demo starts");
        let (first_line, started) = std::sync::mpsc::channel();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let _ = first_line.send(line.unwrap_or_default());
            }
        });
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = log.clone();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let line = started.recv_timeout(STEP).expect("the start line");
        // "ws-demo: chat on http://127.0.0.1:PORT/ (WebSocket at ...)"
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("an address in {line:?}"))
            .to_string();
        let demo = Demo { child, addr, log };
        demo.wait_log("ws-demo: redis connected").await;
        demo
    }

    fn count_log(&self, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|line| line.contains(needle))
            .count()
    }

    /// Waits (bounded) for a stderr line containing `needle`.
    async fn wait_log(&self, needle: &str) {
        let deadline = Instant::now() + STEP;
        while self.count_log(needle) == 0 {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in ws-demo's log: {:?}",
                self.log.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn join(&self, name: &str) -> WebSocket {
        let builder = ClientBuilder::new(&format!("ws://{}/chat?name={name}", self.addr))
            .unwrap()
            .subprotocol("chat");
        let (ws, _) = tokio::time::timeout(STEP, ws_tokio::connect_with(&builder))
            .await
            .expect("connects in time")
            .unwrap();
        ws
    }

    /// Joins as `name`; returns the connection and the `users` of the user's own join event. Events
    /// published on other processes just before the join may still be in flight to this process and
    /// reach the newcomer first: they are skipped (they name someone else), up to the own join.
    async fn enter_counted(&self, name: &str) -> (WebSocket, String) {
        let mut ws = self.join(name).await;
        for _ in 0..8 {
            let event = next_text(&mut ws).await;
            if field(&event, "type") == "join" && field(&event, "name") == name {
                return (ws, field(&event, "users"));
            }
            assert_ne!(field(&event, "name"), name, "before the own join: {event}");
        }
        panic!("{name} never saw its own join");
    }

    /// [`Demo::enter_counted`], expecting `users` in total.
    async fn enter(&self, name: &str, users: usize) -> WebSocket {
        let (ws, counted) = self.enter_counted(name).await;
        assert_eq!(counted, users.to_string(), "users when {name} joined");
        ws
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn next_text(ws: &mut WebSocket) -> String {
    common::next_text(ws, STEP).await
}

/// The next event of each of `clients` is a join or leave of `name` with `users` in total.
async fn expect_presence(clients: &mut [&mut WebSocket], kind: &str, name: &str, users: usize) {
    for ws in clients.iter_mut() {
        let event = next_text(ws).await;
        assert_eq!(
            (
                field(&event, "type"),
                field(&event, "name"),
                field(&event, "users")
            ),
            (kind.to_string(), name.to_string(), users.to_string()),
            "{event}"
        );
    }
}

/// The next event of each of `clients` is `name`'s message `text`.
async fn expect_message(clients: &mut [&mut WebSocket], name: &str, text: &str) {
    for ws in clients.iter_mut() {
        let event = next_text(ws).await;
        assert_eq!(
            (
                field(&event, "type"),
                field(&event, "name"),
                field(&event, "text")
            ),
            ("message".to_string(), name.to_string(), text.to_string()),
            "{event}"
        );
    }
}

#[tokio::test]
async fn two_processes_share_one_room_with_total_counts_and_no_duplicates() {
    let redis = Redis::start();
    let a = Demo::start(&redis).await;
    let b = Demo::start(&redis).await;

    let mut alice = a.enter("alice", 1).await;
    let mut bob = b.enter("bob", 2).await;
    expect_presence(&mut [&mut alice], "join", "bob", 2).await;

    alice.send("hi from A").await.unwrap();
    expect_message(&mut [&mut alice, &mut bob], "alice", "hi from A").await;
    bob.send("hi from B").await.unwrap();
    expect_message(&mut [&mut alice, &mut bob], "bob", "hi from B").await;

    let mut carol = a.enter("carol", 3).await;
    expect_presence(&mut [&mut alice, &mut bob], "join", "carol", 3).await;
    carol.send("carol here").await.unwrap();
    expect_message(
        &mut [&mut alice, &mut bob, &mut carol],
        "carol",
        "carol here",
    )
    .await;
    carol.close(CloseCode::NORMAL, "bye").await.unwrap();
    drop(carol);
    expect_presence(&mut [&mut alice, &mut bob], "leave", "carol", 2).await;

    // Nothing twice: a copy of an earlier event would come (on each process's subscription, in
    // publication order) before these last messages, and each client's next event must be them.
    bob.send("last from B").await.unwrap();
    expect_message(&mut [&mut alice, &mut bob], "bob", "last from B").await;
    alice.send("last from A").await.unwrap();
    expect_message(&mut [&mut alice, &mut bob], "alice", "last from A").await;

    alice.close(CloseCode::NORMAL, "").await.unwrap();
    drop(alice);
    expect_presence(&mut [&mut bob], "leave", "alice", 1).await;
    assert_eq!(a.count_log("redis unavailable"), 0);
    assert_eq!(b.count_log("redis unavailable"), 0);
}

#[tokio::test]
async fn redis_outage_keeps_local_chat_and_crossing_resumes_when_it_is_back() {
    let mut redis = Redis::start();
    let a = Demo::start(&redis).await;
    let b = Demo::start(&redis).await;

    let mut alice = a.enter("alice", 1).await;
    let mut bob = b.enter("bob", 2).await;
    expect_presence(&mut [&mut alice], "join", "bob", 2).await;

    redis.kill();
    a.wait_log("ws-demo: redis unavailable").await;
    b.wait_log("ws-demo: redis unavailable").await;

    // Each process still serves its own users (counts are this process's own now).
    alice.send("local on A").await.unwrap();
    expect_message(&mut [&mut alice], "alice", "local on A").await;
    bob.send("local on B").await.unwrap();
    expect_message(&mut [&mut bob], "bob", "local on B").await;
    let mut dan = a.enter("dan", 2).await;
    expect_presence(&mut [&mut alice], "join", "dan", 2).await;

    // The outage lasts over several reconnection attempts (this sleep is its length, not a
    // synchronisation): still one log line per process.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(a.count_log("redis unavailable"), 1, "{:?}", a.log);
    assert_eq!(b.count_log("redis unavailable"), 1, "{:?}", b.log);

    redis.restart();
    a.wait_log("ws-demo: redis is back").await;
    b.wait_log("ws-demo: redis is back").await;

    // Crossing again; the next event everyone sees is this one (nothing from the outage leaked across).
    bob.send("across again").await.unwrap();
    expect_message(&mut [&mut alice, &mut dan, &mut bob], "bob", "across again").await;
    alice.send("and back").await.unwrap();
    expect_message(&mut [&mut alice, &mut dan, &mut bob], "alice", "and back").await;
    // Presence was restored in the fresh Redis: totals again.
    let mut erin = b.enter("erin", 4).await;
    expect_presence(&mut [&mut alice, &mut dan, &mut bob], "join", "erin", 4).await;
    erin.send("erin on B").await.unwrap();
    expect_message(
        &mut [&mut alice, &mut dan, &mut bob, &mut erin],
        "erin",
        "erin on B",
    )
    .await;

    assert_eq!(a.count_log("redis unavailable"), 1, "{:?}", a.log);
    assert_eq!(b.count_log("redis unavailable"), 1, "{:?}", b.log);
    assert_eq!(a.count_log("redis is back"), 1);
    assert_eq!(b.count_log("redis is back"), 1);
}

#[tokio::test]
async fn a_hung_redis_is_noticed_by_ping_and_local_chat_goes_on() {
    let redis = Redis::start();
    let a = Demo::start(&redis).await;
    let b = Demo::start(&redis).await;
    let mut alice = a.enter("alice", 1).await;
    let mut bob = b.enter("bob", 2).await;
    expect_presence(&mut [&mut alice], "join", "bob", 2).await;

    // Stopped, not dead: connections stay open but nothing answers; the subscriber's PING notices.
    redis.signal("STOP");
    a.wait_log("ws-demo: redis unavailable").await;
    b.wait_log("ws-demo: redis unavailable").await;
    alice.send("still here").await.unwrap();
    expect_message(&mut [&mut alice], "alice", "still here").await;

    redis.signal("CONT");
    a.wait_log("ws-demo: redis is back").await;
    b.wait_log("ws-demo: redis is back").await;
    bob.send("across again").await.unwrap();
    expect_message(&mut [&mut alice, &mut bob], "bob", "across again").await;
}

#[tokio::test]
async fn a_killed_process_users_age_out_of_the_total() {
    let redis = Redis::start();
    let a = Demo::start(&redis).await;
    let mut b = Demo::start(&redis).await;

    let mut bob = b.enter("bob", 1).await;
    let _alice = a.enter("alice", 2).await;
    expect_presence(&mut [&mut bob], "join", "alice", 2).await;

    // B dies without a word: its count stays in Redis until its key expires.
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    let deadline = Instant::now() + ws_demo::bus::PRESENCE_TTL + STEP;
    let mut probes = 0;
    loop {
        probes += 1;
        let name = format!("probe{probes}");
        let (mut probe, users) = a.enter_counted(&name).await;
        probe.close(CloseCode::NORMAL, "").await.unwrap();
        drop(probe);
        if users == "2" {
            break; // alice and the probe: bob is gone from the total
        }
        assert_eq!(users, "3", "{name} joined");
        assert!(Instant::now() < deadline, "bob still counted");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
