//! Shared by the behaviour tests: a manager on a frozen clock, raw token minting, a TestClient.
#![allow(dead_code)]

pub mod dpop_client;
pub mod fault_proxy;
pub mod logs;
pub mod oidc_provider;
pub mod redis_cluster;
pub mod redis_server;
pub mod server;
pub mod socket;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwt_runtime::{JwtConfig, JwtManager, JwtManagerBuilder};
use poem::test::{TestClient, TestResponse};
use poem::{Endpoint, EndpointExt};
use serde_json::{json, Value};

/// The frozen "now" of every test manager.
pub const NOW: i64 = 1_800_000_000;
/// A 32-byte HS256 secret.
pub const SECRET: &str = "0123456789abcdef0123456789abcdef";

pub fn config() -> JwtConfig {
    JwtConfig::default().with_secret(SECRET)
}

/// A builder on the frozen clock, for tests that add a store or hooks.
pub fn builder(config: JwtConfig) -> JwtManagerBuilder {
    JwtManager::builder(config).clock(|| NOW as f64)
}

/// A clock a test can move forward, starting at `NOW`.
#[derive(Clone)]
pub struct TestClock(std::sync::Arc<std::sync::atomic::AtomicI64>);

impl TestClock {
    /// A clock at `now` (whole seconds).
    pub fn at(now: i64) -> Self {
        TestClock(std::sync::Arc::new(std::sync::atomic::AtomicI64::new(now)))
    }

    /// Sets the time (whole seconds).
    pub fn set(&self, now: i64) {
        self.0.store(now, std::sync::atomic::Ordering::SeqCst);
    }
}

impl jwt_runtime::hooks::Clock for TestClock {
    fn now(&self) -> f64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst) as f64
    }
}

/// A manager on a [`TestClock`].
pub fn manager_with_clock(config: JwtConfig) -> (JwtManager, TestClock) {
    let clock = TestClock::at(NOW);
    let jwt = JwtManager::builder(config)
        .clock(clock.clone())
        .build()
        .expect("valid test config");
    (jwt, clock)
}

pub fn manager(config: JwtConfig) -> JwtManager {
    builder(config).build().expect("valid test config")
}

pub fn client(app: impl Endpoint + 'static, config: JwtConfig) -> TestClient<impl Endpoint> {
    TestClient::new(app.with(manager(config)))
}

/// Signs `claims` with `header` and `secret` by hand (HS256 unless the header says otherwise).
pub fn sign(header: Value, claims: Value, secret: &str) -> String {
    let alg: jsonwebtoken::Algorithm = header["alg"]
        .as_str()
        .unwrap_or("HS256")
        .parse()
        .expect("alg");
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key, alg).expect("sign");
    format!("{input}.{sig}")
}

/// A valid access token payload for `sub`, at `NOW`, expiring in 15 minutes.
pub fn claims(sub: &str) -> Value {
    json!({"fresh": false, "iat": NOW, "jti": "j-1", "type": "access", "sub": sub, "nbf": NOW, "exp": NOW + 900})
}

/// `claims(sub)` with `changes` applied (a `null` value removes the claim).
pub fn claims_with(sub: &str, changes: Value) -> Value {
    let mut c = claims(sub);
    for (k, v) in changes.as_object().expect("object").clone() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(&k);
        } else {
            c[k] = v;
        }
    }
    c
}

pub fn hs256(claims: Value) -> String {
    sign(json!({"alg": "HS256", "typ": "JWT"}), claims, SECRET)
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Asserts status and the exact default body `{"msg":"..."}\n`.
pub async fn assert_msg(resp: TestResponse, status: u16, msg: &str) {
    resp.assert_status(poem::http::StatusCode::from_u16(status).unwrap());
    resp.assert_content_type("application/json");
    resp.assert_text(format!("{}\n", json!({ "msg": msg })))
        .await;
}

/// Panics with a clear message unless `name` listens at `addr`. Tests that call it are marked
/// `#[ignore = "needs <service>"]`: a plain `cargo test` reports them as ignored, and
/// `cargo test -- --ignored` (as `.ci/run` does) runs them for real.
pub fn require_service(name: &str, addr: &str) {
    let up = addr.parse().ok().is_some_and(|a| {
        std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_millis(500)).is_ok()
    });
    assert!(
        up,
        "{name} is not reachable at {addr}: start it, or run without --ignored"
    );
}

/// A name no other test run uses (tables, key prefixes).
pub fn unique(name: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{name}_{}_{}_{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::SeqCst)
    )
}
