//! The revocation stores against real backends: SQLite (embedded, always), PostgreSQL and Redis
//! (skipped with a message when absent, mandatory under `JWT_TEST_REQUIRE_SERVICES=1`).
//! The Redis tests run two app instances against one Redis and cut the connection mid-test.

mod support;

use std::time::Duration;

use jwt_runtime::stores::{
    Blocklist, RedisBlocklist, RedisBlocklistOptions, SqlBlocklist, TokenInfo,
};
use jwt_runtime::{jwt_required, Identity, Jwt, JwtManager};
use poem::{delete, get, handler, web::Json, EndpointExt, Route};
use serde_json::{json, Value};
use support::*;
use tokio::io::AsyncWriteExt;

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

fn app() -> Route {
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

/// The contract every store keeps.
async fn store_contract(store: &dyn Blocklist) {
    let a = info(&unique("jti"), "alice", NOW);
    let b = info(&unique("jti"), "bob", NOW);
    assert!(!store.is_revoked(&a).await.unwrap());
    store.revoke(&a).await.unwrap();
    assert!(store.is_revoked(&a).await.unwrap());
    assert!(!store.is_revoked(&b).await.unwrap());
    store.revoke_user("bob", NOW).await.unwrap();
    assert!(store.is_revoked(&b).await.unwrap());
    assert!(store
        .is_revoked(&info("other", "bob", NOW - 100))
        .await
        .unwrap());
    assert!(!store
        .is_revoked(&info("later", "bob", NOW + 1))
        .await
        .unwrap());
    let mut no_jti = info("x", "carol", NOW);
    no_jti.jti = None;
    assert!(!store.is_revoked(&no_jti).await.unwrap());
    assert!(store.revoke(&no_jti).await.is_err());
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
async fn postgres_store_contract_and_http_flow() {
    if !service_available("PostgreSQL", POSTGRES) {
        return;
    }
    let table = unique("blocklist");
    let store = SqlBlocklist::connect_with_table(&postgres_url(), &table)
        .await
        .expect("connect to PostgreSQL");
    store_contract(&store).await;

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
    let claims = jwt.decode_token(&token).unwrap();
    assert!(other
        .is_revoked(&TokenInfo::from_claims(&claims, "sub", 0))
        .await
        .unwrap());
    for t in [table.clone(), format!("{table}_users")] {
        sqlx::query(&format!("DROP TABLE {t}"))
            .execute(store.pool())
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
async fn redis_store_contract() {
    if !service_available("Redis", REDIS) {
        return;
    }
    let prefix = format!("{}:", unique("jwt_test"));
    store_contract(&redis_store(&prefix, "redis://127.0.0.1:6379").await).await;
}

#[tokio::test]
async fn redis_revocation_on_one_instance_is_rejected_on_every_instance() {
    if !service_available("Redis", REDIS) {
        return;
    }
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

/// A TCP proxy to Redis that the test can cut and restore, to play "Redis is down".
struct Proxy {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn start(port: u16) -> Proxy {
        let listener = loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                Ok(l) => break l,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut links = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                links.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(REDIS).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        let _ = server.shutdown().await;
                    }
                });
            }
        });
        Proxy {
            port,
            task: Some(task),
        }
    }

    /// Closes the listener and every proxied connection (aborting the task drops the JoinSet).
    fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[tokio::test]
async fn redis_down_fails_closed_and_recovers_by_itself() {
    if !service_available("Redis", REDIS) {
        return;
    }
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
