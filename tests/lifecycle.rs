//! Refresh, freshness, revocation (memory store and custom stores) and user loading.

use crate::support;

use std::sync::atomic::{AtomicUsize, Ordering};

use jwt_runtime::stores::{Blocklist, BlocklistError, TokenInfo};
use jwt_runtime::{
    jwt_required, user_lookup_loader, CurrentUser, Identity, Jwt, JwtError, JwtManager, VerifiedJwt,
};
use poem::http::StatusCode;
use poem::{delete, get, handler, post, web::Json, EndpointExt, IntoResponse, Request, Route};
use serde_json::{json, Value};
use support::*;

#[jwt_required]
#[handler]
async fn protected(identity: Identity) -> String {
    identity.to_string()
}

#[jwt_required(skip_revocation_check)]
#[handler]
async fn unchecked(identity: Identity) -> String {
    identity.to_string()
}

#[jwt_required(fresh)]
#[handler]
async fn fresh_only(identity: Identity) -> String {
    identity.to_string()
}

#[jwt_required(refresh)]
#[handler]
async fn refresh(identity: Identity, jwt: JwtManager) -> poem::Result<Json<Value>> {
    let access_token = jwt.create_access_token(identity.value()).await?;
    Ok(Json(json!({ "access_token": access_token })))
}

#[jwt_required(verify_type = false)]
#[handler]
async fn logout(token: Jwt, jwt: JwtManager) -> poem::Result<Json<Value>> {
    jwt.revoke_token(token.raw()).await?;
    let kind = token.reserved().token_type;
    Ok(Json(json!({ "msg": format!("{kind} token revoked") })))
}

#[jwt_required]
#[handler]
async fn logout_everywhere(identity: Identity, jwt: JwtManager) -> poem::Result<&'static str> {
    jwt.revoke_all_for_user(identity.value()).await?;
    Ok("everywhere")
}

#[derive(Debug)]
struct User {
    id: i64,
    name: String,
}

static LOOKUPS: AtomicUsize = AtomicUsize::new(0);

#[user_lookup_loader]
async fn load_user(token: &VerifiedJwt, _req: &Request) -> Result<Option<User>, String> {
    LOOKUPS.fetch_add(1, Ordering::SeqCst);
    match token.identity().as_str() {
        Some("alice") => Ok(Some(User {
            id: 1,
            name: "alice".into(),
        })),
        Some("broken") => Err("database is down".into()),
        _ => Ok(None),
    }
}

#[jwt_required]
#[handler]
async fn me(user: CurrentUser<User>) -> String {
    format!("{} {}", user.id, user.name)
}

#[jwt_required(optional)]
#[handler]
async fn maybe_me(user: Option<CurrentUser<User>>) -> String {
    user.map_or("anonymous".into(), |u| u.name.clone())
}

fn app() -> Route {
    Route::new()
        .at("/protected", get(protected))
        .at("/unchecked", get(unchecked))
        .at("/fresh", get(fresh_only))
        .at("/refresh", post(refresh))
        .at("/logout", delete(logout))
        .at("/logout_everywhere", delete(logout_everywhere))
        .at("/me", get(me))
        .at("/maybe_me", get(maybe_me))
}

async fn tokens(jwt: &JwtManager) -> (String, String) {
    (
        jwt.create_access_token("alice").await.unwrap(),
        jwt.create_refresh_token("alice").await.unwrap(),
    )
}

#[tokio::test]
async fn refresh_flow_and_freshness() {
    let jwt = manager(config());
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let (access, refresh_token) = tokens(&jwt).await;
    let resp = cli
        .post("/refresh")
        .header("Authorization", bearer(&refresh_token))
        .send()
        .await;
    resp.assert_status_is_ok();
    let new_access = resp
        .json()
        .await
        .value()
        .object()
        .get("access_token")
        .string()
        .to_string();
    cli.get("/protected")
        .header("Authorization", bearer(&new_access))
        .send()
        .await
        .assert_text("alice")
        .await;
    let resp = cli
        .post("/refresh")
        .header("Authorization", bearer(&access))
        .send()
        .await;
    assert_msg(resp, 422, "Only refresh tokens are allowed").await;
    assert_msg(
        cli.get("/fresh")
            .header("Authorization", bearer(&new_access))
            .send()
            .await,
        401,
        "Fresh token required",
    )
    .await;
    let fresh = jwt.create_access_token("alice").fresh(true).await.unwrap();
    cli.get("/fresh")
        .header("Authorization", bearer(&fresh))
        .send()
        .await
        .assert_text("alice")
        .await;
    let window = jwt
        .create_access_token("alice")
        .fresh(std::time::Duration::from_secs(300))
        .await
        .unwrap();
    cli.get("/fresh")
        .header("Authorization", bearer(&window))
        .send()
        .await
        .assert_text("alice")
        .await;
}

#[tokio::test]
async fn revocation_with_the_default_memory_store() {
    let jwt = manager(config());
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let (access, refresh_token) = tokens(&jwt).await;
    cli.get("/protected")
        .header("Authorization", bearer(&access))
        .send()
        .await
        .assert_text("alice")
        .await;
    let resp = cli
        .delete("/logout")
        .header("Authorization", bearer(&access))
        .send()
        .await;
    resp.assert_json(json!({"msg": "access token revoked"}))
        .await;
    assert_msg(
        cli.get("/protected")
            .header("Authorization", bearer(&access))
            .send()
            .await,
        401,
        "Token has been revoked",
    )
    .await;
    cli.get("/unchecked")
        .header("Authorization", bearer(&access))
        .send()
        .await
        .assert_text("alice")
        .await;
    // The refresh token is revoked on its own (the tutorial's advice: revoke both at logout).
    cli.post("/refresh")
        .header("Authorization", bearer(&refresh_token))
        .send()
        .await
        .assert_status_is_ok();
    let resp = cli
        .delete("/logout")
        .header("Authorization", bearer(&refresh_token))
        .send()
        .await;
    resp.assert_json(json!({"msg": "refresh token revoked"}))
        .await;
    assert_msg(
        cli.post("/refresh")
            .header("Authorization", bearer(&refresh_token))
            .send()
            .await,
        401,
        "Token has been revoked",
    )
    .await;
}

#[tokio::test]
async fn check_order_matches_the_reference() {
    let (jwt, clock) = manager_with_clock(config());
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let expired = jwt
        .create_access_token("alice")
        .expires(jwt_runtime::Expiry::Seconds(1))
        .await
        .unwrap();
    let (access, refresh_token) = tokens(&jwt).await;
    for t in [&expired, &access, &refresh_token] {
        jwt.revoke_token(&jwt.decode_token(t).unwrap())
            .await
            .unwrap();
    }
    clock.set(NOW + 5);
    let cli_later = poem::test::TestClient::new(app().with(jwt.clone()));
    // Expiry beats revocation...
    assert_msg(
        cli_later
            .get("/protected")
            .header("Authorization", bearer(&expired))
            .send()
            .await,
        401,
        "Token has expired",
    )
    .await;
    // ...and so does the token type...
    assert_msg(
        cli.get("/protected")
            .header("Authorization", bearer(&refresh_token))
            .send()
            .await,
        422,
        "Only non-refresh tokens are allowed",
    )
    .await;
    // ...and freshness.
    assert_msg(
        cli.get("/fresh")
            .header("Authorization", bearer(&access))
            .send()
            .await,
        401,
        "Fresh token required",
    )
    .await;
    assert_msg(
        cli.get("/protected")
            .header("Authorization", bearer(&access))
            .send()
            .await,
        401,
        "Token has been revoked",
    )
    .await;
}

#[tokio::test]
async fn logout_everywhere_revokes_every_earlier_token_of_the_user() {
    let (jwt, clock) = manager_with_clock(config());
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let (a1, r1) = tokens(&jwt).await;
    let bob = jwt.create_access_token("bob").await.unwrap();
    cli.delete("/logout_everywhere")
        .header("Authorization", bearer(&a1))
        .send()
        .await
        .assert_text("everywhere")
        .await;
    assert_msg(
        cli.get("/protected")
            .header("Authorization", bearer(&a1))
            .send()
            .await,
        401,
        "Token has been revoked",
    )
    .await;
    assert_msg(
        cli.post("/refresh")
            .header("Authorization", bearer(&r1))
            .send()
            .await,
        401,
        "Token has been revoked",
    )
    .await;
    cli.get("/protected")
        .header("Authorization", bearer(&bob))
        .send()
        .await
        .assert_text("bob")
        .await;
    // A login after the revocation works.
    clock.set(NOW + 1);
    let later = jwt.clone();
    let a2 = later.create_access_token("alice").await.unwrap();
    let cli_later = poem::test::TestClient::new(app().with(later));
    cli_later
        .get("/protected")
        .header("Authorization", bearer(&a2))
        .send()
        .await
        .assert_text("alice")
        .await;
}

struct Unreachable;
impl Blocklist for Unreachable {
    async fn is_revoked(&self, _: &TokenInfo) -> Result<bool, BlocklistError> {
        Err(BlocklistError::new("connection refused"))
    }
    async fn revoke(&self, _: &TokenInfo) -> Result<(), BlocklistError> {
        Err(BlocklistError::new("connection refused"))
    }
    async fn revoke_user(&self, _: &str, _: i64) -> Result<(), BlocklistError> {
        Err(BlocklistError::new("connection refused"))
    }
}

#[tokio::test]
async fn an_unreachable_store_fails_closed() {
    let jwt = builder(config()).blocklist(Unreachable).build().unwrap();
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let (access, _) = tokens(&jwt).await;
    let resp = cli
        .get("/protected")
        .header("Authorization", bearer(&access))
        .send()
        .await;
    assert_msg(resp, 503, "Token revocation store unavailable").await;
    cli.get("/unchecked")
        .header("Authorization", bearer(&access))
        .send()
        .await
        .assert_text("alice")
        .await;
    assert_msg(
        cli.delete("/logout")
            .header("Authorization", bearer(&access))
            .send()
            .await,
        503,
        "Token revocation store unavailable",
    )
    .await;
}

/// A store that answers in place: `now` is its answer there, while `is_revoked` (never to be
/// asked when `now` is `Some`) always says "not revoked".
struct AnswersInPlace(Option<Result<bool, &'static str>>);
impl Blocklist for AnswersInPlace {
    fn is_revoked_now(&self, _: &TokenInfo) -> Option<Result<bool, BlocklistError>> {
        self.0.map(|answer| answer.map_err(BlocklistError::new))
    }
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

/// The pipeline takes a store's in-place answer (`Blocklist::is_revoked_now`) when it gives one,
/// failing closed on its error, and asks `is_revoked` otherwise.
#[tokio::test]
async fn a_store_answering_in_place_is_taken_at_its_word() {
    let cases = [
        (Some(Ok(true)), 401, Some("Token has been revoked")),
        (
            Some(Err("down")),
            503,
            Some("Token revocation store unavailable"),
        ),
        (Some(Ok(false)), 200, None),
        (None, 200, None),
    ];
    for (answer, status, msg) in cases {
        let jwt = builder(config())
            .blocklist(AnswersInPlace(answer))
            .build()
            .unwrap();
        let cli = poem::test::TestClient::new(app().with(jwt.clone()));
        let (access, _) = tokens(&jwt).await;
        let resp = cli
            .get("/protected")
            .header("Authorization", bearer(&access))
            .send()
            .await;
        match msg {
            Some(msg) => assert_msg(resp, status, msg).await,
            None => resp.assert_text("alice").await,
        }
    }
}

#[tokio::test]
async fn custom_revoked_and_user_lookup_responses() {
    let jwt = builder(config()).on_error(|error, token| {
        let jti = token.and_then(|t| t.jti()).unwrap_or_default().to_string();
        match error {
            JwtError::Revoked => Some(
                Json(json!({"description": "The token has been revoked.", "error": "token_revoked", "jti": jti}))
                    .with_status(StatusCode::UNAUTHORIZED)
                    .into_response(),
            ),
            JwtError::UserLookup(_) => Some(Json(json!({"error": "no_such_user"})).with_status(StatusCode::NOT_FOUND).into_response()),
            _ => None,
        }
    }).build().unwrap();
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let (access, _) = tokens(&jwt).await;
    let jti = jwt.decode_token(&access).unwrap()["jti"].clone();
    jwt.revoke_token(&jwt.decode_token(&access).unwrap())
        .await
        .unwrap();
    let resp = cli
        .get("/protected")
        .header("Authorization", bearer(&access))
        .send()
        .await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    resp.assert_json(
        json!({"description": "The token has been revoked.", "error": "token_revoked", "jti": jti}),
    )
    .await;
    let bob = jwt.create_access_token("bob").await.unwrap();
    let resp = cli
        .get("/me")
        .header("Authorization", bearer(&bob))
        .send()
        .await;
    resp.assert_status(StatusCode::NOT_FOUND);
    // Other errors keep the default response.
    assert_msg(
        cli.get("/protected").send().await,
        401,
        "Missing Authorization Header",
    )
    .await;
}

#[tokio::test]
async fn user_lookup() {
    let jwt = manager(config());
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let (alice, _) = tokens(&jwt).await;
    cli.get("/me")
        .header("Authorization", bearer(&alice))
        .send()
        .await
        .assert_text("1 alice")
        .await;
    let bob = jwt.create_access_token("bob").await.unwrap();
    assert_msg(
        cli.get("/me")
            .header("Authorization", bearer(&bob))
            .send()
            .await,
        401,
        "Error loading the user bob",
    )
    .await;
    let broken = jwt.create_access_token("broken").await.unwrap();
    assert_msg(
        cli.get("/me")
            .header("Authorization", bearer(&broken))
            .send()
            .await,
        500,
        "User lookup failed",
    )
    .await;
    let mut cfg = config();
    cfg.verify_sub = false;
    let numeric = manager(cfg.clone());
    let one = numeric.create_access_token(1).await.unwrap();
    let cli_numeric = poem::test::TestClient::new(app().with(numeric));
    assert_msg(
        cli_numeric
            .get("/me")
            .header("Authorization", bearer(&one))
            .send()
            .await,
        401,
        "Error loading the user 1",
    )
    .await;

    // Optional without a token: no lookup. Revoked: no lookup either (lookup runs last).
    let before = LOOKUPS.load(Ordering::SeqCst);
    cli.get("/maybe_me")
        .send()
        .await
        .assert_text("anonymous")
        .await;
    jwt.revoke_token(&jwt.decode_token(&alice).unwrap())
        .await
        .unwrap();
    assert_msg(
        cli.get("/me")
            .header("Authorization", bearer(&alice))
            .send()
            .await,
        401,
        "Token has been revoked",
    )
    .await;
    assert_eq!(LOOKUPS.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn user_identity_maps_objects_to_the_identity_claim() {
    let jwt = builder(config())
        .user_identity(|user| user["id"].to_string().into())
        .build()
        .unwrap();
    let token = jwt
        .create_access_token(json!({"id": 7, "username": "admin"}))
        .await
        .unwrap();
    assert_eq!(jwt.decode_token(&token).unwrap()["sub"], "7");
}

/// A store that remembers the time of the clock it was handed.
struct ClockProbe(std::sync::Arc<std::sync::Mutex<Option<f64>>>);

impl Blocklist for ClockProbe {
    async fn is_revoked(&self, _: &TokenInfo) -> Result<bool, BlocklistError> {
        Ok(false)
    }
    async fn revoke(&self, _: &TokenInfo) -> Result<(), BlocklistError> {
        Ok(())
    }
    async fn revoke_user(&self, _: &str, _: i64) -> Result<(), BlocklistError> {
        Ok(())
    }
    fn use_clock(&mut self, clock: std::sync::Arc<dyn jwt_runtime::hooks::Clock>) {
        *self.0.lock().unwrap() = Some(clock.now());
    }
}

#[tokio::test]
async fn the_managers_clock_governs_its_store() {
    // The builder hands its clock to the store, whatever the order of the calls.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let _jwt = jwt_runtime::JwtManager::builder(config())
        .blocklist(ClockProbe(seen.clone()))
        .clock(|| NOW as f64 + 7.0)
        .build()
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), Some(NOW as f64 + 7.0));
    // The memory store prunes by it: with the clock past a revocation's retention, the next
    // revocation drops it.
    let mut store = jwt_runtime::stores::MemoryBlocklist::new();
    Blocklist::use_clock(&mut store, std::sync::Arc::new(|| NOW as f64));
    let info = |jti: &str, until: i64| TokenInfo {
        jti: Some(jti.into()),
        token_type: "access".into(),
        user: "alice".into(),
        issued_at: NOW - 100,
        expires_at: Some(until),
        retain_until: Some(until),
    };
    store.revoke(&info("old", NOW - 1)).await.unwrap();
    store.revoke(&info("live", NOW + 60)).await.unwrap();
    store.revoke(&info("another", NOW + 60)).await.unwrap();
    assert_eq!(
        store.len(),
        2,
        "the entry retained until NOW - 1 was pruned at NOW"
    );
}
