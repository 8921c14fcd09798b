//! A throwaway Redis Cluster for one test: `redis-server` nodes in cluster mode on free
//! loopback ports, each in its own temporary directory, joined with `redis-cli --cluster
//! create`, and killed (directories removed) when the value is dropped. Every wait is bounded.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVER: &str = "redis-server";
const CLI: &str = "redis-cli";

/// The running nodes of one cluster.
pub struct RedisCluster {
    nodes: Vec<(u16, Child)>,
    dir: PathBuf,
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.nodes {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback port that is free, and whose cluster bus port (`+ 10000`) is free too.
fn free_port() -> u16 {
    for _ in 0..200 {
        let Ok(listener) = std::net::TcpListener::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(port) = listener.local_addr().map(|a| a.port()) else {
            continue;
        };
        if port > 55_000 {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair for a Redis Cluster node");
}

/// Runs `redis-cli` with `args`, at most `limit`; its standard output, trimmed.
pub fn cli(args: &[&str], limit: Duration) -> Option<String> {
    let mut child = Command::new(CLI)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let output = child.wait_with_output().ok()?;
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Polls `check` every 50 ms until it holds, at most `limit`.
fn wait_for(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl RedisCluster {
    /// Starts `count` primaries (at least 3, as `redis-cli --cluster create` wants), creates
    /// the cluster and waits until every node says `cluster_state:ok`. Panics with a clear
    /// message when `redis-server` is missing or the cluster does not form within 30 s.
    pub fn start(count: usize) -> RedisCluster {
        let dir = std::env::temp_dir().join(super::unique("jwt_redis_cluster"));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let mut cluster = RedisCluster {
            nodes: Vec::new(),
            dir,
        };
        for _ in 0..count {
            cluster.spawn_node();
        }
        for port in cluster.ports() {
            let up = wait_for(Duration::from_secs(10), || {
                cli(&["-p", &port.to_string(), "PING"], Duration::from_secs(2)).as_deref()
                    == Some("PONG")
            });
            assert!(up, "redis-server on port {port} did not start within 10 s");
        }
        let addresses: Vec<String> = cluster
            .ports()
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let mut create = vec!["--cluster", "create"];
        create.extend(addresses.iter().map(String::as_str));
        create.extend(["--cluster-replicas", "0", "--cluster-yes"]);
        assert!(
            cli(&create, Duration::from_secs(30)).is_some(),
            "redis-cli --cluster create did not finish within 30 s"
        );
        for port in cluster.ports() {
            let ok = wait_for(Duration::from_secs(30), || {
                cli(
                    &["-p", &port.to_string(), "CLUSTER", "INFO"],
                    Duration::from_secs(2),
                )
                .is_some_and(|info| info.contains("cluster_state:ok"))
            });
            assert!(ok, "the node on port {port} did not reach cluster_state:ok");
        }
        cluster
    }

    /// Starts one more node in cluster mode (not yet part of the cluster); its port.
    fn spawn_node(&mut self) -> u16 {
        let port = free_port();
        let node_dir = self.dir.join(port.to_string());
        std::fs::create_dir_all(&node_dir).expect("a node directory");
        let child = Command::new(SERVER)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes"])
            .args(["--cluster-config-file", "nodes.conf"])
            .args(["--cluster-node-timeout", "2000"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--protected-mode", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&node_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{SERVER} cannot be started ({e}): install Redis 7, or run without --ignored"
                )
            });
        self.nodes.push((port, child));
        port
    }

    /// Adds a replica of the primary at `primary` and waits (at most 30 s) until it has synced
    /// and every node knows it; its port.
    pub fn add_replica(&mut self, primary: u16) -> u16 {
        let port = self.spawn_node();
        let up = wait_for(Duration::from_secs(10), || {
            cli(&["-p", &port.to_string(), "PING"], Duration::from_secs(2)).as_deref()
                == Some("PONG")
        });
        assert!(up, "redis-server on port {port} did not start within 10 s");
        let id = self.query_node(primary, &["CLUSTER", "MYID"]);
        self.query_node(
            port,
            &["CLUSTER", "MEET", "127.0.0.1", &primary.to_string()],
        );
        let met = wait_for(Duration::from_secs(30), || {
            self.query_node(port, &["CLUSTER", "REPLICATE", &id]) == "OK"
        });
        assert!(met, "the new node did not become a replica of {primary}");
        let synced = wait_for(Duration::from_secs(30), || {
            self.query_node(port, &["INFO", "replication"])
                .contains("master_link_status:up")
                && self.ports().iter().all(|p| {
                    self.query_node(*p, &["CLUSTER", "NODES"])
                        .lines()
                        .any(|line| line.contains(&format!(":{port}@")) && line.contains("slave"))
                })
        });
        assert!(synced, "the replica on {port} did not sync within 30 s");
        port
    }

    /// Kills the node at `port` (SIGKILL: no goodbye to the others); it leaves [`Self::ports`].
    pub fn kill(&mut self, port: u16) {
        if let Some(at) = self.nodes.iter().position(|(p, _)| *p == port) {
            let (_, mut child) = self.nodes.remove(at);
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits (at most `limit`) until the node at `port` is a primary that owns slots and says
    /// `cluster_state:ok`.
    pub fn wait_promoted(&self, port: u16, limit: Duration) -> bool {
        wait_for(limit, || {
            self.query_node(port, &["INFO", "replication"])
                .contains("role:master")
                && self
                    .query_node(port, &["CLUSTER", "INFO"])
                    .contains("cluster_state:ok")
        })
    }

    /// The live nodes' ports, in start order.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|(port, _)| *port).collect()
    }

    /// The nodes' `redis://` URLs, in start order.
    pub fn urls(&self) -> Vec<String> {
        self.ports()
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect()
    }

    /// Runs one command on the cluster (`redis-cli -c`, following redirections) through the
    /// first live node; its output, trimmed.
    pub fn query(&self, args: &[&str]) -> String {
        let port = self.ports()[0].to_string();
        let mut all = vec!["-c", "-p", &port];
        all.extend_from_slice(args);
        cli(&all, Duration::from_secs(5)).expect("redis-cli answers within 5 s")
    }

    /// Runs one command on the node at `port` only (empty output when it does not answer
    /// within 5 s).
    pub fn query_node(&self, port: u16, args: &[&str]) -> String {
        let port = port.to_string();
        let mut all = vec!["-p", &port];
        all.extend_from_slice(args);
        cli(&all, Duration::from_secs(5)).unwrap_or_default()
    }
}
