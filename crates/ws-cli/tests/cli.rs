//! End-to-end tests of the `ws` binary: every test runs it as subprocesses (servers on free loopback
//! ports) and bounds every wait, killing what it started.

use bytes::Buf;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// The longest any single wait in these tests may take.
const WAIT: Duration = Duration::from_secs(15);

/// A running `ws` process with its output read line by line on background threads.
struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    /// Every line read so far, for failure messages and final checks.
    out_seen: Vec<String>,
    err_seen: Vec<String>,
}

fn lines_of<R: Read + Send + 'static>(pipe: R) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Proc {
    fn spawn(args: &[&str]) -> Proc {
        Proc::spawn_env(args, &[])
    }

    /// Starts `ws ARGS...` with these environment variables set, and the proxy variables of the
    /// test's own environment removed.
    fn spawn_env(args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ws"));
        for name in [
            "http_proxy",
            "https_proxy",
            "all_proxy",
            "ws_proxy",
            "wss_proxy",
            "no_proxy",
        ] {
            command
                .env_remove(name)
                .env_remove(name.to_ascii_uppercase());
        }
        let mut child = command
            .envs(env.iter().copied())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ws");
        let stdout = lines_of(child.stdout.take().unwrap());
        let stderr = lines_of(child.stderr.take().unwrap());
        Proc {
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
            out_seen: Vec::new(),
            err_seen: Vec::new(),
        }
    }

    /// Waits for a stdout line matching `want`.
    fn expect_stdout(&mut self, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => {
                    self.out_seen.push(line.clone());
                    if want(&line) {
                        return line;
                    }
                }
                Err(e) => {
                    let stderr = self.drain_stderr();
                    panic!(
                        "no matching stdout line ({e:?}); stdout {:?}, stderr {stderr:?}",
                        self.out_seen
                    )
                }
            }
        }
    }

    /// Waits for a stderr line matching `want`.
    fn expect_stderr(&mut self, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.err_seen.push(line.clone());
                    if want(&line) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no matching stderr line ({e:?}); stderr {:?}",
                    self.err_seen
                ),
            }
        }
    }

    fn drain_stderr(&mut self) -> Vec<String> {
        while let Ok(line) = self.stderr.try_recv() {
            self.err_seen.push(line);
        }
        self.err_seen.clone()
    }

    fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{line}").expect("write to ws");
        stdin.flush().unwrap();
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{name} failed");
    }

    /// Closes stdin, waits for the process to exit (bounded), then collects the rest of its output.
    fn finish(mut self) -> Finished {
        self.close_stdin();
        self.finish_with_stdin_open()
    }

    /// Like [`Proc::finish`] but leaves stdin open (EOF on stdin would itself end `ws connect`).
    fn finish_with_stdin_open(mut self) -> Finished {
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "ws did not exit in time; stdout {:?}, stderr {:?}",
                    self.out_seen, self.err_seen
                );
            }
            thread::sleep(Duration::from_millis(20));
        };
        let collect = |rx: &Receiver<String>, seen: &mut Vec<String>| loop {
            match rx.recv_timeout(Duration::from_secs(5)) {
                Ok(line) => seen.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("output pipe stayed open"),
            }
        };
        collect(&self.stdout, &mut self.out_seen);
        collect(&self.stderr, &mut self.err_seen);
        Finished {
            status,
            stdout: std::mem::take(&mut self.out_seen),
            stderr: std::mem::take(&mut self.err_seen),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How a process ended.
#[derive(Debug)]
struct Finished {
    status: ExitStatus,
    stdout: Vec<String>,
    stderr: Vec<String>,
}

impl Finished {
    fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Starts `ws serve 0 ARGS...` and returns it with its URL (read from the "listening on" line).
fn serve(args: &[&str]) -> (Proc, String) {
    let mut all = vec!["serve", "0"];
    all.extend_from_slice(args);
    let mut server = Proc::spawn(&all);
    let line = server.expect_stderr(|l| l.starts_with("listening on "));
    let url = line["listening on ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(url.starts_with("ws://127.0.0.1:"), "{line}");
    (server, url)
}

/// Runs `ws connect URL ARGS...` with `input` on stdin (then EOF) to completion.
fn connect_with_input(url: &str, args: &[&str], input: &[&str]) -> Finished {
    let mut all = vec!["connect", url];
    all.extend_from_slice(args);
    let mut client = Proc::spawn(&all);
    for line in input {
        client.send_line(line);
    }
    client.finish()
}

/// A port nothing listens on (bound once by the OS, then released).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn echo_server_sends_lines_back() {
    let (_server, url) = serve(&["--echo"]);
    let done = connect_with_input(
        &url,
        &[],
        &["hello", "second line", "/binary 00 ff 10", "//slashed", ""],
    );
    assert_eq!(done.code(), Some(0), "{done:?}");
    assert_eq!(
        done.stdout,
        [
            "< hello",
            "< second line",
            "< [binary 3 bytes] 00ff10",
            "< /slashed",
            "< ",
            "closed 1000"
        ],
        "{done:?}"
    );
}

#[test]
fn binary_messages_print_in_base64() {
    let (_server, url) = serve(&["--echo", "--no-deflate"]);
    let done = connect_with_input(
        &url,
        &["--binary-format", "base64", "--no-deflate"],
        &["/binary aGk="],
    );
    assert_eq!(done.code(), Some(0), "{done:?}");
    assert_eq!(done.stdout[0], "< [binary 2 bytes] aGk=", "{done:?}");
}

#[test]
fn close_command_sends_code_and_reason() {
    let (_server, url) = serve(&["--echo"]);
    let done = connect_with_input(&url, &[], &["before", "/close 4000 bye", "after"]);
    assert_eq!(done.code(), Some(0), "{done:?}");
    assert_eq!(done.stdout[0], "< before");
    // The server's reply frame: ws-core echoes the close code; it echoes the reason too if it chooses to.
    let last = done.stdout.last().unwrap();
    assert!(
        last == "closed 4000" || last == "closed 4000 bye",
        "{done:?}"
    );
    assert_eq!(
        done.stdout.len(),
        2,
        "nothing is sent after /close: {done:?}"
    );
}

#[test]
fn bad_commands_are_reported_and_skipped() {
    let (_server, url) = serve(&["--echo"]);
    let done = connect_with_input(
        &url,
        &[],
        &["/frobnicate", "/binary xyz", "/close 99", "ok"],
    );
    assert_eq!(done.code(), Some(0), "{done:?}");
    assert_eq!(done.stdout, ["< ok", "closed 1000"], "{done:?}");
    let complaints: Vec<_> = done
        .stderr
        .iter()
        .filter(|l| l.starts_with("ws: "))
        .collect();
    assert_eq!(complaints.len(), 3, "{done:?}");
}

#[test]
fn connection_refused_is_one_line_and_exit_1() {
    let port = closed_port();
    let url = format!("ws://127.0.0.1:{port}/");
    let done = connect_with_input(&url, &[], &[]);
    assert_eq!(done.code(), Some(1), "{done:?}");
    assert!(done.stdout.is_empty(), "{done:?}");
    assert_eq!(
        done.stderr,
        [format!("ws: error: connection refused (127.0.0.1:{port})")]
    );
}

#[test]
fn bad_url_is_a_usage_error() {
    for url in ["http://127.0.0.1:1/", "ws://127.0.0.1:99999/", "not a url"] {
        let done = connect_with_input(url, &[], &[]);
        assert_eq!(done.code(), Some(2), "{url}: {done:?}");
        assert_eq!(done.stderr.len(), 1, "{url}: {done:?}");
        assert!(
            done.stderr[0].starts_with("ws: error: invalid URL: "),
            "{url}: {done:?}"
        );
    }
}

#[test]
fn bad_arguments_exit_2() {
    let done = Proc::spawn(&["serve", "1234"]).finish();
    assert_eq!(
        done.code(),
        Some(2),
        "--echo or --broadcast is required: {done:?}"
    );
    let done = Proc::spawn(&["connect", "ws://127.0.0.1:1/", "--header", "nocolon"]).finish();
    assert_eq!(done.code(), Some(2), "{done:?}");
    let done = Proc::spawn(&["bench", "ws://127.0.0.1:1/", "--connections", "0"]).finish();
    assert_eq!(done.code(), Some(2), "{done:?}");
}

#[test]
fn rejected_handshake_exits_3() {
    // A one-shot HTTP server that refuses the upgrade.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let refuser = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
            if stream.read(&mut byte).unwrap() == 0 {
                break;
            }
            head.push(byte[0]);
        }
        stream
            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .unwrap();
        String::from_utf8_lossy(&head).into_owned()
    });
    let url = format!("ws://127.0.0.1:{port}/room");
    let done = connect_with_input(
        &url,
        &[
            "--header",
            "X-Token: secret",
            "--origin",
            "http://example.test",
            "--subprotocol",
            "chat",
        ],
        &[],
    );
    assert_eq!(done.code(), Some(3), "{done:?}");
    assert_eq!(
        done.stderr,
        ["ws: error: handshake rejected: HTTP 403 Forbidden"]
    );
    let head = refuser.join().unwrap().to_ascii_lowercase();
    assert!(head.starts_with("get /room http/1.1\r\n"), "{head}");
    assert!(head.contains("\r\nx-token: secret\r\n"), "{head}");
    assert!(
        head.contains("\r\norigin: http://example.test\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nsec-websocket-protocol: chat\r\n"),
        "{head}"
    );
}

#[test]
fn bench_against_echo_server() {
    let (_server, url) = serve(&["--echo"]);
    let done = Proc::spawn(&[
        "bench",
        &url,
        "--duration",
        "1",
        "--connections",
        "4",
        "--size",
        "512",
        "--inflight",
        "2",
    ])
    .finish();
    assert_eq!(done.code(), Some(0), "{done:?}");
    let value = |name: &str| -> f64 {
        let line = done
            .stdout
            .iter()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} line: {done:?}"));
        line.trim_start()[name.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("bad {name} line: {line}"))
    };
    assert!(value("messages/s") > 0.0, "{done:?}");
    assert!(value("MiB/s") > 0.0, "{done:?}");
    assert_eq!(value("errors"), 0.0, "{done:?}");
    assert!(value("latency p50") > 0.0, "{done:?}");
    assert!(value("latency p99") >= value("latency p50"), "{done:?}");
}

#[test]
fn bench_text_mode_and_refused_server() {
    let (_server, url) = serve(&["--echo"]);
    let done =
        Proc::spawn(&["bench", &url, "-d", "0.5", "-c", "2", "--text", "-s", "100"]).finish();
    assert_eq!(done.code(), Some(0), "{done:?}");
    assert!(
        done.stdout.iter().any(|l| l.contains("100-byte text")),
        "{done:?}"
    );

    let port = closed_port();
    let done = Proc::spawn(&["bench", &format!("ws://127.0.0.1:{port}/"), "-d", "0.5"]).finish();
    assert_eq!(done.code(), Some(1), "{done:?}");
    assert_eq!(
        done.stderr,
        [format!("ws: error: connection refused (127.0.0.1:{port})")]
    );
}

#[test]
fn broadcast_reaches_other_clients() {
    let (mut server, url) = serve(&["--broadcast"]);
    let mut alice = Proc::spawn(&["connect", &url]);
    alice.expect_stderr(|l| l.starts_with("connected to "));
    server.expect_stderr(|l| l.starts_with("open  #1 "));
    let mut bob = Proc::spawn(&["connect", &url]);
    bob.expect_stderr(|l| l.starts_with("connected to "));
    server.expect_stderr(|l| l.starts_with("open  #2 "));

    bob.send_line("hello from bob");
    assert_eq!(alice.expect_stdout(|_| true), "< hello from bob");
    assert_eq!(bob.expect_stdout(|_| true), "< hello from bob");
    alice.send_line("hi bob");
    assert_eq!(bob.expect_stdout(|_| true), "< hi bob");

    let alice = alice.finish();
    assert_eq!(alice.code(), Some(0), "{alice:?}");
    assert_eq!(alice.stdout.last().map(String::as_str), Some("closed 1000"));
    server.expect_stderr(|l| l.starts_with("close #1 ") && l.contains(" 1000 "));
    let bob = bob.finish();
    assert_eq!(bob.code(), Some(0), "{bob:?}");
}

/// A client that stops reading fills its queue: the server logs it once and drops further broadcasts
/// for it, while the other clients get every message, in order.
#[test]
fn broadcast_drops_messages_for_a_client_that_does_not_read() {
    // More than the stalled client's path can hold: the server's socket send buffer (it grows to
    // `tcp_wmem`'s maximum, 4 MiB by default), the core's output queue (1 MiB) and the client's queue
    // (1,024 messages of ~1 KB). 4,000 messages did not always fill them.
    const MAX_MESSAGES: usize = 10_000;
    const SLOW: &str = "slow  #1: its queue is full, dropping messages for it";
    let (mut server, url) = serve(&["--broadcast"]);
    let port: u16 = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // A raw client with a small receive buffer, so the server's queue for it fills soon.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut stalled = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket
            .connect(([127, 0, 0, 1], port).into())
            .await
            .unwrap()
            .into_std()
            .unwrap()
    });
    stalled.set_nonblocking(false).unwrap();
    write!(
        stalled,
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stalled.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    server.expect_stderr(|l| l.starts_with("open  #1 "));

    let mut publisher = Proc::spawn(&["connect", &url]);
    publisher.expect_stderr(|l| l.starts_with("connected to "));
    server.expect_stderr(|l| l.starts_with("open  #2 "));
    let filler = "x".repeat(1000);
    // Published in windows of 100, each received back before the next: the publisher's own queue never
    // fills, the stalled client's does (then the server says so, once).
    for window in 0..MAX_MESSAGES / 100 {
        for i in window * 100..(window + 1) * 100 {
            publisher.send_line(&format!("{i} {filler}"));
        }
        for i in window * 100..(window + 1) * 100 {
            assert_eq!(publisher.expect_stdout(|_| true), format!("< {i} {filler}"));
        }
        if server.drain_stderr().iter().any(|l| l == SLOW) {
            break;
        }
    }
    let seen = server.drain_stderr();
    assert!(
        seen.iter().any(|l| l == SLOW),
        "no slow-client line: {seen:?}"
    );
    assert_eq!(
        seen.iter().filter(|l| l.starts_with("slow ")).count(),
        1,
        "logged once: {seen:?}"
    );
    let publisher = publisher.finish();
    assert_eq!(publisher.code(), Some(0), "{publisher:?}");
    drop(stalled);
}

#[test]
fn subprotocol_is_negotiated() {
    let (_server, url) = serve(&[
        "--echo",
        "--subprotocol",
        "chat",
        "--subprotocol",
        "superchat",
    ]);
    let mut client = Proc::spawn(&["connect", &url, "--subprotocol", "superchat"]);
    let line = client.expect_stderr(|l| l.starts_with("connected to "));
    assert!(line.contains("subprotocol: superchat"), "{line}");
    client.send_line("x");
    assert_eq!(client.expect_stdout(|_| true), "< x");
    assert_eq!(client.finish().code(), Some(0));

    // Offering nothing the server knows still connects, with no subprotocol.
    let mut client = Proc::spawn(&["connect", &url, "--subprotocol", "other"]);
    let line = client.expect_stderr(|l| l.starts_with("connected to "));
    assert!(!line.contains("subprotocol"), "{line}");
    assert_eq!(client.finish().code(), Some(0));
}

#[cfg(unix)]
#[test]
fn ctrl_c_on_server_closes_clients_with_1001() {
    for extra in [&[][..], &["--subprotocol", "chat"][..]] {
        let mut args = vec!["--echo"];
        args.extend_from_slice(extra);
        let (mut server, url) = serve(&args);
        let mut client = Proc::spawn(&["connect", &url]);
        client.expect_stderr(|l| l.starts_with("connected to "));
        server.expect_stderr(|l| l.starts_with("open  #1 "));
        server.signal("INT");
        let client = client.finish_with_stdin_open();
        assert_eq!(client.code(), Some(0), "{client:?}");
        assert_eq!(
            client.stdout.last().map(String::as_str),
            Some("closed 1001 server shutting down"),
            "{client:?}"
        );
        let server = server.finish();
        assert_eq!(server.code(), Some(0), "{server:?}");
        assert!(
            server
                .stderr
                .iter()
                .any(|l| l.starts_with("close #1 ") && l.contains(" 1001")),
            "{server:?}"
        );
        assert_eq!(
            server.stderr.last().map(String::as_str),
            Some("stopped"),
            "{server:?}"
        );
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_on_client_closes_with_1000() {
    let (_server, url) = serve(&["--echo"]);
    let mut client = Proc::spawn(&["connect", &url]);
    client.expect_stderr(|l| l.starts_with("connected to "));
    client.send_line("one");
    client.expect_stdout(|l| l == "< one");
    client.signal("INT");
    // stdin stays open: only the signal can end the session.
    let done = client.finish_with_stdin_open();
    assert_eq!(done.code(), Some(0), "{done:?}");
    assert_eq!(done.stdout, ["< one", "closed 1000"], "{done:?}");
}

/// A `wss://` echo server on a tokio runtime owned by the test, with a fresh self-signed certificate for
/// `localhost`; returns the runtime (dropping it stops the server), the port and the certificate PEM.
fn tls_echo_server() -> (tokio::runtime::Runtime, u16, String) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = key.cert.pem();
    let tls = ws_tokio::tls::server_config_from_pem(
        cert_pem.as_bytes(),
        key.signing_key.serialize_pem().as_bytes(),
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tls = tls.clone();
            tokio::spawn(async move {
                let config = ws_tokio::default_config();
                let accepted = ws_tokio::accept_tls(stream, tls, config, |_| async {
                    Ok(ws_tokio::Accept::new())
                })
                .await;
                if let Ok(mut ws) = accepted {
                    while let Some(Ok(message)) = ws.recv().await {
                        if ws.send(message).await.is_err() {
                            break;
                        }
                    }
                }
            });
        }
    });
    (runtime, port, cert_pem)
}

#[test]
fn wss_with_ca_cert() {
    let (_runtime, port, cert_pem) = tls_echo_server();
    let dir = std::env::temp_dir().join(format!("ws-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pem_path = dir.join("ca.pem");
    std::fs::write(&pem_path, &cert_pem).unwrap();
    let pem = pem_path.to_str().unwrap();
    let url = format!("wss://localhost:{port}/");

    let done = connect_with_input(&url, &["--ca-cert", pem], &["over tls"]);
    assert_eq!(done.code(), Some(0), "{done:?}");
    assert_eq!(done.stdout, ["< over tls", "closed 1000"], "{done:?}");

    // The built-in roots do not trust a self-signed certificate.
    let done = connect_with_input(&url, &[], &[]);
    assert_eq!(done.code(), Some(1), "{done:?}");
    assert_eq!(done.stderr.len(), 1, "{done:?}");
    assert!(
        done.stderr[0].starts_with("ws: error: TLS error: "),
        "{done:?}"
    );

    // A file that is not a certificate is a usage error.
    let done = connect_with_input(&url, &["--ca-cert", "/nonexistent/ca.pem"], &[]);
    assert_eq!(done.code(), Some(2), "{done:?}");
    assert_eq!(done.stderr.len(), 1, "{done:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A one-connection server driven by `ws-core` directly (no timers) that records the payload of every
/// ping it receives during `window`, then drops the connection.
fn ping_recorder(window: Duration) -> (u16, thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let recorder = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let start = Instant::now();
        let now = || ws_core::Instant::from_since_epoch(start.elapsed());
        let config = ws_core::Config::default().timeouts(ws_core::Timeouts::none());
        let mut conn = ws_core::Connection::server(config, now());
        let mut pings = Vec::new();
        let mut buf = [0u8; 4096];
        'serve: while start.elapsed() < window {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => conn.receive(&buf[..n], now()),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
            while let Some(event) = conn.poll_event() {
                match event {
                    ws_core::Event::Request(_) => {
                        conn.accept(ws_core::Accept::new(), now()).unwrap()
                    }
                    ws_core::Event::Ping(payload) => {
                        pings.push(String::from_utf8_lossy(&payload).into_owned())
                    }
                    event if event.is_terminal() => break 'serve,
                    _ => {}
                }
            }
            let mut out = conn.output();
            while out.has_remaining() {
                let n = out.chunk().len();
                stream.write_all(out.chunk()).unwrap();
                out.advance(n);
            }
        }
        pings
    });
    (port, recorder)
}

#[test]
fn ping_command_and_keepalive_send_pings() {
    let (port, recorder) = ping_recorder(Duration::from_millis(2600));
    let url = format!("ws://127.0.0.1:{port}/");
    let mut client = Proc::spawn(&["connect", &url, "--ping-interval", "1"]);
    client.expect_stderr(|l| l.starts_with("connected to "));
    client.send_line("/ping hello");
    let pings = recorder.join().unwrap();
    assert!(pings.iter().any(|p| p == "hello"), "{pings:?}");
    // Keepalive pings at about 1 s and 2 s.
    assert!(
        pings.iter().filter(|p| *p != "hello").count() >= 2,
        "{pings:?}"
    );
    // The recorder dropped the connection without a close handshake: a failure.
    let done = client.finish_with_stdin_open();
    assert_eq!(done.code(), Some(1), "{done:?}");
    assert_eq!(
        done.stderr.last().map(|l| l.starts_with("ws: error: ")),
        Some(true),
        "{done:?}"
    );
}

/// A CONNECT proxy on a thread: answers `reply` to every request (counted); with a 2xx, relays both
/// ways to the target the request names.
fn connect_proxy(reply: &'static str) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let counted = counted.clone();
            thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                counted.fetch_add(1, Ordering::SeqCst);
                client.write_all(reply.as_bytes()).unwrap();
                if !reply.starts_with("HTTP/1.1 2") {
                    return;
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let target = head.split(' ').nth(1).unwrap_or_default().to_string();
                let server = std::net::TcpStream::connect(target).unwrap();
                let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let up = thread::spawn(move || {
                    let _ = std::io::copy(&mut c2, &mut s2);
                    let _ = s2.shutdown(std::net::Shutdown::Write);
                });
                let (mut server, mut client) = (server, client);
                let _ = std::io::copy(&mut server, &mut client);
                let _ = client.shutdown(std::net::Shutdown::Write);
                let _ = up.join();
            });
        }
    });
    (port, count)
}

#[test]
fn connect_goes_through_the_proxy_it_is_given_or_the_environment_names() {
    use std::sync::atomic::Ordering;
    let (_server, url) = serve(&["--echo"]);
    let (port, count) = connect_proxy("HTTP/1.1 200 Connection established\r\n\r\n");
    let proxy = format!("http://127.0.0.1:{port}");
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["connect", url.as_str()];
        all.extend_from_slice(args);
        let mut client = Proc::spawn_env(&all, env);
        client.send_line("via");
        let done = client.finish();
        assert_eq!(done.code(), Some(0), "{done:?}");
        assert_eq!(done.stdout, ["< via", "closed 1000"], "{done:?}");
    };
    run(&["--proxy", &proxy], &[]);
    assert_eq!(count.load(Ordering::SeqCst), 1, "--proxy was not used");
    run(&[], &[("HTTP_PROXY", &proxy)]);
    assert_eq!(count.load(Ordering::SeqCst), 2, "HTTP_PROXY was not used");
    run(&["--no-proxy"], &[("HTTP_PROXY", &proxy)]);
    run(&[], &[("HTTP_PROXY", &proxy), ("NO_PROXY", "127.0.0.1")]);
    run(&[], &[("HTTPS_PROXY", &proxy)]); // for wss:// only
    assert_eq!(count.load(Ordering::SeqCst), 2, "went through the proxy");
}

#[test]
fn a_proxy_refusal_is_one_line_and_exit_1() {
    let (port, _) = connect_proxy("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    let done = connect_with_input(
        "ws://127.0.0.1:9/",
        &["--proxy", &format!("http://127.0.0.1:{port}")],
        &[],
    );
    assert_eq!(done.code(), Some(1), "{done:?}");
    assert_eq!(
        done.stderr,
        [
            "ws: error: proxy error: the proxy answered CONNECT with status 403 Forbidden (tunnel to 127.0.0.1:9)"
        ],
        "{done:?}"
    );
    let done = connect_with_input(
        "ws://127.0.0.1:9/",
        &["--proxy", &format!("http://127.0.0.1:{}", closed_port())],
        &[],
    );
    assert_eq!(done.code(), Some(1), "{done:?}");
    assert_eq!(
        done.stderr,
        ["ws: error: cannot reach the proxy: connection refused"],
        "{done:?}"
    );
}
