//! Revocations in Redis, shared by every instance behind a load balancer, answered from a local
//! mirror kept current by pub/sub (no network round trip per request).
//!
//! How it stays correct:
//! - a revocation is one Lua script, so atomic: `SET <prefix>jti:<jti> <retain_until> EX <ttl>`
//!   (the tutorial's command; `retain_until` is `exp` plus the verifier's leeway, the TTL runs
//!   until then) and a `PUBLISH` of `jti <retain_until> <jti>` on `<prefix>events`. Either both
//!   happen or neither: a link that dies in between cannot leave a key that the other
//!   instances' mirrors never heard of. The revoking instance also updates its own mirror at once;
//! - "log out everywhere" is a script too: it keeps the highest cut-off (`<prefix>user:<user>`
//!   never moves back) and publishes the effective one;
//! - mirrors drop a revocation once its `retain_until` has passed (the token is accepted until
//!   then), never at `exp`;
//! - every instance subscribes first, then loads the existing keys (`SCAN` + `MGET`), and only
//!   then answers from its mirror, so no revocation falls between the load and the subscription;
//! - while the subscription is down (Redis restarting, network cut) the mirror is marked stale:
//!   what it holds is still refused (a revocation known to the instance is never forgotten
//!   because Redis lost it), and a token it does not hold is checked with Redis directly; if
//!   Redis cannot answer, the check fails closed (503) unless the store was built with
//!   `fail_open`;
//! - Redis may come back without its data (restarted without persistence, a failover to a
//!   replica that had not caught up): after resubscribing, the instance writes back, with the
//!   same scripts, every revocation its mirror holds that Redis lost (a jti with its
//!   `retain_until` and TTL, a user's cut-off), so instances started later see them too;
//! - sessions (`JWT_REFRESH_ROTATION`) are answered from the mirror too: the scripts that end
//!   one publish `session <until> <id>` in the same atomic step; an instance keeps every end it
//!   hears (refused even while the mirror is stale, and across a Redis that lost it) and the
//!   "live" answers Redis gave it under an unbroken, current subscription (until the session's
//!   `until`; dropped when the subscription is re-established; an end always wins). A session
//!   not in the mirror, or "live" while the mirror is stale, is asked of Redis;
//! - every command runs within [`command_timeout`](RedisBlocklistOptions::command_timeout),
//!   under the "known down" rule shared with the SQL store (`known_down.rs`): once Redis
//!   refused or did not answer, requests that need it fail closed at once for a moment, while
//!   one probe at a time tries it; its first answer ends the outage;
//! - a link can also die silently (a NAT entry expires, a partition drops packets without a
//!   reset): the socket stays open and no message arrives, which looks exactly like "nothing
//!   was revoked". So the subscription is probed: every
//!   [`heartbeat_interval`](RedisBlocklistOptions::heartbeat_interval) a `PING` goes out on the
//!   pub/sub connection, and if its answer has not arrived within
//!   [`heartbeat_timeout`](RedisBlocklistOptions::heartbeat_timeout) the mirror is marked stale,
//!   the subscription dropped and re-established (with a fresh load);
//! - TCP keepalive (and `TCP_USER_TIMEOUT` on Linux) are set on every connection, so the kernel
//!   also closes a dead command connection instead of retransmitting into it for minutes;
//! - a background task reconnects and reloads by itself, with a backoff capped at 1 s (or at
//!   `reconnect_delay` when that is longer); nothing here panics.
//! - DPoP proofs (RFC 9449 §11.1, [`Blocklist::record_proof`]) are not mirrored: each is one
//!   `SET <prefix>dpop:<key> 1 NX EX <ttl>` (the TTL runs until the proof's `retain_until` by
//!   the store's clock, plus a second), so two instances racing with one proof get one `OK`
//!   between them. A proof Redis cannot answer for is refused, even with `fail_open` (a replay
//!   record that guesses "first time" is no record). The mirror's load skips these keys;
//! - over a Redis Cluster (`RedisBlocklist::connect_cluster`, feature `redis-cluster`) every
//!   key carries the prefix as one hash tag (`{jwt:blocklist:}jti:<jti>`), so the scripts stay
//!   atomic on the slot's primary; the load's `SCAN` runs in a script routed by a key of that
//!   slot (a node that does not own it answers `MOVED`, never an empty load); the events stay on
//!   `PUBLISH`, which the cluster bus forwards to every node, so the subscription may sit on any
//!   node. When that primary fails, its replica takes over: meanwhile checks fail closed, and the
//!   subscription moves to another node and reloads.
//!
//! Staleness bound: an instance learns a revocation made elsewhere after one pub/sub delivery
//! (well under a millisecond on one host, a network hop between hosts); during that window it
//! may still accept the token. Revocations are never lost: a subscription gap makes the mirror
//! stale, and a stale mirror is not used. If the link dies silently, the mirror is still used
//! for at most `heartbeat_interval + heartbeat_timeout` (2 s by default; 1.98-2.0 s measured
//! with a link blackholed right after a probe, the worst case); revocations made elsewhere in
//! that window are missed until it turns stale. After that, checks go to Redis itself, and through a dead link they
//! time out after `command_timeout` and fail closed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::io::tcp::{socket2, TcpSettings};
use redis::{AsyncCommands, IntoConnectionInfo};

use super::known_down::{Failure, KnownDown};
use super::redis_link::{Link, Subscriber};
use super::redis_sessions::{
    encode_label, is_live, parse_outcome, parse_standing, session_info, SessionFields,
    CHECK_SCRIPT, END_SCRIPT, END_USER_SCRIPT, ROTATE_SCRIPT, START_SCRIPT,
};
use super::{
    Blocklist, BlocklistError, NewSession, ProofRecord, RefreshCheck, Rotation, RotationStep,
    SessionInfo, Standing, StoreClock, TokenInfo,
};

/// Options of a [`RedisBlocklist`].
///
/// ```
/// use jwt_runtime::stores::RedisBlocklistOptions;
/// let opts = RedisBlocklistOptions::default().prefix("myapp:revoked:").fail_open(false);
/// assert_eq!(opts.key_prefix, "myapp:revoked:");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisBlocklistOptions {
    /// Prefix of every key and of the pub/sub channel (default `jwt:blocklist:`).
    pub key_prefix: String,
    /// When Redis cannot answer: `false` (default) refuses the request with 503, `true` lets the
    /// token through and logs a warning. Revocation checks only: a DPoP proof Redis cannot
    /// record is always refused.
    pub fail_open: bool,
    /// How long one Redis command may take (default 1 s). Past it (or when Redis refuses the
    /// connection) the request fails closed, and Redis counts as down for a moment (250 ms):
    /// requests that need it then fail at once while one probe at a time tries it; the first
    /// answer ends the outage.
    pub command_timeout: Duration,
    /// Pause before resubscribing after the subscription dropped (default 500 ms, doubling up
    /// to 1 s, or up to this pause when it is longer).
    pub reconnect_delay: Duration,
    /// How often the subscription is probed with a `PING` (default 1 s; taken between 10 ms
    /// and a day).
    pub heartbeat_interval: Duration,
    /// How long the answer to a probe may take before the mirror is marked stale and the
    /// subscription re-established (default 1 s; taken between 10 ms and a day). A silently
    /// dead link is noticed within
    /// `heartbeat_interval + heartbeat_timeout`.
    pub heartbeat_timeout: Duration,
    /// TCP keepalive on every connection: idle time before the first probe (default 5 s; then
    /// a probe every second, 3 unanswered probes close the connection where the OS lets us set
    /// that). `None` leaves the OS default (usually off).
    pub tcp_keepalive: Option<Duration>,
    /// `TCP_USER_TIMEOUT` on every connection (Linux, Android, Fuchsia; ignored elsewhere): how
    /// long sent data may stay unacknowledged before the kernel closes the connection (default
    /// 10 s). `None` leaves the OS default (about 15 minutes of retransmissions).
    pub tcp_user_timeout: Option<Duration>,
}

impl Default for RedisBlocklistOptions {
    fn default() -> Self {
        RedisBlocklistOptions {
            key_prefix: "jwt:blocklist:".into(),
            fail_open: false,
            command_timeout: Duration::from_secs(1),
            reconnect_delay: Duration::from_millis(500),
            heartbeat_interval: Duration::from_secs(1),
            heartbeat_timeout: Duration::from_secs(1),
            tcp_keepalive: Some(Duration::from_secs(5)),
            tcp_user_timeout: Some(Duration::from_secs(10)),
        }
    }
}

impl RedisBlocklistOptions {
    /// Sets [`key_prefix`](Self::key_prefix).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Sets [`fail_open`](Self::fail_open).
    pub fn fail_open(mut self, fail_open: bool) -> Self {
        self.fail_open = fail_open;
        self
    }

    /// Sets [`heartbeat_interval`](Self::heartbeat_interval) and
    /// [`heartbeat_timeout`](Self::heartbeat_timeout) (each taken between 10 ms and a day).
    pub fn heartbeat(mut self, interval: Duration, timeout: Duration) -> Self {
        self.heartbeat_interval = interval;
        self.heartbeat_timeout = timeout;
        self
    }

    /// Sets [`tcp_keepalive`](Self::tcp_keepalive).
    pub fn tcp_keepalive(mut self, idle: Option<Duration>) -> Self {
        self.tcp_keepalive = idle;
        self
    }

    /// Sets [`tcp_user_timeout`](Self::tcp_user_timeout).
    pub fn tcp_user_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.tcp_user_timeout = timeout;
        self
    }

    /// The TCP settings of every connection.
    fn tcp_settings(&self) -> TcpSettings {
        let mut tcp = TcpSettings::default();
        if let Some(idle) = self.tcp_keepalive {
            let keepalive = socket2::TcpKeepalive::new().with_time(idle);
            #[cfg(any(
                target_os = "linux",
                target_os = "android",
                target_os = "macos",
                target_os = "ios",
                target_os = "freebsd",
                target_os = "windows"
            ))]
            let keepalive = keepalive
                .with_interval(Duration::from_secs(1))
                .with_retries(3);
            tcp = tcp.set_keepalive(keepalive);
        }
        #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
        if let Some(timeout) = self.tcp_user_timeout {
            tcp = tcp.set_user_timeout(timeout);
        }
        tcp
    }
}

/// The shortest heartbeat interval or timeout, and reconnection pause, taken.
const MIN_PERIOD: Duration = Duration::from_millis(10);
/// The longest the pause between resubscription attempts grows to (unless `reconnect_delay`
/// is longer): Redis back after an outage is resubscribed (and refilled) within about this.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// Revocations written back per pipeline after Redis lost them.
const WRITE_BACK_BATCH: usize = 500;
/// The longest heartbeat interval or timeout taken.
const MAX_PERIOD: Duration = Duration::from_secs(24 * 3600);

/// Atomically: keep the later of the stored and the new `retain_until` (`''` = forever), set the
/// key with a TTL until then, and publish the effective one. Returns the published event.
/// KEYS[1] = jti key; ARGV = retain_until or '', TTL seconds or '', channel, jti.
const REVOKE_SCRIPT: &str = r"
local current = redis.call('GET', KEYS[1])
local keep = false
if current then
  if current == '' then
    keep = true
  elseif ARGV[1] ~= '' then
    local c, w = tonumber(current), tonumber(ARGV[1])
    keep = c ~= nil and w ~= nil and c >= w
  end
end
local effective = ARGV[1]
if keep then
  effective = current
elseif ARGV[2] == '' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
if effective == '' then effective = '-' end
local event = 'jti ' .. effective .. ' ' .. ARGV[4]
redis.call('PUBLISH', ARGV[3], event)
return event
";

/// Atomically: keep the higher of the stored and the new cut-off, and publish the effective one.
/// Returns the published event. KEYS[1] = user key; ARGV = issued_before, channel, user.
const REVOKE_USER_SCRIPT: &str = r"
local current = redis.call('GET', KEYS[1])
local effective = ARGV[1]
local c, w = tonumber(current or ''), tonumber(ARGV[1])
if c ~= nil and w ~= nil and c >= w then
  effective = current
else
  redis.call('SET', KEYS[1], ARGV[1])
end
local event = 'user ' .. effective .. ' ' .. ARGV[3]
redis.call('PUBLISH', ARGV[2], event)
return event
";

/// How many sessions an instance's mirror holds before it stops keeping new "live" answers
/// (they are then asked of Redis); ends are always kept.
const MAX_LIVE_SESSIONS: usize = 100_000;

/// How long (seconds) a "live" answer of Redis about a session is served from the mirror before
/// Redis is asked again.
const LIVE_ANSWER_MAX_AGE: i64 = 60;

/// A TTL beyond this (about 34,000 years) is stored without expiry (Redis rejects TTLs that
/// overflow its millisecond clock).
const MAX_TTL: i64 = 1 << 40;

/// What an instance knows of a session (`JWT_REFRESH_ROTATION`), each with the session's
/// `until` (None: kept forever).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionSeen {
    /// Redis answered "live" while the mirror was current: live until `until`, unless an end
    /// event arrives. Dropped whenever the subscription is re-established (an end may have been
    /// missed meanwhile).
    Live(Option<i64>),
    /// Ended (an event, or an end made here): refused for good, kept while the mirror is stale
    /// and across a Redis that lost it, like a revocation.
    Ended(Option<i64>),
}

#[derive(Default)]
struct Mirror {
    /// jti -> retain_until, `exp` + leeway (None: never expires).
    jtis: HashMap<String, Option<i64>>,
    /// user -> revoked_before.
    users: HashMap<String, i64>,
    /// session id -> what is known of it.
    sessions: HashMap<String, SessionSeen>,
    /// Bumped whenever the subscription is (re)established: an answer about a session read
    /// from Redis under an earlier one may predate an end this mirror never heard of, and is
    /// not kept.
    epoch: u64,
}

impl Mirror {
    fn is_revoked(&self, token: &TokenInfo) -> bool {
        token
            .jti
            .as_ref()
            .is_some_and(|j| self.jtis.contains_key(j))
            || self
                .users
                .get(&token.user)
                .is_some_and(|before| token.issued_at <= *before)
    }

    fn apply(&mut self, event: &str) {
        let mut parts = event.splitn(3, ' ');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("jti"), Some(until), Some(jti)) => {
                self.add_jti(jti.to_string(), until.parse().ok());
            }
            (Some("user"), Some(before), Some(user)) => {
                if let Ok(before) = before.parse::<i64>() {
                    let entry = self.users.entry(user.to_string()).or_insert(before);
                    *entry = (*entry).max(before);
                }
            }
            (Some("session"), Some(until), Some(session)) => {
                self.sessions
                    .insert(session.to_string(), SessionSeen::Ended(until.parse().ok()));
            }
            _ => tracing::warn!(target: "jwt_runtime", "ignoring a malformed blocklist event"),
        }
    }

    /// Adds a revoked jti; revoked twice, the later `retain_until` wins (None = forever).
    fn add_jti(&mut self, jti: String, until: Option<i64>) {
        let until = match self.jtis.get(&jti) {
            Some(None) => None,
            Some(Some(old)) => until.map(|u| u.max(*old)),
            None => until,
        };
        self.jtis.insert(jti, until);
    }

    /// Drops the revocations whose `retain_until` has passed (their tokens are no longer
    /// accepted), and the sessions past their `until` (no longer live anyway).
    fn drop_expired(&mut self, now: i64) {
        self.jtis.retain(|_, until| until.is_none_or(|u| u >= now));
        self.sessions.retain(|_, seen| match seen {
            SessionSeen::Live(until) | SessionSeen::Ended(until) => until.is_none_or(|u| u >= now),
        });
    }

    /// Whether `session` is live, from what the mirror knows: `Some(false)` for one it knows
    /// ended (whether the mirror is `current` or not), `Some(true)` for one Redis said is live,
    /// until its `until`, only while the mirror is `current`; `None`: ask Redis.
    fn session_live(&self, session: &str, now: i64, current: bool) -> Option<bool> {
        match self.sessions.get(session)? {
            SessionSeen::Ended(_) => Some(false),
            SessionSeen::Live(until) => (current && until.is_none_or(|u| u >= now)).then_some(true),
        }
    }

    /// Keeps what Redis answered about `session` (live until `until`, or ended) under the
    /// subscription `epoch`: not if the subscription was re-established since, and never over
    /// an end.
    fn learn_session(&mut self, session: &str, seen: SessionSeen, epoch: u64) {
        if epoch != self.epoch {
            return;
        }
        match self.sessions.get(session) {
            Some(SessionSeen::Ended(_)) => return,
            // A cache of answers: past its bound a new "live" is not kept (asked again).
            None if matches!(seen, SessionSeen::Live(_))
                && self.sessions.len() >= MAX_LIVE_SESSIONS =>
            {
                return
            }
            _ => {}
        }
        self.sessions.insert(session.to_string(), seen);
    }

    /// A session ended here (a reuse, `end_session`): refused at once, before its event
    /// comes back.
    fn end_session(&mut self, session: &str) {
        self.sessions
            .entry(session.to_string())
            .and_modify(|seen| {
                if let SessionSeen::Live(until) = *seen {
                    *seen = SessionSeen::Ended(until);
                }
            })
            .or_insert(SessionSeen::Ended(None));
    }

    /// What `self` holds that `stored` (Redis's contents) lacks or keeps for less long: jtis
    /// missing or with an earlier `retain_until`, users missing or with a lower cut-off.
    fn missing_from(&self, stored: &Mirror) -> Mirror {
        let jtis = self
            .jtis
            .iter()
            .filter(|(jti, until)| match stored.jtis.get(*jti) {
                None => true,
                // Redis keeps it forever.
                Some(None) => false,
                Some(Some(kept)) => until.is_none_or(|u| u > *kept),
            })
            .map(|(jti, until)| (jti.clone(), *until))
            .collect();
        let users = self
            .users
            .iter()
            .filter(|(user, before)| stored.users.get(*user).is_none_or(|kept| kept < before))
            .map(|(user, before)| (user.clone(), *before))
            .collect();
        Mirror {
            jtis,
            users,
            ..Mirror::default()
        }
    }

    fn is_empty(&self) -> bool {
        self.jtis.is_empty() && self.users.is_empty()
    }
}

struct Shared {
    mirror: RwLock<Mirror>,
    clock: StoreClock,
    /// The mirror is loaded and the subscription is live.
    current: AtomicBool,
}

/// A revocation store in Redis for several app instances: a revocation on one instance is
/// rejected on every instance, checks are answered from a local mirror kept current by pub/sub,
/// and an unreachable Redis fails closed (see the module docs for the staleness bound).
///
/// A revocation the instance knows is never forgotten because Redis lost it: while the mirror
/// is stale (the subscription is down) what it holds is still refused, and once Redis is back
/// (restarted without its data, or a replica that had not caught up) the instance writes back
/// what Redis lacks, with its retention, so instances started later see it too. Only instances
/// alive across the loss can write back: for revocations to survive a restart by themselves,
/// give Redis persistence (AOF with `appendfsync everysec` loses at most about a second).
///
/// ```no_run
/// # async fn demo() -> Result<(), jwt_runtime::stores::BlocklistError> {
/// # let config = jwt_runtime::JwtConfig::default().with_secret("k".repeat(32));
/// let store = jwt_runtime::stores::RedisBlocklist::connect("redis://127.0.0.1:6379").await?;
/// let jwt = jwt_runtime::JwtManager::builder(config).blocklist(store).build();
/// # Ok(()) }
/// ```
pub struct RedisBlocklist {
    conn: Link,
    shared: Arc<Shared>,
    options: RedisBlocklistOptions,
    /// Whether Redis answers the commands of requests (the known-down rule).
    health: KnownDown,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RedisBlocklist {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for RedisBlocklist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBlocklist")
            .field("options", &self.options)
            .field("mirror_current", &self.is_mirror_current())
            .finish_non_exhaustive()
    }
}

fn redis_err(e: redis::RedisError) -> BlocklistError {
    BlocklistError::with_source("redis blocklist", e)
}

/// Whether Redis answered `e` (an error reply about the command: it is up) or did not
/// (refused, reset, a broken stream, or an answer that says it cannot serve now: `LOADING`,
/// `TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN`, `READONLY` after a failover).
fn redis_failure(e: redis::RedisError) -> Failure {
    use redis::{ErrorKind, ServerErrorKind as Server};
    let answered = matches!(
        e.kind(),
        ErrorKind::Server(
            Server::ResponseError
                | Server::ExecAbort
                | Server::NoScript
                | Server::CrossSlot
                | Server::NoPerm
                | Server::NotBusy
                | Server::NoSub
        ) | ErrorKind::Extension
            | ErrorKind::UnexpectedReturnType
    );
    if answered {
        Failure::Answered(redis_err(e))
    } else {
        Failure::Down(redis_err(e))
    }
}

impl RedisBlocklist {
    /// Connects with the default options.
    ///
    /// # Errors
    /// The URL is invalid or Redis is unreachable at startup.
    pub async fn connect(url: &str) -> Result<Self, BlocklistError> {
        Self::connect_with(url, RedisBlocklistOptions::default()).await
    }

    /// Connects with `options`, then keeps the mirror current in a background task.
    ///
    /// # Errors
    /// The URL is invalid or Redis is unreachable at startup.
    pub async fn connect_with(
        url: &str,
        options: RedisBlocklistOptions,
    ) -> Result<Self, BlocklistError> {
        let info = url
            .into_connection_info()
            .map_err(redis_err)?
            .set_tcp_settings(options.tcp_settings());
        let client = redis::Client::open(info).map_err(redis_err)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.command_timeout))
            .set_response_timeout(Some(options.command_timeout))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(redis_err)?;
        Ok(Self::start(
            Subscriber::Single(client),
            Link::Single(conn),
            options,
        ))
    }

    /// Connects to a Redis Cluster through `nodes` (any reachable subset of its nodes, as
    /// `redis://host:port` URLs), then keeps the mirror current in a background task (feature
    /// `redis-cluster`).
    ///
    /// Every key of the store must live on one hash slot, so that the scripts which touch
    /// several keys at once (a session and its user's index) stay atomic and one `SCAN` finds
    /// them all: the key prefix needs a hash tag. A prefix without one is taken whole as the
    /// tag (`jwt:blocklist:` becomes `{jwt:blocklist:}`); a prefix with one (`app:{jwt}:`) is
    /// kept. The events go out with `PUBLISH`, which a cluster forwards to every node, and the
    /// subscription is held on whichever node answers first.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), jwt_runtime::stores::BlocklistError> {
    /// use jwt_runtime::stores::{RedisBlocklist, RedisBlocklistOptions};
    /// let nodes = ["redis://10.0.0.1:6379", "redis://10.0.0.2:6379", "redis://10.0.0.3:6379"];
    /// let store = RedisBlocklist::connect_cluster(&nodes, RedisBlocklistOptions::default()).await?;
    /// assert_eq!(store.key_prefix(), "{jwt:blocklist:}");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// No node is given, a URL is invalid, no node is reachable at startup, or the prefix is
    /// one that no hash tag can be made of (empty, or starting with `}`).
    #[cfg(feature = "redis-cluster")]
    pub async fn connect_cluster(
        nodes: &[&str],
        options: RedisBlocklistOptions,
    ) -> Result<Self, BlocklistError> {
        let mut options = options;
        options.key_prefix = super::redis_link::cluster_prefix(&options.key_prefix)?;
        let mut infos = Vec::with_capacity(nodes.len());
        for node in nodes {
            let info = node
                .into_connection_info()
                .map_err(redis_err)?
                .set_tcp_settings(options.tcp_settings());
            infos.push(info);
        }
        if infos.is_empty() {
            return Err(BlocklistError::new(
                "redis blocklist: a cluster needs at least one node",
            ));
        }
        let client = redis::cluster::ClusterClientBuilder::new(infos.clone())
            .connection_timeout(options.command_timeout)
            .response_timeout(options.command_timeout)
            .tcp_settings(options.tcp_settings())
            .build()
            .map_err(redis_err)?;
        let conn = within(
            options.command_timeout,
            "connecting to the cluster",
            client.get_async_connection(),
        )
        .await?;
        Ok(Self::start(
            Subscriber::Cluster(infos),
            Link::Cluster(conn),
            options,
        ))
    }

    /// The prefix of every key and of the channel, as used (a cluster store's has a hash tag).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), jwt_runtime::stores::BlocklistError> {
    /// let store = jwt_runtime::stores::RedisBlocklist::connect("redis://127.0.0.1:6379").await?;
    /// assert_eq!(store.key_prefix(), "jwt:blocklist:");
    /// # Ok(()) }
    /// ```
    pub fn key_prefix(&self) -> &str {
        &self.options.key_prefix
    }

    fn start(subscriber: Subscriber, conn: Link, options: RedisBlocklistOptions) -> Self {
        let shared = Arc::new(Shared {
            mirror: RwLock::new(Mirror::default()),
            clock: StoreClock::default(),
            current: AtomicBool::new(false),
        });
        let task = tokio::spawn(keep_mirror(
            subscriber,
            conn.clone(),
            shared.clone(),
            options.clone(),
        ));
        RedisBlocklist {
            conn,
            shared,
            options,
            health: KnownDown::new("redis blocklist"),
            task,
        }
    }

    /// Whether checks are currently answered from the local mirror (no round trip). `false`
    /// while the subscription is (re)connecting: checks then ask Redis directly.
    pub fn is_mirror_current(&self) -> bool {
        self.shared.current.load(Ordering::Acquire)
    }

    /// The mirror's answer for `token`: any answer while the mirror is current, and
    /// "revoked" while it is stale (what it holds stays revoked: it only misses what was
    /// revoked elsewhere meanwhile). `None`: ask Redis. A poisoned mirror says revoked (fail
    /// closed).
    fn mirror_answer(&self, token: &TokenInfo) -> Option<bool> {
        let mirror = self.shared.mirror.read();
        let revoked = mirror.map(|m| m.is_revoked(token)).unwrap_or(true);
        (revoked || self.is_mirror_current()).then_some(revoked)
    }

    /// Waits until the mirror is current, at most `timeout`; returns whether it is.
    pub async fn wait_until_current(&self, timeout: Duration) -> bool {
        let current = async {
            while !self.is_mirror_current() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        // tokio's timeout, unlike `Instant + timeout`, takes any duration.
        tokio::time::timeout(timeout, current).await.is_ok() || self.is_mirror_current()
    }

    fn jti_key(&self, jti: &str) -> String {
        jti_key(&self.options.key_prefix, jti)
    }

    fn user_key(&self, user: &str) -> String {
        user_key(&self.options.key_prefix, user)
    }

    fn channel(&self) -> String {
        channel(&self.options)
    }

    /// Runs one command of a request within `command_timeout`, under the known-down rule.
    async fn timed<T>(
        &self,
        fut: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, BlocklistError> {
        self.health
            .run(self.options.command_timeout, async {
                fut.await.map_err(redis_failure)
            })
            .await
    }

    /// The check against Redis itself, used while the mirror is not current.
    async fn ask_redis(&self, token: &TokenInfo) -> Result<bool, BlocklistError> {
        let mut conn = self.conn.clone();
        if let Some(jti) = &token.jti {
            let exists: bool = self.timed(conn.exists(self.jti_key(jti))).await?;
            if exists {
                return Ok(true);
            }
        }
        let before: Option<i64> = self.timed(conn.get(self.user_key(&token.user))).await?;
        Ok(before.is_some_and(|b| token.issued_at <= b))
    }

    /// Runs one of the revocation scripts (store + publish, atomically) and applies the event
    /// it published to the local mirror at once.
    async fn revoke_with(
        &self,
        script: &str,
        key: String,
        args: &[&str],
    ) -> Result<(), BlocklistError> {
        let mut conn = self.conn.clone();
        let mut eval = redis::cmd("EVAL");
        eval.arg(script).arg(1).arg(key).arg(args);
        let event: String = self.timed(eval.query_async(&mut conn)).await?;
        self.shared
            .mirror
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .apply(&event);
        Ok(())
    }
}

fn channel(options: &RedisBlocklistOptions) -> String {
    format!("{}events", options.key_prefix)
}

/// The key of a revoked jti.
fn jti_key(prefix: &str, jti: &str) -> String {
    format!("{prefix}jti:{jti}")
}

/// The key of a user's cut-off ("log out everywhere").
fn user_key(prefix: &str, user: &str) -> String {
    format!("{prefix}user:{user}")
}

/// The key of a recorded DPoP proof.
fn proof_key(prefix: &str, key: &str) -> String {
    format!("{prefix}dpop:{key}")
}

/// The command that records `proof` at `now` (store clock):
/// `SET <prefix>dpop:<key> 1 NX EX <ttl>`, the TTL running one second past `retain_until` (as for revocations: `now` is rounded
/// down), at least a second; without `EX` when it would overflow Redis's clock. Relative, not
/// `EXAT`: Redis counts down in its own time what the store's clock says is left, so a frozen or
/// skewed clock keeps records exactly as long as it says.
fn proof_command(prefix: &str, proof: &ProofRecord, now: i64) -> redis::Cmd {
    let (_, ttl) = retention(Some(proof.retain_until), now);
    let mut set = redis::cmd("SET");
    set.arg(proof_key(prefix, &proof.key)).arg(1).arg("NX");
    if !ttl.is_empty() {
        set.arg("EX").arg(ttl);
    }
    set
}

/// The `SCAN` pattern of the mirror's load: only the keys it loads (`jti:`, `user:`), so that
/// the DPoP proofs (`dpop:`, as many as requests within their window) and the sessions are not
/// fetched with them.
fn load_pattern(prefix: &str) -> String {
    format!("{}[ju]*", glob_escape(prefix))
}

/// Marks the mirror stale when dropped: when the task keeping it is aborted or unwinds.
struct StaleOnExit(Arc<Shared>);

impl Drop for StaleOnExit {
    fn drop(&mut self) {
        self.0.current.store(false, Ordering::Release);
    }
}

/// Subscribe, load, serve from the mirror until the subscription drops; repeat forever.
async fn keep_mirror(
    subscriber: Subscriber,
    conn: Link,
    shared: Arc<Shared>,
    options: RedisBlocklistOptions,
) {
    // Should this task ever end (it only loops), the mirror must not stay "current".
    let _stale_on_exit = StaleOnExit(shared.clone());
    let first_delay = options.reconnect_delay.max(MIN_PERIOD);
    let mut delay = first_delay;
    loop {
        let outcome = follow(&subscriber, conn.clone(), &shared, &options).await;
        // Stale from here on: checks ask Redis directly until the mirror is reloaded.
        let was_current = shared.current.swap(false, Ordering::AcqRel);
        match outcome {
            Ok(()) => {
                tracing::warn!(target: "jwt_runtime", "redis blocklist subscription ended; checks ask redis directly until it is back")
            }
            Err(e) => {
                tracing::warn!(target: "jwt_runtime", reason = %e, "redis blocklist subscription failed; checks ask redis directly until it is back")
            }
        }
        if was_current {
            // It worked until now: this is a new outage, start the backoff over.
            delay = first_delay;
        }
        tokio::time::sleep(delay).await;
        delay = delay
            .saturating_mul(2)
            .min(MAX_RECONNECT_DELAY.max(first_delay));
    }
}

/// `text` matched literally in a `SCAN MATCH` glob.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// `fut`, or an error once `limit` has passed.
async fn within<T>(
    limit: Duration,
    what: &str,
    fut: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, BlocklistError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result.map_err(redis_err),
        Err(_) => Err(BlocklistError::new(format!(
            "redis blocklist: {what} took longer than {limit:?}"
        ))),
    }
}

async fn follow(
    subscriber: &Subscriber,
    mut conn: Link,
    shared: &Shared,
    options: &RedisBlocklistOptions,
) -> Result<(), BlocklistError> {
    // A link that swallows packets would otherwise hang the connection or the SUBSCRIBE forever.
    let pubsub = subscriber.pubsub(options.command_timeout).await?;
    let (mut sink, mut messages) = pubsub.split();
    within(
        options.command_timeout,
        "SUBSCRIBE",
        sink.subscribe(channel(options)),
    )
    .await?;
    // Load what already exists only after subscribing: nothing falls in between.
    let mut loaded = Mirror::default();
    let mut cursor: u64 = 0;
    let pattern = load_pattern(&options.key_prefix);
    loop {
        let (next, keys) = conn
            .scan_page(cursor, &pattern, &options.key_prefix)
            .await
            .map_err(redis_err)?;
        if !keys.is_empty() {
            let values: Vec<Option<Vec<u8>>> = conn.mget(&keys).await.map_err(redis_err)?;
            for (key, value) in keys.iter().zip(values) {
                // Not ours (or not text): skip it rather than fail the whole load.
                let (Ok(key), Some(Ok(value))) = (
                    std::str::from_utf8(key),
                    value.as_deref().map(std::str::from_utf8),
                ) else {
                    continue;
                };
                let Some(rest) = key.strip_prefix(options.key_prefix.as_str()) else {
                    continue;
                };
                if let Some(jti) = rest.strip_prefix("jti:") {
                    loaded.jtis.insert(jti.to_string(), value.parse().ok());
                } else if let Some(user) = rest.strip_prefix("user:")
                    && let Ok(before) = value.parse()
                {
                    loaded.users.insert(user.to_string(), before);
                }
            }
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    let now = shared.clock.seconds();
    let lost = {
        let mut mirror = shared.mirror.write().unwrap_or_else(|p| p.into_inner());
        mirror.drop_expired(now);
        let lost = mirror.missing_from(&loaded);
        for (jti, until) in mirror.jtis.drain() {
            loaded.add_jti(jti, until);
        }
        for (user, before) in mirror.users.drain() {
            let entry = loaded.users.entry(user).or_insert(before);
            *entry = (*entry).max(before);
        }
        // The ends it knows stay; what Redis said was live may have ended meanwhile.
        loaded.sessions = mirror
            .sessions
            .drain()
            .filter(|(_, seen)| matches!(seen, SessionSeen::Ended(_)))
            .collect();
        loaded.epoch = mirror.epoch.wrapping_add(1);
        loaded.drop_expired(now);
        *mirror = loaded;
        lost
    };
    // Until this succeeds the mirror stays stale (and still refuses what it holds); the next
    // attempt finds the same entries missing and writes them again.
    write_back(&mut conn, &lost, now, options).await?;
    shared.current.store(true, Ordering::Release);
    tracing::debug!(target: "jwt_runtime", "redis blocklist mirror is current");
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    let period = options.heartbeat_interval.clamp(MIN_PERIOD, MAX_PERIOD);
    let patience = options.heartbeat_timeout.clamp(MIN_PERIOD, MAX_PERIOD);
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else { return Ok(()) };
                let Ok(event) = message.get_payload::<String>() else { continue };
                shared.mirror.write().unwrap_or_else(|p| p.into_inner()).apply(&event);
            }
            _ = heartbeat.tick() => {
                // Messages arriving meanwhile wait in the stream's buffer; none is lost.
                within(patience, "the heartbeat PING", sink.ping::<redis::Value>()).await?;
            }
            _ = tick.tick() => {
                shared.mirror.write().unwrap_or_else(|p| p.into_inner()).drop_expired(shared.clock.seconds());
            }
        }
    }
}

/// Writes back to Redis what it lost (see [`Mirror::missing_from`]), with the revocation
/// scripts: each keeps the later retention and the higher cut-off, and publishes, so live
/// instances hear it and instances started later load it.
async fn write_back(
    conn: &mut Link,
    lost: &Mirror,
    now: i64,
    options: &RedisBlocklistOptions,
) -> Result<(), BlocklistError> {
    if lost.is_empty() {
        return Ok(());
    }
    tracing::warn!(
        target: "jwt_runtime",
        jtis = lost.jtis.len(),
        users = lost.users.len(),
        "redis lost revocations this instance holds (restarted without its data?); writing them back"
    );
    let channel = channel(options);
    let prefix = &options.key_prefix;
    let jtis = lost.jtis.iter().map(|(jti, until)| {
        let (until, ttl) = retention(*until, now);
        let mut eval = redis::cmd("EVAL");
        eval.arg(REVOKE_SCRIPT)
            .arg(1)
            .arg(jti_key(prefix, jti))
            .arg(until)
            .arg(ttl)
            .arg(&channel)
            .arg(jti);
        eval
    });
    let users = lost.users.iter().map(|(user, before)| {
        let mut eval = redis::cmd("EVAL");
        eval.arg(REVOKE_USER_SCRIPT)
            .arg(1)
            .arg(user_key(prefix, user))
            .arg(before)
            .arg(&channel)
            .arg(user);
        eval
    });
    let commands: Vec<redis::Cmd> = jtis.chain(users).collect();
    for batch in commands.chunks(WRITE_BACK_BATCH) {
        let mut pipe = redis::pipe();
        for command in batch {
            pipe.add_command(command.clone()).ignore();
        }
        within(
            options.command_timeout,
            "writing back lost revocations",
            pipe.query_async::<()>(conn),
        )
        .await?;
    }
    Ok(())
}

impl Blocklist for RedisBlocklist {
    fn use_clock(&mut self, clock: Arc<dyn crate::vocabulary::Clock>) {
        self.shared.clock.set(clock);
    }

    async fn is_revoked(&self, token: &TokenInfo) -> Result<bool, BlocklistError> {
        if let Some(revoked) = self.mirror_answer(token) {
            return Ok(revoked);
        }
        match self.ask_redis(token).await {
            Ok(revoked) => Ok(revoked),
            Err(e) if self.options.fail_open => {
                tracing::warn!(target: "jwt_runtime", reason = %e, "redis blocklist unreachable; letting the token through (fail_open)");
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn is_revoked_now(&self, token: &TokenInfo) -> Option<Result<bool, BlocklistError>> {
        self.mirror_answer(token).map(Ok)
    }

    async fn revoke(&self, token: &TokenInfo) -> Result<(), BlocklistError> {
        let Some(jti) = &token.jti else {
            return Err(BlocklistError::new(
                "a token without a jti cannot be revoked on its own",
            ));
        };
        let (until, ttl) = self.retention(token.retain_until);
        self.revoke_with(
            REVOKE_SCRIPT,
            self.jti_key(jti),
            &[&until, &ttl, &self.channel(), jti],
        )
        .await
    }

    async fn revoke_user(&self, user: &str, issued_before: i64) -> Result<(), BlocklistError> {
        self.revoke_with(
            REVOKE_USER_SCRIPT,
            self.user_key(user),
            &[&issued_before.to_string(), &self.channel(), user],
        )
        .await?;
        self.end_sessions_before(user, issued_before).await
    }

    fn keeps_sessions(&self) -> bool {
        true
    }

    async fn start_session(&self, session: &NewSession) -> Result<(), BlocklistError> {
        let (until, ttl) = self.retention(session.retain_until);
        let label = encode_label(session.label.as_deref());
        let mut eval = redis::cmd("EVAL");
        eval.arg(START_SCRIPT)
            .arg(2)
            .arg(self.session_key(&session.session))
            .arg(self.sessions_key(&session.user))
            .arg(&session.user)
            .arg(label)
            .arg(session.created_at)
            .arg(&session.jti)
            .arg(until)
            .arg(ttl)
            .arg(&session.session)
            .arg(self.shared.clock.seconds());
        let mut conn = self.conn.clone();
        self.timed(eval.query_async::<i64>(&mut conn)).await?;
        Ok(())
    }

    async fn rotate(&self, step: &RotationStep) -> Result<Rotation, BlocklistError> {
        // An end this instance knows stands even where Redis lost the session (an adopted
        // session would otherwise start anew).
        if self.known_ended(&step.session) {
            return Ok(Rotation::Ended);
        }
        let (until, ttl) = self.retention(step.retain_until);
        let mut eval = redis::cmd("EVAL");
        eval.arg(ROTATE_SCRIPT)
            .arg(2)
            .arg(self.session_key(&step.session))
            .arg(self.sessions_key(&step.user))
            .arg(&step.used)
            .arg(&step.new)
            .arg(step.now)
            .arg(step.grace)
            .arg(until)
            .arg(ttl)
            .arg(&step.session)
            .arg(&step.user)
            .arg(if step.adopt { "1" } else { "" })
            .arg(self.channel());
        let mut conn = self.conn.clone();
        let outcome: String = self.timed(eval.query_async(&mut conn)).await?;
        let outcome = parse_outcome(&outcome)?;
        if outcome == Rotation::Reused {
            self.ended_here(&step.session);
        }
        Ok(outcome)
    }

    async fn check_refresh(&self, check: &RefreshCheck) -> Result<Standing, BlocklistError> {
        if self.known_ended(&check.session) {
            return Ok(Standing::Ended);
        }
        let mut eval = redis::cmd("EVAL");
        eval.arg(CHECK_SCRIPT)
            .arg(1)
            .arg(self.session_key(&check.session))
            .arg(&check.jti)
            .arg(check.now)
            .arg(check.grace)
            .arg(&check.user)
            .arg(if check.adopt { "1" } else { "" })
            .arg(&check.session)
            .arg(self.channel());
        let mut conn = self.conn.clone();
        let standing: String = self.timed(eval.query_async(&mut conn)).await?;
        let standing = parse_standing(&standing)?;
        if standing == Standing::Reused {
            self.ended_here(&check.session);
        }
        Ok(standing)
    }

    async fn session_is_live(&self, session: &str) -> Result<bool, BlocklistError> {
        if let Some(live) = self.mirror_session(session) {
            return Ok(live);
        }
        // The subscription this answer is read under, when the mirror is current: the answer
        // is kept only if no end could have been missed since.
        let epoch = {
            let mirror = self.shared.mirror.read().unwrap_or_else(|p| p.into_inner());
            self.is_mirror_current().then_some(mirror.epoch)
        };
        let mut conn = self.conn.clone();
        let mut hmget = redis::cmd("HMGET");
        hmget
            .arg(self.session_key(session))
            .arg("ended")
            .arg("until");
        let (ended, until): (Option<String>, Option<String>) =
            self.timed(hmget.query_async(&mut conn)).await?;
        let now = self.shared.clock.seconds();
        let until_seconds = until.as_deref().and_then(|u| u.parse::<i64>().ok());
        let ended_for_good = ended.as_deref() == Some("1");
        let live = is_live((ended, until), now);
        if let Some(epoch) = epoch {
            let seen = if live {
                // Kept a minute at most: an end published by an instance that does not publish
                // ends (an older version, during a rolling upgrade) is then heard from Redis.
                let asked_again = now.saturating_add(LIVE_ANSWER_MAX_AGE);
                Some(SessionSeen::Live(Some(
                    until_seconds.map_or(asked_again, |until| until.min(asked_again)),
                )))
            } else if ended_for_good {
                Some(SessionSeen::Ended(until_seconds))
            } else {
                // Unknown or expired: nothing to keep.
                None
            };
            if let Some(seen) = seen {
                self.shared
                    .mirror
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .learn_session(session, seen, epoch);
            }
        }
        Ok(live)
    }

    fn session_is_live_now(&self, session: &str) -> Option<Result<bool, BlocklistError>> {
        self.mirror_session(session).map(Ok)
    }

    async fn sessions(&self, user: &str) -> Result<Vec<SessionInfo>, BlocklistError> {
        let mut conn = self.conn.clone();
        let now = self.shared.clock.seconds();
        let ids: Vec<String> = self
            .timed(conn.zrangebyscore(self.sessions_key(user), now, "+inf"))
            .await?;
        let mut live = Vec::with_capacity(ids.len());
        for id in ids {
            let mut hmget = redis::cmd("HMGET");
            hmget
                .arg(self.session_key(&id))
                .arg(&["ended", "until", "created", "last", "label"]);
            let fields: SessionFields = self.timed(hmget.query_async(&mut conn)).await?;
            if let Some(info) = session_info(id, fields, now) {
                live.push(info);
            }
        }
        live.sort_by(|a, b| (a.created_at, &a.session).cmp(&(b.created_at, &b.session)));
        Ok(live)
    }

    fn keeps_proofs(&self) -> bool {
        true
    }

    /// Records a DPoP proof in Redis, shared by every instance:
    /// `SET <prefix>dpop:<key> 1 NX EX <ttl>`, one round trip, atomic (two instances racing with one proof get one `true`
    /// between them), kept until `retain_until` by the store's clock. No mirror answers for it
    /// (there is no `record_proof_now`), and when Redis cannot answer the proof is refused
    /// with an error whatever [`fail_open`](RedisBlocklistOptions::fail_open) says.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), jwt_runtime::stores::BlocklistError> {
    /// use jwt_runtime::stores::{Blocklist, ProofRecord, RedisBlocklist};
    /// let one = RedisBlocklist::connect("redis://127.0.0.1:6379").await?;
    /// let two = RedisBlocklist::connect("redis://127.0.0.1:6379").await?;
    /// let proof = ProofRecord { key: "ab".repeat(32), retain_until: 1_700_000_060 };
    /// assert!(one.record_proof(&proof).await?);
    /// assert!(!two.record_proof(&proof).await?, "a replay, on another instance");
    /// # Ok(()) }
    /// ```
    async fn record_proof(&self, proof: &ProofRecord) -> Result<bool, BlocklistError> {
        self.set_proof(proof).await
    }

    async fn end_session(&self, user: &str, session: &str) -> Result<bool, BlocklistError> {
        let mut eval = redis::cmd("EVAL");
        eval.arg(END_SCRIPT)
            .arg(1)
            .arg(self.session_key(session))
            .arg(user)
            .arg(self.shared.clock.seconds())
            .arg(session)
            .arg(self.channel());
        let mut conn = self.conn.clone();
        let event: String = self.timed(eval.query_async(&mut conn)).await?;
        if event.is_empty() {
            return Ok(false);
        }
        self.apply_here(std::iter::once(event));
        Ok(true)
    }
}

impl RedisBlocklist {
    /// Records a DPoP proof: one `SET NX` with a TTL until its `retain_until` (see
    /// [`proof_command`]). `OK` means no instance recorded it before; an empty answer, a replay.
    async fn set_proof(&self, proof: &ProofRecord) -> Result<bool, BlocklistError> {
        let command = proof_command(&self.options.key_prefix, proof, self.shared.clock.seconds());
        let mut conn = self.conn.clone();
        let answer: redis::Value = self.timed(command.query_async(&mut conn)).await?;
        match answer {
            redis::Value::Okay => Ok(true),
            redis::Value::Nil => Ok(false),
            other => Err(BlocklistError::new(format!(
                "redis blocklist: unexpected answer to SET NX for a DPoP proof: {other:?}"
            ))),
        }
    }

    /// Ends the live sessions of `user` not refreshed after `issued_before` (all their tokens
    /// fall under the cut-off).
    async fn end_sessions_before(
        &self,
        user: &str,
        issued_before: i64,
    ) -> Result<(), BlocklistError> {
        let mut eval = redis::cmd("EVAL");
        eval.arg(END_USER_SCRIPT)
            .arg(1)
            .arg(self.sessions_key(user))
            .arg(self.session_key(""))
            .arg(issued_before)
            .arg(self.shared.clock.seconds())
            .arg(self.channel());
        let mut conn = self.conn.clone();
        let events: Vec<String> = self.timed(eval.query_async(&mut conn)).await?;
        self.apply_here(events);
        Ok(())
    }

    /// The mirror's answer about `session` (see [`Mirror::session_live`]); a poisoned mirror
    /// says "not live" (fail closed). `None`: ask Redis.
    fn mirror_session(&self, session: &str) -> Option<bool> {
        let now = self.shared.clock.seconds();
        match self.shared.mirror.read() {
            Ok(mirror) => mirror.session_live(session, now, self.is_mirror_current()),
            Err(_) => Some(false),
        }
    }

    /// Whether the mirror knows `session` ended.
    fn known_ended(&self, session: &str) -> bool {
        let mirror = self.shared.mirror.read().unwrap_or_else(|p| p.into_inner());
        matches!(mirror.sessions.get(session), Some(SessionSeen::Ended(_)))
    }

    /// A session this instance ended (a reuse it detected): refused here at once.
    fn ended_here(&self, session: &str) {
        self.shared
            .mirror
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .end_session(session);
    }

    /// Events this instance published, applied to its own mirror at once.
    fn apply_here(&self, events: impl IntoIterator<Item = String>) {
        let mut mirror = self
            .shared
            .mirror
            .write()
            .unwrap_or_else(|p| p.into_inner());
        for event in events {
            mirror.apply(&event);
        }
    }

    fn session_key(&self, session: &str) -> String {
        format!("{}session:{session}", self.options.key_prefix)
    }

    fn sessions_key(&self, user: &str) -> String {
        format!("{}sessions:{user}", self.options.key_prefix)
    }

    /// `retain_until` and the TTL that keeps a key until then, as script arguments (`''`: forever).
    fn retention(&self, retain_until: Option<i64>) -> (String, String) {
        retention(retain_until, self.shared.clock.seconds())
    }
}

/// `retain_until` and the TTL that keeps a key until then, `now` being `now`, as script
/// arguments (`''`: forever).
fn retention(retain_until: Option<i64>, now: i64) -> (String, String) {
    match retain_until {
        None => (String::new(), String::new()),
        Some(until) => {
            // One second more than whole seconds say: `now` is rounded down, and the
            // key must outlive the last instant the token is accepted.
            let ttl = until.saturating_sub(now).saturating_add(1).max(1);
            let ttl = if ttl > MAX_TTL {
                String::new()
            } else {
                ttl.to_string()
            };
            (until.to_string(), ttl)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_redis_lost_is_what_the_mirror_holds_longer_or_alone() {
        let mut held = Mirror::default();
        held.add_jti("gone".into(), Some(100));
        held.add_jti("kept".into(), Some(100));
        held.add_jti("shorter".into(), Some(200));
        held.add_jti("forever".into(), None);
        held.add_jti("forever-kept".into(), None);
        held.users.insert("gone".into(), 10);
        held.users.insert("lower".into(), 20);
        held.users.insert("higher".into(), 20);
        let mut stored = Mirror::default();
        stored.add_jti("kept".into(), Some(150));
        stored.add_jti("shorter".into(), Some(100));
        stored.add_jti("forever".into(), Some(100));
        stored.add_jti("forever-kept".into(), None);
        stored.users.insert("lower".into(), 15);
        stored.users.insert("higher".into(), 30);
        let lost = held.missing_from(&stored);
        let mut jtis: Vec<_> = lost.jtis.into_iter().collect();
        jtis.sort();
        assert_eq!(
            jtis,
            [
                ("forever".to_string(), None),
                ("gone".to_string(), Some(100)),
                ("shorter".to_string(), Some(200)),
            ]
        );
        let mut users: Vec<_> = lost.users.into_iter().collect();
        users.sort();
        assert_eq!(users, [("gone".to_string(), 10), ("lower".to_string(), 20)]);
        assert!(held.missing_from(&held).is_empty());
    }

    fn args(command: &redis::Cmd) -> Vec<String> {
        command
            .args_iter()
            .map(|arg| match arg {
                redis::Arg::Simple(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                _ => "<not a plain argument>".into(),
            })
            .collect()
    }

    #[test]
    fn a_proof_is_one_set_nx_until_one_second_past_retain_until() {
        let proof = ProofRecord {
            key: "ab".repeat(32),
            retain_until: 1_060,
        };
        let key = format!("p:dpop:{}", "ab".repeat(32));
        assert_eq!(
            args(&proof_command("p:", &proof, 1_000)),
            ["SET", key.as_str(), "1", "NX", "EX", "61"]
        );
        // Already past: kept a second (the pipeline refuses it by its iat anyway).
        assert_eq!(args(&proof_command("p:", &proof, 2_000))[5], "1");
        let forever = ProofRecord {
            retain_until: i64::MAX,
            ..proof
        };
        assert_eq!(args(&proof_command("p:", &forever, 0)).len(), 4);
    }

    #[test]
    fn the_load_matches_revocations_only_not_proofs_or_sessions() {
        assert_eq!(load_pattern("a*b:"), "a\\*b:[ju]*");
    }

    #[test]
    fn retention_keeps_a_key_one_second_past_retain_until_and_forever_when_huge() {
        assert_eq!(retention(None, 5), (String::new(), String::new()));
        assert_eq!(retention(Some(10), 5), ("10".into(), "6".into()));
        assert_eq!(retention(Some(1), 5), ("1".into(), "1".into()));
        assert_eq!(retention(Some(i64::MAX), 0).1, "");
    }
}
