//! ws-core's examples (`crates/ws-core/examples`), run as processes against independent peers: the two
//! echo servers (blocking `echo_server`, mio-based `mio_server`) answer ws-std clients, and the `client`
//! example talks to a ws-std echo server.
//!
//! The example binaries are found next to this test's executable (`target/<profile>/examples`, where
//! `cargo test` puts ws-core's examples when it builds the workspace); when one is missing or older than
//! ws-core's sources, the test builds them with `cargo build -p ws-core --examples` into the same target
//! directory first (once per run; `cargo test --workspace` has built them already).
//! Servers are started with `--port 0` and the test reads the address from the `listening on ws://ADDR`
//! line they print first; every wait is bounded ([`watchdog`], socket timeouts) and children are killed
//! when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::SystemTime;

use ws_std::{CloseCode, Message};
use ws_tests::{STEP, WHOLE_TEST, noise, varied_text, watchdog};

const EXAMPLES: [&str; 3] = ["echo_server", "client", "mio_server"];

/// The directory holding the example binaries, built if needed (once per test process).
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test executable's path");
        // target/<profile>/deps/examples-HASH -> target/<profile>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>");
        let dir = profile_dir.join("examples");
        let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/ws-core");
        let newest_source = newest_mtime(&core);
        let stale = EXAMPLES.iter().any(|name| {
            let bin = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
            bin.metadata()
                .and_then(|m| m.modified())
                .map_or(true, |t| t < newest_source)
        });
        if stale {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut cmd = Command::new(cargo);
            cmd.args(["build", "-p", "ws-core", "--examples"]);
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            // Into this test's own target directory: `target/<profile>`, or `target/<triple>/<profile>`
            // when building for an explicit target (cargo marks the target directory with CACHEDIR.TAG).
            let parent = profile_dir.parent().expect("the target directory");
            if parent.join("CACHEDIR.TAG").exists() {
                cmd.arg("--target-dir").arg(parent);
            } else if let (Some(root), Some(triple)) = (parent.parent(), parent.file_name()) {
                cmd.arg("--target-dir")
                    .arg(root)
                    .arg("--target")
                    .arg(triple);
            }
            let status = cmd.current_dir(&core).status().expect("cargo runs");
            assert!(status.success(), "cargo build -p ws-core --examples failed");
        }
        dir
    })
}

/// The newest modification time of the files under `dir` (sources, manifest, examples).
fn newest_mtime(dir: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let t = if path.is_dir() {
            newest_mtime(&path)
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(newest)
        };
        newest = newest.max(t);
    }
    newest
}

/// A child process, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server example `name` on a free port and returns it with the address it printed.
fn start_server(name: &str) -> (Running, String) {
    let mut child = Command::new(examples_dir().join(name))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let stdout = child.stdout.take().expect("piped");
    let running = Running(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(STEP)
        .expect("the server prints its address");
    let addr = line
        .trim()
        .strip_prefix("listening on ws://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (running, addr)
}

/// A ws-std client's session with an echo server: text and binary messages, small and 100 KiB, each
/// echoed back as the same type, then a clean close.
fn echo_session(addr: &str, seed: u64) {
    let (mut ws, _) = ws_std::connect(&format!("ws://{addr}/")).expect("connects");
    let messages = [
        Message::from("hello"),
        Message::from(vec![0u8, 1, 2, 255]),
        Message::from(varied_text(100 * 1024, seed)),
        Message::from(noise(100 * 1024, seed)),
        Message::from(""),
        Message::from("bye"),
    ];
    for message in &messages {
        ws.send(message.clone()).expect("sends");
        let echoed = ws.recv().expect("a reply").expect("no error");
        assert_eq!(&echoed, message);
    }
    ws.close(CloseCode::NORMAL, "done").expect("closes cleanly");
    assert_eq!(ws.close_frame().map(|f| f.code), Some(CloseCode::NORMAL));
}

/// Several clients at once, each on its own thread.
fn concurrent_sessions(addr: &str, clients: u64) {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|i| scope.spawn(move || echo_session(addr, i)))
            .collect();
        for handle in handles {
            handle.join().expect("the session passes");
        }
    });
}

#[test]
fn echo_server_echoes_text_binary_and_large_messages_and_closes_cleanly() {
    examples_dir(); // a build, if one is needed, is not bounded by the test's time limit
    watchdog(WHOLE_TEST, || {
        let (_server, addr) = start_server("echo_server");
        echo_session(&addr, 1);
        concurrent_sessions(&addr, 3);
    });
}

#[test]
fn mio_server_echoes_many_concurrent_clients_and_closes_cleanly() {
    examples_dir(); // a build, if one is needed, is not bounded by the test's time limit
    watchdog(WHOLE_TEST, || {
        let (_server, addr) = start_server("mio_server");
        echo_session(&addr, 1);
        concurrent_sessions(&addr, 8);
        echo_session(&addr, 2); // still serving after they all left
    });
}

#[test]
fn mio_server_answers_a_reserved_opcode_with_1002_and_then_eof() {
    examples_dir(); // a build, if one is needed, is not bounded by the test's time limit
    watchdog(WHOLE_TEST, || {
        let (_server, addr) = start_server("mio_server");
        let mut tcp = TcpStream::connect(&addr).expect("connects");
        tcp.set_read_timeout(Some(STEP)).unwrap();
        tcp.write_all(
            b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
        // A masked, empty frame with the reserved opcode 0x3.
        tcp.write_all(&[0x83, 0x80, 1, 2, 3, 4]).unwrap();
        // Everything the server sends until its end of stream: a read error (a reset) fails the test.
        let mut received = Vec::new();
        tcp.read_to_end(&mut received).expect("EOF, not a reset");
        let head_end = received
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a response head")
            + 4;
        assert!(received.starts_with(b"HTTP/1.1 101"), "{received:?}");
        let frame = &received[head_end..];
        assert!(frame.len() >= 4, "a close frame: {frame:?}");
        assert_eq!(frame[0], 0x88, "an unfragmented close frame");
        assert_eq!(
            usize::from(frame[1]),
            frame.len() - 2,
            "one frame, unmasked"
        );
        assert_eq!(u16::from_be_bytes([frame[2], frame[3]]), 1002);
        let _ = tcp.shutdown(Shutdown::Write);
    });
}

/// Runs the `client` example with `args` (and `stdin`), against a ws-std echo server; returns its stdout
/// after it exited successfully.
fn run_client(args: &[&str], stdin: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/echo", listener.local_addr().unwrap());
    // The server thread serves until the process ends.
    std::thread::spawn(move || {
        ws_std::serve(listener, ws_std::default_config(), |mut ws| {
            while let Some(Ok(message)) = ws.recv() {
                if ws.send(message).is_err() {
                    break;
                }
            }
        })
    });
    let mut child = Command::new(examples_dir().join("client"))
        .arg(&url)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the client starts");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    let mut stdout = child.stdout.take().unwrap();
    let mut child = Running(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        let _ = tx.send(out);
    });
    let out = rx.recv_timeout(STEP).expect("the client ends");
    let status = child.0.wait().expect("the client exits");
    assert!(status.success(), "client failed; its output:\n{out}");
    out
}

#[test]
fn client_example_sends_its_arguments_and_prints_the_replies() {
    examples_dir(); // a build, if one is needed, is not bounded by the test's time limit
    watchdog(WHOLE_TEST, || {
        let out = run_client(&["one", "two", "three"], "");
        assert_eq!(out, "< one\n< two\n< three\nclosed cleanly\n");
    });
}

#[test]
fn client_example_sends_stdin_lines_without_arguments() {
    examples_dir(); // a build, if one is needed, is not bounded by the test's time limit
    watchdog(WHOLE_TEST, || {
        let out = run_client(&[], "alpha\nbeta\n");
        assert_eq!(out, "< alpha\n< beta\nclosed cleanly\n");
    });
}
