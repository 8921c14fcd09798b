//! Every callback of the reference (response callbacks per kind, claims verification, headers),
//! per-kind status codes, and options from code, the environment and config files.

use crate::support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use jwt_runtime::{jwt_required, Identity, JwtConfig, JwtManager, VerifiedJwt};
use poem::http::StatusCode;
use poem::web::Json;
use poem::{get, handler, EndpointExt, IntoResponse, Response, Route};
use serde_json::{json, Value};
use support::*;

#[jwt_required]
#[handler]
async fn protected(identity: Identity) -> String {
    identity.to_string()
}

#[jwt_required(fresh)]
#[handler]
async fn fresh_only(identity: Identity) -> String {
    identity.to_string()
}

fn app() -> Route {
    Route::new()
        .at("/protected", get(protected))
        .at("/fresh", get(fresh_only))
}

fn reply(status: u16, body: Value) -> Response {
    Json(body)
        .with_status(StatusCode::from_u16(status).unwrap())
        .into_response()
}

async fn call(jwt: &JwtManager, path: &str, token: Option<&str>) -> poem::test::TestResponse {
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let mut req = cli.get(path);
    if let Some(t) = token {
        req = req.header("Authorization", bearer(t));
    }
    req.send().await
}

#[tokio::test]
async fn the_tutorials_expired_token_loader() {
    let jwt = builder(config())
        .expired_token_loader(|_header, payload| {
            assert_eq!(
                payload["type"], "access",
                "the callback gets the verified payload"
            );
            reply(
                401,
                json!({"code": "dave", "err": "I can't let you do that"}),
            )
        })
        .build()
        .unwrap();
    let expired = hs256(claims_with("alice", json!({"exp": NOW - 5})));
    let resp = call(&jwt, "/protected", Some(&expired)).await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    resp.assert_json(json!({"code": "dave", "err": "I can't let you do that"}))
        .await;
    // A forged expired token never reaches the callback: the signature is checked first.
    let forged = sign(
        json!({"alg": "HS256"}),
        claims_with("alice", json!({"exp": NOW - 5})),
        "not-the-secret-not-the-secret-123",
    );
    assert_msg(
        call(&jwt, "/protected", Some(&forged)).await,
        422,
        "Signature verification failed",
    )
    .await;
    // Other errors keep their defaults.
    assert_msg(
        call(&jwt, "/protected", None).await,
        401,
        "Missing Authorization Header",
    )
    .await;
}

#[tokio::test]
async fn the_tutorials_custom_error_messages() {
    let jwt = builder(config())
        .expired_token_loader(|_, _| reply(401, json!({"message": "The token has expired.", "error": "token_expired"})))
        .invalid_token_loader(|error| reply(401, json!({"message": "Signature verification failed.", "error": "invalid_token", "detail": error})))
        .unauthorized_loader(|_| reply(401, json!({"description": "Request does not contain an access token.", "error": "authorization_required"})))
        .needs_fresh_token_loader(|_, _| reply(401, json!({"description": "The token is not fresh.", "error": "fresh_required"})))
        .revoked_token_loader(|_, payload| reply(401, json!({"description": "The token has been revoked.", "error": "token_revoked", "jti": payload["jti"]}))).build().unwrap();
    let expired = hs256(claims_with("alice", json!({"exp": NOW - 5})));
    call(&jwt, "/protected", Some(&expired))
        .await
        .assert_json(json!({"message": "The token has expired.", "error": "token_expired"}))
        .await;
    call(&jwt, "/protected", Some("xxx")).await.assert_json(json!({"message": "Signature verification failed.", "error": "invalid_token", "detail": "Not enough segments"})).await;
    call(&jwt, "/protected", None).await.assert_json(json!({"description": "Request does not contain an access token.", "error": "authorization_required"})).await;
    let stale = hs256(claims("alice"));
    call(&jwt, "/fresh", Some(&stale))
        .await
        .assert_json(json!({"description": "The token is not fresh.", "error": "fresh_required"}))
        .await;
    let token = jwt.create_access_token("alice").await.unwrap();
    let claims = jwt.decode_token(&token).unwrap();
    jwt.revoke_token(&claims).await.unwrap();
    call(&jwt, "/protected", Some(&token)).await.assert_json(json!({"description": "The token has been revoked.", "error": "token_revoked", "jti": claims["jti"]})).await;
}

#[tokio::test]
async fn token_verification_loader_runs_after_revocation() {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let verifier = |token: Arc<VerifiedJwt>| async move {
        CALLS.fetch_add(1, Ordering::SeqCst);
        token.claims().get("tenant").is_some()
    };
    let jwt = builder(config())
        .token_verification_loader(verifier)
        .build()
        .unwrap();
    let good = hs256(claims_with("alice", json!({"tenant": "acme"})));
    call(&jwt, "/protected", Some(&good))
        .await
        .assert_text("alice")
        .await;
    let bad = hs256(claims("alice"));
    assert_msg(
        call(&jwt, "/protected", Some(&bad)).await,
        400,
        "User claims verification failed",
    )
    .await;
    let revoked = jwt.create_access_token("alice").await.unwrap();
    jwt.revoke_token(&jwt.decode_token(&revoked).unwrap())
        .await
        .unwrap();
    let before = CALLS.load(Ordering::SeqCst);
    assert_msg(
        call(&jwt, "/protected", Some(&revoked)).await,
        401,
        "Token has been revoked",
    )
    .await;
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        before,
        "a revoked token never reaches the claims check"
    );

    let custom = builder(config())
        .token_verification_loader(verifier)
        .token_verification_failed_loader(|_, payload| {
            reply(403, json!({"sub": payload["sub"], "error": "bad claims"}))
        })
        .build()
        .unwrap();
    let resp = call(&custom, "/protected", Some(&bad)).await;
    resp.assert_status(StatusCode::FORBIDDEN);
    resp.assert_json(json!({"sub": "alice", "error": "bad claims"}))
        .await;
}

#[tokio::test]
async fn status_codes_are_configurable_per_kind() {
    let mut cfg = config();
    cfg.status_codes.insert("invalid_token".into(), 401);
    cfg.status_codes.insert("expired".into(), 419);
    let jwt = manager(cfg);
    assert_msg(
        call(&jwt, "/protected", Some("xxx")).await,
        401,
        "Not enough segments",
    )
    .await;
    let expired = hs256(claims_with("alice", json!({"exp": NOW - 5})));
    let resp = call(&jwt, "/protected", Some(&expired)).await;
    resp.assert_status(StatusCode::from_u16(419).unwrap());
    resp.assert_text("{\"msg\":\"Token has expired\"}\n").await;
    assert_msg(
        call(&jwt, "/protected", None).await,
        401,
        "Missing Authorization Header",
    )
    .await;

    let from_env = JwtConfig::from_lookup(|n| {
        (n == "JWT_STATUS_CODES").then(|| "invalid_token=401, revoked=403".into())
    })
    .unwrap();
    assert_eq!(from_env.status_codes.get("revoked"), Some(&403));
    let mut bad = config();
    bad.status_codes.insert("invalid".into(), 401);
    assert!(JwtManager::new(bad)
        .unwrap_err()
        .to_string()
        .starts_with("JWT_STATUS_CODES: unknown error kind \"invalid\""));
    let mut bad = config();
    bad.status_codes.insert("expired".into(), 42);
    assert_eq!(
        JwtManager::new(bad).unwrap_err().to_string(),
        "JWT_STATUS_CODES: 42 is not an HTTP status"
    );
}

#[tokio::test]
async fn additional_headers_loader_merges_under_the_call_site() {
    let jwt = builder(config())
        .additional_headers_loader(|identity| {
            json!({"kid": "k1", "shared": "loader", "who": identity})
                .as_object()
                .cloned()
                .unwrap_or_default()
        })
        .build()
        .unwrap();
    let token = jwt
        .create_access_token("alice")
        .additional_headers(json!({"shared": "call"}))
        .await
        .unwrap();
    use base64::Engine as _;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap();
    assert_eq!(
        String::from_utf8(header).unwrap(),
        r#"{"alg":"HS256","kid":"k1","shared":"call","typ":"JWT","who":"alice"}"#
    );
}

#[tokio::test]
async fn issuer_lists_and_audience_strings() {
    let cfg: JwtConfig = serde_json::from_value(json!({
        "secret_key": SECRET,
        "decode_issuer": ["https://a.example", "https://b.example"],
        "decode_audience": "api",
        "encode_audience": "api",
        "encode_issuer": "https://b.example",
    }))
    .unwrap();
    let jwt = manager(cfg);
    let token = jwt.create_access_token("alice").await.unwrap();
    call(&jwt, "/protected", Some(&token))
        .await
        .assert_text("alice")
        .await;
    let other = hs256(claims_with(
        "alice",
        json!({"aud": "api", "iss": "https://c.example"}),
    ));
    assert_msg(
        call(&jwt, "/protected", Some(&other)).await,
        422,
        "Invalid issuer",
    )
    .await;
    let env = JwtConfig::from_lookup(|n| {
        (n == "JWT_DECODE_ISSUER").then(|| "https://a.example,https://b.example".into())
    })
    .unwrap();
    assert_eq!(env.decode_issuer.unwrap().len(), 2);
}

#[test]
fn config_from_a_toml_file() {
    let text = r#"
        secret_key = "0123456789abcdef0123456789abcdef"
        access_token_expires = "5m"
        refresh_token_expires = false
        token_location = ["headers", "cookies"]
        cookie_secure = true
        cookie_samesite = "Lax"
        decode_leeway = 10
        error_message_key = "message"

        [status_codes]
        invalid_token = 401

        [[decode_keys]]
        kid = "old"
        algorithm = "HS256"
        secret = "an-older-secret-of-32-bytes-or-more"
    "#;
    let cfg: JwtConfig = toml::from_str(text).unwrap();
    assert_eq!(cfg.access_token_expires, jwt_runtime::Expiry::Seconds(300));
    assert_eq!(cfg.refresh_token_expires, jwt_runtime::Expiry::Never);
    assert_eq!(cfg.decode_keys[0].kid, "old");
    JwtManager::new(cfg).expect("a valid config");
    let typo: Result<JwtConfig, _> = toml::from_str("cookie_secur = true");
    assert!(typo
        .unwrap_err()
        .to_string()
        .contains("unknown field `cookie_secur`"));
}

#[test]
fn every_option_has_its_reference_default() {
    let c = JwtConfig::default();
    let shown = serde_json::to_value(&c).unwrap();
    let expected = json!({
        "access_token_expires": 900, "refresh_token_expires": 2_592_000, "algorithm": "HS256",
        "decode_algorithms": null, "public_key": null, "token_location": ["headers"],
        "header_name": "Authorization", "header_type": "Bearer", "query_string_name": "jwt",
        "query_string_value_prefix": "", "json_key": "access_token", "refresh_json_key": "refresh_token",
        "identity_claim": "sub", "error_message_key": "msg", "encode_audience": null, "decode_audience": null,
        "encode_issuer": null, "decode_issuer": null, "decode_leeway": 0, "verify_sub": true, "encode_nbf": true,
        "access_cookie_name": "access_token_cookie", "refresh_cookie_name": "refresh_token_cookie",
        "access_cookie_path": "/", "refresh_cookie_path": "/", "cookie_secure": false, "cookie_domain": null,
        "cookie_samesite": null, "session_cookie": true, "cookie_csrf_protect": true,
        "csrf_methods": ["POST", "PUT", "PATCH", "DELETE"], "csrf_in_cookies": true, "csrf_check_form": false,
        "access_csrf_cookie_name": "csrf_access_token", "refresh_csrf_cookie_name": "csrf_refresh_token",
        "access_csrf_cookie_path": "/", "refresh_csrf_cookie_path": "/",
        "access_csrf_header_name": "X-CSRF-TOKEN", "refresh_csrf_header_name": "X-CSRF-TOKEN",
        "access_csrf_field_name": "csrf_token", "refresh_csrf_field_name": "csrf_token",
        "max_token_length": 8192, "json_body_limit": 65536, "implicit_refresh_window": null,
        "refresh_rotation": false, "refresh_rotation_grace": 10,
        "encode_kid": null, "decode_keys": [], "decode_jwks": null,
        "decode_jwks_url": null, "decode_issuer_discovery": null, "decode_any_audience": false,
        "decode_trust_app_claims": false, "decode_access_token_profile": false,
        "trusted_issuers": [], "jwks_refresh_min": 300,
        "jwks_refresh_max": 600, "jwks_refetch_interval": 10, "jwks_timeout": 2,
        "jwks_max_bytes": 1048576, "jwks_allow_http": false, "status_codes": {},
        "strict_key_length": false, "allow_tokens_without_jti": false,
        "verified_token_cache_size": 4096,
        "bearer_challenge": false, "bearer_realm": null, "resource": null,
        "authorization_servers": [], "scopes_supported": [], "resource_documentation": null,
        "dpop": "disabled", "dpop_public_url": null,
        "dpop_algorithms": ["ES256", "EdDSA", "PS256", "RS256", "ES384"],
        "dpop_proof_max_age": 60, "dpop_nonce": false, "dpop_nonce_lifetime": 300,
    });
    assert_eq!(shown, expected);
}
