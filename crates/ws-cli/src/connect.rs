//! `ws connect`: an interactive client. Standard input and the connection run concurrently on the two
//! halves of [`ws_tokio::WebSocket::split`]: the reader half prints in its own task while this one sends.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use ws_tokio::{
    ClientBuilder, CloseCode, CloseFrame, Config, Error, Message, Proxy, Reader, Writer,
};

use crate::encoding::{decode, encode};
use crate::failure::{Failure, connect_failure, connection_failure, target};
use crate::{BinaryFormat, ConnectArgs};

/// How long to wait for the close handshake after starting it, beyond the core's own close timeout.
const CLOSE_WAIT: Duration = Duration::from_secs(15);

/// Exit code after a second Ctrl-C (128 + SIGINT, as shells report it).
const EXIT_INTERRUPTED: u8 = 130;

/// Runs `ws connect`.
pub(crate) async fn run(args: ConnectArgs) -> Result<(), Failure> {
    let builder = builder(&args)?;
    let (ws, opened) = ws_tokio::connect_with(&builder)
        .await
        .map_err(|e| connect_failure(&e, &args.url, &target(&builder)))?;
    if !args.quiet {
        let mut details = Vec::new();
        if let Some(p) = &opened.subprotocol {
            details.push(format!("subprotocol: {p}"));
        }
        if let Some(x) = &opened.extensions {
            details.push(format!("extensions: {x}"));
        }
        let details = if details.is_empty() {
            String::new()
        } else {
            format!(" ({})", details.join(", "))
        };
        // The URL as parsed: any `user:password@` in it is not shown.
        eprintln!("connected to {}{details}", builder.url());
    }

    let (reader, mut writer) = ws.split();
    let output_gone = Arc::new(Notify::new());
    let mut reader_task = tokio::spawn(read_loop(reader, args.binary_format, output_gone.clone()));
    let mut lines = spawn_stdin_reader()?;
    let mut interrupts = crate::signals::Interrupts::new()?;
    // Set once the close handshake has started: no more input is read, and the wait is bounded.
    let mut close_deadline: Option<Instant> = None;

    loop {
        let closing = close_deadline.is_some();
        let far = Instant::now() + CLOSE_WAIT;
        tokio::select! {
            biased;
            ending = &mut reader_task => {
                return match ending {
                    Ok(Ok(frame)) => {
                        print_closed(frame.as_ref());
                        Ok(())
                    }
                    Ok(Err(e)) => Err(connection_failure(&e)),
                    Err(e) => Err(Failure::io(format!("the reader task failed: {e}"))),
                };
            }
            () = interrupts.recv() => {
                if closing {
                    return Err(Failure { code: EXIT_INTERRUPTED, message: "interrupted".into() });
                }
                if start_close(&mut writer, &mut interrupts, CloseCode::NORMAL, "").await? {
                    close_deadline = Some(Instant::now() + CLOSE_WAIT);
                }
            }
            () = output_gone.notified(), if !closing => {
                if start_close(&mut writer, &mut interrupts, CloseCode::NORMAL, "").await? {
                    close_deadline = Some(Instant::now() + CLOSE_WAIT);
                }
            }
            line = lines.recv(), if !closing => {
                let started_close = match line {
                    None => start_close(&mut writer, &mut interrupts, CloseCode::NORMAL, "").await?,
                    Some(line) => handle_line(&mut writer, &mut interrupts, &line, args.binary_format).await?,
                };
                if started_close {
                    close_deadline = Some(Instant::now() + CLOSE_WAIT);
                }
            }
            () = tokio::time::sleep_until(close_deadline.unwrap_or(far)), if closing => {
                return Err(Failure::io("the server did not complete the close handshake"));
            }
        }
    }
}

/// Builds the client from the arguments.
fn builder(args: &ConnectArgs) -> Result<ClientBuilder, Failure> {
    let mut builder =
        ClientBuilder::new(&args.url).map_err(|e| connect_failure(&e, &args.url, ""))?;
    if args.no_deflate {
        builder = builder.config(Config::default());
    }
    for protocol in &args.subprotocols {
        builder = builder.subprotocol(protocol);
    }
    for (name, value) in &args.headers {
        builder = builder.header(name, value);
    }
    if let Some(origin) = &args.origin {
        builder = builder.origin(origin);
    }
    if let Some(secs) = args.ping_interval {
        let mut timeouts = builder.core_config().timeouts;
        timeouts.keepalive_interval = (secs > 0).then(|| Duration::from_secs(secs));
        builder = builder.timeouts(timeouts);
    }
    if let Some(path) = &args.ca_cert {
        builder = builder.tls_config(trusting(path)?);
    }
    if let Some(path) = &args.proxy_ca_cert {
        builder = builder.proxy_tls_config(trusting(path)?);
    }
    if let Some(proxy) = &args.proxy {
        let proxy = Proxy::url(proxy).map_err(|e| Failure::usage(e.to_string()))?;
        builder = builder.proxy(proxy);
    } else if args.no_proxy {
        builder = builder.proxy(Proxy::None);
    }
    Ok(builder.max_redirects(args.max_redirects))
}

/// A TLS configuration trusting the certificates in the PEM file at `path`.
fn trusting(path: &std::path::Path) -> Result<Arc<ws_tokio::tls::rustls::ClientConfig>, Failure> {
    let pem = std::fs::read(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    if !pem
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(Failure::usage(format!(
            "no PEM certificate in {}",
            path.display()
        )));
    }
    ws_tokio::tls::client_config_trusting_pem(&pem)
        .map_err(|e| Failure::usage(format!("{} ({})", e, path.display())))
}

/// What one input line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Input {
    /// Send this message.
    Send(Message),
    /// Send a ping with this payload.
    Ping(Vec<u8>),
    /// Start the close handshake.
    Close(u16, String),
}

/// Parses one input line (without its line ending).
fn parse_line(line: &str, format: BinaryFormat) -> Result<Input, String> {
    let Some(command) = line.strip_prefix('/') else {
        return Ok(Input::Send(Message::from(line)));
    };
    if command.starts_with('/') {
        return Ok(Input::Send(Message::from(command)));
    }
    let (name, rest) = match command.split_once(char::is_whitespace) {
        Some((name, rest)) => (name, rest.trim_start()),
        None => (command, ""),
    };
    match name {
        "binary" => Ok(Input::Send(Message::from(decode(format, rest)?))),
        "ping" => Ok(Input::Ping(rest.as_bytes().to_vec())),
        "close" => {
            if rest.trim().is_empty() {
                return Ok(Input::Close(1000, String::new()));
            }
            let (code, reason) = match rest.split_once(char::is_whitespace) {
                Some((code, reason)) => (code, reason.trim_start()),
                None => (rest.trim_end(), ""),
            };
            let code: u16 = code
                .parse()
                .map_err(|_| format!("bad close code {code:?} (expected a number like 1000)"))?;
            Ok(Input::Close(code, reason.to_string()))
        }
        _ => Err(format!(
            "unknown command /{name} (commands: /binary, /ping, /close; start a line with // to send it as text)"
        )),
    }
}

/// Acts on one input line. `Ok(true)` when it started the close handshake.
async fn handle_line(
    writer: &mut Writer,
    interrupts: &mut crate::signals::Interrupts,
    line: &str,
    format: BinaryFormat,
) -> Result<bool, Failure> {
    let input = match parse_line(line, format) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("ws: {e}");
            return Ok(false);
        }
    };
    let result = match input {
        Input::Send(message) => interruptible(interrupts, writer.send(message)).await?,
        Input::Ping(payload) => interruptible(interrupts, writer.ping(&payload)).await?,
        Input::Close(code, reason) => {
            return start_close(writer, interrupts, CloseCode(code), &reason).await;
        }
    };
    match result {
        Ok(()) => Ok(false),
        // A misuse (payload too long, already closing): say so and go on.
        Err(Error::Send(e)) => {
            eprintln!("ws: not sent: {e}");
            Ok(false)
        }
        // The connection broke: stop reading input; the reader reports how it ended.
        Err(_) => Ok(true),
    }
}

/// Sends a close frame. `Ok(true)` when the close handshake is under way (or the connection is gone), so
/// that input stops and the reader's end is awaited; `Ok(false)` when the code or reason was refused.
async fn start_close(
    writer: &mut Writer,
    interrupts: &mut crate::signals::Interrupts,
    code: CloseCode,
    reason: &str,
) -> Result<bool, Failure> {
    match interruptible(interrupts, writer.close(code, reason)).await? {
        Ok(()) => Ok(true),
        Err(Error::Send(e)) if writer.state() == ws_tokio::State::Open => {
            eprintln!("ws: cannot close with {} {reason:?}: {e}", code.0);
            Ok(false)
        }
        Err(_) => Ok(true),
    }
}

/// Runs `work` unless Ctrl-C comes first (then the process ends with 130: a send is stuck).
async fn interruptible<F: Future>(
    interrupts: &mut crate::signals::Interrupts,
    work: F,
) -> Result<F::Output, Failure> {
    tokio::select! {
        out = work => Ok(out),
        () = interrupts.recv() => Err(Failure { code: EXIT_INTERRUPTED, message: "interrupted".into() }),
    }
}

/// Prints every received message until the connection ends; returns the peer's close frame after a clean
/// close. Stops printing (and asks for a close through `output_gone`) if stdout goes away.
async fn read_loop(
    mut reader: Reader,
    format: BinaryFormat,
    output_gone: Arc<Notify>,
) -> Result<Option<CloseFrame>, Error> {
    let mut printing = true;
    while let Some(message) = reader.recv().await {
        let message = message?;
        if !printing {
            continue;
        }
        let line = match &message {
            Message::Text(text) => format!("< {}", text.as_str()),
            Message::Binary(data) => {
                format!("< [binary {} bytes] {}", data.len(), encode(format, data))
            }
        };
        let mut stdout = std::io::stdout().lock();
        if writeln!(stdout, "{line}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            printing = false;
            output_gone.notify_one();
        }
    }
    Ok(reader.close_frame())
}

/// Prints `closed CODE REASON` on stdout.
fn print_closed(frame: Option<&CloseFrame>) {
    let line = match frame {
        Some(frame) if frame.reason.is_empty() => format!("closed {}", frame.code.0),
        Some(frame) => format!("closed {} {}", frame.code.0, frame.reason.as_str()),
        None => format!("closed {}", CloseCode::NO_STATUS.0),
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}

/// Reads stdin on a plain thread (a blocking read cannot be cancelled, and the process must be able to
/// exit while one is pending) and hands over lines without their line ending; the channel closes at EOF.
fn spawn_stdin_reader() -> Result<mpsc::Receiver<String>, Failure> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match stdin.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if buf.last() == Some(&b'\n') {
                            buf.pop();
                        }
                        if buf.last() == Some(&b'\r') {
                            buf.pop();
                        }
                        let line = String::from_utf8_lossy(&buf).into_owned();
                        if tx.blocking_send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        })
        .map_err(|e| Failure::io(format!("cannot start the stdin reader: {e}")))?;
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Input, String> {
        parse_line(line, BinaryFormat::Hex)
    }

    #[test]
    fn plain_lines_are_text() {
        assert_eq!(parse("hello").unwrap(), Input::Send(Message::from("hello")));
        assert_eq!(parse("").unwrap(), Input::Send(Message::from("")));
        assert_eq!(parse("//x y").unwrap(), Input::Send(Message::from("/x y")));
    }

    #[test]
    fn commands_parse() {
        assert_eq!(
            parse("/binary de ad").unwrap(),
            Input::Send(Message::from(vec![0xde, 0xad]))
        );
        assert_eq!(
            parse_line("/binary 3q0=", BinaryFormat::Base64).unwrap(),
            Input::Send(Message::from(vec![0xde, 0xad]))
        );
        assert_eq!(parse("/ping").unwrap(), Input::Ping(Vec::new()));
        assert_eq!(
            parse("/ping hi there").unwrap(),
            Input::Ping(b"hi there".to_vec())
        );
        assert_eq!(parse("/close").unwrap(), Input::Close(1000, String::new()));
        assert_eq!(
            parse("/close 4000").unwrap(),
            Input::Close(4000, String::new())
        );
        assert_eq!(
            parse("/close 4000 bye now").unwrap(),
            Input::Close(4000, "bye now".into())
        );
    }

    #[test]
    fn bad_commands_are_errors() {
        assert!(parse("/binary xyz").is_err());
        assert!(parse("/close soon").is_err());
        assert!(parse("/close 70000").is_err());
        assert!(parse("/frobnicate").is_err());
    }
}
