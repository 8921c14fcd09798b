//! One `redis-server` a test owns: on a free loopback port, without persistence (`--save ''
//! --appendonly no`), so that killing and restarting it plays "Redis restarted without its
//! data". Killed (its directory removed) when dropped; every wait is bounded.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::redis_cluster::cli;

/// A running (or killed, until [`RedisServer::restart`]) server.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    dir: PathBuf,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl RedisServer {
    /// Starts a server on a free port and waits (at most 10 s) until it answers `PING`.
    pub fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(super::unique("jwt_redis_server"));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let mut server = RedisServer {
            port,
            child: None,
            dir,
        };
        server.restart();
        server
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL): connections reset, its data gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again, empty, on the same port; waits until it answers `PING`.
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--protected-mode", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "redis-server cannot be started ({e}): install Redis, or run without --ignored"
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.query(&["PING"]) != "PONG" {
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer within 10 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs one command (`redis-cli`); its output, trimmed (empty when it does not answer
    /// within 5 s).
    pub fn query(&self, args: &[&str]) -> String {
        let port = self.port.to_string();
        let mut all = vec!["-p", &port];
        all.extend_from_slice(args);
        cli(&all, Duration::from_secs(5)).unwrap_or_default()
    }
}
