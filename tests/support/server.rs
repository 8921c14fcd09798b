//! Starting a compiled example as its own process on a free loopback port.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A running example server, killed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn examples_dir() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            // The examples belong to the workspace's root package; the store examples and
            // jwks_client and openapi need its features.
            let status = Command::new(env!("CARGO"))
                .args(["build", "--quiet", "--examples", "-p", "jwt-workspace"])
                .args(["--features", "redis,sqlx,remote-jwks,openapi"])
                .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
                .status()
                .expect("run cargo build --examples");
            assert!(status.success(), "cargo build --examples failed");
            // target/<profile>/deps/<this test> -> target/<profile>/examples
            let exe = std::env::current_exe().expect("current exe");
            exe.parent()
                .and_then(|deps| deps.parent())
                .expect("target dir")
                .join("examples")
        })
        .clone()
}

/// The command running `example`, without the `JWT_*` variables of the test's own environment
/// (the examples refuse an unknown one, and a test sets the ones it means).
fn example_command(example: &str) -> Command {
    let mut command = Command::new(examples_dir().join(example));
    for (name, _) in std::env::vars_os() {
        if name
            .to_string_lossy()
            .to_ascii_uppercase()
            .starts_with("JWT_")
        {
            command.env_remove(name);
        }
    }
    command
}

/// Runs `example` with `env` until it exits: what it wrote to stderr. `None` when it listened
/// instead (it is stopped then).
pub fn exit_message(example: &str, env: &[(&str, &str)]) -> Option<String> {
    let port = free_port();
    let mut child = spawn_example(example, env, port, Stdio::piped());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
            }
            return Some(stderr);
        }
        let listening = TcpStream::connect(("127.0.0.1", port))
            .is_ok_and(|s| s.local_addr().ok() != s.peer_addr().ok());
        if listening || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Builds the examples once, starts `example` with `PORT` set, and waits until it listens.
pub fn start(example: &str) -> Server {
    start_with_env(example, &[])
}

/// [`start`] with extra environment variables.
///
/// The port is picked free, then released for the example to bind: another process may take it
/// in between, and a connection attempt to a port nobody listens on can connect to itself (TCP
/// simultaneous open) and hold it. So a connection to itself does not count as listening, and an
/// example that exits before listening is started again on another port.
pub fn start_with_env(example: &str, env: &[(&str, &str)]) -> Server {
    for _attempt in 0..3 {
        if let Some(server) = try_start(example, env) {
            return server;
        }
    }
    panic!("example {example} exited before listening, three times (see its stderr by running it)");
}

/// A free loopback port never handed out before in this process, below the kernel's ephemeral
/// range (32768 and up on Linux). A port from that range can be the kernel's next pick for any
/// other `bind(0)` or outgoing connection of this process (a test's own server, a client): once
/// another test's listener took the example's port, the example could not bind it and exit, and
/// the test would find that other listener there, then be refused once it closed. Ports below the
/// range are only ever taken by explicit binds, as here, so they are counted out, one each.
fn free_port() -> u16 {
    static NEXT: Mutex<Option<u16>> = Mutex::new(None);
    let mut next = NEXT.lock().unwrap_or_else(|e| e.into_inner());
    // Start apart from a concurrently running test binary's choices.
    let mut port = next.unwrap_or(20_000 + (std::process::id() % 400) as u16 * 25);
    loop {
        port = if port >= 32_000 { 20_000 } else { port + 1 };
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            *next = Some(port);
            return port;
        }
    }
}

/// `example` started on `port` with `env` (its stdout dropped, its stderr to `stderr`).
fn spawn_example(example: &str, env: &[(&str, &str)], port: u16, stderr: Stdio) -> Child {
    example_command(example)
        .env("PORT", port.to_string())
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("start example {example}: {e}"))
}

/// One start on a fresh port: `None` when the example exited before listening.
fn try_start(example: &str, env: &[(&str, &str)]) -> Option<Server> {
    let port = free_port();
    let mut child = spawn_example(example, env, port, Stdio::null());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            let to_itself = stream.local_addr().ok() == stream.peer_addr().ok();
            if !to_itself {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "example {example} did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    })
}
