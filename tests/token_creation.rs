//! Token creation: the reference's payload shape, options, and claim merging.

use crate::support;

use jwt_runtime::{additional_claims, Expiry, JwtConfig, JwtManager};
use serde_json::{json, Value};
use std::time::Duration;
use support::*;

fn payload(token: &str) -> serde_json::Map<String, Value> {
    use base64::Engine as _;
    let segment = token.split('.').nth(1).expect("payload segment");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("json object")
}

fn header(token: &str) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

fn keys(map: &serde_json::Map<String, Value>) -> Vec<&str> {
    map.keys().map(String::as_str).collect()
}

#[tokio::test]
async fn access_token_has_the_reference_shape() {
    let jwt = manager(config());
    let token = jwt.create_access_token("alice").await.unwrap();
    assert_eq!(header(&token), r#"{"alg":"HS256","typ":"JWT"}"#);
    let p = payload(&token);
    assert_eq!(
        keys(&p),
        ["fresh", "iat", "jti", "type", "sub", "nbf", "csrf", "exp"]
    );
    assert_eq!(p["fresh"], false);
    assert_eq!(p["iat"], NOW);
    assert_eq!(p["nbf"], NOW);
    assert_eq!(p["exp"], NOW + 900);
    assert_eq!(p["type"], "access");
    assert_eq!(p["sub"], "alice");
    assert_eq!(p["jti"].as_str().unwrap().len(), 36);
    assert_ne!(p["jti"], p["csrf"]);
    assert_eq!(jwt.decode_token(&token).unwrap(), p);
}

#[tokio::test]
async fn refresh_token_is_never_fresh_and_lives_30_days() {
    let jwt = manager(config());
    let p = payload(&jwt.create_refresh_token("alice").fresh(true).await.unwrap());
    assert_eq!(p["type"], "refresh");
    assert_eq!(p["fresh"], false);
    assert_eq!(p["exp"], NOW + 30 * 86_400);
}

#[tokio::test]
async fn options_change_the_payload() {
    let jwt = manager(config());
    let p = payload(
        &jwt.create_access_token("a")
            .fresh(true)
            .expires(Expiry::Never)
            .await
            .unwrap(),
    );
    assert_eq!(p["fresh"], true);
    assert!(!p.contains_key("exp"));
    let p = payload(
        &jwt.create_access_token("a")
            .fresh(Duration::from_secs(300))
            .await
            .unwrap(),
    );
    assert_eq!(p["fresh"].as_f64(), Some(NOW as f64 + 300.0));
    let p = payload(
        &jwt.create_access_token("a")
            .expires(Duration::from_secs(60))
            .await
            .unwrap(),
    );
    assert_eq!(p["exp"], NOW + 60);

    let mut cfg = config();
    cfg.encode_nbf = false;
    cfg.cookie_csrf_protect = false;
    cfg.access_token_expires = Expiry::Never;
    cfg.identity_claim = "identity".into();
    cfg.encode_audience = Some(vec!["api".into()]);
    cfg.encode_issuer = Some("me".into());
    let p = payload(&manager(cfg).create_access_token(7).await.unwrap());
    assert_eq!(
        keys(&p),
        ["fresh", "iat", "jti", "type", "identity", "aud", "iss"]
    );
    assert_eq!(p["identity"], 7);
    assert_eq!(p["aud"], "api");
}

#[tokio::test]
async fn additional_headers_merge_over_the_defaults() {
    let jwt = manager(config());
    let t = jwt
        .create_access_token("a")
        .additional_headers(json!({"kid": "k1", "typ": null}))
        .await
        .unwrap();
    assert_eq!(header(&t), r#"{"alg":"HS256","kid":"k1"}"#);
    let err = jwt
        .create_access_token("a")
        .additional_headers(json!({"alg": "none"}))
        .await
        .unwrap_err();
    assert_eq!(err.status().as_u16(), 500);
    let err = jwt
        .create_access_token("a")
        .additional_claims(json!([1]))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "additional claims must be a JSON object, got [1]"
    );
}

#[additional_claims]
async fn loader_claims(identity: &Value) -> Value {
    json!({"default": "value", "shared": "loader", "upcase_name": identity.as_str().unwrap_or_default().to_uppercase()})
}

#[additional_claims]
fn sync_loader(_identity: &Value) -> std::collections::HashMap<&'static str, i32> {
    [("level", 3)].into_iter().collect()
}

#[tokio::test]
async fn loader_claims_merge_under_call_site_claims() {
    let jwt = builder(config())
        .additional_claims(loader_claims)
        .build()
        .unwrap();
    let p = payload(
        &jwt.create_access_token("alice")
            .additional_claims(json!({"shared": "call"}))
            .await
            .unwrap(),
    );
    assert_eq!(p["default"], "value");
    assert_eq!(p["shared"], "call");
    assert_eq!(p["upcase_name"], "ALICE");
    let p = payload(
        &builder(config())
            .additional_claims(sync_loader)
            .build()
            .unwrap()
            .create_access_token("a")
            .await
            .unwrap(),
    );
    assert_eq!(p["level"], 3);
}

#[tokio::test]
async fn additional_claims_may_override_reserved_claims() {
    let jwt = manager(config());
    let t = jwt
        .create_access_token("alice")
        .additional_claims(json!({"type": "refresh", "sub": "bob"}))
        .await
        .unwrap();
    let p = payload(&t);
    assert_eq!(keys(&p)[3], "type", "an overridden claim keeps its place");
    assert_eq!(p["type"], "refresh");
    assert_eq!(p["sub"], "bob");
}

#[test]
fn bad_configs_are_startup_errors() {
    let err = |cfg: JwtConfig| JwtManager::new(cfg).unwrap_err().to_string();
    assert_eq!(
        err(JwtConfig::default()),
        "JWT_SECRET_KEY must be set when using symmetric algorithm \"HS256\""
    );
    assert_eq!(
        err(JwtConfig::default().with_secret("")),
        "JWT_SECRET_KEY must be set when using symmetric algorithm \"HS256\""
    );
    let mut c = config();
    c.algorithm = "XX256".into();
    assert!(err(c).starts_with("JWT_ALGORITHM: \"XX256\" is not a supported algorithm"));
    let mut c = config();
    c.algorithm = "RS256".into();
    assert_eq!(
        err(c),
        "JWT_PRIVATE_KEY must be set to use asymmetric cryptography algorithm \"RS256\""
    );
    let mut c = config();
    c.header_name = String::new();
    assert_eq!(err(c), "JWT_HEADER_NAME cannot be empty");
    let mut c = config();
    c.token_location = vec![];
    assert_eq!(
        err(c),
        "JWT_TOKEN_LOCATION must contain at least one location"
    );
    let mut c = config();
    c.cookie_samesite = Some("None".into());
    assert_eq!(
        err(c),
        "JWT_COOKIE_SAMESITE = \"None\" requires JWT_COOKIE_SECURE = true (browsers drop such cookies otherwise)"
    );
    let mut c = config();
    c.access_cookie_name = "__Host-access".into();
    assert!(err(c).starts_with("JWT_ACCESS_COOKIE_NAME: a \"__Host-\" cookie needs"));
    let mut c = config();
    c.csrf_methods = vec!["PO ST".into()];
    assert_eq!(err(c), "JWT_CSRF_METHODS: \"PO ST\" is not an HTTP method");
    let mut c = JwtConfig::default().with_secret("short");
    c.strict_key_length = true;
    assert!(err(c).starts_with("JWT_SECRET_KEY is 5 bytes, shorter than the 32 bytes HS256 needs"));
    // Without the strict option a short secret (the tutorial's) only warns.
    assert!(JwtManager::new(JwtConfig::default().with_secret("super-secret")).is_ok());
}
