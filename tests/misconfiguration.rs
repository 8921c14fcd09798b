//! Server-side mistakes are never dressed as client errors, never silent, and never described to
//! clients: each is a startup error, or a 500 with a generic body and an ERROR log naming the fix.
//! The one mismatch a client is told of is a verified token whose claims do not fit the handler's
//! type (an old token after a deploy): 422 `Invalid claims`, with the ERROR log all the same.

use crate::support;

use std::sync::Arc;

use jwt_runtime::hooks::{app_data, MissingAppData};
use jwt_runtime::{jwt_required, user_lookup_loader, CurrentUser, Jwt, JwtClaims, VerifiedJwt};
use poem::test::TestClient;
use poem::{handler, EndpointExt, Request, Route};
use serde_json::json;
use support::logs::logs_of;
use support::*;

#[derive(serde::Deserialize, JwtClaims)]
struct RoleClaims {
    role: String,
}

#[jwt_required]
#[handler]
async fn role(jwt: Jwt<RoleClaims>) -> String {
    jwt.role.clone()
}

#[tokio::test(flavor = "current_thread")]
async fn claims_that_do_not_fit_the_handlers_type_are_invalid_claims_and_logged_as_an_error() {
    // No #[additional_claims] loader registered: tokens lack `role` (as every token minted before
    // a deploy that added the field does). The client gets the README's 422 `Invalid claims`, so it
    // logs in again for a token that fits; the operator gets an ERROR naming the fix.
    let jwt = manager(config());
    let token = jwt.create_access_token("alice").await.unwrap();
    let cli = TestClient::new(Route::new().at("/role", role).with(jwt));
    let logs = logs_of(async {
        let resp = cli
            .get("/role")
            .header("Authorization", bearer(&token))
            .send()
            .await;
        assert_msg(resp, 422, "Invalid claims: missing field `role`").await;
    })
    .await;
    assert!(logs.contains("ERROR"), "{logs}");
    assert!(logs.contains("missing field `role`"), "{logs}");
    assert!(
        logs.contains("JwtManagerBuilder::additional_claims"),
        "{logs}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_missing_manager_is_logged_and_not_described_to_clients() {
    let cli = TestClient::new(Route::new().at("/role", role));
    let logs = logs_of(async {
        let resp = cli.get("/role").send().await;
        assert_msg(resp, 500, "Internal server error").await;
    })
    .await;
    assert!(
        logs.contains("ERROR") && logs.contains(".with(jwt_manager)"),
        "{logs}"
    );
}

#[derive(Clone)]
struct Directory(Arc<Vec<&'static str>>);

struct User(String);

#[user_lookup_loader]
async fn load(token: &VerifiedJwt, req: &Request) -> Result<Option<User>, MissingAppData> {
    let directory = app_data::<Directory>(req)?;
    let name = token.identity().as_str().unwrap_or_default();
    Ok(directory
        .0
        .iter()
        .find(|n| **n == name)
        .map(|n| User(n.to_string())))
}

#[jwt_required]
#[handler]
async fn me(user: CurrentUser<User>) -> String {
    user.0.clone()
}

#[tokio::test(flavor = "current_thread")]
async fn a_user_loader_without_its_app_data_is_a_server_fault() {
    let jwt = manager(config());
    let token = hs256(claims("alice"));
    // Forgot `.data(directory)`.
    let cli = TestClient::new(Route::new().at("/me", me).with(jwt.clone()));
    let logs = logs_of(async {
        let resp = cli
            .get("/me")
            .header("Authorization", bearer(&token))
            .send()
            .await;
        assert_msg(resp, 500, "User lookup failed").await;
    })
    .await;
    assert!(logs.contains("ERROR"), "{logs}");
    assert!(
        logs.contains("add `.data(value)` to the route tree"),
        "{logs}"
    );
    // With it, the user is found (and an unknown one is the reference's 401).
    let directory = Directory(Arc::new(vec!["alice"]));
    let cli = TestClient::new(Route::new().at("/me", me).with(jwt).data(directory));
    cli.get("/me")
        .header("Authorization", bearer(&token))
        .send()
        .await
        .assert_text("alice")
        .await;
    let resp = cli
        .get("/me")
        .header("Authorization", bearer(&hs256(claims("bob"))))
        .send()
        .await;
    assert_msg(resp, 401, "Error loading the user bob").await;
}

#[tokio::test]
async fn revoking_needs_a_token_that_names_itself() {
    let jwt = manager(config());
    let no_jti = json!({"sub": "alice"});
    let err = jwt
        .revoke_token(no_jti.as_object().unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        (err.status().as_u16(), err.message()),
        (422, "Missing claim: jti")
    );
    // By the encoded token, after verifying it.
    let refresh = jwt.create_refresh_token("alice").await.unwrap();
    jwt.revoke_encoded(&refresh).await.unwrap();
    assert_eq!(
        jwt.revoke_encoded("not-a-token")
            .await
            .unwrap_err()
            .message(),
        "Not enough segments"
    );
}
