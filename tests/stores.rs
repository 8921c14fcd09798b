//! The revocation stores against real backends: SQLite (embedded, always), PostgreSQL and Redis
//! (`#[ignore = "needs ..."]`: run them with `cargo test -p jwt-tests --test behaviour stores:: -- --ignored`
//! against Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432, as `.ci/run` does).
//! The Redis tests run two app instances against one Redis and cut the connection mid-test.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use jwt_runtime::stores::{
    Blocklist, BlocklistError, MemoryBlocklist, NewSession, ProofRecord, RedisBlocklist,
    RedisBlocklistOptions, RefreshCheck, Rotation, RotationStep, SessionInfo, SqlBlocklist,
    Standing, TokenInfo,
};
use jwt_runtime::{jwt_required, Identity, Jwt, JwtManager};
use poem::{delete, get, handler, web::Json, EndpointExt, Route};
use serde_json::{json, Value};
use support::*;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

const REDIS: &str = "127.0.0.1:6379";
const POSTGRES: &str = "127.0.0.1:5432";

fn postgres_url() -> String {
    std::env::var("JWT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[jwt_required]
#[handler]
async fn protected(identity: Identity) -> String {
    identity.to_string()
}

#[jwt_required(verify_type = false)]
#[handler]
async fn logout(token: Jwt, jwt: JwtManager) -> poem::Result<Json<Value>> {
    jwt.revoke_token(token.raw()).await?;
    Ok(Json(json!({"msg": "JWT revoked"})))
}

#[jwt_required]
#[handler]
async fn logout_everywhere(identity: Identity, jwt: JwtManager) -> poem::Result<&'static str> {
    jwt.revoke_all_for_user(identity.value()).await?;
    Ok("ok")
}

pub(crate) fn app() -> Route {
    Route::new()
        .at("/protected", get(protected))
        .at("/logout", delete(logout))
        .at("/logout_everywhere", delete(logout_everywhere))
}

fn info(jti: &str, user: &str, issued_at: i64) -> TokenInfo {
    TokenInfo {
        jti: Some(jti.into()),
        token_type: "access".into(),
        user: user.into(),
        issued_at,
        expires_at: Some(NOW + 900),
        retain_until: Some(NOW + 900),
    }
}

/// Whether `token` is revoked, asking `is_revoked`; a store that also answers in place
/// (`is_revoked_now`) must give the same answer there.
async fn revoked(store: &impl Blocklist, token: &TokenInfo) -> bool {
    let answer = store.is_revoked(token).await.unwrap();
    if let Some(now) = store.is_revoked_now(token) {
        assert_eq!(
            now.unwrap(),
            answer,
            "is_revoked_now disagrees for {token:?}"
        );
    }
    answer
}

/// The contract every store keeps.
async fn store_contract(store: &impl Blocklist) -> TokenInfo {
    let a = info(&unique("jti"), "alice", NOW);
    let b = info(&unique("jti"), "bob", NOW);
    assert!(!revoked(store, &a).await);
    store.revoke(&a).await.unwrap();
    assert!(revoked(store, &a).await);
    assert!(!revoked(store, &b).await);
    store.revoke_user("bob", NOW).await.unwrap();
    assert!(revoked(store, &b).await);
    assert!(revoked(store, &info("other", "bob", NOW - 100)).await);
    assert!(!revoked(store, &info("later", "bob", NOW + 1)).await);
    // A later, smaller cut-off (another instance racing, a clock behind) never lowers it.
    store.revoke_user("bob", NOW - 500).await.unwrap();
    assert!(
        revoked(store, &info("again", "bob", NOW)).await,
        "revoke_user(user, smaller) must not lower the cut-off"
    );
    assert!(!revoked(store, &info("later", "bob", NOW + 1)).await);
    let mut no_jti = info("x", "carol", NOW);
    no_jti.jti = None;
    assert!(!revoked(store, &no_jti).await);
    assert!(store.revoke(&no_jti).await.is_err());
    a
}

/// What a second view of the same shared store (another pool, an instance started later) must
/// see after [`store_contract`]: the revoked token, and bob's cut-off at `NOW`, not lowered.
async fn assert_remembered(store: &impl Blocklist, revoked_token: &TokenInfo) {
    assert!(revoked(store, revoked_token).await);
    assert!(
        revoked(store, &info("again", "bob", NOW)).await,
        "the shared store holds the highest cut-off, not the last one written"
    );
    assert!(!revoked(store, &info("later", "bob", NOW + 1)).await);
}

fn real_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A token past its `exp` but inside the verifier's leeway is still accepted, so a store must
/// keep its revocation until `retain_until`, not drop it at `exp`. Returns that token.
async fn leeway_contract(store: &impl Blocklist) -> TokenInfo {
    let now = real_now();
    let grace = TokenInfo {
        jti: Some(unique("grace")),
        token_type: "access".into(),
        user: "dave".into(),
        issued_at: now - 100,
        expires_at: Some(now - 10),
        retain_until: Some(now + 300),
    };
    store.revoke(&grace).await.unwrap();
    // Another revocation: the memory store prunes as new ones arrive.
    store
        .revoke(&info(&unique("jti"), "erin", NOW))
        .await
        .unwrap();
    assert!(
        store.is_revoked(&grace).await.unwrap(),
        "a token inside the leeway window is still accepted, so its revocation must be kept"
    );
    grace
}

/// A custom token type longer than the old `VARCHAR(16)` column.
fn long_type_token() -> TokenInfo {
    let mut token = info(&unique("long"), "frank", NOW);
    token.token_type = "refresh_for_the_mobile_app_version_2_abc".into();
    assert_eq!(token.token_type.len(), 40);
    token
}

async fn long_type_contract(store: &impl Blocklist) {
    let token = long_type_token();
    store
        .revoke(&token)
        .await
        .expect("a token with a 40-character type can be revoked");
    assert!(store.is_revoked(&token).await.unwrap());
}

/// Shares one store between a manager and the test (the manager takes its store by value).
struct Shared<B>(Arc<B>);

impl<B: Blocklist> Blocklist for Shared<B> {
    async fn is_revoked(&self, token: &TokenInfo) -> Result<bool, BlocklistError> {
        self.0.is_revoked(token).await
    }
    async fn revoke(&self, token: &TokenInfo) -> Result<(), BlocklistError> {
        self.0.revoke(token).await
    }
    async fn revoke_user(&self, user: &str, issued_before: i64) -> Result<(), BlocklistError> {
        self.0.revoke_user(user, issued_before).await
    }
}

#[tokio::test]
async fn memory_store_contract() {
    store_contract(&jwt_runtime::stores::MemoryBlocklist::new()).await;
}

#[tokio::test]
async fn sqlite_store_contract_and_audit_columns() {
    let store = SqlBlocklist::connect("sqlite::memory:").await.unwrap();
    store_contract(&store).await;
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT type, user_identity, created_at FROM jwt_token_blocklist")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str()),
        ("access", "alice")
    );
    assert!(rows[0].2 > 1_700_000_000, "created_at is a unix time");
    assert!(
        SqlBlocklist::connect_with_table("sqlite::memory:", "x; DROP TABLE y")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn memory_keeps_revocations_through_the_leeway_window() {
    leeway_contract(&jwt_runtime::stores::MemoryBlocklist::new()).await;
}

#[tokio::test]
async fn sqlite_keeps_revocations_through_the_leeway_window_and_records_retain_until() {
    let store = SqlBlocklist::connect("sqlite::memory:").await.unwrap();
    let grace = leeway_contract(&store).await;
    assert_retain_until_recorded(&store, &grace).await;
}

/// `expires_at` stays the token's `exp` (audit); `retain_until` is when the row may go.
async fn assert_retain_until_recorded(store: &SqlBlocklist, token: &TokenInfo) {
    let sql = format!(
        "SELECT expires_at, retain_until FROM {} WHERE jti = $1",
        store.table()
    );
    let row: (Option<i64>, Option<i64>) = sqlx::query_as(&sql)
        .bind(token.jti.clone().unwrap())
        .fetch_one(store.pool())
        .await
        .expect("the table has a retain_until column");
    assert_eq!(row, (token.expires_at, token.retain_until));
}

#[tokio::test]
async fn sqlite_stores_a_long_custom_type() {
    // SQLite never enforced VARCHAR(16); this guards the schema against regressing.
    long_type_contract(&SqlBlocklist::connect("sqlite::memory:").await.unwrap()).await;
}

/// The table as an earlier version created it (no retain_until, `type VARCHAR(16)`), with one
/// revocation in it.
async fn create_old_table(pool: &sqlx::AnyPool, table: &str, id: &str, old: &TokenInfo) {
    for statement in [
        format!(
            "CREATE TABLE {table} (id {id}, jti VARCHAR(128) NOT NULL, type VARCHAR(16) NOT NULL, \
             user_identity TEXT NOT NULL, expires_at BIGINT, created_at BIGINT NOT NULL)"
        ),
        format!(
            "CREATE TABLE {table}_users (user_identity TEXT PRIMARY KEY, revoked_before BIGINT NOT NULL)"
        ),
    ] {
        sqlx::query(&statement).execute(pool).await.unwrap();
    }
    sqlx::query(&format!(
        "INSERT INTO {table} (jti, type, user_identity, expires_at, created_at) VALUES ($1, 'access', $2, $3, 1)"
    ))
    .bind(old.jti.clone().unwrap())
    .bind(old.user.clone())
    .bind(old.expires_at)
    .execute(pool)
    .await
    .unwrap();
}

/// Connecting to a table of an earlier version upgrades it in place: old rows stay revoked, and
/// new rows carry retain_until and any type.
async fn assert_old_table_upgraded(url: &str, table: &str, old: &TokenInfo) -> SqlBlocklist {
    let store = SqlBlocklist::connect_with_table(url, table)
        .await
        .expect("an existing table of an earlier version is upgraded");
    // Connecting again is a no-op.
    let store_again = SqlBlocklist::connect_with_table(url, table).await.unwrap();
    assert!(store_again.is_revoked(old).await.unwrap());
    long_type_contract(&store).await;
    let grace = leeway_contract(&store).await;
    assert_retain_until_recorded(&store, &grace).await;
    store
}

#[tokio::test]
async fn sqlite_upgrades_a_table_of_an_earlier_version() {
    sqlx::any::install_default_drivers();
    let path = std::env::temp_dir().join(format!("{}.db", unique("old_blocklist")));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let old = info(&unique("old"), "alice", NOW);
    create_old_table(
        &pool,
        "jwt_token_blocklist",
        "INTEGER PRIMARY KEY AUTOINCREMENT",
        &old,
    )
    .await;
    pool.close().await;
    assert_old_table_upgraded(&url, "jwt_token_blocklist", &old).await;
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn sqlite_file_store_survives_a_restart() {
    let path = std::env::temp_dir().join(format!("{}.db", unique("blocklist")));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let a = info("restart-jti", "alice", NOW);
    SqlBlocklist::connect(&url)
        .await
        .unwrap()
        .revoke(&a)
        .await
        .unwrap();
    assert!(SqlBlocklist::connect(&url)
        .await
        .unwrap()
        .is_revoked(&a)
        .await
        .unwrap());
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
#[ignore = "needs PostgreSQL"]
async fn postgres_store_contract_and_http_flow() {
    require_service("PostgreSQL", POSTGRES);
    let table = unique("blocklist");
    let store = SqlBlocklist::connect_with_table(&postgres_url(), &table)
        .await
        .expect("connect to PostgreSQL");
    let revoked = store_contract(&store).await;
    long_type_contract(&store).await;
    let grace = leeway_contract(&store).await;
    assert_retain_until_recorded(&store, &grace).await;

    let jwt = builder(config()).blocklist(store.clone()).build().unwrap();
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let token = jwt.create_access_token("alice").await.unwrap();
    cli.get("/protected")
        .header("Authorization", bearer(&token))
        .send()
        .await
        .assert_text("alice")
        .await;
    cli.delete("/logout")
        .header("Authorization", bearer(&token))
        .send()
        .await
        .assert_json(json!({"msg": "JWT revoked"}))
        .await;
    assert_msg(
        cli.get("/protected")
            .header("Authorization", bearer(&token))
            .send()
            .await,
        401,
        "Token has been revoked",
    )
    .await;
    // A second process (a new pool on the same database) sees it too.
    let other = SqlBlocklist::connect_with_table(&postgres_url(), &table)
        .await
        .unwrap();
    assert_remembered(&other, &revoked).await;
    let claims = jwt.decode_token(&token).unwrap();
    assert!(other
        .is_revoked(&TokenInfo::from_claims(&claims, "sub", 0))
        .await
        .unwrap());
    for t in [
        table.clone(),
        format!("{table}_users"),
        format!("{table}_dpop_proofs"),
    ] {
        sqlx::query(&format!("DROP TABLE {t}"))
            .execute(store.pool())
            .await
            .unwrap();
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL"]
async fn postgres_upgrades_a_table_of_an_earlier_version() {
    require_service("PostgreSQL", POSTGRES);
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&postgres_url()).await.unwrap();
    let table = unique("old_blocklist");
    let old = info(&unique("old"), "alice", NOW);
    create_old_table(&pool, &table, "BIGSERIAL PRIMARY KEY", &old).await;
    let store = assert_old_table_upgraded(&postgres_url(), &table, &old).await;
    let types: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_name = $1 AND column_name IN ('jti', 'type', 'user_identity') ORDER BY column_name",
    )
    .bind(table.clone())
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert!(
        types.iter().all(|(_, t)| t == "text"),
        "jti, type and user_identity are TEXT: {types:?}"
    );
    assert_eq!(types.len(), 3);
    for t in [table.clone(), format!("{table}_users")] {
        sqlx::query(&format!("DROP TABLE {t}"))
            .execute(&pool)
            .await
            .unwrap();
    }
}

/// Polls `GET /protected` with `token` until it answers `want` or `limit` passes; returns the
/// last status (pub/sub delivery and reconnection take a moment).
async fn status_within<E: poem::Endpoint>(
    cli: &poem::test::TestClient<E>,
    token: &str,
    want: u16,
    limit: Duration,
) -> u16 {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let status = cli
            .get("/protected")
            .header("Authorization", bearer(token))
            .send()
            .await
            .0
            .status()
            .as_u16();
        if status == want || tokio::time::Instant::now() >= deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn redis_store(prefix: &str, url: &str) -> RedisBlocklist {
    let store = RedisBlocklist::connect_with(url, RedisBlocklistOptions::default().prefix(prefix))
        .await
        .expect("connect to Redis");
    assert!(
        store.wait_until_current(Duration::from_secs(5)).await,
        "the mirror loads"
    );
    store
}

#[tokio::test]
#[ignore = "needs Redis"]
async fn redis_store_contract() {
    require_service("Redis", REDIS);
    let prefix = format!("{}:", unique("jwt_test"));
    let mut events = RawSubscriber::new(&format!("{prefix}events")).await;
    let revoked = store_contract(&redis_store(&prefix, "redis://127.0.0.1:6379").await).await;
    // Redis itself holds the highest cut-off, and the event of the smaller one announced it.
    assert_eq!(
        redis_query(&["GET", &format!("{prefix}user:bob")]).await,
        Some(NOW.to_string())
    );
    let published: Vec<String> = [
        events.next().await,
        events.next().await,
        events.next().await,
    ]
    .into_iter()
    .map(|e| e.expect("an event"))
    .collect();
    assert_eq!(
        published[1..],
        [format!("user {NOW} bob"), format!("user {NOW} bob")]
    );
    // An instance started later loads the same state from Redis.
    assert_remembered(
        &redis_store(&prefix, "redis://127.0.0.1:6379").await,
        &revoked,
    )
    .await;
}

#[tokio::test]
#[ignore = "needs Redis"]
async fn redis_keeps_revocations_through_the_leeway_window() {
    require_service("Redis", REDIS);
    let prefix = format!("{}:", unique("jwt_test"));
    let url = "redis://127.0.0.1:6379";
    let mut events = RawSubscriber::new(&format!("{prefix}events")).await;
    let grace = leeway_contract(&redis_store(&prefix, url).await).await;
    let jti = grace.jti.clone().unwrap();
    let retain_until = grace.retain_until.unwrap();
    // The event carries retain_until, so mirrors elsewhere prune at the right time.
    assert_eq!(
        events.next().await,
        Some(format!("jti {retain_until} {jti}"))
    );
    // The key lives until retain_until (300 s from now), not until exp (10 s ago).
    let ttl: i64 = redis_query(&["TTL", &format!("{prefix}jti:{jti}")])
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        ttl > 250,
        "the key must live until retain_until, TTL is {ttl}"
    );
    // An instance started later loads it and does not prune it at exp.
    assert!(redis_store(&prefix, url)
        .await
        .is_revoked(&grace)
        .await
        .unwrap());
}

#[tokio::test]
#[ignore = "needs Redis"]
async fn redis_revocation_on_one_instance_is_rejected_on_every_instance() {
    require_service("Redis", REDIS);
    let prefix = format!("{}:", unique("jwt_test"));
    let url = "redis://127.0.0.1:6379";
    // Two app instances with the same secret, each with its own store (own connections and mirror).
    let one = builder(config())
        .blocklist(redis_store(&prefix, url).await)
        .build()
        .unwrap();
    let two = builder(config())
        .blocklist(redis_store(&prefix, url).await)
        .build()
        .unwrap();
    let cli_one = poem::test::TestClient::new(app().with(one.clone()));
    let cli_two = poem::test::TestClient::new(app().with(two.clone()));
    let token = one.create_access_token("alice").await.unwrap();
    let other = one.create_access_token("alice").await.unwrap();
    cli_two
        .get("/protected")
        .header("Authorization", bearer(&token))
        .send()
        .await
        .assert_text("alice")
        .await;

    cli_one
        .delete("/logout")
        .header("Authorization", bearer(&token))
        .send()
        .await
        .assert_json(json!({"msg": "JWT revoked"}))
        .await;
    assert_msg(
        cli_one
            .get("/protected")
            .header("Authorization", bearer(&token))
            .send()
            .await,
        401,
        "Token has been revoked",
    )
    .await;
    // Instance two learns it through pub/sub; allow the delivery.
    let status = status_within(&cli_two, &token, 401, Duration::from_millis(1000)).await;
    assert_eq!(
        status, 401,
        "instance two must reject a token revoked on instance one"
    );
    cli_two
        .get("/protected")
        .header("Authorization", bearer(&other))
        .send()
        .await
        .assert_text("alice")
        .await;

    // A third instance started later loads the revocation from Redis.
    let three = builder(config())
        .blocklist(redis_store(&prefix, url).await)
        .build()
        .unwrap();
    let cli_three = poem::test::TestClient::new(app().with(three));
    assert_msg(
        cli_three
            .get("/protected")
            .header("Authorization", bearer(&token))
            .send()
            .await,
        401,
        "Token has been revoked",
    )
    .await;

    // Log out everywhere on instance two: instance one rejects every earlier token of the user.
    cli_two
        .delete("/logout_everywhere")
        .header("Authorization", bearer(&other))
        .send()
        .await
        .assert_text("ok")
        .await;
    let status = status_within(&cli_one, &other, 401, Duration::from_millis(1000)).await;
    assert_eq!(status, 401);
}

/// A TCP proxy to Redis that the test can cut and restore, to play "Redis is down", or
/// blackhole, to play a silent partition (packets dropped, no RST: both sockets stay open).
struct Proxy {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
    blackholed: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Proxy {
    async fn start(port: u16) -> Proxy {
        Self::start_with(port, None).await
    }

    /// With `cut_on`, a connection is closed, without forwarding them, as soon as the client
    /// sends bytes containing it (a link that dies at that command).
    async fn start_with(port: u16, cut_on: Option<&'static str>) -> Proxy {
        let listener = loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        let port = listener.local_addr().unwrap().port();
        let blackholed = Arc::new(tokio::sync::watch::Sender::new(false));
        let hole = blackholed.clone();
        let task = tokio::spawn(async move {
            let mut links = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let hole = hole.subscribe();
                links.spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(REDIS).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    // Either direction ending closes both sockets.
                    tokio::select! {
                        _ = pump(client_read, server_write, hole.clone(), cut_on) => {}
                        _ = pump(server_read, client_write, hole, None) => {}
                    }
                });
            }
        });
        Proxy {
            port,
            task: Some(task),
            blackholed,
        }
    }

    /// Closes the listener and every proxied connection (aborting the task drops the JoinSet).
    fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Stops (or resumes) forwarding bytes on every connection, old and new, keeping them open.
    fn blackhole(&self, on: bool) {
        self.blackholed.send_replace(on);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Forwards bytes from `from` to `to`, holding them while the link is blackholed.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut blackholed: tokio::sync::watch::Receiver<bool>,
    cut_on: Option<&'static str>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut seen: Vec<u8> = Vec::new();
    loop {
        if blackholed.wait_for(|b| !*b).await.is_err() {
            return;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if let Some(pattern) = cut_on.map(str::as_bytes) {
            seen.extend_from_slice(&buf[..n]);
            if seen.windows(pattern.len()).any(|w| w == pattern) {
                return;
            }
            let keep = seen.len().saturating_sub(pattern.len());
            seen.drain(..keep);
        }
        if blackholed.wait_for(|b| !*b).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Sends one command to Redis over a raw connection (RESP by hand: the tests do not depend on a
/// Redis client) and returns its scalar reply (`None` for nil).
async fn redis_query(args: &[&str]) -> Option<String> {
    let mut conn = tokio::io::BufReader::new(tokio::net::TcpStream::connect(REDIS).await.unwrap());
    send_command(&mut conn, args).await;
    let reply = read_reply(&mut conn).await;
    assert_eq!(reply.len(), 1, "a scalar reply: {reply:?}");
    reply.into_iter().next().unwrap()
}

async fn send_command(conn: &mut tokio::io::BufReader<tokio::net::TcpStream>, args: &[&str]) {
    let mut frame = format!("*{}\r\n", args.len());
    for arg in args {
        frame.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    conn.get_mut().write_all(frame.as_bytes()).await.unwrap();
}

/// Reads one reply: a scalar as one element, a flat array as its elements.
async fn read_reply(conn: &mut tokio::io::BufReader<tokio::net::TcpStream>) -> Vec<Option<String>> {
    let header = read_line(conn).await;
    if let Some(count) = header.strip_prefix('*') {
        let count: usize = count.parse().unwrap();
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            let line = read_line(conn).await;
            items.push(read_scalar(conn, line).await);
        }
        items
    } else {
        vec![read_scalar(conn, header).await]
    }
}

async fn read_scalar(
    conn: &mut tokio::io::BufReader<tokio::net::TcpStream>,
    line: String,
) -> Option<String> {
    match line.split_at(1) {
        ("+", text) | (":", text) => Some(text.to_string()),
        ("-", error) => panic!("redis error: {error}"),
        ("$", "-1") => None,
        ("$", len) => {
            let mut data = vec![0u8; len.parse::<usize>().unwrap() + 2];
            conn.read_exact(&mut data).await.unwrap();
            data.truncate(data.len() - 2);
            Some(String::from_utf8(data).unwrap())
        }
        _ => panic!("unexpected reply {line:?}"),
    }
}

async fn read_line(conn: &mut tokio::io::BufReader<tokio::net::TcpStream>) -> String {
    let mut line = String::new();
    conn.read_line(&mut line).await.unwrap();
    line.trim_end_matches("\r\n").to_string()
}

/// A raw subscriber, to see exactly what the stores publish.
struct RawSubscriber(tokio::io::BufReader<tokio::net::TcpStream>);

impl RawSubscriber {
    async fn new(channel: &str) -> RawSubscriber {
        let mut conn =
            tokio::io::BufReader::new(tokio::net::TcpStream::connect(REDIS).await.unwrap());
        send_command(&mut conn, &["SUBSCRIBE", channel]).await;
        assert_eq!(read_reply(&mut conn).await[0].as_deref(), Some("subscribe"));
        RawSubscriber(conn)
    }

    /// The payload of the next message, waiting at most 2 s.
    async fn next(&mut self) -> Option<String> {
        let reply = tokio::time::timeout(Duration::from_secs(2), read_reply(&mut self.0))
            .await
            .ok()?;
        assert_eq!(reply[0].as_deref(), Some("message"));
        reply[2].clone()
    }
}

#[tokio::test]
#[ignore = "needs Redis"]
async fn redis_down_fails_closed_and_recovers_by_itself() {
    require_service("Redis", REDIS);
    let mut proxy = Proxy::start(0).await;
    let port = proxy.port;
    let url = format!("redis://127.0.0.1:{port}");
    let prefix = format!("{}:", unique("jwt_test"));
    let store = redis_store(&prefix, &url).await;
    let open = RedisBlocklist::connect_with(
        &url,
        RedisBlocklistOptions::default()
            .prefix(&prefix)
            .fail_open(true),
    )
    .await
    .unwrap();
    let jwt = builder(config()).blocklist(store).build().unwrap();
    let lenient = builder(config()).blocklist(open).build().unwrap();
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let cli_lenient = poem::test::TestClient::new(app().with(lenient));
    let token = jwt.create_access_token("alice").await.unwrap();
    cli.get("/protected")
        .header("Authorization", bearer(&token))
        .send()
        .await
        .assert_text("alice")
        .await;

    proxy.cut();
    let status = status_within(&cli, &token, 503, Duration::from_millis(5000)).await;
    assert_eq!(status, 503, "an unreachable Redis must fail closed");
    assert_msg(
        cli.get("/protected")
            .header("Authorization", bearer(&token))
            .send()
            .await,
        503,
        "Token revocation store unavailable",
    )
    .await;
    cli_lenient
        .get("/protected")
        .header("Authorization", bearer(&token))
        .send()
        .await
        .assert_text("alice")
        .await;
    assert_msg(
        cli.delete("/logout")
            .header("Authorization", bearer(&token))
            .send()
            .await,
        503,
        "Token revocation store unavailable",
    )
    .await;

    let _proxy = Proxy::start(port).await;
    let status = status_within(&cli, &token, 200, Duration::from_millis(10000)).await;
    assert_eq!(status, 200, "the store reconnects by itself");
    cli.delete("/logout")
        .header("Authorization", bearer(&token))
        .send()
        .await
        .assert_status_is_ok();
    assert_msg(
        cli.get("/protected")
            .header("Authorization", bearer(&token))
            .send()
            .await,
        401,
        "Token has been revoked",
    )
    .await;
}

/// Waits until `store` answers `want` for `token` (a pub/sub delivery), at most 1 s; returns
/// the last answer.
async fn revoked_within(store: &RedisBlocklist, token: &TokenInfo, want: bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        let revoked = store.is_revoked(token).await.unwrap();
        if revoked == want || tokio::time::Instant::now() >= deadline {
            return revoked;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
#[ignore = "needs Redis"]
async fn redis_revocation_is_all_or_nothing_when_the_link_dies_at_the_publish() {
    require_service("Redis", REDIS);
    // The link of instance A dies as soon as it sends a PUBLISH; instance B is connected directly.
    let proxy = Proxy::start_with(0, Some("PUBLISH")).await;
    let via_proxy = format!("redis://127.0.0.1:{}", proxy.port);
    let prefix = format!("{}:", unique("jwt_test"));
    let b = redis_store(&prefix, "redis://127.0.0.1:6379").await;

    let token = info(&unique("jti"), "grace", NOW);
    let a = redis_store(&prefix, &via_proxy).await;
    assert!(
        a.revoke(&token).await.is_err(),
        "the link died: the caller learns it"
    );
    // Either Redis holds the revocation and B's mirror learned it, or neither.
    let in_redis = redis_query(&[
        "GET",
        &format!("{prefix}jti:{}", token.jti.as_ref().unwrap()),
    ])
    .await
    .is_some();
    assert!(b.is_mirror_current());
    assert_eq!(
        revoked_within(&b, &token, in_redis).await,
        in_redis,
        "a revocation stored in Redis (stored: {in_redis}) must reach every mirror"
    );

    // The same for "log out everywhere" (a fresh instance: A's command link is gone).
    let a2 = redis_store(&prefix, &via_proxy).await;
    assert!(a2.revoke_user("grace", NOW).await.is_err());
    let in_redis = redis_query(&["GET", &format!("{prefix}user:grace")])
        .await
        .is_some();
    assert_eq!(
        revoked_within(&b, &info("other", "grace", NOW), in_redis).await,
        in_redis,
        "a user cut-off stored in Redis (stored: {in_redis}) must reach every mirror"
    );
}

#[tokio::test]
#[ignore = "needs Redis"]
async fn redis_silent_partition_of_the_subscription_is_detected_and_fails_closed() {
    require_service("Redis", REDIS);
    let proxy = Proxy::start(0).await;
    let prefix = format!("{}:", unique("jwt_test"));
    // Instance A talks to Redis directly; instance B goes through the proxy.
    let a = redis_store(&prefix, "redis://127.0.0.1:6379").await;
    let via_proxy = format!("redis://127.0.0.1:{}", proxy.port);
    let b = Arc::new(redis_store(&prefix, &via_proxy).await);
    // A third instance with a faster heartbeat, on the same link.
    let quick = RedisBlocklist::connect_with(
        &via_proxy,
        RedisBlocklistOptions::default()
            .prefix(&prefix)
            .heartbeat(Duration::from_millis(200), Duration::from_millis(300)),
    )
    .await
    .unwrap();
    assert!(quick.wait_until_current(Duration::from_secs(5)).await);
    let jwt_b = builder(config())
        .blocklist(Shared(b.clone()))
        .build()
        .unwrap();
    let cli_b = poem::test::TestClient::new(app().with(jwt_b.clone()));
    let token = jwt_b.create_access_token("alice").await.unwrap();
    let claims = jwt_b.decode_token(&token).unwrap();
    let token_info = TokenInfo::from_claims(&claims, "sub", 0);
    assert_eq!(
        status_within(&cli_b, &token, 200, Duration::ZERO).await,
        200
    );

    // The link of B drops every packet, silently: no RST, no EOF.
    proxy.blackhole(true);
    let started = tokio::time::Instant::now();
    let mut quick_noticed = None;
    while b.is_mirror_current() && started.elapsed() < Duration::from_secs(10) {
        if quick_noticed.is_none() && !quick.is_mirror_current() {
            quick_noticed = Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let noticed = started.elapsed();
    eprintln!(
        "silent partition noticed after {noticed:?} (200 ms + 300 ms heartbeat: {quick_noticed:?})"
    );
    // The heartbeat options are honoured: 200 ms + 300 ms, with slack.
    assert!(
        quick_noticed.is_some_and(|t| t <= Duration::from_millis(1000)),
        "the quick heartbeat noticed after {quick_noticed:?}"
    );
    assert!(
        !b.is_mirror_current(),
        "a silent partition must make the mirror stale"
    );
    // Default heartbeat: 1 s interval + 1 s deadline; allow scheduling slack on a busy machine.
    assert!(
        noticed <= Duration::from_millis(3500),
        "noticed after {noticed:?}"
    );

    // A revocation made on A while B cannot hear it: B must not accept the token.
    a.revoke(&token_info).await.unwrap();
    assert!(
        !matches!(b.is_revoked(&token_info).await, Ok(false)),
        "a stale instance must not answer \"not revoked\""
    );
    assert_msg(
        cli_b
            .get("/protected")
            .header("Authorization", bearer(&token))
            .send()
            .await,
        503,
        "Token revocation store unavailable",
    )
    .await;

    // The partition heals: B resubscribes, reloads, and answers from its mirror again.
    proxy.blackhole(false);
    assert!(
        b.wait_until_current(Duration::from_secs(20)).await,
        "the mirror recovers by itself"
    );
    assert_eq!(b.is_revoked(&token_info).await, Ok(true));
    assert_msg(
        cli_b
            .get("/protected")
            .header("Authorization", bearer(&token))
            .send()
            .await,
        401,
        "Token has been revoked",
    )
    .await;
}

/// The sockets of this process connected to `127.0.0.1:port`, as file descriptors.
#[cfg(target_os = "linux")]
fn sockets_connected_to(port: u16) -> Vec<i32> {
    // /proc/net/tcp: "sl local_address rem_address st ... inode"; addresses are hex "IP:PORT".
    let inodes: Vec<String> = std::fs::read_to_string("/proc/net/tcp")
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let remote_port = fields[2].rsplit(':').next()?;
            (u16::from_str_radix(remote_port, 16).ok()? == port && fields[3] == "01")
                .then(|| fields[9].to_string())
        })
        .collect();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let target = std::fs::read_link(entry.path()).ok()?;
            let inode = target
                .to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .to_string();
            inodes
                .contains(&inode)
                .then(|| entry.file_name().to_str()?.parse().ok())
                .flatten()
        })
        .collect()
}

#[cfg(target_os = "linux")]
#[tokio::test]
#[ignore = "needs Redis"]
async fn redis_connections_use_tcp_keepalive_and_user_timeout() {
    use std::os::fd::BorrowedFd;
    require_service("Redis", REDIS);
    // Through a proxy on a port of its own, so the store's sockets are easy to find.
    let proxy = Proxy::start(0).await;
    let prefix = format!("{}:", unique("jwt_test"));
    let store = redis_store(&prefix, &format!("redis://127.0.0.1:{}", proxy.port)).await;
    let defaults = RedisBlocklistOptions::default();
    let fds = sockets_connected_to(proxy.port);
    assert!(
        fds.len() >= 2,
        "the command and the subscription connections: {fds:?}"
    );
    for fd in fds {
        // SAFETY: the store holds these sockets open until the end of the test.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = socket2::SockRef::from(&fd);
        assert!(socket.keepalive().unwrap(), "SO_KEEPALIVE on fd {fd:?}");
        assert_eq!(
            Some(socket.tcp_keepalive_time().unwrap()),
            defaults.tcp_keepalive
        );
        assert_eq!(
            socket.tcp_keepalive_interval().unwrap(),
            Duration::from_secs(1)
        );
        assert_eq!(socket.tcp_keepalive_retries().unwrap(), 3);
        assert_eq!(
            socket.tcp_user_timeout().unwrap(),
            defaults.tcp_user_timeout
        );
    }
    drop(store);
}

#[tokio::test]
#[ignore = "needs Redis"]
async fn redis_key_prefix_is_taken_literally_not_as_a_glob() {
    require_service("Redis", REDIS);
    let base = unique("jwt_test");
    let prefix = format!("{base}*:");
    // Keys the glob `<base>*:*` matches that are not under the literal prefix: shorter than
    // the prefix, cut inside a character at the prefix's length, and one that would read as
    // a revocation of jti "stranger" if the prefix length were simply cut off.
    let foreign = [
        format!("{base}:"),
        format!("{base}aé:jti:x"),
        format!("{base}x:jti:stranger"),
    ];
    for key in &foreign {
        redis_query(&["SET", key, ""]).await;
    }
    let store = RedisBlocklist::connect_with(
        "redis://127.0.0.1:6379",
        RedisBlocklistOptions::default().prefix(&prefix),
    )
    .await
    .unwrap();
    let loaded = store.wait_until_current(Duration::from_secs(5)).await;
    for key in &foreign {
        redis_query(&["DEL", key]).await;
    }
    assert!(
        loaded,
        "the mirror loads although foreign keys match the glob"
    );
    assert!(!store
        .is_revoked(&info("stranger", "zed", NOW))
        .await
        .unwrap());
    let mine = info(&unique("jti"), "zed", NOW);
    store.revoke(&mine).await.unwrap();
    assert!(redis_store(&prefix, "redis://127.0.0.1:6379")
        .await
        .is_revoked(&mine)
        .await
        .unwrap());
}

#[tokio::test]
#[ignore = "needs Redis"]
async fn redis_extreme_durations_in_the_options_do_not_panic() {
    require_service("Redis", REDIS);
    let prefix = format!("{}:", unique("jwt_test"));
    let huge = RedisBlocklistOptions {
        command_timeout: Duration::MAX,
        reconnect_delay: Duration::MAX,
        heartbeat_interval: Duration::MAX,
        heartbeat_timeout: Duration::MAX,
        ..RedisBlocklistOptions::default().prefix(&prefix)
    };
    let zero = RedisBlocklistOptions {
        reconnect_delay: Duration::ZERO,
        heartbeat_interval: Duration::ZERO,
        heartbeat_timeout: Duration::ZERO,
        ..RedisBlocklistOptions::default().prefix(&prefix)
    };
    let other = redis_store(&prefix, "redis://127.0.0.1:6379").await;
    for options in [huge, zero] {
        let store = RedisBlocklist::connect_with("redis://127.0.0.1:6379", options.clone())
            .await
            .unwrap();
        assert!(
            store.wait_until_current(Duration::from_secs(5)).await,
            "{options:?}"
        );
        assert!(store.wait_until_current(Duration::MAX).await);
        let token = info(&unique("jti"), "zed", NOW);
        store.revoke(&token).await.unwrap();
        assert!(store.is_revoked(&token).await.unwrap());
        // Its subscription is alive: it learns a revocation made elsewhere.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let elsewhere = info(&unique("jti"), "zed", NOW);
        other.revoke(&elsewhere).await.unwrap();
        assert!(
            revoked_within(&store, &elsewhere, true).await,
            "the mirror follows pub/sub with {options:?}"
        );
    }
}

/// The same token revoked twice, the second time by an instance with a smaller leeway: the
/// longer retention wins.
async fn same_jti_twice_contract(store: &impl Blocklist) -> TokenInfo {
    let now = real_now();
    let mut longer = info(&unique("twice"), "gina", NOW);
    longer.expires_at = Some(now - 10);
    longer.retain_until = Some(now + 300);
    let mut shorter = longer.clone();
    shorter.retain_until = Some(now - 5);
    store.revoke(&longer).await.unwrap();
    store.revoke(&shorter).await.unwrap();
    store
        .revoke(&info(&unique("jti"), "gina", NOW))
        .await
        .unwrap();
    assert!(
        store.is_revoked(&longer).await.unwrap(),
        "a second revocation with an earlier retain_until must not shorten the first"
    );
    longer
}

#[tokio::test]
async fn memory_same_jti_twice_keeps_the_longer_retention() {
    same_jti_twice_contract(&jwt_runtime::stores::MemoryBlocklist::new()).await;
}

#[tokio::test]
#[ignore = "needs Redis"]
async fn redis_same_jti_twice_keeps_the_longer_retention() {
    require_service("Redis", REDIS);
    let prefix = format!("{}:", unique("jwt_test"));
    let url = "redis://127.0.0.1:6379";
    let mut events = RawSubscriber::new(&format!("{prefix}events")).await;
    let longer = same_jti_twice_contract(&redis_store(&prefix, url).await).await;
    let jti = longer.jti.clone().unwrap();
    let until = longer.retain_until.unwrap();
    // Both events carry the longer retention; the key keeps its TTL.
    for _ in 0..2 {
        assert_eq!(events.next().await, Some(format!("jti {until} {jti}")));
    }
    let ttl: i64 = redis_query(&["TTL", &format!("{prefix}jti:{jti}")])
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert!(ttl > 250, "TTL {ttl}");
    assert!(redis_store(&prefix, url)
        .await
        .is_revoked(&longer)
        .await
        .unwrap());
}

// ---- sessions (JWT_REFRESH_ROTATION) ----

/// The sessions contract every store keeps: rotation, a retired token sharing its replacement
/// (concurrent uses, a retry after the window while the replacement was never presented), the
/// check where a token is not rotated, reuse ending a session, adopting a token from before
/// rotation, "log out everywhere", listing, ending, expiry.
async fn session_contract(store: &impl Blocklist) {
    assert!(store.keeps_sessions());
    let now = real_now();
    let user = unique("user");
    let (s1, s2, s3) = (unique("s"), unique("s"), unique("s"));
    let start =
        |session: &str, jti: &str, created_at: i64, label: Option<&str>, until: i64| NewSession {
            session: session.into(),
            user: user.clone(),
            jti: jti.into(),
            created_at,
            label: label.map(String::from),
            retain_until: Some(until),
        };
    let step = |session: &str, used: &str, new: &str, at: i64| RotationStep {
        session: session.into(),
        user: user.clone(),
        used: used.into(),
        new: new.into(),
        now: at,
        grace: 10,
        retain_until: Some(now + 900),
        adopt: false,
    };
    let check = |session: &str, jti: &str, at: i64| RefreshCheck {
        session: session.into(),
        user: user.clone(),
        jti: jti.into(),
        now: at,
        grace: 10,
        adopt: false,
    };
    store
        .start_session(&start(&s1, "a", now - 10, Some("laptop"), now + 600))
        .await
        .unwrap();
    store
        .start_session(&start(&s2, "x", now - 5, None, now + 600))
        .await
        .unwrap();
    store
        .start_session(&start(&s3, "old", now - 100, None, now - 1))
        .await
        .unwrap();
    assert_eq!(
        store.rotate(&step(&s1, "a", "b", now)).await.unwrap(),
        Rotation::Rotated
    );
    // A concurrent use within the window, and a retry long after it (`b` was never presented):
    // the same replacement, nothing ended.
    assert_eq!(
        store.rotate(&step(&s1, "a", "b2", now + 9)).await.unwrap(),
        Rotation::Shared("b".into())
    );
    assert_eq!(
        store
            .rotate(&step(&s1, "a", "b3", now + 100))
            .await
            .unwrap(),
        Rotation::Shared("b".into())
    );
    assert_eq!(
        store
            .check_refresh(&check(&s1, "a", now + 100))
            .await
            .unwrap(),
        Standing::Retired,
        "a retired token is refused where it is not rotated"
    );
    assert_eq!(
        store.rotate(&step(&s1, "b", "c", now + 100)).await.unwrap(),
        Rotation::Rotated
    );
    assert_eq!(
        store
            .check_refresh(&check(&s1, "c", now + 101))
            .await
            .unwrap(),
        Standing::Current
    );
    assert_eq!(
        store.sessions(&user).await.unwrap(),
        vec![
            SessionInfo {
                session: s1.clone(),
                created_at: now - 10,
                last_refreshed: now + 100,
                label: Some("laptop".into())
            },
            SessionInfo {
                session: s2.clone(),
                created_at: now - 5,
                last_refreshed: now - 5,
                label: None
            },
        ],
        "live sessions, oldest first; the expired one is not listed"
    );
    // `c` was presented: `b` is still exchanged within the window, a reuse after it.
    assert_eq!(
        store.rotate(&step(&s1, "b", "z", now + 109)).await.unwrap(),
        Rotation::Shared("c".into())
    );
    assert_eq!(
        store
            .check_refresh(&check(&s1, "b", now + 111))
            .await
            .unwrap(),
        Standing::Reused
    );
    assert!(!store.session_is_live(&s1).await.unwrap());
    assert_eq!(
        store.rotate(&step(&s1, "c", "d", now + 111)).await.unwrap(),
        Rotation::Ended
    );
    // Another user's token never touches a session.
    let mut foreign = step(&s2, "x", "y", now);
    foreign.user = "someone else".into();
    assert_eq!(store.rotate(&foreign).await.unwrap(), Rotation::Ended);
    // Ending: only its own user's live session.
    assert!(!store.end_session("someone else", &s2).await.unwrap());
    assert!(store.session_is_live(&s2).await.unwrap());
    assert!(store.end_session(&user, &s2).await.unwrap());
    assert!(!store.end_session(&user, &s2).await.unwrap());
    assert!(!store.session_is_live(&s2).await.unwrap());
    assert!(store.sessions(&user).await.unwrap().is_empty());
    // Expired and unknown sessions.
    assert!(!store.session_is_live(&s3).await.unwrap());
    assert_eq!(
        store.rotate(&step(&s3, "old", "new", now)).await.unwrap(),
        Rotation::Ended
    );
    assert_eq!(
        store.rotate(&step("nope", "a", "b", now)).await.unwrap(),
        Rotation::Ended
    );
    assert!(!store.session_is_live("nope").await.unwrap());
    assert_eq!(
        store.check_refresh(&check("nope", "a", now)).await.unwrap(),
        Standing::Ended
    );
}

/// More uses of one retired token than the old sibling limit share one replacement; a token
/// from before rotation is adopted into one session by its first use; "log out everywhere"
/// ends the sessions not refreshed since.
async fn session_sharing_contract(store: &impl Blocklist) {
    let now = real_now();
    let user = unique("user");
    let session = unique("s");
    let step = |session: &str, used: &str, new: &str, at: i64, adopt: bool| RotationStep {
        session: session.into(),
        user: user.clone(),
        used: used.into(),
        new: new.into(),
        now: at,
        grace: 0,
        retain_until: Some(now + 900),
        adopt,
    };
    store
        .start_session(&NewSession {
            session: session.clone(),
            user: user.clone(),
            jti: "a".into(),
            created_at: now,
            label: None,
            retain_until: Some(now + 900),
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate(&step(&session, "a", "b", now, false))
            .await
            .unwrap(),
        Rotation::Rotated
    );
    for i in 0..20 {
        let new = format!("other{i}");
        assert_eq!(
            store
                .rotate(&step(&session, "a", &new, now + 1, false))
                .await
                .unwrap(),
            Rotation::Shared("b".into()),
            "use {i}"
        );
    }
    assert!(store.session_is_live(&session).await.unwrap());

    // Adopted: the first use starts the session and rotates; the second shares.
    let legacy = jwt_runtime::stores::adopted_session("legacy");
    let check = RefreshCheck {
        session: legacy.clone(),
        user: user.clone(),
        jti: "legacy".into(),
        now,
        grace: 0,
        adopt: true,
    };
    assert_eq!(
        store.check_refresh(&check).await.unwrap(),
        Standing::Current
    );
    assert_eq!(
        store
            .rotate(&step(&legacy, "legacy", "n1", now, true))
            .await
            .unwrap(),
        Rotation::Rotated
    );
    assert_eq!(
        store
            .rotate(&step(&legacy, "legacy", "n2", now, true))
            .await
            .unwrap(),
        Rotation::Shared("n1".into())
    );
    assert_eq!(
        store.check_refresh(&check).await.unwrap(),
        Standing::Retired
    );
    assert_eq!(store.sessions(&user).await.unwrap().len(), 2);

    // Log out everywhere at `now`: both sessions were last refreshed by then.
    store.revoke_user(&user, now + 1).await.unwrap();
    assert!(store.sessions(&user).await.unwrap().is_empty());
    assert!(!store.session_is_live(&session).await.unwrap());
    assert!(!store.session_is_live(&legacy).await.unwrap());
}

#[tokio::test]
async fn memory_session_sharing_contract() {
    session_sharing_contract(&jwt_runtime::stores::MemoryBlocklist::new()).await;
}

#[tokio::test]
async fn sqlite_session_sharing_contract() {
    session_sharing_contract(&SqlBlocklist::connect("sqlite::memory:").await.unwrap()).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL"]
async fn postgres_session_sharing_contract() {
    require_service("PostgreSQL", POSTGRES);
    let store = SqlBlocklist::connect_with_table(&postgres_url(), &unique("blocklist"))
        .await
        .expect("connect to PostgreSQL");
    session_sharing_contract(&store).await;
}

#[tokio::test]
#[ignore = "needs Redis"]
async fn redis_session_sharing_contract() {
    require_service("Redis", REDIS);
    let prefix = format!("{}:", unique("jwt_test"));
    session_sharing_contract(&redis_store(&prefix, "redis://127.0.0.1:6379").await).await;
}

#[tokio::test]
async fn memory_session_contract() {
    session_contract(&jwt_runtime::stores::MemoryBlocklist::new()).await;
}

#[tokio::test]
async fn sqlite_session_contract_and_audit_columns() {
    let store = SqlBlocklist::connect("sqlite::memory:").await.unwrap();
    session_contract(&store).await;
    assert_session_audit(&store).await;
}

/// The audit columns after [`session_contract`]: the reused session says so and names the token.
async fn assert_session_audit(store: &SqlBlocklist) {
    let rows: Vec<(i64, Option<String>, Option<String>)> = sqlx::query_as(&format!(
        "SELECT rotations, end_reason, reused_jti FROM {}_sessions ORDER BY created_at",
        store.table()
    ))
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            (0, None, None),
            (5, Some("reused".into()), Some("b".into())),
            (0, Some("ended".into()), None),
        ]
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL"]
async fn postgres_session_contract_and_audit_columns() {
    require_service("PostgreSQL", POSTGRES);
    let store = SqlBlocklist::connect_with_table(&postgres_url(), &unique("blocklist"))
        .await
        .expect("connect to PostgreSQL");
    session_contract(&store).await;
    assert_session_audit(&store).await;
}

#[tokio::test]
#[ignore = "needs Redis"]
async fn redis_session_contract() {
    require_service("Redis", REDIS);
    let prefix = format!("{}:", unique("jwt_test"));
    session_contract(&redis_store(&prefix, "redis://127.0.0.1:6379").await).await;
}

#[jwt_required(refresh)]
#[handler]
async fn rotating_refresh(rotated: jwt_runtime::RotatedRefreshToken) -> Json<Value> {
    Json(json!({ "refresh_token": rotated.token() }))
}

/// Two app instances, each with its own view of one shared store and its own socket, rotation
/// on with `grace`.
async fn two_instances<B: Blocklist, F: std::future::Future<Output = B>>(
    store: &impl Fn() -> F,
    grace: u64,
) -> (JwtManager, [String; 2]) {
    let mut config = config();
    config.refresh_rotation = true;
    config.refresh_rotation_grace = grace;
    let a = builder(config.clone())
        .blocklist(store().await)
        .build()
        .unwrap();
    let b = builder(config).blocklist(store().await).build().unwrap();
    let route = || Route::new().at("/refresh", poem::post(rotating_refresh));
    let bases = [
        support::socket::serve(route().with(a.clone())),
        support::socket::serve(route().with(b)),
    ];
    (a, bases)
}

/// Fires `n` refreshes with `token` at once, alternating between the instances; the statuses
/// and new tokens.
async fn parallel_refreshes(bases: &[String; 2], token: &str, n: usize) -> Vec<(u16, Value)> {
    let http = reqwest::Client::new();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (http, url, token) = (
                http.clone(),
                format!("{}/refresh", bases[i % 2]),
                token.to_string(),
            );
            tokio::spawn(async move {
                let resp = http.post(url).bearer_auth(token).send().await.unwrap();
                (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

/// Without a grace window, parallel refreshes with one token on two instances (more than the
/// old limit of eight): every one is served with the same replacement (never two), nobody is
/// logged out; once the replacement is presented, the old token is a reuse that ends the
/// session for everyone.
async fn race_contract<B: Blocklist, F: std::future::Future<Output = B>>(store: impl Fn() -> F) {
    let (jwt, bases) = two_instances(&store, 0).await;
    for _ in 0..3 {
        let login = jwt.login("alice").await.unwrap();
        let results = parallel_refreshes(&bases, &login.refresh_token, 12).await;
        let statuses: Vec<u16> = results.iter().map(|(s, _)| *s).collect();
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        let jtis: std::collections::HashSet<String> = results
            .iter()
            .map(|(_, body)| jti_of(&jwt, body).to_string())
            .collect();
        assert_eq!(jtis.len(), 1, "one replacement for every racer: {jtis:?}");
        // The replacement is used; the login token coming back now is a reuse.
        let replacement = results[0].1["refresh_token"].as_str().unwrap();
        let next = parallel_refreshes(&bases, replacement, 1).await;
        assert_eq!(next[0].0, 200, "{next:?}");
        let again = parallel_refreshes(&bases, &login.refresh_token, 1).await;
        assert_eq!(
            again[0].1["msg"], "Refresh token reuse detected",
            "{again:?}"
        );
        // The reuse ended the session: the newest token is refused too.
        let newest = next[0].1["refresh_token"].as_str().unwrap();
        let after = parallel_refreshes(&bases, newest, 2).await;
        assert!(after.iter().all(|(s, _)| *s == 401), "{after:?}");
    }
    // With a grace window, the same race logs nobody out and loses no token.
    let (jwt, bases) = two_instances(&store, 10).await;
    let login = jwt.login("alice").await.unwrap();
    let results = parallel_refreshes(&bases, &login.refresh_token, 8).await;
    assert!(results.iter().all(|(s, _)| *s == 200), "{results:?}");
    for (_, body) in results {
        let token = body["refresh_token"].as_str().unwrap();
        let next = parallel_refreshes(&bases, token, 1).await;
        assert_eq!(
            next[0].0, 200,
            "a token issued in the race was lost: {next:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_file_two_instances_never_both_accept_one_refresh_token() {
    let path = std::env::temp_dir().join(format!("{}.db", unique("sessions")));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let shared = SqlBlocklist::connect(&url).await.unwrap();
    race_contract(|| {
        let shared = shared.clone();
        async move { shared }
    })
    .await;
    let _ = std::fs::remove_file(path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL"]
async fn postgres_two_instances_never_both_accept_one_refresh_token() {
    require_service("PostgreSQL", POSTGRES);
    let table = unique("blocklist");
    // Each instance its own pool on the same tables.
    race_contract(|| async {
        SqlBlocklist::connect_with_table(&postgres_url(), &table)
            .await
            .expect("connect to PostgreSQL")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Redis"]
async fn redis_two_instances_never_both_accept_one_refresh_token() {
    require_service("Redis", REDIS);
    let prefix = format!("{}:", unique("jwt_test"));
    race_contract(|| redis_store(&prefix, "redis://127.0.0.1:6379")).await;
}

// ---- Redis Cluster ----

/// The primary holding the keys of the store whose tagged prefix is `tagged` (the one node with
/// keys on its slot), and the count of those keys on each node.
fn slot_owner(
    cluster: &support::redis_cluster::RedisCluster,
    tagged: &str,
) -> (u16, Vec<(u16, i64)>) {
    let slot = cluster.query(&["CLUSTER", "KEYSLOT", tagged]);
    let counts: Vec<(u16, i64)> = cluster
        .ports()
        .into_iter()
        .map(|port| {
            let count = cluster.query_node(port, &["CLUSTER", "COUNTKEYSINSLOT", &slot]);
            (port, count.parse().expect("a count"))
        })
        .collect();
    let owners: Vec<u16> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(
        owners.len(),
        1,
        "one primary holds the store's slot: {counts:?}"
    );
    (owners[0], counts)
}

/// A cluster store on `nodes` (seed order: the subscription goes to the first that answers).
async fn cluster_store(nodes: &[String], prefix: &str) -> RedisBlocklist {
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let store =
        RedisBlocklist::connect_cluster(&nodes, RedisBlocklistOptions::default().prefix(prefix))
            .await
            .expect("connect to the Redis Cluster");
    assert!(
        store.wait_until_current(Duration::from_secs(5)).await,
        "the mirror loads from the cluster"
    );
    store
}

#[tokio::test]
#[ignore = "needs redis-server"]
async fn redis_cluster_keeps_the_store_contract_sessions_and_shares_revocations() {
    let cluster = support::redis_cluster::RedisCluster::start(3);
    let urls = cluster.urls();
    let prefix = format!("{}:", unique("jwt_cluster"));
    let tagged = format!("{{{prefix}}}");
    let a = cluster_store(&urls, &prefix).await;
    assert_eq!(a.key_prefix(), tagged, "the prefix becomes the hash tag");

    // The contracts of a single Redis, on three primaries. The session scripts touch two keys
    // (the session and its user's index): without one hash tag they fail with CROSSSLOT.
    let revoked = store_contract(&a).await;
    let grace = leeway_contract(&a).await;
    session_contract(&a).await;
    long_type_contract(&a).await;
    let a = at_now(a);
    proof_contract(&a).await;
    let proof = proof_until(NOW + 60);
    assert!(a.record_proof(&proof).await.unwrap());
    assert_eq!(
        cluster.query(&["EXISTS", &format!("{tagged}dpop:{}", proof.key)]),
        "1",
        "a proof's key carries the store's hash tag"
    );
    assert_eq!(
        cluster.query(&["GET", &format!("{tagged}user:bob")]),
        NOW.to_string(),
        "the cluster holds the highest cut-off under the tagged key"
    );

    // Every key of the store is on one slot, owned by one primary.
    let (owner, counts) = slot_owner(&cluster, &tagged);
    let other_keys: i64 = cluster
        .ports()
        .into_iter()
        .map(|port| {
            cluster
                .query_node(port, &["DBSIZE"])
                .parse::<i64>()
                .expect("a size")
        })
        .sum::<i64>()
        - counts.iter().map(|(_, n)| n).sum::<i64>();
    assert_eq!(other_keys, 0, "no key of the store outside its slot");

    // An instance started later loads the state (SCAN on the slot's primary).
    let late = cluster_store(&urls, &prefix).await;
    assert_remembered(&late, &revoked).await;
    assert!(late.is_revoked(&grace).await.unwrap());

    // Instance B subscribes on a node that does not own the slot: the events published on the
    // owner reach it through the cluster bus.
    let mut seeds: Vec<String> = cluster
        .ports()
        .into_iter()
        .filter(|p| *p != owner)
        .map(|p| format!("redis://127.0.0.1:{p}"))
        .collect();
    seeds.push(format!("redis://127.0.0.1:{owner}"));
    let b = at_now(cluster_store(&seeds, &prefix).await);
    assert!(
        !b.record_proof(&proof).await.unwrap(),
        "a proof recorded through A is a replay through B"
    );
    proof_sharing_contract(&a, &b).await;
    let token = info(&unique("jti"), "gina", NOW);
    assert!(!b.is_revoked(&token).await.unwrap());
    a.revoke(&token).await.unwrap();
    // Gone from Redis at once: from here on, only B's mirror can know it, through the event.
    let jti = token.jti.clone().expect("a jti");
    cluster.query(&["DEL", &format!("{tagged}jti:{jti}")]);
    assert!(
        revoked_within(&b, &token, true).await,
        "a revocation through instance A reaches instance B's mirror"
    );
    assert!(b.is_mirror_current(), "B answered from its mirror");
    // And the other way round, "log out everywhere" through B.
    let henry = info(&unique("jti"), "henry", NOW);
    assert!(!a.is_revoked(&henry).await.unwrap());
    b.revoke_user("henry", NOW).await.unwrap();
    assert!(revoked_within(&a, &henry, true).await);

    // Two instances racing with one refresh token: one rotates, never both.
    let racer = || async { Arc::new(at_now(cluster_store(&seeds, &prefix).await)) };
    proof_race_contract(racer().await, racer().await, false).await;
    let seeds_for_race = seeds.clone();
    race_contract(|| {
        let seeds = seeds_for_race.clone();
        let prefix = prefix.clone();
        async move { cluster_store(&seeds, &prefix).await }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server"]
async fn redis_cluster_failover_keeps_refusing_revoked_tokens_and_fails_closed_meanwhile() {
    let mut cluster = support::redis_cluster::RedisCluster::start(3);
    let prefix = format!("{}:", unique("jwt_failover"));
    let tagged = format!("{{{prefix}}}");
    let a = cluster_store(&cluster.urls(), &prefix).await;
    let revoked = info(&unique("jti"), "ivy", NOW);
    let kept = info(&unique("jti"), "jack", NOW);
    a.revoke(&revoked).await.unwrap();
    let (owner, _) = slot_owner(&cluster, &tagged);
    let replica = tokio::task::block_in_place(|| cluster.add_replica(owner));
    // The replica synced after the revocation: it holds the key (a replica redirects reads,
    // so count its keys).
    assert_eq!(cluster.query_node(replica, &["DBSIZE"]), "1");
    // Instance B subscribes on the primary that is about to die.
    let mut seeds = vec![format!("redis://127.0.0.1:{owner}")];
    seeds.extend(
        cluster
            .ports()
            .into_iter()
            .filter(|p| *p != owner)
            .map(|p| format!("redis://127.0.0.1:{p}")),
    );
    let b = cluster_store(&seeds, &prefix).await;
    assert!(b.is_revoked(&revoked).await.unwrap());

    cluster.kill(owner);
    // A revocation attempted now fails, or, if the replica was already promoted, is kept:
    // never acknowledged and lost.
    let during = info(&unique("jti"), "lena", NOW);
    let during_acknowledged = a.revoke(&during).await.is_ok();
    // An instance starting now, before the replica is promoted, must not load an empty mirror
    // from a node that does not own the slot: it waits for the new primary.
    let live: Vec<String> = cluster
        .ports()
        .into_iter()
        .filter(|p| *p != replica)
        .map(|p| format!("redis://127.0.0.1:{p}"))
        .collect();
    let live: Vec<&str> = live.iter().map(String::as_str).collect();
    let d =
        RedisBlocklist::connect_cluster(&live, RedisBlocklistOptions::default().prefix(&prefix))
            .await
            .expect("the live nodes answer");
    // Until the replica is promoted and B has resubscribed and reloaded, B answers from
    // Redis or not at all: the revoked token is never accepted.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let (mut refused_by_error, mut answers) = (0, 0);
    let mut noticed = false;
    loop {
        answers += 1;
        noticed |= !b.is_mirror_current();
        match b.is_revoked(&revoked).await {
            Ok(true) => {}
            Ok(false) => panic!("the revoked token was accepted during the failover"),
            // Only a check that is not answered from the mirror can fail.
            Err(_) => {
                refused_by_error += 1;
                noticed = true;
            }
        }
        // B's subscription was on the dead node: first it notices (the mirror turns stale),
        // then it comes back on another node.
        noticed |= !b.is_mirror_current();
        let back = noticed
            && b.is_mirror_current()
            && matches!(b.is_revoked(&kept).await, Ok(false))
            && matches!(b.is_revoked(&revoked).await, Ok(true));
        if back {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the store did not recover within 60 s of the failover"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "failover: {answers} checks of the revoked token, {refused_by_error} refused with an \
         error (fail closed), none accepted"
    );
    let promoted =
        tokio::task::block_in_place(|| cluster.wait_promoted(replica, Duration::from_secs(30)));
    assert!(promoted, "the replica became the slot's primary");

    // Writes go to the new primary; B hears them; a new instance loads everything from it.
    let later = info(&unique("jti"), "kate", NOW);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while a.revoke(&later).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "instance A could not revoke within 30 s of the failover"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(revoked_within(&b, &later, true).await);
    assert!(
        d.wait_until_current(Duration::from_secs(30)).await,
        "the instance started during the failover loads its mirror"
    );
    assert!(
        d.is_revoked(&revoked).await.unwrap(),
        "loaded from the new primary, not from a node that does not own the slot"
    );
    let c = cluster_store(&cluster.urls(), &prefix).await;
    assert!(c.is_revoked(&revoked).await.unwrap());
    assert!(c.is_revoked(&later).await.unwrap());
    assert!(!c.is_revoked(&kept).await.unwrap());
    if during_acknowledged {
        assert!(c.is_revoked(&during).await.unwrap());
    }
}

// ---- issue 23: the rules of rotation over HTTP, per store ----

#[jwt_required(refresh)]
#[handler]
async fn failing_refresh(_rotated: jwt_runtime::RotatedRefreshToken) -> poem::Result<Json<Value>> {
    Err(poem::Error::from_status(
        poem::http::StatusCode::SERVICE_UNAVAILABLE,
    ))
}

#[jwt_required(verify_type = false)]
#[handler]
async fn any_type(identity: Identity) -> String {
    identity.to_string()
}

/// POSTs (GETs for `/any`) `token` to `path` `n` times at once; the statuses and bodies.
async fn fire(base: &str, path: &str, token: &str, n: usize) -> Vec<(u16, Value)> {
    let http = reqwest::Client::new();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (http, url, token) = (http.clone(), format!("{base}{path}"), token.to_string());
            tokio::spawn(async move {
                let req = if url.ends_with("/any") {
                    http.get(url)
                } else {
                    http.post(url)
                };
                let resp = req.bearer_auth(token).send().await.unwrap();
                let status = resp.status().as_u16();
                (status, resp.json::<Value>().await.unwrap_or(Value::Null))
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

fn jti_of(jwt: &JwtManager, body: &Value) -> Value {
    let token = body["refresh_token"].as_str().expect("a refresh token");
    jwt.decode_token(token).expect("valid")["jti"].clone()
}

/// Issue 23 items 4, 5, 6, 8 on one store, over HTTP (a clock the test moves, grace 10 s):
/// more concurrent refreshes than the old sibling limit share one replacement; a refresh whose
/// response failed is retried after the window; a retired token is refused where it is not
/// rotated; a pre-rotation token's concurrent first uses start one session; "log out
/// everywhere" ends the sessions.
async fn rotation_rules_contract(store: impl Blocklist) {
    let time = Arc::new(std::sync::atomic::AtomicI64::new(NOW));
    let clock = time.clone();
    let mut config = config();
    config.refresh_rotation = true;
    config.refresh_rotation_grace = 10;
    let jwt = JwtManager::builder(config.clone())
        .clock(move || clock.load(std::sync::atomic::Ordering::SeqCst) as f64)
        .blocklist(store)
        .build()
        .unwrap();
    let set = |t: i64| time.store(t, std::sync::atomic::Ordering::SeqCst);
    let base = support::socket::serve(
        Route::new()
            .at("/refresh", poem::post(rotating_refresh))
            .at("/failing", poem::post(failing_refresh))
            .at("/any", get(any_type))
            .with(jwt.clone()),
    );
    let user = json!(unique("alice"));

    // 12 tabs refreshing with one token: all served, one replacement.
    let login = jwt.login(&user).await.unwrap();
    let results = fire(&base, "/refresh", &login.refresh_token, 12).await;
    let statuses: Vec<u16> = results.iter().map(|(s, _)| *s).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let jtis: std::collections::HashSet<String> = results
        .iter()
        .map(|(_, body)| jti_of(&jwt, body).to_string())
        .collect();
    assert_eq!(jtis.len(), 1, "{jtis:?}");
    let replacement = results[0].1["refresh_token"].as_str().unwrap().to_string();
    // Not rotated here: the retired login token is refused, the replacement accepted.
    assert_eq!(fire(&base, "/any", &login.refresh_token, 1).await[0].0, 401);
    assert_eq!(fire(&base, "/any", &replacement, 1).await[0].0, 200);
    // The replacement was presented: after the window, the login token is a reuse.
    set(NOW + 60);
    let reuse = fire(&base, "/refresh", &login.refresh_token, 1).await;
    assert_eq!(
        reuse[0].1["msg"], "Refresh token reuse detected",
        "{reuse:?}"
    );
    assert_eq!(fire(&base, "/any", &replacement, 1).await[0].0, 401);

    // A refresh whose handler failed: the retry an hour later is served.
    let login = jwt.login(&user).await.unwrap();
    assert_eq!(
        fire(&base, "/failing", &login.refresh_token, 1).await[0].0,
        503
    );
    set(NOW + 3600);
    let retry = fire(&base, "/refresh", &login.refresh_token, 1).await;
    assert_eq!(retry[0].0, 200, "{retry:?}");
    let next = retry[0].1["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(fire(&base, "/refresh", &next, 1).await[0].0, 200);

    // A token from before rotation: its concurrent first uses start one session.
    let legacy = builder(support::config())
        .build()
        .unwrap()
        .create_refresh_token(&user)
        .await
        .unwrap();
    let before = jwt.sessions(&user).await.unwrap().len();
    let results = fire(&base, "/refresh", &legacy, 6).await;
    assert!(results.iter().all(|(s, _)| *s == 200), "{results:?}");
    let issued: std::collections::HashSet<String> = results
        .iter()
        .map(|(_, body)| jti_of(&jwt, body).to_string())
        .collect();
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert_eq!(jwt.sessions(&user).await.unwrap().len(), before + 1);

    // Log out everywhere: no session of the user is listed live any more.
    set(NOW + 3601);
    jwt.revoke_all_for_user(&user).await.unwrap();
    assert_eq!(jwt.sessions(&user).await.unwrap(), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_rotation_rules() {
    rotation_rules_contract(jwt_runtime::stores::MemoryBlocklist::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_rotation_rules() {
    rotation_rules_contract(SqlBlocklist::connect("sqlite::memory:").await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL"]
async fn postgres_rotation_rules() {
    require_service("PostgreSQL", POSTGRES);
    let store = SqlBlocklist::connect_with_table(&postgres_url(), &unique("blocklist"))
        .await
        .expect("connect to PostgreSQL");
    rotation_rules_contract(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Redis"]
async fn redis_rotation_rules() {
    require_service("Redis", REDIS);
    let prefix = format!("{}:", unique("jwt_test"));
    rotation_rules_contract(redis_store(&prefix, "redis://127.0.0.1:6379").await).await;
}

/// A sessions table of the previous version (no `current_seen`) with a session that rotated
/// once: the store adds the column in place, and the old row counts as presented (its retired
/// token after the window is a reuse, as it was).
async fn old_sessions_table_contract(url: &str, table: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let now = real_now();
    sqlx::query(&format!(
        "CREATE TABLE {table}_sessions (session TEXT PRIMARY KEY, user_identity TEXT NOT NULL, \
         label TEXT, created_at BIGINT NOT NULL, last_refreshed BIGINT NOT NULL, \
         current_jtis TEXT NOT NULL, previous_jtis TEXT NOT NULL, rotated_at BIGINT NOT NULL, \
         retain_until BIGINT, version BIGINT NOT NULL, rotations BIGINT NOT NULL, \
         ended_at BIGINT, end_reason TEXT, reused_jti TEXT)"
    ))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(&format!(
        "INSERT INTO {table}_sessions VALUES ('old', 'u', NULL, $1, $1, '[\"b\"]', '[\"a\"]', $1, \
         $2, 1, 1, NULL, NULL, NULL)"
    ))
    .bind(now - 100)
    .bind(now + 900)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    for _ in 0..2 {
        // Twice: the upgrade is a no-op on a current table.
        SqlBlocklist::connect_with_table(url, table).await.unwrap();
    }
    let store = SqlBlocklist::connect_with_table(url, table).await.unwrap();
    let step = RotationStep {
        session: "old".into(),
        user: "u".into(),
        used: "a".into(),
        new: "c".into(),
        now,
        grace: 10,
        retain_until: Some(now + 900),
        adopt: false,
    };
    assert_eq!(store.rotate(&step).await.unwrap(), Rotation::Reused);
}

#[tokio::test]
async fn sqlite_upgrades_a_sessions_table_of_an_earlier_version() {
    let path = std::env::temp_dir().join(format!("{}.db", unique("old_sessions")));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    old_sessions_table_contract(&url, "jwt_token_blocklist").await;
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
#[ignore = "needs PostgreSQL"]
async fn postgres_upgrades_a_sessions_table_of_an_earlier_version() {
    require_service("PostgreSQL", POSTGRES);
    old_sessions_table_contract(&postgres_url(), &unique("old_sessions")).await;
}

/// An instance with rotation on over a Redis store reached through a counting proxy
/// (heartbeat every `heartbeat`, so its probes do not blur the count), and its test client.
async fn rotating_instance_via(
    proxy: &support::fault_proxy::FaultProxy,
    prefix: &str,
    heartbeat: Duration,
) -> (JwtManager, poem::test::TestClient<impl poem::Endpoint>) {
    let options = RedisBlocklistOptions::default()
        .prefix(prefix)
        .heartbeat(heartbeat, Duration::from_millis(200));
    let store =
        RedisBlocklist::connect_with(&format!("redis://127.0.0.1:{}", proxy.port()), options)
            .await
            .expect("connect to Redis through the proxy");
    assert!(store.wait_until_current(Duration::from_secs(5)).await);
    let mut config = config();
    config.refresh_rotation = true;
    let jwt = builder(config).blocklist(store).build().unwrap();
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    (jwt, cli)
}

async fn get_status<E: poem::Endpoint>(cli: &poem::test::TestClient<E>, token: &str) -> u16 {
    cli.get("/protected")
        .header("Authorization", bearer(token))
        .send()
        .await
        .0
        .status()
        .as_u16()
}

/// Requests `GET /protected` until `done` holds for the status, at most `limit`; every status
/// seen.
async fn statuses_until<E: poem::Endpoint>(
    cli: &poem::test::TestClient<E>,
    token: &str,
    limit: Duration,
    done: impl Fn(u16) -> bool,
) -> Vec<u16> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let status = get_status(cli, token).await;
        seen.push(status);
        if done(status) || tokio::time::Instant::now() >= deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Under rotation, the liveness of a token's session is answered from the mirror: once it is
/// warm, protected requests send Redis nothing (each sent an `HMGET` before). A session ended
/// on another instance is refused here within the pub/sub delivery.
#[tokio::test]
#[ignore = "needs Redis"]
async fn redis_session_liveness_is_served_from_the_mirror_without_a_round_trip() {
    require_service("Redis", REDIS);
    let prefix = format!("{}:", unique("jwt_test"));
    let proxy = support::fault_proxy::FaultProxy::start(REDIS).await;
    // No heartbeat within the test: only the requests' own commands cross the proxy.
    let (jwt, cli) = rotating_instance_via(&proxy, &prefix, Duration::from_secs(3600)).await;
    let user = unique("alice");
    let login = jwt.login(json!(user)).await.unwrap();
    // Warm: the first request learns the session is live.
    assert_eq!(get_status(&cli, &login.access_token).await, 200);
    const N: u64 = 200;
    let before = proxy.bytes_sent();
    let started = std::time::Instant::now();
    for _ in 0..N {
        assert_eq!(get_status(&cli, &login.access_token).await, 200);
    }
    let took = started.elapsed();
    let sent = proxy.bytes_sent() - before;
    println!(
        "session liveness: {sent} bytes sent to Redis over {N} protected requests ({} per request), {:?} per request",
        sent as f64 / N as f64,
        took / N as u32
    );
    assert_eq!(
        sent,
        0,
        "{sent} bytes sent to Redis over {N} requests ({} per request): liveness must come from the mirror",
        sent / N
    );

    // Another instance (its own store, its own connections) ends the session.
    let other = builder({
        let mut config = config();
        config.refresh_rotation = true;
        config
    })
    .blocklist(redis_store(&prefix, "redis://127.0.0.1:6379").await)
    .build()
    .unwrap();
    assert!(other
        .end_session(&json!(user), &login.session)
        .await
        .unwrap());
    let seen = statuses_until(&cli, &login.access_token, Duration::from_secs(2), |s| {
        s == 401
    })
    .await;
    assert_eq!(
        seen.last(),
        Some(&401),
        "ended elsewhere, still served: {seen:?}"
    );
    // Refused from the mirror too: no round trip for an ended session either.
    let before = proxy.bytes_sent();
    for _ in 0..10 {
        assert_eq!(get_status(&cli, &login.access_token).await, 401);
    }
    assert_eq!(proxy.bytes_sent() - before, 0);
    // Ended here: refused here at once (no wait for the event to come back).
    let second = jwt.login(json!(user)).await.unwrap();
    assert_eq!(get_status(&cli, &second.access_token).await, 200);
    assert!(jwt
        .end_session(&json!(user), &second.session)
        .await
        .unwrap());
    assert_eq!(get_status(&cli, &second.access_token).await, 401);
    // "Log out everywhere" elsewhere ends the sessions here too.
    let third = jwt.login(json!(user)).await.unwrap();
    assert_eq!(get_status(&cli, &third.access_token).await, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await; // the cut-off is in whole seconds
    other.revoke_all_for_user(&json!(user)).await.unwrap();
    let seen = statuses_until(&cli, &third.access_token, Duration::from_secs(2), |s| {
        s == 401
    })
    .await;
    assert_eq!(seen.last(), Some(&401), "{seen:?}");
}

/// A session ended elsewhere while this instance's subscription was down is never served from
/// what the mirror knew before: while the link is down the mirror is not used for "live"
/// (Redis is asked, and through a dead link that fails closed: 503), and once the
/// subscription is back the session is refused (401), never accepted.
#[tokio::test]
#[ignore = "needs Redis"]
async fn redis_session_ended_while_the_subscription_was_down_is_refused() {
    require_service("Redis", REDIS);
    let prefix = format!("{}:", unique("jwt_test"));
    let proxy = support::fault_proxy::FaultProxy::start(REDIS).await;
    let (jwt, cli) = rotating_instance_via(&proxy, &prefix, Duration::from_millis(100)).await;
    let user = unique("alice");
    let login = jwt.login(json!(user)).await.unwrap();
    assert_eq!(get_status(&cli, &login.access_token).await, 200);
    assert_eq!(get_status(&cli, &login.access_token).await, 200);
    // The link goes silent; within the heartbeat the mirror turns stale, and "live" is no
    // longer served from it.
    proxy.swallow(true);
    let seen = statuses_until(&cli, &login.access_token, Duration::from_secs(5), |s| {
        s == 503
    })
    .await;
    assert_eq!(seen.last(), Some(&503), "{seen:?}");
    // Ended on another instance, which reaches Redis directly: this one hears nothing.
    let other = builder({
        let mut config = config();
        config.refresh_rotation = true;
        config
    })
    .blocklist(redis_store(&prefix, "redis://127.0.0.1:6379").await)
    .build()
    .unwrap();
    assert!(other
        .end_session(&json!(user), &login.session)
        .await
        .unwrap());
    assert_eq!(get_status(&cli, &login.access_token).await, 503);
    proxy.swallow(false);
    let seen = statuses_until(&cli, &login.access_token, Duration::from_secs(5), |s| {
        s == 401
    })
    .await;
    assert_eq!(seen.last(), Some(&401), "{seen:?}");
    assert!(seen.iter().all(|s| *s == 503 || *s == 401), "{seen:?}");
    for _ in 0..10 {
        assert_eq!(get_status(&cli, &login.access_token).await, 401);
    }
}

/// A session an instance knows ended is not started anew when Redis lost it: a refresh token
/// minted before rotation was on (adopted into the session `jti:<its jti>`, started by its first
/// use when Redis does not hold it) is answered "ended" by the instance that heard of the end.
#[tokio::test]
#[ignore = "needs Redis"]
async fn redis_does_not_start_anew_an_adopted_session_it_lost_after_it_ended() {
    require_service("Redis", REDIS);
    let prefix = format!("{}:", unique("jwt_test"));
    let store = redis_store(&prefix, "redis://127.0.0.1:6379").await;
    let user = unique("alice");
    let jti = unique("legacy");
    let session = jwt_runtime::stores::adopted_session(&jti);
    let now = real_now();
    let step = |used: &str, new: &str| RotationStep {
        session: session.clone(),
        user: user.clone(),
        used: used.into(),
        new: new.into(),
        now,
        grace: 10,
        retain_until: Some(now + 900),
        adopt: true,
    };
    assert_eq!(
        store.rotate(&step(&jti, "r1")).await.unwrap(),
        Rotation::Rotated
    );
    assert!(store.end_session(&user, &session).await.unwrap());
    // Redis loses the session (a restart without persistence, a failover).
    let key = format!("{prefix}session:{session}");
    assert_eq!(redis_query(&["DEL", &key]).await.as_deref(), Some("1"));
    assert_eq!(
        store.rotate(&step(&jti, "r2")).await.unwrap(),
        Rotation::Ended
    );
    let check = RefreshCheck {
        session: session.clone(),
        user: user.clone(),
        jti: jti.clone(),
        now,
        grace: 10,
        adopt: true,
    };
    assert_eq!(store.check_refresh(&check).await.unwrap(), Standing::Ended);
    assert!(!store.session_is_live(&session).await.unwrap());
    assert_eq!(redis_query(&["EXISTS", &key]).await.as_deref(), Some("0"));
}

/// A "live" answer is served from the mirror for a minute at most: a session ended by an instance
/// that does not publish ends (an earlier version, during a rolling upgrade; here by hand, on the
/// session's hash) is refused once that minute has passed, not only when the session's `until`
/// does (weeks later).
#[tokio::test]
#[ignore = "needs Redis"]
async fn redis_live_session_answers_are_asked_again_after_a_minute() {
    require_service("Redis", REDIS);
    let prefix = format!("{}:", unique("jwt_test"));
    let mut settings = config();
    settings.refresh_rotation = true;
    let clock = TestClock::at(NOW);
    let jwt = JwtManager::builder(settings)
        .clock(clock.clone())
        .blocklist(redis_store(&prefix, "redis://127.0.0.1:6379").await)
        .build()
        .unwrap();
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let login = jwt.login(json!(unique("alice"))).await.unwrap();
    assert_eq!(get_status(&cli, &login.access_token).await, 200);
    // Ended without a publish, as an instance of an earlier version ends it.
    let key = format!("{prefix}session:{}", login.session);
    redis_query(&["HSET", &key, "ended", "1"]).await;
    clock.set(NOW + 30);
    assert_eq!(
        get_status(&cli, &login.access_token).await,
        200,
        "within the minute, the mirror's answer stands"
    );
    clock.set(NOW + 61);
    assert_eq!(
        get_status(&cli, &login.access_token).await,
        401,
        "after a minute, Redis is asked again"
    );
}

// ---- DPoP replay records (RFC 9449 §11.1) ----

/// A proof's name as the pipeline makes it (64 hex digits), unique to this run.
pub(crate) fn proof_key() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{nanos:032x}{:016x}{:016x}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// A new proof, acceptable until `retain_until`.
pub(crate) fn proof_until(retain_until: i64) -> ProofRecord {
    ProofRecord {
        key: proof_key(),
        retain_until,
    }
}

/// `store` on a frozen clock at `NOW` (as the manager hands it its own).
fn at_now<B: Blocklist>(mut store: B) -> B {
    store.use_clock(Arc::new(|| NOW as f64));
    store
}

/// The replay record every store keeps: a proof is accepted once, a replay refused (also with
/// a later `retain_until`: the record never moves back), and proofs do not affect one another.
async fn proof_contract(store: &impl Blocklist) {
    assert!(store.keeps_proofs());
    let a = proof_until(NOW + 60);
    let b = proof_until(NOW + 60);
    assert!(store.record_proof(&a).await.unwrap(), "first time");
    assert!(!store.record_proof(&a).await.unwrap(), "a replay");
    assert!(store.record_proof(&b).await.unwrap(), "another proof");
    assert!(!store.record_proof(&a).await.unwrap(), "still a replay");
    let later = ProofRecord {
        retain_until: NOW + 600,
        ..a.clone()
    };
    assert!(!store.record_proof(&later).await.unwrap());
    assert!(!store.record_proof(&b).await.unwrap());
}

/// Expiry by the store's clock: a record holds through its `retain_until` (inclusive, as long
/// as the proof is acceptable), then the same proof name is taken over, and the new record holds
/// until its own `retain_until`.
async fn proof_expiry_contract(mut store: impl Blocklist) {
    let clock = TestClock::at(NOW);
    store.use_clock(Arc::new(clock.clone()));
    let first = proof_until(NOW + 10);
    assert!(store.record_proof(&first).await.unwrap());
    clock.set(NOW + 10);
    assert!(
        !store.record_proof(&first).await.unwrap(),
        "kept through retain_until"
    );
    clock.set(NOW + 11);
    let again = ProofRecord {
        retain_until: NOW + 71,
        ..first.clone()
    };
    assert!(
        store.record_proof(&again).await.unwrap(),
        "an expired record is taken over"
    );
    assert!(!store.record_proof(&again).await.unwrap());
    clock.set(NOW + 71);
    assert!(
        !store.record_proof(&first).await.unwrap(),
        "the takeover holds until its own retain_until"
    );
}

/// Two instances (each its own connections) on one store see each other's proofs, both ways.
async fn proof_sharing_contract<B: Blocklist>(one: &B, two: &B) {
    for round in 0..4 {
        let (first, second) = if round % 2 == 0 {
            (one, two)
        } else {
            (two, one)
        };
        let proof = proof_until(NOW + 60);
        assert!(first.record_proof(&proof).await.unwrap());
        assert!(
            !second.record_proof(&proof).await.unwrap(),
            "a proof recorded on one instance is a replay on the other"
        );
        assert!(!first.record_proof(&proof).await.unwrap());
    }
}

/// Many tasks on two instances record one proof at once: exactly one is told "first time".
/// With `takeover` (stores whose expiry follows their clock to the second, on `NOW`), every
/// other round races over an expired record of the proof: one takes it over, never two.
async fn proof_race_contract<B: Blocklist>(one: Arc<B>, two: Arc<B>, takeover: bool) {
    for round in 0..6 {
        let proof = proof_until(NOW + 60);
        if takeover && round % 2 == 1 {
            let expired = ProofRecord {
                retain_until: NOW - 1,
                ..proof.clone()
            };
            assert!(one.record_proof(&expired).await.unwrap());
        }
        let tasks: Vec<_> = (0..24)
            .map(|i| {
                let store = if i % 2 == 0 { one.clone() } else { two.clone() };
                let proof = proof.clone();
                tokio::spawn(async move { store.record_proof(&proof).await })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        let firsts = answers
            .iter()
            .filter(|answer| matches!(answer, Ok(true)))
            .count();
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        assert_eq!(
            firsts, 1,
            "exactly one racer records the proof: {answers:?}"
        );
    }
}

/// How many proof records `store`'s table holds.
async fn proof_rows(store: &SqlBlocklist) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {}_dpop_proofs", store.table());
    sqlx::query_scalar(&sql)
        .fetch_one(store.pool())
        .await
        .expect("the proofs table")
}

/// The proofs table stays bounded: once proofs expired, the store deletes their rows by itself
/// as it records new ones (every 256 proofs an instance records, up to 1024 expired rows).
async fn proofs_table_stays_bounded(mut store: SqlBlocklist) {
    let clock = TestClock::at(NOW);
    store.use_clock(Arc::new(clock.clone()));
    let before = proof_rows(&store).await;
    for _ in 0..600 {
        assert!(store.record_proof(&proof_until(NOW + 10)).await.unwrap());
    }
    assert_eq!(
        proof_rows(&store).await,
        before + 600,
        "unexpired: all kept"
    );
    clock.set(NOW + 11);
    for _ in 0..300 {
        assert!(store.record_proof(&proof_until(NOW + 71)).await.unwrap());
    }
    assert_eq!(
        proof_rows(&store).await,
        300,
        "the 600 expired records were pruned, the 300 live ones kept"
    );
}

#[tokio::test]
async fn memory_records_dpop_proofs_once() {
    proof_contract(&at_now(MemoryBlocklist::new())).await;
    proof_expiry_contract(MemoryBlocklist::new()).await;
}

#[tokio::test]
async fn sqlite_records_dpop_proofs_once_in_their_own_table() {
    let store = at_now(SqlBlocklist::connect("sqlite::memory:").await.unwrap());
    proof_contract(&store).await;
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT proof_key, retain_until FROM jwt_token_blocklist_dpop_proofs")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(rows.len(), 2, "one row per proof: {rows:?}");
    assert!(rows
        .iter()
        .all(|(key, until)| key.len() == 64 && *until == NOW + 60));
    proof_expiry_contract(SqlBlocklist::connect("sqlite::memory:").await.unwrap()).await;
    proofs_table_stays_bounded(SqlBlocklist::connect("sqlite::memory:").await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_file_two_instances_share_dpop_proofs_and_one_wins_a_race() {
    let path = std::env::temp_dir().join(format!("{}.db", unique("proofs")));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    // Two pools on one file, as two app instances.
    let one = at_now(SqlBlocklist::connect(&url).await.unwrap());
    let two = at_now(SqlBlocklist::connect(&url).await.unwrap());
    proof_sharing_contract(&one, &two).await;
    proof_race_contract(Arc::new(one), Arc::new(two), true).await;
    let _ = std::fs::remove_file(path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL"]
async fn postgres_records_dpop_proofs_once_shared_by_instances() {
    require_service("PostgreSQL", POSTGRES);
    let table = unique("blocklist");
    let connect = || async {
        at_now(
            SqlBlocklist::connect_with_table(&postgres_url(), &table)
                .await
                .expect("connect to PostgreSQL"),
        )
    };
    let (one, two) = (connect().await, connect().await);
    proof_contract(&one).await;
    proof_sharing_contract(&one, &two).await;
    proof_expiry_contract(connect().await).await;
    proof_race_contract(Arc::new(one), Arc::new(two), true).await;
    // A fresh table for the pruning count.
    let pruned = SqlBlocklist::connect_with_table(&postgres_url(), &unique("blocklist"))
        .await
        .expect("connect to PostgreSQL");
    proofs_table_stays_bounded(pruned).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Redis"]
async fn redis_records_dpop_proofs_once_shared_by_instances() {
    require_service("Redis", REDIS);
    let prefix = format!("{}:", unique("jwt_test"));
    let url = "redis://127.0.0.1:6379";
    let one = at_now(redis_store(&prefix, url).await);
    let two = at_now(redis_store(&prefix, url).await);
    proof_contract(&one).await;
    assert!(
        one.record_proof_now(&proof_until(NOW + 60)).is_none(),
        "never answered locally: the record is shared"
    );
    proof_sharing_contract(&one, &two).await;

    // One key per proof under the store's prefix, living one second past retain_until by the
    // store's clock (frozen at NOW), however far that is from Redis's own clock.
    let proof = proof_until(NOW + 60);
    assert!(one.record_proof(&proof).await.unwrap());
    let key = format!("{prefix}dpop:{}", proof.key);
    let ttl: i64 = redis_query(&["TTL", &key]).await.unwrap().parse().unwrap();
    assert!((60..=61).contains(&ttl), "TTL {ttl}");

    // Expired (here: its TTL cut short by hand), the proof's name is taken over.
    redis_query(&["PEXPIRE", &key, "1"]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while redis_query(&["EXISTS", &key]).await.as_deref() != Some("0")
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(two.record_proof(&proof).await.unwrap(), "taken over");
    assert!(!one.record_proof(&proof).await.unwrap());
    // A proof already past its window by the store's clock is kept a second at most.
    let stale = proof_until(NOW - 100);
    assert!(one.record_proof(&stale).await.unwrap());
    let ttl: i64 = redis_query(&["TTL", &format!("{prefix}dpop:{}", stale.key)])
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert!(ttl <= 1, "TTL {ttl}");

    proof_race_contract(Arc::new(one), Arc::new(two), false).await;
}

/// An instance started (or resubscribing) loads revocations only: the DPoP proofs under the
/// same prefix, as many as requests within their window, are not fetched with them.
#[tokio::test]
#[ignore = "needs redis-server"]
async fn redis_mirror_load_does_not_fetch_the_dpop_proofs() {
    let server = support::redis_server::RedisServer::start();
    let store = at_now(redis_store("jwt:blocklist:", &server.url()).await);
    for _ in 0..1500 {
        assert!(store.record_proof(&proof_until(NOW + 60)).await.unwrap());
    }
    let revoked = info(&unique("jti"), "alice", NOW);
    store.revoke(&revoked).await.unwrap();
    server.query(&["CONFIG", "RESETSTAT"]);
    let later = redis_store("jwt:blocklist:", &server.url()).await;
    assert!(later.is_revoked(&revoked).await.unwrap(), "loaded");
    let stats = server.query(&["INFO", "commandstats"]);
    let mget_calls: u64 = stats
        .lines()
        .find_map(|line| line.strip_prefix("cmdstat_mget:calls="))
        .and_then(|rest| rest.split(',').next())
        .and_then(|calls| calls.parse().ok())
        .unwrap_or(0);
    assert_eq!(mget_calls, 1, "one page of revocations, no proofs: {stats}");
}
