//! Claims from application state without hand-written futures (issue 26, section 3): an
//! `#[additional_claims]` fn reads state registered on the builder, `.additional_claims(..)` takes
//! async closures, and a login takes the claims its handler already has.

use crate::support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use jwt_runtime::hooks::{AdditionalClaimsLoader, AppData, BoxFuture};
use jwt_runtime::{additional_claims, ErrorKind, JsonObject, JwtError, JwtManager};
use poem::{handler, post, test::TestClient, web::Json, EndpointExt, Route};
use serde_json::{json, Value};
use support::*;

/// The application's user directory: name -> role.
struct Directory(HashMap<&'static str, &'static str>);

fn directory() -> Directory {
    Directory(HashMap::from([("ann", "editor"), ("bob", "reader")]))
}

#[additional_claims]
async fn role_from_directory(identity: &Value, directory: &Directory) -> Value {
    let role = identity.as_str().and_then(|name| directory.0.get(name));
    json!({ "role": role })
}

#[tokio::test]
async fn a_loader_reads_state_registered_on_the_builder_outside_any_request() {
    let jwt = builder(config())
        .data(directory())
        .additional_claims(role_from_directory)
        .build()
        .unwrap();
    let token = jwt.create_access_token("ann").await.unwrap();
    assert_eq!(jwt.decode_token(&token).unwrap()["role"], "editor");
    let token = jwt.create_refresh_token("bob").await.unwrap();
    assert_eq!(jwt.decode_token(&token).unwrap()["role"], "reader");
}

#[handler]
async fn login(jwt: JwtManager) -> poem::Result<Json<Value>> {
    let token = jwt.create_access_token("ann").await?;
    Ok(Json(json!({ "access_token": token })))
}

#[tokio::test]
async fn a_loader_reads_the_same_state_in_a_request() {
    let jwt = builder(config())
        .data(directory())
        .additional_claims(role_from_directory)
        .build()
        .unwrap();
    let cli = TestClient::new(Route::new().at("/login", post(login)).with(jwt.clone()));
    let resp = cli.post("/login").send().await;
    resp.assert_status_is_ok();
    let body: Value = resp.json().await.value().deserialize();
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(jwt.decode_token(token).unwrap()["role"], "editor");
}

#[test]
fn a_loader_whose_state_is_not_registered_is_refused_when_the_manager_is_built() {
    let err = builder(config())
        .additional_claims(role_from_directory)
        .build()
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("Directory"), "{message}");
    assert!(message.contains(".data(value)"), "{message}");
}

/// A hand-written loader that reads state without declaring it: the mint fails with the fix.
struct Undeclared;

impl AdditionalClaimsLoader for Undeclared {
    fn load<'a>(
        &'a self,
        _identity: &'a Value,
        data: &'a AppData,
    ) -> BoxFuture<'a, Result<JsonObject, JwtError>> {
        Box::pin(async move {
            let directory = data.get::<Directory>()?;
            Ok(JsonObject::from_iter([(
                "users".to_string(),
                json!(directory.0.len()),
            )]))
        })
    }
}

#[tokio::test]
async fn state_read_but_never_registered_fails_the_token_with_the_fix() {
    let jwt = builder(config())
        .additional_claims(Undeclared)
        .build()
        .unwrap();
    let err = jwt.create_access_token("ann").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TokenCreation);
    assert!(err.message().contains("Directory"), "{}", err.message());
    assert!(
        err.message().contains("JwtManagerBuilder::data(value)"),
        "{}",
        err.message()
    );
    let jwt = builder(config())
        .data(directory())
        .additional_claims(Undeclared)
        .build()
        .unwrap();
    let token = jwt.create_access_token("ann").await.unwrap();
    assert_eq!(jwt.decode_token(&token).unwrap()["users"], 2);
}

#[tokio::test]
async fn the_builder_takes_an_async_closure() {
    let jwt = builder(config())
        .additional_claims(async |identity| json!({ "is_administrator": identity == "admin" }))
        .build()
        .unwrap();
    let token = jwt.create_access_token("admin").await.unwrap();
    assert_eq!(jwt.decode_token(&token).unwrap()["is_administrator"], true);
    let token = jwt.create_access_token("ann").await.unwrap();
    assert_eq!(jwt.decode_token(&token).unwrap()["is_administrator"], false);

    // Annotated, the identity's methods are at hand; a map is a claims object too.
    let jwt = builder(config())
        .additional_claims(async |identity: Value| {
            HashMap::from([("upper", identity.as_str().map(str::to_uppercase))])
        })
        .build()
        .unwrap();
    let token = jwt.create_access_token("ann").await.unwrap();
    assert_eq!(jwt.decode_token(&token).unwrap()["upper"], "ANN");
}

#[tokio::test]
async fn the_builder_takes_a_closure_returning_a_future_with_captured_state() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let jwt = builder(config())
        .additional_claims(move |identity| {
            let calls = counted.clone();
            async move {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                json!({ "call": n, "is_ann": identity == "ann" })
            }
        })
        .build()
        .unwrap();
    let first = jwt.create_access_token("ann").await.unwrap();
    let second = jwt.create_refresh_token("bob").await.unwrap();
    assert_eq!(jwt.decode_token(&first).unwrap()["call"], 1);
    assert_eq!(jwt.decode_token(&first).unwrap()["is_ann"], true);
    assert_eq!(jwt.decode_token(&second).unwrap()["call"], 2);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_closure_that_returns_no_object_fails_the_token() {
    let jwt = builder(config())
        .additional_claims(async |_identity| json!([1, 2]))
        .build()
        .unwrap();
    let err = jwt.create_access_token("ann").await.unwrap_err();
    assert_eq!(
        err.message(),
        "the additional claims loader must return a JSON object, got [1,2]"
    );
}

fn rotating() -> jwt_runtime::JwtConfig {
    let mut config = config();
    config.refresh_rotation = true;
    config
}

#[tokio::test]
async fn a_login_takes_the_claims_its_handler_has_over_the_loaders() {
    let looked_up = Arc::new(AtomicUsize::new(0));
    let counter = looked_up.clone();
    let jwt = builder(rotating())
        .additional_claims(move |_identity| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { json!({ "tenant": "acme", "role": "reader" }) }
        })
        .build()
        .unwrap();
    let tokens = jwt
        .login("ann")
        .claims(json!({ "role": "editor" }))
        .fresh(true)
        .await
        .unwrap();
    for token in [&tokens.access_token, &tokens.refresh_token] {
        let claims = jwt.decode_token(token).unwrap();
        assert_eq!(claims["role"], "editor", "{claims:?}");
        assert_eq!(claims["tenant"], "acme", "{claims:?}");
        assert_eq!(claims["fam"], tokens.session.as_str(), "{claims:?}");
    }
    assert_eq!(
        jwt.decode_token(&tokens.access_token).unwrap()["fresh"],
        true
    );
    // One loader call per token, as for any mint.
    assert_eq!(looked_up.load(Ordering::SeqCst), 2);
    // Without claims, the loader's alone.
    let plain = jwt.login("ann").await.unwrap();
    assert_eq!(
        jwt.decode_token(&plain.access_token).unwrap()["role"],
        "reader"
    );
}

#[tokio::test]
async fn a_login_without_a_loader_carries_the_handlers_claims_alone() {
    let jwt = manager(rotating());
    let tokens = jwt
        .login("ann")
        .claims(HashMap::from([("role", "editor")]))
        .await
        .unwrap();
    let claims = jwt.decode_token(&tokens.access_token).unwrap();
    assert_eq!(claims["role"], "editor");
    // Claims that are not an object are refused, before any session starts.
    let err = jwt.login("ann").claims(json!("editor")).await.unwrap_err();
    assert_eq!(
        err.message(),
        "login claims must be a JSON object, got \"editor\""
    );
    assert_eq!(jwt.sessions(&json!("ann")).await.unwrap().len(), 1);
}
