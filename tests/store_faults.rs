//! The network stores under faults: a Redis restarted without its data, a half-open link to
//! PostgreSQL or Redis. Each test owns its fault: a `redis-server` it kills and restarts
//! (support/redis_server.rs), or a proxy it switches to swallowing bytes (support/fault_proxy.rs).
//!
//! Ignored by default (`#[ignore = "needs ..."]`): run them with
//! `cargo test -p jwt-tests --test behaviour store_faults:: -- --include-ignored` where `redis-server` is
//! installed and PostgreSQL listens on 127.0.0.1:5432.

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use jwt_runtime::stores::{Blocklist, RedisBlocklist, RedisBlocklistOptions, SqlBlocklist};
use jwt_runtime::JwtManager;
use poem::{Endpoint, EndpointExt};
use support::fault_proxy::FaultProxy;
use support::redis_server::RedisServer;
use support::*;

const POSTGRES: &str = "127.0.0.1:5432";

// The stores tests' app: `GET /protected`, `DELETE /logout`, `DELETE /logout_everywhere`.
use crate::stores::app;

/// One `GET /protected` with `token`: its status and how long it took.
async fn get_protected<E: Endpoint>(
    cli: &poem::test::TestClient<E>,
    token: &str,
) -> (u16, Duration) {
    let started = Instant::now();
    let status = cli
        .get("/protected")
        .header("Authorization", bearer(token))
        .send()
        .await
        .0
        .status()
        .as_u16();
    (status, started.elapsed())
}

/// Polls `GET /protected` until it answers `want` or `limit` passes; the last status.
async fn status_within<E: Endpoint>(
    cli: &poem::test::TestClient<E>,
    token: &str,
    want: u16,
    limit: Duration,
) -> u16 {
    let deadline = Instant::now() + limit;
    loop {
        let (status, _) = get_protected(cli, token).await;
        if status == want || Instant::now() >= deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn redis_store(url: &str) -> RedisBlocklist {
    let store = RedisBlocklist::connect_with(url, RedisBlocklistOptions::default())
        .await
        .expect("connect to Redis");
    assert!(
        store.wait_until_current(Duration::from_secs(5)).await,
        "the mirror loads"
    );
    store
}

/// The app instance of one Redis store; the store stays reachable through the `Arc` for the
/// test's own checks.
struct Instance {
    jwt: JwtManager,
    store: Arc<RedisBlocklist>,
}

/// An `Arc`'d store as a store (so the test keeps a handle on it).
struct Shared(Arc<RedisBlocklist>);

impl Blocklist for Shared {
    async fn is_revoked(
        &self,
        token: &jwt_runtime::stores::TokenInfo,
    ) -> Result<bool, jwt_runtime::stores::BlocklistError> {
        self.0.is_revoked(token).await
    }
    fn is_revoked_now(
        &self,
        token: &jwt_runtime::stores::TokenInfo,
    ) -> Option<Result<bool, jwt_runtime::stores::BlocklistError>> {
        self.0.is_revoked_now(token)
    }
    async fn revoke(
        &self,
        token: &jwt_runtime::stores::TokenInfo,
    ) -> Result<(), jwt_runtime::stores::BlocklistError> {
        self.0.revoke(token).await
    }
    async fn revoke_user(
        &self,
        user: &str,
        issued_before: i64,
    ) -> Result<(), jwt_runtime::stores::BlocklistError> {
        self.0.revoke_user(user, issued_before).await
    }
}

async fn instance(url: &str) -> Instance {
    let mut store = redis_store(url).await;
    // The manager hands its clock to the store it holds; this one it holds through `Shared`.
    store.use_clock(Arc::new(|| NOW as f64));
    let store = Arc::new(store);
    let jwt = builder(config())
        .blocklist(Shared(store.clone()))
        .build()
        .expect("valid test config");
    Instance { jwt, store }
}

/// What one instance answered for the revoked tokens while Redis was away and came back.
#[derive(Debug, Default)]
struct Tally {
    requests: usize,
    accepted: usize,
    statuses: std::collections::BTreeMap<u16, usize>,
}

/// Asks `/protected` with every token in `tokens` in turn until `until` returns true (checked
/// between rounds) or `limit` passes; counts the answers.
async fn hammer<E: Endpoint>(
    cli: &poem::test::TestClient<E>,
    tokens: &[&str],
    limit: Duration,
    mut until: impl FnMut() -> bool,
) -> Tally {
    let mut tally = Tally::default();
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline && !until() {
        for token in tokens {
            let (status, _) = get_protected(cli, token).await;
            tally.requests += 1;
            *tally.statuses.entry(status).or_default() += 1;
            if status == 200 {
                tally.accepted += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    tally
}

/// Kills and restarts (empty) the server on a blocking thread, while the app keeps serving.
async fn restart_empty(server: RedisServer, outage: Duration) -> RedisServer {
    tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.kill();
        std::thread::sleep(outage);
        server.restart();
        server
    })
    .await
    .expect("the restart thread")
}

/// Revokes one token of alice (`/logout`) and every token of bob (`/logout_everywhere`) on
/// `one`; returns those two tokens and a live token of carol.
async fn revoke_two<E: Endpoint>(
    cli: &poem::test::TestClient<E>,
    one: &Instance,
) -> (String, String, String) {
    let alice = one.jwt.create_access_token("alice").await.unwrap();
    let bob = one.jwt.create_access_token("bob").await.unwrap();
    let carol = one.jwt.create_access_token("carol").await.unwrap();
    cli.delete("/logout")
        .header("Authorization", bearer(&alice))
        .send()
        .await
        .assert_status_is_ok();
    cli.delete("/logout_everywhere")
        .header("Authorization", bearer(&bob))
        .send()
        .await
        .assert_status_is_ok();
    for token in [&alice, &bob] {
        assert_msg(
            cli.get("/protected")
                .header("Authorization", bearer(token))
                .send()
                .await,
            401,
            "Token has been revoked",
        )
        .await;
    }
    assert_eq!(get_protected(cli, &carol).await.0, 200);
    (alice, bob, carol)
}

/// After Redis came back empty: `one` wrote back what Redis lost (with its retention), so an
/// instance started now refuses the revoked tokens too.
async fn assert_written_back(server: &RedisServer, one: &Instance, alice: &str, bob: &str) {
    assert!(
        one.store.wait_until_current(Duration::from_secs(10)).await,
        "the instance resubscribes by itself"
    );
    let claims = one.jwt.decode_token(alice).unwrap();
    let jti = claims["jti"].as_str().unwrap();
    let ttl: i64 = server
        .query(&["TTL", &format!("jwt:blocklist:jti:{jti}")])
        .parse()
        .unwrap_or(-2);
    // exp is NOW + 900 on the frozen clock; the key lives until then (plus a second).
    assert!(
        (850..=901).contains(&ttl),
        "the revocation is written back with its retention; TTL {ttl}"
    );
    assert_eq!(
        server.query(&["GET", "jwt:blocklist:user:bob"]),
        NOW.to_string(),
        "the user cut-off is written back"
    );
    let later = instance(&server.url()).await;
    let cli_later = poem::test::TestClient::new(app().with(later.jwt.clone()));
    for token in [alice, bob] {
        assert_msg(
            cli_later
                .get("/protected")
                .header("Authorization", bearer(token))
                .send()
                .await,
            401,
            "Token has been revoked",
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server"]
async fn redis_restarted_without_its_data_keeps_refusing_what_the_instance_revoked() {
    let server = RedisServer::start();
    let one = instance(&server.url()).await;
    let cli = poem::test::TestClient::new(app().with(one.jwt.clone()));
    let (alice, bob, carol) = revoke_two(&cli, &one).await;

    // A quick restart: Redis is back at once, empty.
    let restarted = tokio::spawn(restart_empty(server, Duration::ZERO));
    let through = hammer(&cli, &[&alice, &bob], Duration::from_secs(10), || {
        restarted.is_finished()
    })
    .await;
    let server = restarted.await.unwrap();
    let store = one.store.clone();
    let after = hammer(&cli, &[&alice, &bob], Duration::from_secs(10), || {
        store.is_mirror_current()
    })
    .await;
    eprintln!("through the restart: {through:?}; until resubscribed: {after:?}");
    assert_eq!(
        (through.accepted, after.accepted),
        (0, 0),
        "a revoked token was accepted: through the restart {through:?}, after it {after:?}"
    );
    assert_written_back(&server, &one, &alice, &bob).await;
    // Still refused on the instance itself, and a live token is served again.
    assert_eq!(get_protected(&cli, &alice).await.0, 401);
    assert_eq!(get_protected(&cli, &bob).await.0, 401);
    assert_eq!(
        status_within(&cli, &carol, 200, Duration::from_secs(5)).await,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server"]
async fn redis_back_after_an_outage_is_resubscribed_promptly_and_refilled() {
    let server = RedisServer::start();
    let one = instance(&server.url()).await;
    let cli = poem::test::TestClient::new(app().with(one.jwt.clone()));
    let (alice, bob, carol) = revoke_two(&cli, &one).await;

    // An outage long enough for the resubscription's pause to have grown.
    let outage = Duration::from_secs(8);
    let restarted = tokio::spawn(restart_empty(server, outage));
    let during = hammer(&cli, &[&alice, &bob], outage * 3, || {
        restarted.is_finished()
    })
    .await;
    let server = restarted.await.unwrap();
    let back = Instant::now();
    let store = one.store.clone();
    let after = hammer(&cli, &[&alice, &bob], Duration::from_secs(20), || {
        store.is_mirror_current()
    })
    .await;
    let resubscribed = back.elapsed();
    eprintln!(
        "outage: {during:?}; until resubscribed ({resubscribed:?} after Redis was back): {after:?}"
    );
    assert_eq!(
        (during.accepted, after.accepted),
        (0, 0),
        "a revoked token was accepted: during the outage {during:?}, after it {after:?}"
    );
    // The live token was refused (503) during the outage, never accepted unchecked.
    assert!(
        resubscribed < Duration::from_secs(3),
        "resubscribed {resubscribed:?} after Redis was back"
    );
    assert_written_back(&server, &one, &alice, &bob).await;
    assert_eq!(
        status_within(&cli, &carol, 200, Duration::from_secs(5)).await,
        200
    );
}

// ---- a half-open link ----

fn postgres_url_via(port: u16) -> String {
    let base = std::env::var("JWT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    // Same database, through the proxy.
    base.replace("127.0.0.1:5432", &format!("127.0.0.1:{port}"))
}

/// A SQL store on a fresh table of the test PostgreSQL, reached through a fault proxy.
async fn postgres_through_a_proxy() -> (FaultProxy, String, SqlBlocklist) {
    let proxy = FaultProxy::start(POSTGRES).await;
    let table = unique("faults");
    let store = SqlBlocklist::connect_with_table(&postgres_url_via(proxy.port()), &table)
        .await
        .expect("connect to PostgreSQL through the proxy");
    (proxy, table, store)
}

/// After `settle`, no connection of `pool` is still in use: one whose command timed out was
/// closed (a stuck one would hold a slot of the pool for good).
async fn assert_no_connection_stuck(pool: &sqlx::AnyPool, settle: Duration) {
    tokio::time::sleep(settle).await;
    let in_use = pool.size() as usize - pool.num_idle();
    assert_eq!(
        in_use,
        0,
        "connections stuck in use: {in_use} of {}",
        pool.size()
    );
}

/// Through a link that goes half-open: the first request that has to ask the store answers 503
/// within a bound (not the pool's 30 s), the requests right after answer 503 without waiting,
/// and once the link heals the store serves again, a revoked token still refused.
/// `asks_the_store` returns once checks have to ask the store (at once for SQL).
async fn half_open_contract<E: Endpoint>(
    proxy: &FaultProxy,
    cli: &poem::test::TestClient<E>,
    live: &str,
    revoked: &str,
    asks_the_store: impl std::future::Future<Output = ()>,
) {
    assert_eq!(get_protected(cli, live).await.0, 200);
    assert_eq!(get_protected(cli, revoked).await.0, 401);

    proxy.swallow(true);
    asks_the_store.await;
    let first = tokio::time::timeout(Duration::from_secs(40), get_protected(cli, live))
        .await
        .expect("the request ends");
    eprintln!("first request over the half-open link: {first:?}");
    assert_eq!(first.0, 503, "fail closed");
    assert!(
        first.1 < Duration::from_secs(5),
        "the first request waited {:?}",
        first.1
    );
    // Right after: the store is known to be down, requests do not each wait for it.
    let mut quick = 0;
    let mut answers = Vec::new();
    for _ in 0..5 {
        let (status, took) = get_protected(cli, live).await;
        answers.push((status, took));
        assert_eq!(status, 503, "fail closed: {answers:?}");
        if took < Duration::from_millis(100) {
            quick += 1;
        }
    }
    eprintln!("right after: {answers:?}");
    assert!(quick >= 4, "requests waited for the store: {answers:?}");

    // The link heals: served again, by itself.
    proxy.swallow(false);
    let healed = Instant::now();
    assert_eq!(
        status_within(cli, live, 200, Duration::from_secs(10)).await,
        200,
        "the store recovers when the link heals"
    );
    eprintln!("served again {:?} after the link healed", healed.elapsed());
    for _ in 0..3 {
        assert_eq!(get_protected(cli, live).await.0, 200);
    }
    assert_eq!(get_protected(cli, revoked).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL"]
async fn postgres_half_open_link_fails_closed_at_once_and_recovers() {
    require_service("PostgreSQL", POSTGRES);
    let (proxy, _table, store) = postgres_through_a_proxy().await;
    let pool = store.pool().clone();
    let jwt = builder(config()).blocklist(store).build().unwrap();
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let live = jwt.create_access_token("alice").await.unwrap();
    let revoked = jwt.create_access_token("alice").await.unwrap();
    cli.delete("/logout")
        .header("Authorization", bearer(&revoked))
        .send()
        .await
        .assert_status_is_ok();

    half_open_contract(&proxy, &cli, &live, &revoked, async {}).await;

    // No connection stays stuck on the dead link: the ones whose command timed out were closed
    // (a stuck one would hold a slot of the pool forever).
    assert_no_connection_stuck(&pool, Duration::from_secs(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server"]
async fn redis_half_open_link_fails_closed_at_once_and_recovers() {
    let server = RedisServer::start();
    let proxy = FaultProxy::start(&format!(
        "127.0.0.1:{}",
        server.url().rsplit(':').next().unwrap()
    ))
    .await;
    let one = instance(&format!("redis://127.0.0.1:{}", proxy.port())).await;
    let cli = poem::test::TestClient::new(app().with(one.jwt.clone()));
    let live = one.jwt.create_access_token("alice").await.unwrap();
    let revoked = one.jwt.create_access_token("alice").await.unwrap();
    cli.delete("/logout")
        .header("Authorization", bearer(&revoked))
        .send()
        .await
        .assert_status_is_ok();
    // The mirror answers without Redis until the heartbeat finds the link dead (2 s); from
    // then on checks ask Redis, through the dead link.
    let store = one.store.clone();
    let stale = async move {
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.is_mirror_current() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!store.is_mirror_current(), "the heartbeat notices");
    };
    half_open_contract(&proxy, &cli, &live, &revoked, stale).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL"]
async fn postgres_connection_lost_mid_command_never_keeps_a_pool_slot() {
    use sqlx::Connection;
    require_service("PostgreSQL", POSTGRES);
    let (proxy, table, store) = postgres_through_a_proxy().await;
    let pool = store.pool().clone();
    let jwt = builder(config()).blocklist(store).build().unwrap();
    let cli = Arc::new(poem::test::TestClient::new(app().with(jwt.clone())));
    let live = jwt.create_access_token("alice").await.unwrap();
    assert_eq!(get_protected(&cli, &live).await.0, 200);

    // The database holds the store's next query (a lock) while the link of its connection
    // dies for good; then the database answers, into the dead link.
    let direct = postgres_url_via(5432);
    let mut locker = sqlx::PgConnection::connect(&direct).await.unwrap();
    let mut lock = locker.begin().await.unwrap();
    sqlx::query(&format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        .execute(&mut *lock)
        .await
        .unwrap();
    let request = tokio::spawn({
        let (cli, live) = (cli.clone(), live.clone());
        async move { get_protected(&cli, &live).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.strand_open_connections();
    lock.commit().await.unwrap();
    let (status, took) = request.await.unwrap();
    assert_eq!(status, 503, "fail closed");
    assert!(took < Duration::from_secs(5), "waited {took:?}");

    // New connections work: served again.
    assert_eq!(
        status_within(&cli, &live, 200, Duration::from_secs(10)).await,
        200
    );
    // The connection stranded mid-command was closed, not kept waiting for an answer that
    // never comes (it would hold a slot of the pool for good).
    assert_no_connection_stuck(&pool, Duration::from_millis(2500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server"]
async fn redis_cluster_gets_back_what_it_lost_from_the_instances_that_hold_it() {
    let cluster = support::redis_cluster::RedisCluster::start(3);
    let urls = cluster.urls();
    let nodes: Vec<&str> = urls.iter().map(String::as_str).collect();
    let connect = || async {
        let mut store = RedisBlocklist::connect_cluster(&nodes, RedisBlocklistOptions::default())
            .await
            .expect("connect to the Redis Cluster");
        store.use_clock(Arc::new(|| NOW as f64));
        assert!(store.wait_until_current(Duration::from_secs(5)).await);
        store
    };
    let store = connect().await;
    let tagged = store.key_prefix().to_string();
    let token = jwt_runtime::stores::TokenInfo {
        jti: Some(unique("jti")),
        token_type: "access".into(),
        user: "alice".into(),
        issued_at: NOW,
        expires_at: Some(NOW + 900),
        retain_until: Some(NOW + 900),
    };
    let jti_key = format!("{tagged}jti:{}", token.jti.as_deref().unwrap());
    let user_key = format!("{tagged}user:bob");
    store.revoke(&token).await.unwrap();
    store.revoke_user("bob", NOW).await.unwrap();

    // The cluster loses both (as after a failover to a replica that had not caught up), and
    // the instance's subscription drops.
    cluster.query(&["DEL", &jti_key, &user_key]);
    assert_eq!(cluster.query(&["EXISTS", &jti_key]), "0");
    for port in cluster.ports() {
        cluster.query_node(port, &["CLIENT", "KILL", "TYPE", "pubsub"]);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while cluster.query(&["EXISTS", &jti_key]) != "1" && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ttl: i64 = cluster.query(&["TTL", &jti_key]).parse().unwrap_or(-2);
    assert!(
        (850..=901).contains(&ttl),
        "the revocation is written back through the cluster with its retention; TTL {ttl}"
    );
    assert_eq!(cluster.query(&["GET", &user_key]), NOW.to_string());
    assert!(store.is_revoked(&token).await.unwrap());
    let later = connect().await;
    assert!(later.is_revoked(&token).await.unwrap());
    let bobs = jwt_runtime::stores::TokenInfo {
        jti: Some(unique("jti")),
        user: "bob".into(),
        ..token.clone()
    };
    assert!(later.is_revoked(&bobs).await.unwrap());
}

/// A session this instance knows ended stays refused whatever Redis lost: through a Redis
/// killed and restarted empty, its tokens get 401 from the mirror (not a 503 for the outage,
/// never a 200), and after it too. A session Redis lost while live is refused (fail closed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server"]
async fn redis_restarted_without_its_data_does_not_bring_back_an_ended_session() {
    let server = RedisServer::start();
    let mut config = config();
    config.refresh_rotation = true;
    let jwt = builder(config)
        .blocklist(redis_store(&server.url()).await)
        .build()
        .expect("valid test config");
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let user = serde_json::json!(unique("alice"));
    let ended = jwt.login(&user).await.unwrap();
    let live = jwt.login(&user).await.unwrap();
    assert_eq!(get_protected(&cli, &ended.access_token).await.0, 200);
    assert_eq!(get_protected(&cli, &live.access_token).await.0, 200);
    assert!(jwt.end_session(&user, &ended.session).await.unwrap());
    assert_eq!(get_protected(&cli, &ended.access_token).await.0, 401);

    let restarted = tokio::spawn(restart_empty(server, Duration::from_millis(500)));
    let through = hammer(
        &cli,
        &[&ended.access_token],
        Duration::from_secs(10),
        || restarted.is_finished(),
    )
    .await;
    let _server = restarted.await.unwrap();
    let after = hammer(
        &cli,
        &[&ended.access_token],
        Duration::from_millis(1500),
        || false,
    )
    .await;
    eprintln!("ended session, through the restart: {through:?}; after it: {after:?}");
    assert!(through.requests > 0 && after.requests > 0);
    assert_eq!(
        (
            through.statuses.keys().collect::<Vec<_>>(),
            after.statuses.keys().collect::<Vec<_>>()
        ),
        (vec![&401], vec![&401]),
        "an ended session must be refused (401) throughout: {through:?} then {after:?}"
    );
    // Redis lost the live one: refused, never served from a "live" known before the outage.
    assert_eq!(
        status_within(&cli, &live.access_token, 401, Duration::from_secs(5)).await,
        401
    );
}

// ---- DPoP replay records (RFC 9449 §11.1) under faults ----

/// A proof record `store` answers `want` for, within `limit` (the store recovering after a
/// fault); the last answer.
async fn proof_answer_within(
    store: &impl Blocklist,
    proof: &jwt_runtime::stores::ProofRecord,
    want: bool,
    limit: Duration,
) -> Result<bool, jwt_runtime::stores::BlocklistError> {
    let deadline = Instant::now() + limit;
    loop {
        let answer = store.record_proof(proof).await;
        if answer == Ok(want) || Instant::now() >= deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A proof store that cannot answer refuses every proof with an error (the pipeline's 503),
/// never "first time": over a half-open link (within a bound, then at once), and over a
/// refused one. Once the link heals, a proof recorded before is still a replay.
async fn proof_fault_contract(proxy: FaultProxy, store: &impl Blocklist) {
    let seen = crate::stores::proof_until(NOW + 60);
    assert_eq!(store.record_proof(&seen).await, Ok(true));

    proxy.swallow(true);
    let started = Instant::now();
    let fresh = crate::stores::proof_until(NOW + 60);
    let answer = tokio::time::timeout(Duration::from_secs(40), store.record_proof(&fresh))
        .await
        .expect("the call ends");
    assert!(answer.is_err(), "fail closed, not a guess: {answer:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited {:?}",
        started.elapsed()
    );
    for proof in [&seen, &crate::stores::proof_until(NOW + 60)] {
        let answer = store.record_proof(proof).await;
        assert!(answer.is_err(), "fail closed: {answer:?}");
    }

    // Healed: served again; what was recorded before is still a replay (and no late answer to
    // a command sent into the dead link is taken for another's).
    proxy.swallow(false);
    assert_eq!(
        proof_answer_within(store, &seen, false, Duration::from_secs(10)).await,
        Ok(false)
    );
    assert_eq!(
        store
            .record_proof(&crate::stores::proof_until(NOW + 60))
            .await,
        Ok(true)
    );

    // Refused: the proxy gone, its port closed.
    drop(proxy);
    for _ in 0..3 {
        let answer = store
            .record_proof(&crate::stores::proof_until(NOW + 60))
            .await;
        assert!(answer.is_err(), "fail closed: {answer:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL"]
async fn postgres_down_refuses_dpop_proofs() {
    require_service("PostgreSQL", POSTGRES);
    let (proxy, _table, mut store) = postgres_through_a_proxy().await;
    store.use_clock(Arc::new(|| NOW as f64));
    proof_fault_contract(proxy, &store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server"]
async fn redis_down_refuses_dpop_proofs_even_with_fail_open() {
    let server = RedisServer::start();
    let proxy = FaultProxy::start(&format!(
        "127.0.0.1:{}",
        server.url().rsplit(':').next().unwrap()
    ))
    .await;
    let mut store = RedisBlocklist::connect_with(
        &format!("redis://127.0.0.1:{}", proxy.port()),
        // Lets tokens through when Redis is down; never proofs.
        RedisBlocklistOptions::default().fail_open(true),
    )
    .await
    .expect("connect to Redis");
    store.use_clock(Arc::new(|| NOW as f64));
    proof_fault_contract(proxy, &store).await;
}
