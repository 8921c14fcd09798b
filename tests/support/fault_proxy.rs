//! A TCP proxy between the app and a store that a test switches to a half-open link: it keeps
//! every connection open (old and new; no FIN, no RST) but swallows the bytes in both
//! directions, as a partition does, and back to forwarding.
//!
//! Swallowed bytes are held, not dropped, and delivered when the link heals: that is what TCP
//! does over a partition that ends before the connection times out (it retransmits). Dropping
//! bytes inside a stream is something TCP never does.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy on a free loopback port; it stops (closing every connection) when dropped.
pub struct FaultProxy {
    port: u16,
    swallowing: Arc<tokio::sync::watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts forwarding `127.0.0.1:<port>` to `target` (`host:port`).
    pub async fn start(target: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let port = listener.local_addr().expect("local address").port();
        let swallowing = Arc::new(tokio::sync::watch::Sender::new(false));
        let flag = swallowing.clone();
        let target = target.to_string();
        let task = tokio::spawn(async move {
            // Aborting the task drops the JoinSet, which closes every proxied connection.
            let mut links = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let flag = flag.subscribe();
                let target = target.clone();
                links.spawn(async move {
                    let Ok(server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    // Either direction ending closes both sockets.
                    tokio::select! {
                        _ = pump(client_read, server_write, flag.clone()) => {}
                        _ = pump(server_read, client_write, flag) => {}
                    }
                });
            }
        });
        FaultProxy {
            port,
            swallowing,
            task,
        }
    }

    /// The proxy's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Swallows (`true`) or forwards (`false`) the bytes of every connection from now on.
    pub fn swallow(&self, on: bool) {
        self.swallowing.send_replace(on);
    }
}

/// Copies `from` to `to`, holding what arrives while the link swallows.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut swallowing: tokio::sync::watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if swallowing.wait_for(|on| !*on).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
