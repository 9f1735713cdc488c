//! The servers under test: how they are named and launched, and the
//! lifecycle of a running one (start pinned, wait for its port, watch it,
//! stop it).

use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::thread;
use std::time::{Duration, Instant};

/// Placeholder in a server command that is replaced by the port.
pub const PORT_PLACEHOLDER: &str = "{port}";

/// How long a server gets to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a server gets to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// A server to compare: a name and a command line with `{port}` in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSpec {
    /// Name shown in the tables (e.g. `ws-tokio`).
    pub name: String,
    /// Command line, split on whitespace; `{port}` is replaced by the port.
    pub command: String,
}

impl FromStr for ServerSpec {
    type Err = String;

    /// Parses `name=command-with-{port}`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, command) = s
            .split_once('=')
            .ok_or_else(|| format!("{s:?}: expected name=command"))?;
        let (name, command) = (name.trim(), command.trim());
        if name.is_empty() || command.is_empty() {
            return Err(format!("{s:?}: name and command must not be empty"));
        }
        if !command.contains(PORT_PLACEHOLDER) {
            return Err(format!("{s:?}: the command needs a {PORT_PLACEHOLDER}"));
        }
        Ok(Self {
            name: name.to_owned(),
            command: command.to_owned(),
        })
    }
}

impl ServerSpec {
    /// The program (first word of the command).
    pub fn program(&self) -> &str {
        self.command.split_whitespace().next().unwrap_or_default()
    }

    /// The program's path if it exists: relative paths are taken from the
    /// current directory, bare names are looked up in `PATH`.
    pub fn resolve_program(&self) -> Option<PathBuf> {
        let program = self.program();
        if program.contains('/') {
            let path = PathBuf::from(program);
            return path.is_file().then_some(path);
        }
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(program))
                .find(|p| p.is_file())
        })
    }

    /// The command's words with `{port}` replaced.
    pub fn argv(&self, port: u16) -> Vec<String> {
        self.command
            .split_whitespace()
            .map(|word| word.replace(PORT_PLACEHOLDER, &port.to_string()))
            .collect()
    }
}

/// The default list: our four servers (release examples) and the peers
/// built from this package (tungstenite-sync is the blocking peer of ws-std).
pub fn default_servers() -> Vec<ServerSpec> {
    [
        (
            "ws-tokio",
            "target/release/examples/tokio_echo_server --port {port}",
        ),
        (
            "ws-smol",
            "target/release/examples/smol_echo_server --port {port}",
        ),
        (
            "ws-std",
            "target/release/examples/std_echo_server --port {port}",
        ),
        (
            "ws-hyper",
            "target/release/examples/hyper_echo_server --port {port}",
        ),
        (
            "tungstenite",
            "target/release/peer-tungstenite --port {port}",
        ),
        (
            "fastwebsockets",
            "target/release/peer-fastwebsockets --port {port}",
        ),
        (
            "tokio-websockets",
            "target/release/peer-tokio-websockets --port {port}",
        ),
        ("sockudo-ws", "target/release/peer-sockudo --port {port}"),
        (
            "tungstenite-sync",
            "target/release/peer-tungstenite-sync --port {port}",
        ),
    ]
    .into_iter()
    .map(|(name, command)| ServerSpec {
        name: name.to_owned(),
        command: command.to_owned(),
    })
    .collect()
}

/// The default list of `--http2`: the servers that take WebSocket streams
/// over HTTP/2 (RFC 8441 extended CONNECT, prior-knowledge h2c): ours behind
/// hyper and the axum peer.
pub fn http2_servers() -> Vec<ServerSpec> {
    [
        (
            "ws-hyper",
            "target/release/examples/hyper_echo_server --port {port}",
        ),
        ("axum", "target/release/peer-axum --port {port}"),
    ]
    .into_iter()
    .map(|(name, command)| ServerSpec {
        name: name.to_owned(),
        command: command.to_owned(),
    })
    .collect()
}

/// Prefixes a command with `taskset -c CPU` when `cpu` is given.
pub fn pinned_command(cpu: Option<usize>, program: impl AsRef<Path>) -> Command {
    match cpu {
        Some(cpu) => {
            let mut cmd = Command::new("taskset");
            cmd.arg("-c").arg(cpu.to_string()).arg(program.as_ref());
            cmd
        }
        None => Command::new(program.as_ref()),
    }
}

/// Pins the calling thread, and the threads it starts from now on, to `cpu`
/// (what `taskset -c CPU` does for a child; for a tool that runs its load
/// in-process).
pub fn pin_current_thread(cpu: usize) -> std::io::Result<()> {
    // SAFETY: `cpu_set_t` is plain data, for which all zeroes is the empty set;
    // CPU_SET only writes inside it (cpu is checked against its size), and
    // sched_setaffinity reads `size_of::<cpu_set_t>()` bytes of it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if cpu >= 8 * std::mem::size_of::<libc::cpu_set_t>() {
            return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
        }
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A free loopback port (the OS picks one; it is released before use).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// A started server process.
#[derive(Debug)]
pub struct RunningServer {
    /// The server's name.
    pub name: String,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    child: Child,
}

impl RunningServer {
    /// Starts `spec` on a free port, pinned to `cpu`, with its output
    /// appended to `log`, and waits until the port accepts connections.
    pub fn start(spec: &ServerSpec, cpu: Option<usize>, log: &Path) -> Result<Self, String> {
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let argv = spec.argv(port);
        if let Some(dir) = log.parent() {
            fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let log_file = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let log_err = log_file.try_clone().map_err(|e| e.to_string())?;
        let child = pinned_command(cpu, &argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", argv[0]))?;
        let mut server = Self {
            name: spec.name.clone(),
            port,
            child,
        };
        server.wait_for_port()?;
        Ok(server)
    }

    /// The server's PID (taskset execs the server, so it is the server's).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn wait_for_port(&mut self) -> Result<(), String> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited at start ({status})"));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.stop();
                return Err(format!("not listening on {addr} after {START_TIMEOUT:?}"));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server: SIGTERM, then SIGKILL if it lingers.
    pub fn stop(&mut self) {
        if !self.is_alive() {
            return;
        }
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill has no memory-safety preconditions; the PID is our
            // own child, which has not been reaped (try_wait saw it running).
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if !self.is_alive() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        let spec: ServerSpec = "mine=./srv --port {port} -v".parse().unwrap();
        assert_eq!(spec.name, "mine");
        assert_eq!(spec.program(), "./srv");
        assert_eq!(spec.argv(4242), ["./srv", "--port", "4242", "-v"]);
        assert!("noequals".parse::<ServerSpec>().is_err());
        assert!("x=./srv --port 1".parse::<ServerSpec>().is_err());
        assert!("=./srv {port}".parse::<ServerSpec>().is_err());
    }

    #[test]
    fn missing_programs_do_not_resolve() {
        let spec: ServerSpec = "x=target/nowhere/none --port {port}".parse().unwrap();
        assert_eq!(spec.resolve_program(), None);
        let spec: ServerSpec = "x=sh -c {port}".parse().unwrap();
        assert!(spec.resolve_program().is_some());
    }

    #[test]
    fn default_list_has_all_nine() {
        let names: Vec<_> = default_servers().into_iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "ws-tokio",
                "ws-smol",
                "ws-std",
                "ws-hyper",
                "tungstenite",
                "fastwebsockets",
                "tokio-websockets",
                "sockudo-ws",
                "tungstenite-sync"
            ]
        );
    }

    #[test]
    fn http2_list_has_the_servers_that_speak_it() {
        let names: Vec<_> = http2_servers().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["ws-hyper", "axum"]);
    }
}
