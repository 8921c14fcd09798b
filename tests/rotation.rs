//! Refresh-token rotation with reuse detection, and sessions (`JWT_REFRESH_ROTATION`), on the
//! default memory store: rotation, the grace window under concurrent refreshes (over a real
//! socket), reuse ending the whole session, cookies, implicit refresh, the sessions API, and
//! that nothing changes when rotation is off. The Redis and SQL stores are in `stores.rs`.

use crate::support;

use jwt_runtime::stores::{Blocklist, BlocklistError, TokenInfo};
use jwt_runtime::{jwt_required, Identity, Jwt, JwtConfig, JwtManager, RotatedRefreshToken};
use poem::http::StatusCode;
use poem::test::TestClient;
use poem::web::Json;
use poem::{get, handler, post, EndpointExt, IntoResponse, Response, Route};
use serde_json::{json, Value};
use support::*;

#[handler]
async fn login_route(jwt: JwtManager, req: &poem::Request) -> poem::Result<Json<Value>> {
    let label = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_string();
    let tokens = jwt.login("alice").label(label).await?;
    Ok(Json(json!({
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "session": tokens.session,
    })))
}

#[jwt_required(refresh)]
#[handler]
async fn refresh_route(
    identity: Identity,
    rotated: RotatedRefreshToken,
    jwt: JwtManager,
) -> poem::Result<Json<Value>> {
    // Joins the rotated session: the manager of a rotating request belongs to it.
    let access = jwt.create_access_token(identity.value()).await?;
    Ok(Json(
        json!({"access_token": access, "refresh_token": rotated.token()}),
    ))
}

#[jwt_required(refresh, skip_revocation_check)]
#[handler]
async fn refresh_unchecked(rotated: RotatedRefreshToken) -> Json<Value> {
    Json(json!({"refresh_token": rotated.token()}))
}

#[jwt_required]
#[handler]
async fn protected(identity: Identity) -> String {
    identity.to_string()
}

#[jwt_required]
#[handler]
async fn sessions_route(identity: Identity, jwt: JwtManager) -> poem::Result<Json<Value>> {
    let list = jwt.sessions(identity.value()).await?;
    Ok(Json(serde_json::to_value(list).unwrap_or_default()))
}

#[jwt_required]
#[handler]
async fn logout_others(token: Jwt, jwt: JwtManager) -> poem::Result<Json<Value>> {
    let current = jwt_runtime::session_of(token.raw()).unwrap_or_default();
    let ended = jwt
        .end_other_sessions(token.identity().value(), current)
        .await?;
    Ok(Json(json!({ "ended": ended })))
}

fn app() -> Route {
    Route::new()
        .at("/login", post(login_route))
        .at("/refresh", post(refresh_route))
        .at("/refresh_unchecked", post(refresh_unchecked))
        .at("/protected", get(protected))
        .at("/sessions", get(sessions_route))
        .at("/logout_others", post(logout_others))
}

fn rotation_config() -> JwtConfig {
    let mut config = config();
    config.refresh_rotation = true;
    config.refresh_rotation_grace = 10;
    config
}

async fn json_of(resp: poem::test::TestResponse) -> Value {
    resp.assert_status_is_ok();
    resp.0.into_body().into_json().await.expect("json body")
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().expect(key).to_string()
}

async fn login_as(cli: &TestClient<impl poem::Endpoint>, agent: &str) -> Value {
    json_of(cli.post("/login").header("user-agent", agent).send().await).await
}

async fn refresh_with(
    cli: &TestClient<impl poem::Endpoint>,
    token: &str,
) -> poem::test::TestResponse {
    cli.post("/refresh")
        .header("authorization", bearer(token))
        .send()
        .await
}

fn claims_of(jwt: &JwtManager, token: &str) -> jwt_runtime::JsonObject {
    jwt.decode_token(token).expect("valid token")
}

#[tokio::test]
async fn rotation_off_changes_nothing() {
    let jwt = manager(config());
    let cli = TestClient::new(app().with(jwt.clone()));
    let refresh = jwt.create_refresh_token("alice").await.unwrap();
    assert!(!claims_of(&jwt, &refresh).contains_key("fam"));
    for _ in 0..3 {
        // A route that asks for the rotated token without rotation is misconfigured: a 500
        // (logged with the fix), never a `null` token.
        refresh_with(&cli, &refresh)
            .await
            .assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    }
    // The sessions API says rotation is off instead of pretending.
    let err = jwt.sessions(&json!("alice")).await.unwrap_err();
    assert_eq!(err.kind(), jwt_runtime::ErrorKind::Misconfigured);
}

#[tokio::test]
async fn a_refresh_rotates_and_a_replayed_token_ends_the_session() {
    let (jwt, clock) = manager_with_clock(rotation_config());
    let cli = TestClient::new(app().with(jwt.clone()));
    let login = login_as(&cli, "laptop").await;
    let first = text(&login, "refresh_token");
    let session = text(&login, "session");
    assert_eq!(claims_of(&jwt, &first)["fam"], json!(session));

    let second = json_of(refresh_with(&cli, &first).await).await;
    let second_refresh = text(&second, "refresh_token");
    assert_ne!(second_refresh, first);
    assert_eq!(claims_of(&jwt, &second_refresh)["fam"], json!(session));
    let third = json_of(refresh_with(&cli, &second_refresh).await).await;
    let third_refresh = text(&third, "refresh_token");

    // After the grace window, the first token coming back is a reuse: 401 with its own message.
    clock.set(NOW + 10);
    assert_msg(
        refresh_with(&cli, &first).await,
        401,
        "Refresh token reuse detected",
    )
    .await;
    // The whole session is ended: its newest refresh token and its access tokens too.
    assert_msg(
        refresh_with(&cli, &third_refresh).await,
        401,
        "Token has been revoked",
    )
    .await;
    for access in [text(&login, "access_token"), text(&third, "access_token")] {
        let resp = cli
            .get("/protected")
            .header("authorization", bearer(&access))
            .send()
            .await;
        assert_msg(resp, 401, "Token has been revoked").await;
    }
    // Another login starts a new session.
    let again = login_as(&cli, "laptop").await;
    refresh_with(&cli, &text(&again, "refresh_token"))
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn a_retired_token_within_the_grace_window_is_accepted() {
    let (jwt, clock) = manager_with_clock(rotation_config());
    let cli = TestClient::new(app().with(jwt));
    let login = login_as(&cli, "phone").await;
    let first = text(&login, "refresh_token");
    let a = text(
        &json_of(refresh_with(&cli, &first).await).await,
        "refresh_token",
    );
    clock.set(NOW + 9);
    // A retry of the same refresh (its response was lost) gets a working token too.
    let b = text(
        &json_of(refresh_with(&cli, &first).await).await,
        "refresh_token",
    );
    assert_ne!(a, b);
    refresh_with(&cli, &b).await.assert_status_is_ok();
    // `a` was retired by that rotation, within the window: still fine at the same time.
    refresh_with(&cli, &a).await.assert_status_is_ok();
}

#[tokio::test]
async fn without_grace_a_second_use_is_a_reuse() {
    let mut config = rotation_config();
    config.refresh_rotation_grace = 0;
    let (jwt, clock) = manager_with_clock(config);
    let cli = TestClient::new(app_with_other_routes().with(jwt));
    let first = text(&login_as(&cli, "x").await, "refresh_token");
    let second = text(
        &json_of(refresh_with(&cli, &first).await).await,
        "refresh_token",
    );
    // Its replacement was delivered: it is presented.
    any_with(&cli, &second).await.assert_status_is_ok();
    clock.set(NOW + 1);
    assert_msg(
        refresh_with(&cli, &first).await,
        401,
        "Refresh token reuse detected",
    )
    .await;
}

#[tokio::test]
async fn reuse_is_reshaped_by_the_callbacks() {
    let mut config = rotation_config();
    config.status_codes.insert("refresh_reused".into(), 403);
    let jwt = manager(config.clone());
    let cli = TestClient::new(app().with(jwt));
    let first = text(&login_as(&cli, "x").await, "refresh_token");
    let a = text(
        &json_of(refresh_with(&cli, &first).await).await,
        "refresh_token",
    );
    refresh_with(&cli, &a).await.assert_status_is_ok();
    // Two generations back: a reuse even within the grace window (frozen clock).
    assert_msg(
        refresh_with(&cli, &first).await,
        403,
        "Refresh token reuse detected",
    )
    .await;

    // The reference's revoked_token_loader shapes it, with the token's payload.
    let jwt = builder(config)
        .revoked_token_loader(|_header, payload| {
            (
                StatusCode::UNAUTHORIZED,
                format!("session {} ended", payload["fam"].as_str().unwrap_or("?")),
            )
                .into_response()
        })
        .build()
        .unwrap();
    let cli = TestClient::new(app().with(jwt));
    let login = login_as(&cli, "x").await;
    let first = text(&login, "refresh_token");
    let a = text(
        &json_of(refresh_with(&cli, &first).await).await,
        "refresh_token",
    );
    refresh_with(&cli, &a).await.assert_status_is_ok();
    let resp = refresh_with(&cli, &first).await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    resp.assert_text(format!("session {} ended", text(&login, "session")))
        .await;
}

#[tokio::test]
async fn sessions_can_be_listed_and_ended() {
    let (jwt, clock) = manager_with_clock(rotation_config());
    let cli = TestClient::new(app().with(jwt.clone()));
    let laptop = login_as(&cli, "laptop").await;
    clock.set(NOW + 5);
    let phone = login_as(&cli, "phone").await;
    clock.set(NOW + 7);
    refresh_with(&cli, &text(&phone, "refresh_token"))
        .await
        .assert_status_is_ok();

    let list = json_of(
        cli.get("/sessions")
            .header("authorization", bearer(&text(&laptop, "access_token")))
            .send()
            .await,
    )
    .await;
    assert_eq!(
        list,
        json!([
            {"session": text(&laptop, "session"), "created_at": NOW, "last_refreshed": NOW, "label": "laptop"},
            {"session": text(&phone, "session"), "created_at": NOW + 5, "last_refreshed": NOW + 7, "label": "phone"},
        ])
    );

    // "Log out other devices" from the laptop: the phone's tokens stop working.
    let ended = json_of(
        cli.post("/logout_others")
            .header("authorization", bearer(&text(&laptop, "access_token")))
            .send()
            .await,
    )
    .await;
    assert_eq!(ended, json!({"ended": 1}));
    assert_msg(
        refresh_with(&cli, &text(&phone, "refresh_token")).await,
        401,
        "Token has been revoked",
    )
    .await;
    let resp = cli
        .get("/protected")
        .header("authorization", bearer(&text(&phone, "access_token")))
        .send()
        .await;
    assert_msg(resp, 401, "Token has been revoked").await;
    // The laptop goes on.
    refresh_with(&cli, &text(&laptop, "refresh_token"))
        .await
        .assert_status_is_ok();
    let alice = json!("alice");
    let left = jwt.sessions(&alice).await.unwrap();
    assert_eq!(left.len(), 1);
    // Ending a session of someone else does nothing.
    assert!(!jwt
        .end_session(&json!("mallory"), &text(&laptop, "session"))
        .await
        .unwrap());
    assert!(jwt
        .end_session(&alice, &text(&laptop, "session"))
        .await
        .unwrap());
    assert!(jwt.sessions(&alice).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_token_from_before_rotation_is_exchanged_once() {
    let legacy = manager(config())
        .create_refresh_token("alice")
        .await
        .unwrap();
    let jwt = manager(rotation_config());
    let cli = TestClient::new(app().with(jwt.clone()));
    let body = json_of(refresh_with(&cli, &legacy).await).await;
    let new = text(&body, "refresh_token");
    assert!(claims_of(&jwt, &new).contains_key("fam"));
    // A second use (a retry) gets the same replacement: one session, no fork.
    let again = text(
        &json_of(refresh_with(&cli, &legacy).await).await,
        "refresh_token",
    );
    assert_eq!(claims_of(&jwt, &again)["jti"], claims_of(&jwt, &new)["jti"]);
    refresh_with(&cli, &new).await.assert_status_is_ok();
}

#[tokio::test]
async fn a_route_that_skips_revocation_never_rotates_a_revoked_token() {
    let jwt = manager(rotation_config());
    let cli = TestClient::new(app().with(jwt.clone()));
    let login = login_as(&cli, "x").await;
    let refresh = text(&login, "refresh_token");
    jwt.revoke_encoded(&refresh).await.unwrap();
    let resp = cli
        .post("/refresh_unchecked")
        .header("authorization", bearer(&refresh))
        .send()
        .await;
    assert_msg(resp, 401, "Token has been revoked").await;
}

/// A store without sessions.
struct Plain;
impl Blocklist for Plain {
    async fn is_revoked(&self, _: &TokenInfo) -> Result<bool, BlocklistError> {
        Ok(false)
    }
    async fn revoke(&self, _: &TokenInfo) -> Result<(), BlocklistError> {
        Ok(())
    }
    async fn revoke_user(&self, _: &str, _: i64) -> Result<(), BlocklistError> {
        Ok(())
    }
}

#[test]
fn rotation_needs_a_store_that_keeps_sessions() {
    let err = JwtManager::builder(rotation_config())
        .blocklist(Plain)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("JWT_REFRESH_ROTATION"), "{err}");
    JwtManager::builder(config())
        .blocklist(Plain)
        .build()
        .unwrap();
}

#[test]
fn the_options_read_from_the_environment() {
    let config = JwtConfig::from_lookup(|name| match name {
        "JWT_REFRESH_ROTATION" => Some("true".into()),
        "JWT_REFRESH_ROTATION_GRACE" => Some("1m".into()),
        _ => None,
    })
    .unwrap();
    assert!(config.refresh_rotation);
    assert_eq!(config.refresh_rotation_grace, 60);
    assert!(!JwtConfig::default().refresh_rotation);
}

// ---- cookies ----

#[handler]
async fn cookie_login(jwt: JwtManager) -> poem::Result<Response> {
    let tokens = jwt.login("alice").await?;
    let mut resp = Json(json!({"login": true})).into_response();
    jwt.set_access_cookies(&mut resp, &tokens.access_token)?;
    jwt.set_refresh_cookies(&mut resp, &tokens.refresh_token)?;
    Ok(resp)
}

#[jwt_required(refresh)]
#[handler]
async fn cookie_refresh(
    identity: Identity,
    rotated: RotatedRefreshToken,
    jwt: JwtManager,
) -> poem::Result<Response> {
    let access = jwt.create_access_token(identity.value()).await?;
    assert_eq!(
        jwt.decode_token(&access)?.get("fam"),
        Some(&json!(rotated.session()))
    );
    let mut resp = Json(json!({"refresh": true})).into_response();
    jwt.set_access_cookies(&mut resp, &access)?;
    Ok(resp)
}

fn cookie_config() -> JwtConfig {
    let mut config = rotation_config();
    config.token_location = vec!["cookies".into()];
    config.refresh_rotation_grace = 0;
    config
}

/// `name=value` of every `Set-Cookie` line.
fn set_cookies(resp: &poem::test::TestResponse) -> Vec<(String, String)> {
    resp.0
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|line| {
            let pair = line.split(';').next()?;
            let (n, v) = pair.split_once('=')?;
            Some((n.to_string(), v.to_string()))
        })
        .collect()
}

fn cookie(cookies: &[(String, String)], name: &str) -> String {
    cookies
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {name} cookie in {cookies:?}"))
}

#[tokio::test]
async fn a_refresh_cookie_is_rotated_with_its_csrf_cookie_on_the_same_response() {
    let (jwt, clock) = manager_with_clock(cookie_config());
    let cli = TestClient::new(
        Route::new()
            .at("/login", post(cookie_login))
            .at("/refresh", post(cookie_refresh))
            .with(jwt.clone()),
    );
    let resp = cli.post("/login").send().await;
    resp.assert_status_is_ok();
    let login = set_cookies(&resp);
    let (old, old_csrf) = (
        cookie(&login, "refresh_token_cookie"),
        cookie(&login, "csrf_refresh_token"),
    );
    let resp = cli
        .post("/refresh")
        .header("cookie", format!("refresh_token_cookie={old}"))
        .header("x-csrf-token", &old_csrf)
        .send()
        .await;
    resp.assert_status_is_ok();
    let set = set_cookies(&resp);
    let new = cookie(&set, "refresh_token_cookie");
    let new_csrf = cookie(&set, "csrf_refresh_token");
    assert_ne!(new, old);
    assert_eq!(jwt.get_csrf_token(&new).unwrap(), new_csrf);
    // The handler's own access cookie is there too.
    cookie(&set, "access_token_cookie");

    // The new cookie is used in turn (its replacement is set on that response).
    let resp = cli
        .post("/refresh")
        .header("cookie", format!("refresh_token_cookie={new}"))
        .header("x-csrf-token", &new_csrf)
        .send()
        .await;
    resp.assert_status_is_ok();
    let set = set_cookies(&resp);
    let (new, new_csrf) = (
        cookie(&set, "refresh_token_cookie"),
        cookie(&set, "csrf_refresh_token"),
    );

    clock.set(NOW + 1);
    let replay = cli
        .post("/refresh")
        .header("cookie", format!("refresh_token_cookie={old}"))
        .header("x-csrf-token", &old_csrf)
        .send()
        .await;
    assert_msg(replay, 401, "Refresh token reuse detected").await;
    // A refusal sets no cookie, and the stolen-and-replayed session is over for everyone.
    let resp = cli
        .post("/refresh")
        .header("cookie", format!("refresh_token_cookie={new}"))
        .header("x-csrf-token", &new_csrf)
        .send()
        .await;
    assert!(set_cookies(&resp).is_empty());
    assert_msg(resp, 401, "Token has been revoked").await;
}

#[jwt_required]
#[handler]
async fn cookie_protected(identity: Identity) -> String {
    identity.to_string()
}

#[tokio::test]
async fn implicit_refresh_keeps_the_session_and_stops_when_it_ends() {
    let mut config = cookie_config();
    config.implicit_refresh_window = Some(600);
    config.cookie_csrf_protect = false;
    let (jwt, clock) = manager_with_clock(config);
    let cli = TestClient::new(
        Route::new()
            .at("/protected", get(cookie_protected))
            .with(jwt.clone()),
    );
    let tokens = jwt.login("alice").await.unwrap();
    clock.set(NOW + 600);
    let resp = cli
        .get("/protected")
        .header(
            "cookie",
            format!("access_token_cookie={}", tokens.access_token),
        )
        .send()
        .await;
    resp.assert_status_is_ok();
    let refreshed = cookie(&set_cookies(&resp), "access_token_cookie");
    assert_eq!(
        claims_of(&jwt, &refreshed)["fam"],
        json!(tokens.session),
        "the re-minted access token stays in its session"
    );
    jwt.end_session(&json!("alice"), &tokens.session)
        .await
        .unwrap();
    let resp = cli
        .get("/protected")
        .header("cookie", format!("access_token_cookie={refreshed}"))
        .send()
        .await;
    assert!(set_cookies(&resp).is_empty());
    assert_msg(resp, 401, "Token has been revoked").await;
}

// ---- issue 23: retired tokens everywhere, adopted tokens, undelivered replacements ----

#[jwt_required(verify_type = false)]
#[handler]
async fn any_token(identity: Identity) -> String {
    identity.to_string()
}

#[handler]
async fn rotated_by_middleware(rotated: RotatedRefreshToken) -> Json<Value> {
    Json(json!({"refresh_token": rotated.token(), "session": rotated.session()}))
}

/// A hand-written refresh check, the reference's `verify_jwt_in_request(refresh=True)`.
async fn refresh_middleware<E: poem::Endpoint>(
    next: E,
    mut req: poem::Request,
) -> poem::Result<Response> {
    jwt_runtime::verify_jwt_in_request(&mut req, &jwt_runtime::VerifyOptions::new().refresh())
        .await?;
    Ok(next.call(req).await?.into_response())
}

/// A refresh route whose handler fails after the rotation (its database is down).
#[jwt_required(refresh)]
#[handler]
async fn refresh_failing(_rotated: RotatedRefreshToken) -> poem::Result<Json<Value>> {
    Err(poem::Error::from_status(StatusCode::SERVICE_UNAVAILABLE))
}

fn app_with_other_routes() -> Route {
    app()
        .at("/any", get(any_token))
        .at("/refresh_failing", post(refresh_failing))
        .at(
            "/refresh_by_middleware",
            post(rotated_by_middleware.around(refresh_middleware)),
        )
}

async fn any_with(cli: &TestClient<impl poem::Endpoint>, token: &str) -> poem::test::TestResponse {
    cli.get("/any")
        .header("authorization", bearer(token))
        .send()
        .await
}

#[tokio::test]
async fn a_retired_refresh_token_is_refused_where_it_is_not_rotated() {
    let (jwt, clock) = manager_with_clock(rotation_config());
    let cli = TestClient::new(app_with_other_routes().with(jwt));
    let first = text(&login_as(&cli, "laptop").await, "refresh_token");
    let second = text(
        &json_of(refresh_with(&cli, &first).await).await,
        "refresh_token",
    );
    // Before its replacement was seen, the retired token is refused without ending anything.
    assert_msg(any_with(&cli, &first).await, 401, "Token has been revoked").await;
    any_with(&cli, &second).await.assert_status_is_ok();
    // An hour later, the retired token is a reuse: refused, and the session ends with it.
    clock.set(NOW + 3600);
    assert_msg(
        any_with(&cli, &first).await,
        401,
        "Refresh token reuse detected",
    )
    .await;
    assert_msg(any_with(&cli, &second).await, 401, "Token has been revoked").await;
}

#[tokio::test]
async fn verify_jwt_in_request_rotates_a_refresh_token() {
    let (jwt, clock) = manager_with_clock(rotation_config());
    let cli = TestClient::new(app_with_other_routes().with(jwt.clone()));
    let login = login_as(&cli, "laptop").await;
    let first = text(&login, "refresh_token");
    let body = json_of(
        cli.post("/refresh_by_middleware")
            .header("authorization", bearer(&first))
            .send()
            .await,
    )
    .await;
    let second = text(&body, "refresh_token");
    assert_eq!(body["session"], login["session"]);
    assert_ne!(
        claims_of(&jwt, &second)["jti"],
        claims_of(&jwt, &first)["jti"]
    );
    refresh_with(&cli, &second).await.assert_status_is_ok();
    clock.set(NOW + 3600);
    assert_msg(
        cli.post("/refresh_by_middleware")
            .header("authorization", bearer(&first))
            .send()
            .await,
        401,
        "Refresh token reuse detected",
    )
    .await;
}

#[tokio::test]
async fn a_refresh_whose_response_failed_can_be_retried_after_the_grace_window() {
    let (jwt, clock) = manager_with_clock(rotation_config());
    let cli = TestClient::new(app_with_other_routes().with(jwt.clone()));
    let login = login_as(&cli, "phone").await;
    let first = text(&login, "refresh_token");
    cli.post("/refresh_failing")
        .header("authorization", bearer(&first))
        .send()
        .await
        .assert_status(StatusCode::SERVICE_UNAVAILABLE);
    // The client never got the replacement; it retries long after the grace window.
    clock.set(NOW + 3600);
    let retried = text(
        &json_of(refresh_with(&cli, &first).await).await,
        "refresh_token",
    );
    refresh_with(&cli, &retried).await.assert_status_is_ok();
    assert_eq!(jwt.sessions(&json!("alice")).await.unwrap().len(), 1);
}

/// Fires `n` refreshes at `path` with `token` at once over a real socket.
async fn concurrent(base: &str, path: &str, token: &str, n: usize) -> Vec<(u16, Value)> {
    let http = reqwest::Client::new();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (http, url, token) = (http.clone(), format!("{base}{path}"), token.to_string());
            tokio::spawn(async move {
                let resp = http.post(url).bearer_auth(token).send().await.unwrap();
                (
                    resp.status().as_u16(),
                    resp.json::<Value>().await.unwrap_or(Value::Null),
                )
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn more_concurrent_refreshes_than_eight_log_nobody_out() {
    let (jwt, clock) = manager_with_clock(rotation_config());
    let base = socket::serve(app().with(jwt.clone()));
    let login = jwt.login("alice").await.unwrap();
    let results = concurrent(&base, "/refresh", &login.refresh_token, 20).await;
    let mut jtis = std::collections::HashSet::new();
    for (status, body) in &results {
        assert_eq!(*status, 200, "a concurrent refresh was refused: {body}");
        jtis.insert(claims_of(&jwt, &text(body, "refresh_token"))["jti"].clone());
    }
    assert_eq!(jtis.len(), 1, "they share one replacement: {jtis:?}");
    // Every token handed out works, after the grace window too.
    clock.set(NOW + 3600);
    for (_, body) in &results[..3] {
        let next = concurrent(&base, "/refresh", &text(body, "refresh_token"), 1).await;
        assert_eq!(next[0].0, 200, "{next:?}");
    }
    assert_eq!(jwt.sessions(&json!("alice")).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_token_from_before_rotation_starts_one_session_however_often_it_is_used() {
    let legacy = manager(config())
        .create_refresh_token("alice")
        .await
        .unwrap();
    let (jwt, clock) = manager_with_clock(rotation_config());
    let base = socket::serve(app_with_other_routes().with(jwt.clone()));
    let results = concurrent(&base, "/refresh", &legacy, 10).await;
    let mut issued = std::collections::HashSet::new();
    for (status, body) in &results {
        assert_eq!(*status, 200, "a concurrent first use was refused: {body}");
        let claims = claims_of(&jwt, &text(body, "refresh_token"));
        issued.insert((claims["fam"].clone(), claims["jti"].clone()));
    }
    assert_eq!(issued.len(), 1, "one session, one replacement: {issued:?}");
    assert_eq!(jwt.sessions(&json!("alice")).await.unwrap().len(), 1);
    // The replacement is used; later the old token comes back: a reuse that ends the session.
    let replacement = text(&results[0].1, "refresh_token");
    let newest = concurrent(&base, "/refresh", &replacement, 1).await;
    assert_eq!(newest[0].0, 200);
    clock.set(NOW + 3600);
    let again = concurrent(&base, "/refresh", &legacy, 1).await;
    assert_eq!(again[0].0, 401, "{again:?}");
    assert_eq!(again[0].1["msg"], "Refresh token reuse detected");
    let newest = concurrent(&base, "/refresh", &text(&newest[0].1, "refresh_token"), 1).await;
    assert_eq!(newest[0].0, 401, "{newest:?}");
    assert!(jwt.sessions(&json!("alice")).await.unwrap().is_empty());
}

#[tokio::test]
async fn logging_out_everywhere_ends_the_sessions() {
    let (jwt, clock) = manager_with_clock(rotation_config());
    let cli = TestClient::new(app().with(jwt.clone()));
    let (laptop, _phone) = (
        login_as(&cli, "laptop").await,
        login_as(&cli, "phone").await,
    );
    assert_eq!(jwt.sessions(&json!("alice")).await.unwrap().len(), 2);
    jwt.revoke_all_for_user(&json!("alice")).await.unwrap();
    assert!(jwt.sessions(&json!("alice")).await.unwrap().is_empty());
    assert_msg(
        refresh_with(&cli, &text(&laptop, "refresh_token")).await,
        401,
        "Token has been revoked",
    )
    .await;
    // A login afterwards is a new, live session.
    clock.set(NOW + 1);
    let again = login_as(&cli, "laptop").await;
    refresh_with(&cli, &text(&again, "refresh_token"))
        .await
        .assert_status_is_ok();
    assert_eq!(jwt.sessions(&json!("alice")).await.unwrap().len(), 1);
}
