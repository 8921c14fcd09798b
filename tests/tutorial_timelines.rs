//! The tutorial's timelines (tokens that expire after seconds, a refresh window, a "log out
//! everywhere" cut-off) against the examples' own routes and settings, in process, on a clock the
//! test moves: no wall-clock sleep, so a loaded machine cannot make them fail. The examples'
//! socket tests (`examples_over_socket.rs`) keep what only a real server shows.
// Each example brings its own copy of `examples/common` (`mod common;`), as it does when built.
#![allow(clippy::duplicate_mod)]

use jwt_runtime::{JwtConfig, JwtManagerBuilder};
use poem::test::{TestClient, TestResponse};
use poem::Endpoint;
use serde_json::{json, Value};

use crate::support::{TestClock, NOW, SECRET};

#[allow(dead_code)]
#[path = "../examples/custom_errors.rs"]
mod custom_errors;
#[allow(dead_code)]
#[path = "../examples/implicit_refresh.rs"]
mod implicit_refresh;
#[allow(dead_code)]
#[path = "../examples/logout_everywhere.rs"]
mod logout_everywhere;
#[allow(dead_code)]
#[path = "../examples/refresh_tokens.rs"]
mod refresh_tokens;

/// The examples' base configuration (the tutorial's settings come from each example).
fn config() -> JwtConfig {
    JwtConfig::default().with_secret(SECRET)
}

/// `builder` on a clock the test moves, starting at `NOW`.
fn on_test_clock(builder: JwtManagerBuilder) -> (jwt_runtime::JwtManager, TestClock) {
    let clock = TestClock::at(NOW);
    let jwt = builder
        .clock(clock.clone())
        .build()
        .expect("the example's configuration is valid");
    (jwt, clock)
}

async fn status_and_json(resp: TestResponse) -> (u16, Value) {
    let status = resp.0.status().as_u16();
    (status, resp.json().await.value().deserialize())
}

/// POSTs to `path` and returns the token under `key` in the JSON answer.
async fn token<E: Endpoint>(
    cli: &TestClient<E>,
    path: &str,
    bearer: Option<&str>,
    key: &str,
) -> String {
    let mut req = cli.post(path);
    if let Some(token) = bearer {
        req = req.header("Authorization", format!("Bearer {token}"));
    }
    let (status, body) = status_and_json(req.send().await).await;
    assert_eq!(status, 200, "{path}: {body}");
    body[key].as_str().expect("a token").to_string()
}

async fn get<E: Endpoint>(cli: &TestClient<E>, path: &str, bearer: &str) -> (u16, Value) {
    let req = cli
        .get(path)
        .header("Authorization", format!("Bearer {bearer}"));
    status_and_json(req.send().await).await
}

#[tokio::test]
async fn refresh_tokens_timeline() {
    let (jwt, clock) = on_test_clock(refresh_tokens::manager(config()));
    let cli = TestClient::new(refresh_tokens::app(jwt));
    let access = token(&cli, "/login", None, "access_token").await;
    let refresh = token(&cli, "/login", None, "refresh_token").await;
    let expired = (401, json!({"msg": "Token has expired"}));
    // The tutorial's client: 0 s, 2 s, then 4 s (the 3-second access token expired: refresh),
    // then 10 s (both expired).
    assert_eq!(get(&cli, "/protected", &access).await.0, 200);
    clock.set(NOW + 2);
    assert_eq!(get(&cli, "/protected", &access).await.0, 200);
    clock.set(NOW + 4);
    assert_eq!(get(&cli, "/protected", &access).await, expired);
    let renewed = token(&cli, "/refresh", Some(&refresh), "access_token").await;
    assert_eq!(
        get(&cli, "/protected", &renewed).await,
        (200, json!({"foo": "bar"}))
    );
    clock.set(NOW + 11);
    assert_eq!(get(&cli, "/protected", &renewed).await, expired);
    let again = cli
        .post("/refresh")
        .header("Authorization", format!("Bearer {refresh}"));
    assert_eq!(status_and_json(again.send().await).await, expired);
}

/// The `Set-Cookie` values of `resp` as `name=value` pairs (what a browser sends back).
fn cookies_set_by(resp: &TestResponse) -> Vec<(String, String)> {
    resp.0
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

#[tokio::test]
async fn implicit_refresh_timeline() {
    let (jwt, clock) = on_test_clock(implicit_refresh::manager(config()));
    let cli = TestClient::new(implicit_refresh::app(jwt));
    let login = cli.post("/login").send().await;
    let mut jar: Vec<(String, String)> = cookies_set_by(&login);
    assert!(jar.iter().any(|(name, _)| name == "access_token_cookie"));
    // The tutorial's client: 200 at 0 s, 2 s and 4 s (each response within the 3-second window
    // replaces the 3-second cookie), then 401 after more than 3 s of silence.
    let mut statuses = Vec::new();
    let mut replaced = 0;
    for at in [0, 2, 4, 8] {
        clock.set(NOW + at);
        let cookie = jar
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let resp = cli.get("/protected").header("Cookie", cookie).send().await;
        statuses.push(resp.0.status().as_u16());
        for (name, value) in cookies_set_by(&resp) {
            replaced += 1;
            jar.retain(|(known, _)| *known != name);
            jar.push((name, value));
        }
    }
    assert_eq!(statuses, [200, 200, 200, 401]);
    assert!(
        replaced >= 2,
        "the 2 s and 4 s responses replaced the cookie"
    );
}

#[tokio::test]
async fn custom_errors_timeline() {
    let mut settings = config();
    settings.access_token_expires = jwt_runtime::Expiry::Seconds(1);
    let (jwt, clock) = on_test_clock(custom_errors::manager(settings));
    let cli = TestClient::new(custom_errors::app(jwt));
    let access = token(&cli, "/login", None, "access_token").await;
    assert_eq!(
        get(&cli, "/protected", &access).await,
        (200, json!({"hello": "world"}))
    );
    clock.set(NOW + 2);
    assert_eq!(
        get(&cli, "/protected", &access).await,
        (
            401,
            json!({"code": "dave", "err": "I can't let you do that"})
        )
    );
}

#[tokio::test]
async fn logout_everywhere_cut_off() {
    let (jwt, clock) = on_test_clock(jwt_runtime::JwtManager::builder(config()));
    let cli = TestClient::new(logout_everywhere::app(jwt));
    let revoked = (401, json!({"msg": "Token has been revoked"}));
    let phone = token(&cli, "/login", None, "access_token").await;
    let laptop = token(&cli, "/login", None, "access_token").await;
    let out = cli
        .delete("/logout_everywhere")
        .header("Authorization", format!("Bearer {laptop}"));
    assert_eq!(
        status_and_json(out.send().await).await,
        (200, json!({"msg": "Logged out everywhere"}))
    );
    assert_eq!(get(&cli, "/protected", &phone).await, revoked);
    // A token issued in the same second is before the cut-off too; one of a later second works.
    let same_second = token(&cli, "/login", None, "access_token").await;
    assert_eq!(get(&cli, "/protected", &same_second).await, revoked);
    clock.set(NOW + 1);
    let later = token(&cli, "/login", None, "access_token").await;
    assert_eq!(
        get(&cli, "/protected", &later).await,
        (200, json!({"foo": "bar"}))
    );
}
