//! Real proxies for the proxy tests (`tests/proxy.rs`), and a scripted fake one for what real proxies do
//! not do on demand.
//!
//! Each [`Proxy`] is its own process, started from the Debian package's binary (tinyproxy, squid,
//! microsocks, dante-server, stunnel4) in the foreground on a free loopback port, with its configuration
//! (and its logs) in a fresh temporary directory. The constructor returns once the port accepts TCP
//! (polled, at most [`START_BOUND`]); dropping the guard stops the process by its id and removes the
//! directory. A small `sh` watcher does the stopping (see `WATCH`), so that a proxy does not outlive a
//! test process that dies without running its drops. A missing binary fails the test with the name of
//! the package to install: these tests are never skipped.
//!
//! [`FakeProxy`] is an HTTP `CONNECT` proxy written here (std threads) that misbehaves as scripted
//! ([`Script`]): a malformed reply, status 999, silence, a close during the handshake, or a good reply
//! with the server's bytes in the same write.

use std::fs;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Certs;

/// How long a proxy may take to accept TCP on its port after it is started.
pub const START_BOUND: Duration = Duration::from_secs(10);
/// How often the port is tried while a proxy starts.
const POLL: Duration = Duration::from_millis(20);
/// How often a proxy is restarted on a new port when it could not bind the one it was given (another
/// test took it between our probe and the proxy's bind).
const START_ATTEMPTS: usize = 3;
/// Read and write timeout on the fake proxy's sockets, so that none of its threads outlives a test by
/// much.
const FAKE_IO_BOUND: Duration = Duration::from_secs(20);

/// What kind of proxy a [`Proxy`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// tinyproxy, HTTP `CONNECT`.
    Tinyproxy,
    /// squid, HTTP `CONNECT`.
    Squid,
    /// microsocks, SOCKS5.
    Microsocks,
    /// danted, SOCKS4 (and SOCKS5, unused).
    Dante,
    /// stunnel in front of another proxy: an `https://` proxy.
    Stunnel,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Tinyproxy => "tinyproxy",
            Kind::Squid => "squid",
            Kind::Microsocks => "microsocks",
            Kind::Dante => "danted",
            Kind::Stunnel => "stunnel4",
        }
    }

    /// The Debian package that installs the binary.
    fn package(self) -> &'static str {
        match self {
            Kind::Tinyproxy => "tinyproxy",
            Kind::Squid => "squid",
            Kind::Microsocks => "microsocks",
            Kind::Dante => "dante-server",
            Kind::Stunnel => "stunnel4",
        }
    }
}

/// A running proxy process: killed, and its directory removed, on drop.
#[derive(Debug)]
pub struct Proxy {
    kind: Kind,
    /// The `sh` watching the proxy (see [`WATCH`]).
    child: Child,
    /// The write end of the watcher's stdin: closing it stops the proxy.
    stdin: Option<ChildStdin>,
    port: u16,
    url: String,
    dir: TempDir,
    /// The file the proxy logs connections to, if it does.
    log: Option<PathBuf>,
    /// stunnel's certificate (a self-signed one for `localhost`).
    certs: Option<Certs>,
    /// squid's service name (`-n`), which prefixes its shared memory segments in `/dev/shm`.
    shm: Option<String>,
}

impl Proxy {
    /// The proxy URL to give the client: `http://127.0.0.1:P`, `http://user:pass@127.0.0.1:P`,
    /// `socks5h://127.0.0.1:P`, `socks4://127.0.0.1:P`, `https://localhost:P`, ...
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The same proxy under another scheme (e.g. `socks5://` for microsocks, `socks4a://` for dante),
    /// with `userinfo` (`user:pass@`, or empty) before the host.
    pub fn url_as(&self, scheme: &str, userinfo: &str) -> String {
        let host = if self.kind == Kind::Stunnel {
            "localhost"
        } else {
            "127.0.0.1"
        };
        format!("{scheme}://{userinfo}{host}:{}", self.port)
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// What kind of proxy this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The temporary directory holding its configuration and logs.
    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    /// For an `https://` proxy (stunnel): its certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.certs().cert_pem
    }

    /// For an `https://` proxy (stunnel): a rustls client configuration trusting only its certificate,
    /// for `ClientBuilder::proxy_tls_config`.
    pub fn tls_client_config(&self) -> Arc<rustls::ClientConfig> {
        self.certs().client_config()
    }

    fn certs(&self) -> &Certs {
        self.certs
            .as_ref()
            .unwrap_or_else(|| panic!("{} is not a TLS proxy", self.kind.name()))
    }

    /// The proxy's connection log so far (empty if it has none yet).
    pub fn log(&self) -> String {
        let path = self
            .log
            .as_ref()
            .unwrap_or_else(|| panic!("{} keeps no log here", self.kind.name()));
        fs::read_to_string(path).unwrap_or_default()
    }

    /// Waits (at most `limit`) until the log contains `needle`; returns whether it did. Proxies write
    /// their log as they go, but not necessarily before the client sees the tunnel open.
    pub fn log_shows(&self, needle: &str, limit: Duration) -> bool {
        eventually(limit, || self.log().contains(needle))
    }

    /// The same for what the process writes to stdout and stderr (microsocks logs each connection
    /// there: `client[N] 127.0.0.1: connected to HOST:PORT`).
    pub fn output_shows(&self, needle: &str, limit: Duration) -> bool {
        eventually(limit, || self.output().contains(needle))
    }

    /// What the process wrote to stdout and stderr (for failure messages).
    pub fn output(&self) -> String {
        output_of(&self.dir.0)
    }

    /// Stops the proxy now and waits for it to exit (the guard stays, for its directory and log).
    pub fn kill(&mut self) {
        stop(&mut self.child, self.stdin.take());
        if let Some(service) = &self.shm {
            remove_shm(service);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.kill();
    }
}

/// tinyproxy (HTTP `CONNECT` to any port), logging every connection to `tinyproxy.log`:
/// `http://127.0.0.1:P`.
pub fn tinyproxy() -> Proxy {
    tinyproxy_with(None)
}

/// tinyproxy requiring `Proxy-Authorization: Basic` (`BasicAuth user pass`):
/// `http://user:pass@127.0.0.1:P` (the credentials are in [`Proxy::url`]; use
/// [`Proxy::url_as`]`("http", "")` for the URL without them).
pub fn tinyproxy_basic_auth(user: &str, pass: &str) -> Proxy {
    tinyproxy_with(Some((user, pass)))
}

fn tinyproxy_with(auth: Option<(&str, &str)>) -> Proxy {
    let binary = find_binary(Kind::Tinyproxy);
    let dir = TempDir::new("tinyproxy");
    let log = dir.0.join("tinyproxy.log");
    let conf = dir.0.join("tinyproxy.conf");
    start(Kind::Tinyproxy, dir, |_, port| {
        // No `ConnectPort` line: CONNECT to any port (the Debian default allows only 443 and 563).
        // No `User`: run as whoever runs the tests (tinyproxy warns, and goes on).
        let mut text = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogFile \"{}\"\nLogLevel Connect\n\
             MaxClients 64\nAllow 127.0.0.1\nAllow ::1\nDisableViaHeader Yes\n",
            log.display()
        );
        if let Some((user, pass)) = auth {
            text.push_str(&format!("BasicAuth {user} {pass}\n"));
        }
        fs::write(&conf, text).expect("write tinyproxy.conf");
        let mut cmd = Command::new(&binary);
        cmd.arg("-d").arg("-c").arg(&conf);
        Setup {
            cmd,
            url: match auth {
                Some((user, pass)) => format!("http://{user}:{pass}@127.0.0.1:{port}"),
                None => format!("http://127.0.0.1:{port}"),
            },
            log: Some(log.clone()),
            certs: None,
        }
    })
}

/// squid allowing `CONNECT` only to `ports` (an `SSL_ports`-like acl, as corporate proxies have):
/// `CONNECT` to any other port is answered 403. Logs to `access.log` (written when a tunnel ends).
pub fn squid_allowing_connect_to(ports: &[u16]) -> Proxy {
    let binary = find_binary(Kind::Squid);
    let dir = TempDir::new("squid");
    // Run as root, squid switches to its effective user (`proxy` on Debian) before it opens its logs:
    // the directory must be writable by that user.
    open_up(&dir.0);
    let log = dir.0.join("access.log");
    let allowed = if ports.is_empty() {
        // tcpmux: a port nothing here listens on, so that the acl is never empty.
        "1".to_string()
    } else {
        ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    };
    // A service name of its own: squid names its shared memory segments after it
    // (`/dev/shm/squid-cf__metadata.shm` by default), so that squids running at the same time, or
    // another user's squid, do not share or block them.
    static SERVICES: AtomicUsize = AtomicUsize::new(0);
    let service = format!(
        "ws{}n{}",
        std::process::id(),
        SERVICES.fetch_add(1, Ordering::Relaxed)
    );
    let mut proxy = start(Kind::Squid, dir, |dir, port| {
        let d = dir.display();
        let conf = dir.join("squid.conf");
        let text = format!(
            "http_port 127.0.0.1:{port}\n\
             acl SSL_ports port {allowed}\n\
             acl CONNECT method CONNECT\n\
             http_access deny CONNECT !SSL_ports\n\
             http_access allow localhost\n\
             http_access deny all\n\
             cache deny all\n\
             cache_mem 8 MB\n\
             pid_filename {d}/squid.pid\n\
             coredump_dir {d}\n\
             cache_log {d}/cache.log\n\
             access_log stdio:{log} buffer-size=0KB\n\
             netdb_filename none\n\
             pinger_enable off\n\
             visible_hostname localhost\n\
             shutdown_lifetime 0 seconds\n",
            log = log.display()
        );
        fs::write(&conf, text).expect("write squid.conf");
        let mut cmd = Command::new(&binary);
        // -N: no daemon (and no kid processes); no cache_dir, so no `-z` is needed.
        cmd.arg("-n").arg(&service).arg("-N").arg("-f").arg(&conf);
        Setup {
            cmd,
            url: format!("http://127.0.0.1:{port}"),
            log: Some(log.clone()),
            certs: None,
        }
    });
    proxy.shm = Some(service);
    proxy
}

/// microsocks without authentication: `socks5h://127.0.0.1:P`.
pub fn microsocks() -> Proxy {
    microsocks_with(None)
}

/// microsocks requiring a user name and password (`-u user -P pass`): `socks5h://user:pass@127.0.0.1:P`.
pub fn microsocks_auth(user: &str, pass: &str) -> Proxy {
    microsocks_with(Some((user, pass)))
}

fn microsocks_with(auth: Option<(&str, &str)>) -> Proxy {
    let binary = find_binary(Kind::Microsocks);
    let dir = TempDir::new("microsocks");
    start(Kind::Microsocks, dir, |_, port| {
        let mut cmd = Command::new(&binary);
        cmd.arg("-i")
            .arg("127.0.0.1")
            .arg("-p")
            .arg(port.to_string());
        if let Some((user, pass)) = auth {
            cmd.arg("-u").arg(user).arg("-P").arg(pass);
        }
        Setup {
            cmd,
            url: match auth {
                Some((user, pass)) => format!("socks5h://{user}:{pass}@127.0.0.1:{port}"),
                None => format!("socks5h://127.0.0.1:{port}"),
            },
            log: None,
            certs: None,
        }
    })
}

/// danted as a SOCKS4 gateway (no authentication; `connect` to 127.0.0.0/8 passed), logging to
/// `danted.log`: `socks4://127.0.0.1:P`. Dante does not implement SOCKS4a (a name in the request is
/// answered 0x5B).
pub fn dante_socks4() -> Proxy {
    let binary = find_binary(Kind::Dante);
    let dir = TempDir::new("danted");
    let log = dir.0.join("danted.log");
    start(Kind::Dante, dir, |dir, port| {
        let conf = dir.join("danted.conf");
        let text = format!(
            "logoutput: {log}\n\
             internal: 127.0.0.1 port = {port}\n\
             external: 127.0.0.1\n\
             clientmethod: none\n\
             socksmethod: none\n\
             client pass {{\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n}}\n\
             socks pass {{\n  from: 127.0.0.0/8 to: 127.0.0.0/8\n  command: connect\n  protocol: tcp\n  log: connect\n}}\n",
            log = log.display()
        );
        fs::write(&conf, text).expect("write danted.conf");
        let mut cmd = Command::new(&binary);
        // Foreground unless -D; one server process (-N 1; it still forks its helpers, which exit when
        // the mother is killed); the pid file in our directory rather than /var/run.
        cmd.arg("-f")
            .arg(&conf)
            .arg("-N")
            .arg("1")
            .arg("-p")
            .arg(dir.join("danted.pid"));
        Setup {
            cmd,
            url: format!("socks4://127.0.0.1:{port}"),
            log: Some(log.clone()),
            certs: None,
        }
    })
}

/// stunnel in server mode in front of `inner`: TLS on its port with a self-signed certificate for
/// `localhost` (see [`Proxy::tls_client_config`]), forwarded to `inner`: `https://localhost:P`.
pub fn stunnel_in_front_of(inner: &Proxy) -> Proxy {
    let binary = find_binary(Kind::Stunnel);
    let dir = TempDir::new("stunnel");
    let certs = Certs::localhost();
    let cert = dir.0.join("cert.pem");
    let key = dir.0.join("key.pem");
    fs::write(&cert, &certs.cert_pem).expect("write cert.pem");
    fs::write(&key, &certs.key_pem).expect("write key.pem");
    let log = dir.0.join("stunnel.log");
    let inner_port = inner.port();
    let mut certs = Some(certs);
    start(Kind::Stunnel, dir, |dir, port| {
        let conf = dir.join("stunnel.conf");
        let text = format!(
            "foreground = yes\npid =\noutput = {log}\ndebug = 5\n\
             [proxy]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{inner_port}\n\
             cert = {cert}\nkey = {key}\n",
            log = log.display(),
            cert = cert.display(),
            key = key.display(),
        );
        fs::write(&conf, text).expect("write stunnel.conf");
        let mut cmd = Command::new(&binary);
        cmd.arg(&conf);
        Setup {
            cmd,
            url: format!("https://localhost:{port}"),
            log: Some(log.clone()),
            certs: certs.take().or_else(|| {
                // A restart on another port: the same files, a copy of the certificate.
                Some(Certs {
                    cert_pem: fs::read_to_string(&cert).unwrap(),
                    key_pem: fs::read_to_string(&key).unwrap(),
                })
            }),
        }
    })
}

/// What [`start`] needs to run one proxy on a given port.
struct Setup {
    cmd: Command,
    url: String,
    log: Option<PathBuf>,
    certs: Option<Certs>,
}

/// Starts a proxy: picks a free port, lets `setup` write the configuration for it, runs the command
/// (stdout and stderr to files in the directory) and waits until the port accepts TCP. A proxy that
/// exits before (its port taken in between, say) is started again on another port, a few times.
fn start(kind: Kind, dir: TempDir, mut setup: impl FnMut(&Path, u16) -> Setup) -> Proxy {
    let mut failures = Vec::new();
    for _ in 0..START_ATTEMPTS {
        let port = free_port();
        let Setup {
            cmd,
            url,
            log,
            certs,
        } = setup(&dir.0, port);
        let stdout = fs::File::create(dir.0.join("stdout")).expect("create stdout file");
        let stderr = fs::File::create(dir.0.join("stderr")).expect("create stderr file");
        let mut watched = Command::new("sh");
        watched
            .arg("-c")
            .arg(WATCH)
            .arg("sh")
            .arg(cmd.get_program())
            .args(cmd.get_args())
            .current_dir(&dir.0)
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(stderr);
        let mut child = watched.spawn().unwrap_or_else(|e| {
            panic!(
                "could not run {} under sh ({e}); install the Debian package `{}`",
                kind.name(),
                kind.package()
            )
        });
        let stdin = child.stdin.take();
        match wait_for_port(&mut child, port) {
            Ok(()) => {
                return Proxy {
                    kind,
                    child,
                    stdin,
                    port,
                    url,
                    dir,
                    log,
                    certs,
                    shm: None,
                };
            }
            Err(why) => {
                stop(&mut child, stdin);
                let mut logged = String::new();
                if let Some(log) = &log {
                    logged = fs::read_to_string(log).unwrap_or_default();
                }
                failures.push(format!(
                    "port {port}: {why}\n--- output:\n{}\n--- log:\n{logged}",
                    output_of(&dir.0)
                ));
            }
        }
    }
    panic!(
        "{} did not start ({} attempts):\n{}",
        kind.name(),
        START_ATTEMPTS,
        failures.join("\n")
    );
}

/// The shell that runs each proxy (`sh -c WATCH sh BINARY ARGS...`): it starts the proxy in the
/// background and exits with it; a second process waits for the end of its stdin, which only this test
/// process holds open, and then kills the proxy by its process id (SIGKILL: squid takes 2 s to obey
/// SIGTERM; danted's helper processes exit by themselves when their parent is gone). So the proxy goes
/// when the guard is dropped (which closes the pipe), and also when the test process dies without
/// running drops (an abort, a kill by a CI timeout) instead of outliving it.
const WATCH: &str = r#"exec 3<&0
"$@" 3<&- </dev/null &
p=$!
(read _ <&3; kill -KILL $p 2>/dev/null) &
exec 3<&-
wait $p"#;

/// How long a proxy may take to exit after it is asked to (then it is killed).
const STOP_BOUND: Duration = Duration::from_secs(5);

/// Stops a proxy started under [`WATCH`]: closes the watcher's stdin (the proxy gets SIGKILL) and waits
/// for the shell, which exits when the proxy has; kills the shell if that takes longer than
/// [`STOP_BOUND`].
fn stop(child: &mut Child, stdin: Option<ChildStdin>) {
    drop(stdin);
    if !eventually(STOP_BOUND, || {
        matches!(child.try_wait(), Ok(Some(_)) | Err(_))
    }) {
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// Polls `127.0.0.1:port` until it accepts a TCP connection, the child exits, or [`START_BOUND`].
fn wait_for_port(child: &mut Child, port: u16) -> Result<(), String> {
    let start = Instant::now();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("exited with {status} before accepting connections"));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            return Ok(());
        }
        if start.elapsed() > START_BOUND {
            return Err(format!("not accepting connections after {START_BOUND:?}"));
        }
        std::thread::sleep(POLL);
    }
}

/// Removes squid's shared memory segments (`/dev/shm/SERVICE-*`), which it leaves behind when killed.
fn remove_shm(service: &str) {
    let prefix = format!("{service}-");
    let Ok(entries) = fs::read_dir("/dev/shm") else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Polls `check` until it holds or `limit` passes.
fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if check() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

fn output_of(dir: &Path) -> String {
    let out = fs::read_to_string(dir.join("stdout")).unwrap_or_default();
    let err = fs::read_to_string(dir.join("stderr")).unwrap_or_default();
    format!("{out}{err}")
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A loopback port on which nothing listens (bound, then released): connecting to it is refused.
pub fn closed_port() -> u16 {
    free_port()
}

/// Whether this machine has IPv6 loopback (`[::1]:0` can be bound).
pub fn has_ipv6_loopback() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

/// The binary of a proxy kind, from `PATH` or the sbin directories (not in every user's `PATH`). Fails
/// the test, naming the Debian package, when it is not installed.
fn find_binary(kind: Kind) -> PathBuf {
    let name = kind.name();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    for extra in ["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin", "/bin"] {
        dirs.push(PathBuf::from(extra));
    }
    for dir in dirs {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "`{name}` is not installed: these tests need real proxies; install the Debian package `{}` \
         (apt-get install {})",
        kind.package(),
        kind.package()
    )
}

#[cfg(unix)]
fn open_up(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o777)).expect("chmod the squid directory");
}

#[cfg(not(unix))]
fn open_up(_: &Path) {}

/// A fresh directory under the system's temporary directory, removed on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "ws-tests-{what}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

// ----------------------------------------------------------------------------------------------------
// The scripted fake proxy
// ----------------------------------------------------------------------------------------------------

/// What the fake proxy does with each `CONNECT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Script {
    /// Opens the tunnel properly (`HTTP/1.1 200 Connection established`) and relays: a proxy that
    /// records what it was asked.
    Tunnel,
    /// Answers with a head that is not HTTP.
    MalformedHead,
    /// Answers `HTTP/1.1 999 Strange`.
    Status999,
    /// Reads the request and never answers (the connection stays open until the client gives up).
    Silence,
    /// Reads the request and closes the connection without a word.
    CloseAfterRequest,
    /// Reads the request, writes the start of a 200 head, and closes.
    CloseMidReply,
    /// Writes `HTTP/1.1 200 OK\r\n\r\n` and, in the same write, a server's answer to the WebSocket
    /// request the client has not sent yet: these bytes (a rejection, say) must reach the client's
    /// handshake. Then reads the client's request and closes.
    AnswerInSameWrite(Vec<u8>),
    /// The first connection as [`Script::AnswerInSameWrite`] with a `302` to this URL, the next ones as
    /// [`Script::Tunnel`]: a client that reads the bytes after the 200 follows the redirect (through the
    /// proxy again) and opens the WebSocket there.
    RedirectInSameWriteTo(String),
}

/// A fake HTTP `CONNECT` proxy on a loopback port, scripted by [`Script`]. It records each request head
/// it reads; it stops accepting on drop.
#[derive(Debug)]
pub struct FakeProxy {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
    connections: Arc<AtomicUsize>,
    coalesced: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FakeProxy {
    /// Starts one on `127.0.0.1:0`.
    pub fn start(script: Script) -> FakeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake proxy");
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let coalesced = Arc::new(AtomicUsize::new(0));
        let (h, c, k, s) = (
            heads.clone(),
            connections.clone(),
            coalesced.clone(),
            stop.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let nth = c.fetch_add(1, Ordering::SeqCst);
                let script = match &script {
                    Script::RedirectInSameWriteTo(location) if nth == 0 => {
                        Script::AnswerInSameWrite(
                            format!(
                                "HTTP/1.1 302 Found\r\nLocation: {location}\r\n\
                                 Content-Length: 0\r\n\r\n"
                            )
                            .into_bytes(),
                        )
                    }
                    Script::RedirectInSameWriteTo(_) => Script::Tunnel,
                    other => other.clone(),
                };
                let (h, k, s) = (h.clone(), k.clone(), s.clone());
                std::thread::spawn(move || {
                    let _ = serve_one(stream, script, &h, &k, &s);
                });
            }
        });
        FakeProxy {
            addr,
            heads,
            connections,
            coalesced,
            stop,
        }
    }

    /// `http://127.0.0.1:P`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The TCP connections it accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// With [`Script::AnswerInSameWrite`]: the connections on which the 200 and the server's answer
    /// went to the client in one write.
    pub fn coalesced(&self) -> usize {
        self.coalesced.load(Ordering::SeqCst)
    }

    /// The request heads it read so far (each up to and including the empty line).
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

impl Drop for FakeProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// Reads from `stream` until an empty line ends a head; returns the head and what followed it.
fn read_head(stream: &mut TcpStream) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((buf, rest));
        }
        if buf.len() > 64 * 1024 {
            return Err(io::Error::other("head too large"));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The `host:port` of a `CONNECT` request line (IPv6 in brackets).
fn connect_target(head: &str) -> io::Result<String> {
    let line = head.lines().next().unwrap_or("");
    let mut parts = line.split(' ');
    match (parts.next(), parts.next()) {
        (Some("CONNECT"), Some(target)) => Ok(target.to_string()),
        _ => Err(io::Error::other(format!("not a CONNECT: {line:?}"))),
    }
}

fn serve_one(
    mut client: TcpStream,
    script: Script,
    heads: &Mutex<Vec<String>>,
    coalesced: &AtomicUsize,
    stop: &AtomicBool,
) -> io::Result<()> {
    if stop.load(Ordering::SeqCst) {
        return Ok(());
    }
    client.set_read_timeout(Some(FAKE_IO_BOUND))?;
    client.set_write_timeout(Some(FAKE_IO_BOUND))?;
    let _ = client.set_nodelay(true);
    let (head, early) = read_head(&mut client)?;
    let head = String::from_utf8_lossy(&head).into_owned();
    heads.lock().unwrap().push(head.clone());
    match script {
        Script::MalformedHead => {
            client.write_all(b"SSH-2.0-OpenSSH_9.2 not a proxy\r\n\r\n")?;
            linger(client);
        }
        Script::Status999 => {
            client.write_all(b"HTTP/1.1 999 Strange\r\nContent-Length: 0\r\n\r\n")?;
            linger(client);
        }
        Script::Silence => {
            // Hold the connection without answering until the client closes it (or the bound).
            let mut sink = [0u8; 1024];
            while let Ok(n) = client.read(&mut sink) {
                if n == 0 || stop.load(Ordering::SeqCst) {
                    break;
                }
            }
        }
        Script::CloseAfterRequest => {
            drop(client);
        }
        Script::CloseMidReply => {
            client.write_all(b"HTTP/1.1 200 Conn")?;
            client.flush()?;
            drop(client);
        }
        Script::AnswerInSameWrite(answer) => {
            let mut one_write = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
            one_write.extend_from_slice(&answer);
            // Counted before the write: the client may be done before this thread runs again.
            coalesced.fetch_add(1, Ordering::SeqCst);
            client.write_all(&one_write)?;
            // The client's request, then the close that ends the exchange.
            let _ = read_head_after(&mut client, early);
            let _ = client.shutdown(Shutdown::Write);
            linger(client);
        }
        Script::RedirectInSameWriteTo(_) => unreachable!("resolved per connection"),
        Script::Tunnel => {
            let server = connect_to(&connect_target(&head)?)?;
            client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
            relay(client, server, &early, &[])?;
        }
    }
    Ok(())
}

/// Continues reading a head of which `buf` is the start.
fn read_head_after(stream: &mut TcpStream, mut buf: Vec<u8>) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((buf, rest));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Keeps a connection open (reading and discarding) until the peer closes it, so that what was written
/// is read before any reset.
fn linger(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut sink = [0u8; 1024];
    while let Ok(n) = stream.read(&mut sink) {
        if n == 0 {
            break;
        }
    }
}

fn connect_to(target: &str) -> io::Result<TcpStream> {
    let addr = target
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::other(format!("no address for {target}")))?;
    let server = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    server.set_read_timeout(Some(FAKE_IO_BOUND))?;
    server.set_write_timeout(Some(FAKE_IO_BOUND))?;
    let _ = server.set_nodelay(true);
    Ok(server)
}

/// Copies both ways between `client` and `server` until both directions end, after writing `to_server`
/// and `to_client` first.
fn relay(
    mut client: TcpStream,
    mut server: TcpStream,
    to_server: &[u8],
    to_client: &[u8],
) -> io::Result<()> {
    if !to_server.is_empty() {
        server.write_all(to_server)?;
    }
    if !to_client.is_empty() {
        client.write_all(to_client)?;
    }
    let (client2, server2) = (client.try_clone()?, server.try_clone()?);
    let up = std::thread::spawn(move || copy_until_eof(client2, server2));
    copy_until_eof(server, client);
    let _ = up.join();
    Ok(())
}

fn copy_until_eof(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
