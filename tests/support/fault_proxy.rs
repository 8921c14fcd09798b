//! A TCP proxy between the app and a store that a test switches to a half-open link: it keeps
//! every connection open (no FIN, no RST) but swallows the bytes in both directions.
//!
//! - [`FaultProxy::swallow`]: every connection, old and new, as over a partition; switched
//!   back, the held bytes are delivered, as TCP does when a partition ends before the
//!   connection times out (it retransmits; dropping bytes inside a stream is something TCP
//!   never does);
//! - [`FaultProxy::strand_open_connections`]: the connections open now, for good (an expired
//!   NAT entry, a peer that vanished), while new connections work.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the link does now.
#[derive(Clone, Copy, Default)]
struct Link {
    swallowing: bool,
    /// Connections numbered below this are stranded.
    stranded_below: u64,
    /// The number the next connection gets.
    next: u64,
}

/// A running proxy on a free loopback port; it stops (closing every connection) when dropped.
pub struct FaultProxy {
    port: u16,
    link: Arc<watch::Sender<Link>>,
    /// Bytes forwarded from the clients to the target so far.
    sent: Arc<AtomicU64>,
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
        let link = Arc::new(watch::Sender::new(Link::default()));
        let state = link.clone();
        let sent = Arc::new(AtomicU64::new(0));
        let counter = sent.clone();
        let target = target.to_string();
        let task = tokio::spawn(async move {
            // Aborting the task drops the JoinSet, which closes every proxied connection.
            let mut links = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let mut number = 0;
                state.send_modify(|link| {
                    number = link.next;
                    link.next += 1;
                });
                let state = state.subscribe();
                let target = target.clone();
                let counter = counter.clone();
                links.spawn(async move {
                    let Ok(server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    // Either direction ending closes both sockets.
                    tokio::select! {
                        _ = pump(client_read, server_write, state.clone(), number, Some(counter)) => {}
                        _ = pump(server_read, client_write, state, number, None) => {}
                    }
                });
            }
        });
        FaultProxy {
            port,
            link,
            sent,
            task,
        }
    }

    /// The proxy's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Bytes the clients sent to the target so far (commands, for a store): a test counts
    /// round trips with it.
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// Holds (`true`) or forwards (`false`) the bytes of every connection from now on.
    pub fn swallow(&self, on: bool) {
        self.link.send_modify(|link| link.swallowing = on);
    }

    /// Holds the bytes of the connections open now, for good; later ones are forwarded.
    pub fn strand_open_connections(&self) {
        self.link
            .send_modify(|link| link.stranded_below = link.next);
    }
}

/// Copies `from` to `to`, holding what arrives while the link does not forward.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut link: watch::Receiver<Link>,
    number: u64,
    sent: Option<Arc<AtomicU64>>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let forwarding = link
            .wait_for(|link| !link.swallowing && number >= link.stranded_below)
            .await
            .is_ok();
        if !forwarding {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        if let Some(sent) = &sent {
            sent.fetch_add(n as u64, Ordering::SeqCst);
        }
    }
}
