//! Regression tests of the security review (issue 8): each one failed on the code before its fix.
//! OPTIONS never runs a protected handler; implicit refresh never re-mints a revoked token nor
//! undoes a logout; cookie attributes cannot be injected; keys and secrets stay private;
//! nothing panics on values an app may take from users.

use crate::support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use jwt_runtime::stores::MemoryBlocklist;
use jwt_runtime::{
    admin_required, jwt_required, user_lookup_loader, verify_jwt_in_request, CookieOptions,
    CurrentUser, Expiry, Identity, Jwt, JwtConfig, JwtError, JwtManager, JwtPolicy, VerifiedJwt,
    VerifyOptions,
};
use poem::http::{Method, StatusCode};
use poem::test::TestClient;
use poem::{handler, Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use serde_json::{json, Value};
use support::*;

static PURGED: AtomicUsize = AtomicUsize::new(0);
static DENIED_RAN: AtomicUsize = AtomicUsize::new(0);
static PLAIN_RAN: AtomicUsize = AtomicUsize::new(0);
static LOADER_RAN: AtomicUsize = AtomicUsize::new(0);
static USER_ROUTE_RAN: AtomicUsize = AtomicUsize::new(0);
static MIDDLEWARE_NEXT_RAN: AtomicUsize = AtomicUsize::new(0);

#[admin_required]
#[handler]
async fn purge() -> &'static str {
    PURGED.fetch_add(1, Ordering::SeqCst);
    "purged"
}

struct DenyAll;
impl JwtPolicy for DenyAll {
    async fn check(&self, _: &VerifiedJwt, _: &Request) -> Result<(), JwtError> {
        Err(JwtError::Forbidden("No one".into()))
    }
}

#[jwt_required(policy = DenyAll)]
#[handler]
async fn denied() -> &'static str {
    DENIED_RAN.fetch_add(1, Ordering::SeqCst);
    "ran"
}

#[jwt_required]
#[handler]
async fn plain() -> &'static str {
    PLAIN_RAN.fetch_add(1, Ordering::SeqCst);
    "ran"
}

struct Account;

#[user_lookup_loader]
async fn load_account(_token: &VerifiedJwt, _req: &Request) -> Option<Account> {
    LOADER_RAN.fetch_add(1, Ordering::SeqCst);
    Some(Account)
}

#[jwt_required]
#[handler]
async fn account(_user: CurrentUser<Account>) -> &'static str {
    USER_ROUTE_RAN.fetch_add(1, Ordering::SeqCst);
    "ran"
}

#[handler]
async fn behind_middleware() -> &'static str {
    MIDDLEWARE_NEXT_RAN.fetch_add(1, Ordering::SeqCst);
    "ran"
}

/// The `verify_jwt_in_request` pattern of its documentation.
async fn editors_only<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let token = verify_jwt_in_request(&mut req, &VerifyOptions::new()).await?;
    let is_editor = token.is_some_and(|t| t.claims().get("role") == Some(&json!("editor")));
    if !is_editor {
        return Err(poem::Error::from_status(StatusCode::FORBIDDEN));
    }
    Ok(next.call(req).await?.into_response())
}

#[tokio::test]
async fn options_never_runs_a_protected_handler() {
    // Bare endpoints: Poem serves every method to them, OPTIONS included.
    let app = Route::new()
        .at("/purge", purge)
        .at("/denied", denied)
        .at("/plain", plain)
        .at("/account", account)
        .at("/editors", behind_middleware.around(editors_only));
    let cli = client(app, config());
    for path in ["/purge", "/denied", "/plain", "/account", "/editors"] {
        let resp = cli.request(Method::OPTIONS, path).send().await;
        resp.assert_status(StatusCode::NO_CONTENT);
        resp.assert_text("").await;
        // With a token that fails its policy, too.
        let token = hs256(claims("alice"));
        let resp = cli
            .request(Method::OPTIONS, path)
            .header("Authorization", bearer(&token))
            .send()
            .await;
        resp.assert_status(StatusCode::NO_CONTENT);
    }
    assert_eq!(PURGED.load(Ordering::SeqCst), 0, "#[admin_required] ran");
    assert_eq!(DENIED_RAN.load(Ordering::SeqCst), 0, "policy = ... ran");
    assert_eq!(
        PLAIN_RAN.load(Ordering::SeqCst),
        0,
        "plain #[jwt_required] ran"
    );
    assert_eq!(LOADER_RAN.load(Ordering::SeqCst), 0, "the user loader ran");
    assert_eq!(
        USER_ROUTE_RAN.load(Ordering::SeqCst),
        0,
        "CurrentUser route ran"
    );
    assert_eq!(
        MIDDLEWARE_NEXT_RAN.load(Ordering::SeqCst),
        0,
        "middleware let it through"
    );
    // The other methods still answer as before.
    let resp = cli.get("/purge").send().await;
    assert_msg(resp, 401, "Missing Authorization Header").await;
}

// ---- implicit refresh ----

#[jwt_required(locations = "cookies", skip_revocation_check)]
#[handler]
async fn unchecked_cookie(identity: Identity) -> String {
    identity.to_string()
}

#[jwt_required(locations = "cookies")]
#[handler]
async fn checked_cookie(identity: Identity) -> String {
    identity.to_string()
}

#[jwt_required(locations = "cookies", verify_type = false)]
#[handler]
async fn logout(token: Jwt, jwt: JwtManager) -> poem::Result<Response> {
    jwt.revoke_token(token.raw()).await?;
    let mut resp = poem::web::Json(json!({"msg": "logout successful"})).into_response();
    jwt.unset_jwt_cookies(&mut resp)?;
    Ok(resp)
}

#[jwt_required(locations = "cookies")]
#[handler]
async fn logout_without_unset(token: Jwt, jwt: JwtManager) -> poem::Result<&'static str> {
    jwt.revoke_token(token.raw()).await?;
    Ok("revoked")
}

#[jwt_required(locations = "cookies")]
#[handler]
async fn switch_user(jwt: JwtManager) -> poem::Result<Response> {
    let token = jwt.create_access_token("bob").await?;
    let mut resp = "switched".into_response();
    jwt.set_access_cookies(&mut resp, &token)?;
    Ok(resp)
}

fn refresh_app() -> Route {
    Route::new()
        .at("/unchecked", poem::get(unchecked_cookie))
        .at("/checked", poem::get(checked_cookie))
        .at("/logout", poem::post(logout))
        .at("/logout_without_unset", poem::post(logout_without_unset))
        .at("/switch", poem::post(switch_user))
}

fn refreshing() -> JwtManager {
    let mut cfg = config();
    cfg.token_location = vec!["cookies".into()];
    cfg.implicit_refresh_window = Some(60);
    manager(cfg)
}

/// A cookie access token that expires within the refresh window.
async fn expiring(jwt: &JwtManager, who: &str) -> String {
    jwt.create_access_token(who)
        .expires(Expiry::Seconds(20))
        .await
        .unwrap()
}

fn access_cookie(token: &str) -> String {
    format!("access_token_cookie={token}")
}

fn set_cookie_lines(resp: &Response) -> Vec<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn new_access_cookies(resp: &Response) -> Vec<String> {
    set_cookie_lines(resp)
        .into_iter()
        .filter(|l| {
            l.starts_with("access_token_cookie=") && !l.starts_with("access_token_cookie=;")
        })
        .collect()
}

#[tokio::test]
async fn implicit_refresh_still_works_for_a_live_session() {
    let jwt = refreshing();
    let cli = TestClient::new(refresh_app().with(jwt.clone()));
    let token = expiring(&jwt, "alice").await;
    for path in ["/checked", "/unchecked"] {
        let resp = cli
            .get(path)
            .header("Cookie", access_cookie(&token))
            .send()
            .await;
        resp.assert_status_is_ok();
        assert_eq!(new_access_cookies(&resp.0).len(), 1, "{path}");
    }
}

#[tokio::test]
async fn implicit_refresh_never_re_mints_a_revoked_token() {
    let jwt = refreshing();
    let cli = TestClient::new(refresh_app().with(jwt.clone()));
    // Revoked by jti: the skip_revocation_check route still answers, but must not hand out a
    // fresh, unrevoked replacement.
    let token = expiring(&jwt, "alice").await;
    jwt.revoke_token(&jwt.decode_token(&token).unwrap())
        .await
        .unwrap();
    let resp = cli
        .get("/unchecked")
        .header("Cookie", access_cookie(&token))
        .send()
        .await;
    resp.assert_status_is_ok();
    assert_eq!(new_access_cookies(&resp.0), Vec::<String>::new());
    // Revoked by "log out everywhere".
    let token = expiring(&jwt, "carol").await;
    jwt.revoke_all_for_user(&json!("carol")).await.unwrap();
    let resp = cli
        .get("/unchecked")
        .header("Cookie", access_cookie(&token))
        .send()
        .await;
    resp.assert_status_is_ok();
    assert_eq!(new_access_cookies(&resp.0), Vec::<String>::new());
}

#[tokio::test]
async fn a_protected_logout_is_not_undone_by_implicit_refresh() {
    let jwt = refreshing();
    let cli = TestClient::new(refresh_app().with(jwt.clone()));
    let token = expiring(&jwt, "alice").await;
    let csrf = jwt.get_csrf_token(&token).unwrap();
    let resp = cli
        .post("/logout")
        .header("Cookie", access_cookie(&token))
        .header("X-CSRF-TOKEN", &csrf)
        .send()
        .await;
    resp.assert_status_is_ok();
    let lines = set_cookie_lines(&resp.0);
    assert_eq!(
        new_access_cookies(&resp.0),
        Vec::<String>::new(),
        "{lines:?}"
    );
    // The last access-cookie line a browser sees clears it.
    let last = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("access_token_cookie="))
        .unwrap();
    assert!(last.starts_with("access_token_cookie=;"), "{last}");

    // Revoked during the request without touching the cookie: no re-mint either.
    let token = expiring(&jwt, "alice").await;
    let csrf = jwt.get_csrf_token(&token).unwrap();
    let resp = cli
        .post("/logout_without_unset")
        .header("Cookie", access_cookie(&token))
        .header("X-CSRF-TOKEN", &csrf)
        .send()
        .await;
    resp.assert_status_is_ok();
    assert_eq!(new_access_cookies(&resp.0), Vec::<String>::new());

    // A handler that sets the access cookie itself keeps its own.
    let token = expiring(&jwt, "alice").await;
    let csrf = jwt.get_csrf_token(&token).unwrap();
    let resp = cli
        .post("/switch")
        .header("Cookie", access_cookie(&token))
        .header("X-CSRF-TOKEN", &csrf)
        .send()
        .await;
    let set = new_access_cookies(&resp.0);
    assert_eq!(set.len(), 1, "{set:?}");
    let value = set[0]
        .trim_start_matches("access_token_cookie=")
        .split(';')
        .next()
        .unwrap();
    assert_eq!(jwt.decode_token(value).unwrap()["sub"], "bob");
}

#[tokio::test]
async fn implicit_refresh_keeps_the_identity_claim_as_it_is() {
    // The mapper turns the object given at login into the identity claim; the refresh starts
    // from the claim, so mapping it again would lose it.
    let mut cfg = config();
    cfg.token_location = vec!["cookies".into()];
    cfg.implicit_refresh_window = Some(60);
    for verify_sub in [true, false] {
        cfg.verify_sub = verify_sub;
        let jwt = builder(cfg.clone())
            .user_identity(|user| match &user["id"] {
                Value::Number(n) => n.to_string().into(),
                other => other.clone(),
            })
            .build()
            .unwrap();
        let cli = TestClient::new(refresh_app().with(jwt.clone()));
        let token = jwt
            .create_access_token(json!({"id": 42, "name": "alice"}))
            .expires(Expiry::Seconds(20))
            .await
            .unwrap();
        assert_eq!(jwt.decode_token(&token).unwrap()["sub"], "42");
        let resp = cli
            .get("/checked")
            .header("Cookie", access_cookie(&token))
            .send()
            .await;
        resp.assert_status_is_ok();
        let set = new_access_cookies(&resp.0);
        assert_eq!(set.len(), 1, "verify_sub = {verify_sub}: {set:?}");
        let value = set[0]
            .trim_start_matches("access_token_cookie=")
            .split(';')
            .next()
            .unwrap();
        assert_eq!(jwt.decode_token(value).unwrap()["sub"], "42");
    }
}

// ---- cookies ----

#[tokio::test]
async fn huge_lifetimes_and_cookie_ages_do_not_panic() {
    let jwt = manager(config());
    for lifetime in [Expiry::minutes(u64::MAX), Expiry::days(u64::MAX)] {
        let token = jwt
            .create_access_token("alice")
            .expires(lifetime)
            .await
            .unwrap();
        assert_eq!(jwt.decode_token(&token).unwrap()["exp"], i64::MAX);
    }
    let token = jwt.create_access_token("alice").await.unwrap();
    for secs in [u64::MAX, i64::MAX as u64, 400 * 365 * 86_400 * 100] {
        let mut resp = Response::default();
        let opts = CookieOptions::default().max_age(Duration::from_secs(secs));
        jwt.set_access_cookies_with(&mut resp, &token, &opts)
            .expect("saturated, not refused");
        let line = set_cookie_lines(&resp)[0].clone();
        assert!(
            line.contains("Expires=Fri, 31 Dec 9999 23:59:59 GMT"),
            "{line}"
        );
    }
}

#[tokio::test]
async fn cookie_attributes_cannot_be_injected() {
    let jwt = manager(config());
    let token = jwt.create_access_token("alice").await.unwrap();
    for domain in [
        "example.com; Secure=false",
        "a\r\nSet-Cookie: x=1",
        "ex ample.com",
        "a,b",
    ] {
        let mut resp = Response::default();
        let opts = CookieOptions::default().domain(domain);
        assert!(
            jwt.set_access_cookies_with(&mut resp, &token, &opts)
                .is_err(),
            "{domain:?} accepted"
        );
        assert!(jwt.unset_jwt_cookies_with(&mut resp, &opts).is_err());
        assert!(set_cookie_lines(&resp).is_empty(), "{domain:?} written");
    }
    // The token value itself (no CSRF claim to decode it first).
    let mut cfg = config();
    cfg.cookie_csrf_protect = false;
    let jwt = manager(cfg);
    for value in [
        "a.b.c; Domain=evil.example",
        "a.b.c\r\nX: y",
        "a b",
        "\"quoted\"",
    ] {
        let mut resp = Response::default();
        assert!(
            jwt.set_access_cookies(&mut resp, value).is_err(),
            "{value:?}"
        );
        assert!(set_cookie_lines(&resp).is_empty());
    }
    // Configured names, paths and domain: startup errors.
    let bad = |change: fn(&mut JwtConfig)| {
        let mut cfg = config();
        change(&mut cfg);
        JwtManager::new(cfg).unwrap_err().to_string()
    };
    assert_eq!(
        bad(|c| c.cookie_domain = Some("example.com; HttpOnly".into())),
        "JWT_COOKIE_DOMAIN: \"example.com; HttpOnly\" is not a valid cookie domain"
    );
    assert_eq!(
        bad(|c| c.cookie_domain = Some("a\nb".into())),
        "JWT_COOKIE_DOMAIN: \"a\\nb\" is not a valid cookie domain"
    );
    assert_eq!(
        bad(|c| c.access_cookie_path = "/a;Domain=x".into()),
        "JWT_ACCESS_COOKIE_PATH: \"/a;Domain=x\" is not a valid cookie path (it starts with '/' and holds no ';' or control characters)"
    );
    assert!(
        bad(|c| c.refresh_csrf_cookie_name = "a;b".into()).contains("is not a valid cookie name")
    );
}

// ---- keys ----

#[test]
fn a_private_jwk_is_not_a_verification_key() {
    let jwks = json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
    }]});
    let mut cfg = JwtConfig {
        algorithm: "ES256".into(),
        decode_jwks: Some(jwks.to_string()),
        ..JwtConfig::default()
    };
    let shown = format!("{cfg:?}");
    assert!(
        !shown.contains("jpsQnnGQmL"),
        "Debug printed the private key: {shown}"
    );
    assert_eq!(
        JwtManager::new(cfg.clone()).unwrap_err().to_string(),
        "JWT_DECODE_JWKS[k1]: the key has private members (\"d\"); publish only public keys"
    );
    // Every key-bearing option is redacted.
    cfg.secret_key = Some("secret-value-1".into());
    cfg.private_key = Some("-----BEGIN PRIVATE KEY-----private-value-2".into());
    cfg.public_key = Some("-----BEGIN PUBLIC KEY-----public-value-3".into());
    cfg.decode_keys = vec![serde_json::from_value(
        json!({"kid": "old", "algorithm": "HS256", "secret": "secret-value-4"}),
    )
    .unwrap()];
    let shown = format!("{cfg:?}");
    for value in [
        "secret-value-1",
        "private-value-2",
        "public-value-3",
        "secret-value-4",
        "x_FEzRu9",
    ] {
        assert!(!shown.contains(value), "{value} in {shown}");
    }
}

// ---- jti ----

#[jwt_required]
#[handler]
async fn checked(identity: Identity) -> String {
    identity.to_string()
}

#[jwt_required(skip_revocation_check)]
#[handler]
async fn not_checked(identity: Identity) -> String {
    identity.to_string()
}

/// A manager with a revocation store registered (`.blocklist(...)`): tokens must name themselves.
fn with_store(config: JwtConfig) -> JwtManager {
    builder(config)
        .blocklist(MemoryBlocklist::new())
        .build()
        .expect("valid test config")
}

#[tokio::test]
async fn without_a_revocation_store_a_token_without_jti_is_accepted_like_the_reference() {
    // flask-jwt-extended never asks for `jti` unless a blocklist loader is registered: the
    // tutorial's basic, optional and custom_errors programs answer 200 to such a token.
    let no_jti = hs256(claims_with("alice", json!({"jti": null})));
    let cli = client(Route::new().at("/checked", poem::get(checked)), config());
    let resp = cli
        .get("/checked")
        .header("Authorization", bearer(&no_jti))
        .send()
        .await;
    resp.assert_text("alice").await;
    // Rotation keeps sessions in the store: it is in use, so the token is refused.
    let mut cfg = config();
    cfg.refresh_rotation = true;
    let resp = client(Route::new().at("/checked", poem::get(checked)), cfg)
        .get("/checked")
        .header("Authorization", bearer(&no_jti))
        .send()
        .await;
    assert_msg(resp, 422, "Missing claim: jti").await;
}

#[tokio::test]
async fn a_token_that_cannot_be_revoked_is_refused_where_revocation_is_checked() {
    let app = || {
        Route::new()
            .at("/checked", poem::get(checked))
            .at("/not_checked", poem::get(not_checked))
    };
    let no_jti = hs256(claims_with("alice", json!({"jti": null})));
    let long_jti = hs256(claims_with("alice", json!({"jti": "j".repeat(129)})));
    let cli = TestClient::new(app().with(with_store(config())));
    for token in [&no_jti, &long_jti] {
        let resp = cli
            .get("/checked")
            .header("Authorization", bearer(token))
            .send()
            .await;
        assert_msg(resp, 422, "Missing claim: jti").await;
        let resp = cli
            .get("/not_checked")
            .header("Authorization", bearer(token))
            .send()
            .await;
        resp.assert_text("alice").await;
    }
    // A verify-only service checking another issuer's tokens may opt in.
    let mut cfg = config();
    cfg.allow_tokens_without_jti = true;
    let cli = TestClient::new(app().with(with_store(cfg)));
    let resp = cli
        .get("/checked")
        .header("Authorization", bearer(&no_jti))
        .send()
        .await;
    resp.assert_text("alice").await;
    // An expired token says so first (the check runs where revocation runs).
    let expired = hs256(claims_with("alice", json!({"jti": null, "exp": NOW - 1})));
    let resp = TestClient::new(app().with(with_store(config())))
        .get("/checked")
        .header("Authorization", bearer(&expired))
        .send()
        .await;
    assert_msg(resp, 401, "Token has expired").await;
}

// ---- behaviour of the reference ----

#[jwt_required(locations = "json")]
#[handler]
async fn json_route(identity: Identity) -> String {
    identity.to_string()
}

#[tokio::test]
async fn falsy_json_bodies_and_values_count_as_missing_like_the_reference() {
    let cli = client(Route::new().at("/json", poem::post(json_route)), config());
    let missing = "Missing \"access_token\" key in json data.";
    for body in ["null", "[]", "{}", "0", "\"\"", "false", "0.0"] {
        let resp = cli
            .post("/json")
            .content_type("application/json")
            .body(body)
            .send()
            .await;
        assert_msg(resp, 401, missing).await;
    }
    for value in ["0", "false", "[]", "{}", "null", "\"\""] {
        let resp = cli
            .post("/json")
            .content_type("application/json")
            .body(format!("{{\"access_token\": {value}}}"))
            .send()
            .await;
        assert_msg(resp, 401, missing).await;
    }
    // Truthy non-objects crash the reference (500); here a clear 422.
    let resp = cli
        .post("/json")
        .content_type("application/json")
        .body("[1]")
        .send()
        .await;
    assert_msg(
        resp,
        422,
        "The JSON body must be an object to carry \"access_token\"",
    )
    .await;
}

#[tokio::test]
async fn any_plus_json_media_type_is_json_like_flask() {
    let cli = client(Route::new().at("/json", poem::post(json_route)), config());
    let token = hs256(claims("alice"));
    for content_type in [
        "application/vnd.api+json",
        "application/problem+json; charset=utf-8",
        "Application/JSON",
    ] {
        let resp = cli
            .post("/json")
            .content_type(content_type)
            .body(json!({ "access_token": token }).to_string())
            .send()
            .await;
        resp.assert_text("alice").await;
    }
    for content_type in ["text/json", "application/jsonx", "application/+json+xml"] {
        let resp = cli
            .post("/json")
            .content_type(content_type)
            .body(json!({ "access_token": token }).to_string())
            .send()
            .await;
        assert_msg(resp, 401, "Invalid content-type. Must be application/json.").await;
    }
}

#[tokio::test]
async fn an_expired_token_reports_what_the_second_decode_finds() {
    // The reference decodes an expired token a second time (allow_expired) for the expired
    // callback; that decode's error wins.
    let app = || Route::new().at("/checked", poem::get(checked));
    let jwt = builder(config())
        .expired_token_loader(|_, payload| {
            (
                StatusCode::UNAUTHORIZED,
                format!("expired {}", payload["sub"]),
            )
                .into_response()
        })
        .build()
        .unwrap();
    let cli = TestClient::new(app().with(jwt));
    let cases = [
        (
            json!({"sub": null, "exp": NOW - 1}),
            422,
            "Missing claim: sub",
        ),
        (
            json!({"sub": 7, "exp": NOW - 1}),
            422,
            "Subject must be a string",
        ),
        (
            json!({"jti": 7, "exp": NOW - 1}),
            422,
            "JWT ID must be a string",
        ),
    ];
    for (changes, status, msg) in cases {
        let token = hs256(claims_with("alice", changes));
        let resp = cli
            .get("/checked")
            .header("Authorization", bearer(&token))
            .send()
            .await;
        assert_msg(resp, status, msg).await;
        // The same without a custom callback, and from decode_token.
        let resp = client(app(), config())
            .get("/checked")
            .header("Authorization", bearer(&token))
            .send()
            .await;
        assert_msg(resp, status, msg).await;
        assert_eq!(
            manager(config())
                .decode_token(&token)
                .unwrap_err()
                .to_string(),
            msg
        );
    }
    let token = hs256(claims_with("alice", json!({"exp": NOW - 1})));
    let resp = cli
        .get("/checked")
        .header("Authorization", bearer(&token))
        .send()
        .await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    resp.assert_text("expired \"alice\"").await;
}

#[tokio::test]
async fn poems_cors_middleware_still_answers_preflights_first() {
    let app = Route::new()
        .at("/plain", plain)
        .with(manager(config()))
        .with(poem::middleware::Cors::new().allow_origin("https://app.example"));
    let cli = TestClient::new(app);
    let resp = cli
        .request(Method::OPTIONS, "/plain")
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await;
    resp.assert_status_is_ok();
    resp.assert_header("access-control-allow-origin", "https://app.example");
    assert_eq!(PLAIN_RAN.load(Ordering::SeqCst), 0);
}
