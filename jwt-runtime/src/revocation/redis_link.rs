//! The connections of the Redis store: one server (or a primary behind a proxy) or a Redis
//! Cluster (feature `redis-cluster`), behind one command link and one way to subscribe.
//!
//! In a cluster, every key of the store carries the same hash tag (see [`cluster_prefix`]), so
//! the scripts that touch two keys at once stay atomic on one node and one `SCAN` on that
//! slot's primary finds every key. `PUBLISH` is forwarded by the cluster bus to every node, so
//! a subscription on any node hears the revocations made through any other.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, PubSub};
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

use super::BlocklistError;

/// Where commands go.
#[derive(Clone)]
pub(super) enum Link {
    /// One server, reconnected by the connection manager.
    Single(ConnectionManager),
    /// A cluster: commands are routed by key slot, `MOVED`/`ASK` and failovers followed.
    #[cfg(feature = "redis-cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Link::Single(conn) => conn.req_packed_command(cmd),
            #[cfg(feature = "redis-cluster")]
            Link::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Link::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            #[cfg(feature = "redis-cluster")]
            Link::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Link::Single(conn) => conn.get_db(),
            #[cfg(feature = "redis-cluster")]
            Link::Cluster(conn) => conn.get_db(),
        }
    }
}

impl Link {
    /// One page of a `SCAN` for the keys matching `pattern` (all under `prefix`).
    ///
    /// In a cluster the `SCAN` must run on the primary of the prefix's hash slot, where every
    /// key of the store lives: any other node answers "nothing" without an error, which would
    /// load an empty mirror (the cluster client falls back to another node while a primary is
    /// down). So it runs inside a script declaring a key of that slot: the cluster routes it by
    /// that key, and a node that does not own the slot answers `MOVED` instead.
    pub(super) async fn scan_page(
        &mut self,
        cursor: u64,
        pattern: &str,
        prefix: &str,
    ) -> RedisResult<(u64, Vec<Vec<u8>>)> {
        match self {
            Link::Single(conn) => {
                let _ = prefix;
                redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(SCAN_COUNT)
                    .query_async(conn)
                    .await
            }
            #[cfg(feature = "redis-cluster")]
            Link::Cluster(conn) => {
                redis::cmd("EVAL")
                    .arg(SCAN_ON_SLOT_SCRIPT)
                    .arg(1)
                    .arg(prefix)
                    .arg(cursor)
                    .arg(pattern)
                    .arg(SCAN_COUNT)
                    .query_async(conn)
                    .await
            }
        }
    }
}

/// Keys asked per `SCAN` page.
const SCAN_COUNT: u32 = 1000;

/// `SCAN` on the node that owns KEYS[1]'s slot; ARGV = cursor, pattern, count.
#[cfg(feature = "redis-cluster")]
const SCAN_ON_SLOT_SCRIPT: &str =
    "return redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])";

/// Where the subscription is opened.
pub(super) enum Subscriber {
    /// The one server.
    Single(redis::Client),
    /// Any node of the cluster: tried in turn until one answers.
    #[cfg(feature = "redis-cluster")]
    Cluster(Vec<redis::ConnectionInfo>),
}

impl Subscriber {
    /// A pub/sub connection, each attempt within `limit` (a link that swallows packets would
    /// otherwise hang it forever).
    pub(super) async fn pubsub(&self, limit: Duration) -> Result<PubSub, BlocklistError> {
        match self {
            Subscriber::Single(client) => attempt(limit, client).await,
            #[cfg(feature = "redis-cluster")]
            Subscriber::Cluster(nodes) => {
                let mut last = BlocklistError::new("redis blocklist: a cluster needs a node");
                for node in nodes {
                    let client = match redis::Client::open(node.clone()) {
                        Ok(client) => client,
                        Err(e) => {
                            last = BlocklistError::with_source("redis blocklist", e);
                            continue;
                        }
                    };
                    match attempt(limit, &client).await {
                        Ok(pubsub) => return Ok(pubsub),
                        Err(e) => last = e,
                    }
                }
                Err(last)
            }
        }
    }
}

async fn attempt(limit: Duration, client: &redis::Client) -> Result<PubSub, BlocklistError> {
    match tokio::time::timeout(limit, client.get_async_pubsub()).await {
        Ok(result) => result.map_err(|e| BlocklistError::with_source("redis blocklist", e)),
        Err(_) => Err(BlocklistError::new(format!(
            "redis blocklist: connecting the subscription took longer than {limit:?}"
        ))),
    }
}

/// Whether every key starting with `prefix` has the hash tag of the prefix: a `{` followed,
/// within the prefix, by a `}` with something in between.
fn has_hash_tag(prefix: &str) -> bool {
    prefix
        .find('{')
        .and_then(|open| prefix[open + 1..].find('}'))
        .is_some_and(|length| length > 0)
}

/// The key prefix of a cluster store: kept when it has a hash tag, taken whole as the tag
/// otherwise (`jwt:blocklist:` -> `{jwt:blocklist:}`), so that every key lands on one slot.
#[cfg_attr(not(feature = "redis-cluster"), allow(dead_code))]
pub(super) fn cluster_prefix(prefix: &str) -> Result<String, BlocklistError> {
    if has_hash_tag(prefix) {
        return Ok(prefix.to_string());
    }
    let tagged = format!("{{{prefix}}}");
    if has_hash_tag(&tagged) {
        Ok(tagged)
    } else {
        Err(BlocklistError::new(format!(
            "redis blocklist: the key prefix {prefix:?} cannot carry a cluster hash tag \
             (give one like \"{{jwt}}:blocklist:\")"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_prefix_always_carries_a_nonempty_hash_tag() {
        assert_eq!(
            cluster_prefix("jwt:blocklist:").ok().as_deref(),
            Some("{jwt:blocklist:}")
        );
        assert_eq!(
            cluster_prefix("app:{jwt}:").ok().as_deref(),
            Some("app:{jwt}:")
        );
        // `{}` is no tag (Redis then hashes the whole key): wrapped.
        assert_eq!(cluster_prefix("a{}b").ok().as_deref(), Some("{a{}b}"));
        assert_eq!(cluster_prefix("a{").ok().as_deref(), Some("{a{}"));
        assert!(cluster_prefix("").is_err());
        assert!(cluster_prefix("}x").is_err());
        // A `{` whose `}` would only come in the suffix is no tag of the prefix.
        assert!(!has_hash_tag("jwt{"));
        assert!(has_hash_tag("{a}") && !has_hash_tag("{}a}"));
    }
}
