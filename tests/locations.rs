//! Cookies with CSRF double submit, the JSON body, location precedence, cookie attributes and
//! implicit refresh: the reference's semantics and messages.

use crate::support;

use jwt_runtime::{jwt_required, CookieOptions, Expiry, Identity, JwtManager, TokenLocation};
use poem::web::{Form, Json};
use poem::{get, handler, post, EndpointExt, Route};
use serde_json::{json, Value};
use support::*;

#[jwt_required(locations = "cookies")]
#[handler]
async fn cookie_route(identity: Identity) -> String {
    identity.to_string()
}

#[jwt_required(refresh, locations = "cookies")]
#[handler]
async fn cookie_refresh(identity: Identity) -> String {
    identity.to_string()
}

#[jwt_required(optional, locations = "cookies")]
#[handler]
async fn cookie_optional(identity: Option<Identity>) -> String {
    identity.map_or("anonymous".into(), |i| i.to_string())
}

#[jwt_required(locations = "json")]
#[handler]
async fn json_route(identity: Identity, Json(body): Json<Value>) -> Json<Value> {
    Json(json!({"identity": identity, "body": body}))
}

#[jwt_required(refresh, locations = "json")]
#[handler]
async fn json_refresh(identity: Identity) -> String {
    identity.to_string()
}

#[derive(serde::Deserialize)]
struct Note {
    note: String,
}

#[jwt_required(locations = "cookies")]
#[handler]
async fn form_route(Form(note): Form<Note>) -> String {
    note.note
}

#[jwt_required(locations = "json,query_string")]
#[handler]
async fn json_then_query() -> &'static str {
    "ok"
}

#[jwt_required(locations = "headers,cookies,query_string,json")]
#[handler]
async fn all_four() -> &'static str {
    "ok"
}

#[jwt_required(locations = "headers,cookies")]
#[handler]
async fn headers_then_cookies(location: TokenLocation) -> String {
    location.0.to_string()
}

#[jwt_required(locations = "cookies,headers")]
#[handler]
async fn cookies_then_headers(location: TokenLocation) -> String {
    location.0.to_string()
}

fn app() -> Route {
    Route::new()
        .at(
            "/cookie",
            get(cookie_route).post(cookie_route).put(cookie_route),
        )
        .at("/cookie_refresh", get(cookie_refresh).post(cookie_refresh))
        .at("/cookie_optional", post(cookie_optional))
        .at("/json", get(json_route).post(json_route))
        .at("/json_refresh", post(json_refresh))
        .at("/form", post(form_route))
        .at("/json_then_query", get(json_then_query))
        .at("/all_four", get(all_four))
        .at(
            "/headers_then_cookies",
            get(headers_then_cookies).post(headers_then_cookies),
        )
        .at(
            "/cookies_then_headers",
            get(cookies_then_headers).post(cookies_then_headers),
        )
}

/// An access token minted by the manager (with its csrf claim) and that claim.
async fn access(jwt: &JwtManager) -> (String, String) {
    let token = jwt.create_access_token("alice").await.unwrap();
    let csrf = jwt.get_csrf_token(&token).unwrap();
    (token, csrf)
}

fn cookie(name: &str, value: &str) -> String {
    format!("{name}={value}")
}

#[tokio::test]
async fn cookie_location_and_csrf_double_submit() {
    let jwt = manager(config());
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let (token, csrf) = access(&jwt).await;
    let c = cookie("access_token_cookie", &token);

    assert_msg(
        cli.get("/cookie").send().await,
        401,
        "Missing cookie \"access_token_cookie\"",
    )
    .await;
    cli.get("/cookie")
        .header("Cookie", &c)
        .send()
        .await
        .assert_text("alice")
        .await;
    // GET is not a CSRF method: a wrong header is ignored.
    cli.get("/cookie")
        .header("Cookie", &c)
        .header("X-CSRF-TOKEN", "nope")
        .send()
        .await
        .assert_text("alice")
        .await;
    assert_msg(
        cli.post("/cookie").header("Cookie", &c).send().await,
        401,
        "Missing CSRF token",
    )
    .await;
    let resp = cli
        .post("/cookie")
        .header("Cookie", &c)
        .header("X-CSRF-TOKEN", "nope")
        .send()
        .await;
    assert_msg(resp, 401, "CSRF double submit tokens do not match").await;
    cli.post("/cookie")
        .header("Cookie", &c)
        .header("X-CSRF-TOKEN", &csrf)
        .send()
        .await
        .assert_text("alice")
        .await;
    cli.put("/cookie")
        .header("Cookie", format!("other=1; {c}"))
        .header("X-CSRF-TOKEN", &csrf)
        .send()
        .await
        .assert_text("alice")
        .await;
    // The CSRF decision follows the dispatched method, not override headers, and the value is
    // never taken from the URL.
    let resp = cli
        .post("/cookie")
        .header("Cookie", &c)
        .header("X-HTTP-Method-Override", "GET")
        .send()
        .await;
    assert_msg(resp, 401, "Missing CSRF token").await;
    let resp = cli
        .post(format!("/cookie?csrf_token={csrf}"))
        .header("Cookie", &c)
        .send()
        .await;
    assert_msg(resp, 401, "Missing CSRF token").await;
    // The CSRF check comes before decoding, as in the reference.
    let bad = cookie("access_token_cookie", "xxx");
    assert_msg(
        cli.post("/cookie").header("Cookie", &bad).send().await,
        401,
        "Missing CSRF token",
    )
    .await;
    assert_msg(
        cli.post("/cookie")
            .header("Cookie", &bad)
            .header("X-CSRF-TOKEN", &csrf)
            .send()
            .await,
        422,
        "Not enough segments",
    )
    .await;
    // A cookie sent twice is ambiguous (cookie tossing): refused.
    let twice = format!("{c}; access_token_cookie={token}");
    assert_msg(
        cli.get("/cookie").header("Cookie", &twice).send().await,
        401,
        "Cookie \"access_token_cookie\" was sent more than once",
    )
    .await;
    // An empty cookie counts as missing.
    assert_msg(
        cli.get("/cookie")
            .header("Cookie", "access_token_cookie=")
            .send()
            .await,
        401,
        "Missing cookie \"access_token_cookie\"",
    )
    .await;
}

#[tokio::test]
async fn optional_route_with_cookie_but_no_csrf_still_fails() {
    let jwt = manager(config());
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let (token, _) = access(&jwt).await;
    cli.post("/cookie_optional")
        .send()
        .await
        .assert_text("anonymous")
        .await;
    let resp = cli
        .post("/cookie_optional")
        .header("Cookie", cookie("access_token_cookie", &token))
        .send()
        .await;
    assert_msg(resp, 401, "Missing CSRF token").await;
}

#[tokio::test]
async fn token_without_csrf_claim_used_as_cookie() {
    let mut no_csrf = config();
    no_csrf.cookie_csrf_protect = false;
    let minted = manager(no_csrf.clone())
        .create_access_token("alice")
        .await
        .unwrap();
    let cli = client(app(), config());
    let resp = cli
        .post("/cookie")
        .header("Cookie", cookie("access_token_cookie", &minted))
        .header("X-CSRF-TOKEN", "x")
        .send()
        .await;
    assert_msg(resp, 422, "Missing claim: csrf").await;
    // With CSRF protection off, no header is needed.
    let cli = client(app(), no_csrf);
    cli.post("/cookie")
        .header("Cookie", cookie("access_token_cookie", &minted))
        .send()
        .await
        .assert_text("alice")
        .await;
}

#[tokio::test]
async fn csrf_methods_header_names_and_form_field() {
    let mut cfg = config();
    cfg.csrf_methods = vec!["GET".into()];
    cfg.access_csrf_header_name = "X-My-Csrf".into();
    let jwt = manager(cfg);
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let (token, csrf) = access(&jwt).await;
    let c = cookie("access_token_cookie", &token);
    cli.post("/cookie")
        .header("Cookie", &c)
        .send()
        .await
        .assert_text("alice")
        .await;
    assert_msg(
        cli.get("/cookie").header("Cookie", &c).send().await,
        401,
        "Missing CSRF token",
    )
    .await;
    assert_msg(
        cli.get("/cookie")
            .header("Cookie", &c)
            .header("X-CSRF-TOKEN", &csrf)
            .send()
            .await,
        401,
        "Missing CSRF token",
    )
    .await;
    cli.get("/cookie")
        .header("Cookie", &c)
        .header("X-My-Csrf", &csrf)
        .send()
        .await
        .assert_text("alice")
        .await;

    let mut cfg = config();
    cfg.csrf_check_form = true;
    let jwt = manager(cfg);
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let (token, csrf) = access(&jwt).await;
    let c = cookie("access_token_cookie", &token);
    let form = format!("note=hello&csrf_token={csrf}");
    let resp = cli
        .post("/form")
        .header("Cookie", &c)
        .content_type("application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await;
    resp.assert_text("hello").await;
    let resp = cli
        .post("/form")
        .header("Cookie", &c)
        .content_type("application/x-www-form-urlencoded")
        .body("note=hello")
        .send()
        .await;
    assert_msg(resp, 401, "Missing CSRF token").await;
    // Without JWT_CSRF_CHECK_FORM the field is not read.
    let jwt = manager(config());
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let (token, csrf) = access(&jwt).await;
    let resp = cli
        .post("/form")
        .header("Cookie", cookie("access_token_cookie", &token))
        .content_type("application/x-www-form-urlencoded")
        .body(format!("note=x&csrf_token={csrf}"))
        .send()
        .await;
    assert_msg(resp, 401, "Missing CSRF token").await;
}

#[tokio::test]
async fn refresh_routes_read_the_refresh_cookie_and_header() {
    let mut cfg = config();
    cfg.refresh_csrf_header_name = "X-CSRF-REFRESH".into();
    let jwt = manager(cfg);
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let refresh = jwt.create_refresh_token("alice").await.unwrap();
    let csrf = jwt.get_csrf_token(&refresh).unwrap();
    assert_msg(
        cli.get("/cookie_refresh")
            .header("Cookie", cookie("access_token_cookie", &refresh))
            .send()
            .await,
        401,
        "Missing cookie \"refresh_token_cookie\"",
    )
    .await;
    let c = cookie("refresh_token_cookie", &refresh);
    cli.get("/cookie_refresh")
        .header("Cookie", &c)
        .send()
        .await
        .assert_text("alice")
        .await;
    assert_msg(
        cli.post("/cookie_refresh")
            .header("Cookie", &c)
            .header("X-CSRF-TOKEN", &csrf)
            .send()
            .await,
        401,
        "Missing CSRF token",
    )
    .await;
    cli.post("/cookie_refresh")
        .header("Cookie", &c)
        .header("X-CSRF-REFRESH", &csrf)
        .send()
        .await
        .assert_text("alice")
        .await;
}

#[tokio::test]
async fn json_body_location() {
    let jwt = manager(config());
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let (token, _) = access(&jwt).await;
    assert_msg(
        cli.get("/json").send().await,
        401,
        "Invalid content-type. Must be application/json.",
    )
    .await;
    let resp = cli
        .post("/json")
        .body_json(&json!({"other": 1}))
        .send()
        .await;
    assert_msg(resp, 401, "Missing \"access_token\" key in json data.").await;
    let resp = cli
        .post("/json")
        .content_type("application/json")
        .body("{not json")
        .send()
        .await;
    assert_msg(resp, 401, "Missing \"access_token\" key in json data.").await;
    let resp = cli
        .post("/json")
        .body_json(&json!({"access_token": token, "x": 1}))
        .send()
        .await;
    // The handler's own Json<T> still receives the body.
    resp.assert_json(json!({"identity": "alice", "body": {"access_token": token, "x": 1}}))
        .await;
    let resp = cli
        .post("/json")
        .content_type("application/json; charset=utf-8")
        .body(json!({"access_token": token}).to_string())
        .send()
        .await;
    resp.assert_status_is_ok();
    let resp = cli.post("/json").body_json(&json!([1, 2])).send().await;
    assert_msg(
        resp,
        422,
        "The JSON body must be an object to carry \"access_token\"",
    )
    .await;
    let resp = cli
        .post("/json")
        .body_json(&json!({"access_token": 5}))
        .send()
        .await;
    assert_msg(resp, 422, "Invalid token type. Token must be a string").await;
    let refresh = jwt.create_refresh_token("alice").await.unwrap();
    let resp = cli
        .post("/json_refresh")
        .body_json(&json!({"access_token": refresh}))
        .send()
        .await;
    assert_msg(resp, 401, "Missing \"refresh_token\" key in json data.").await;
    cli.post("/json_refresh")
        .body_json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .assert_text("alice")
        .await;
}

#[tokio::test]
async fn json_body_over_the_limit_is_refused() {
    let mut cfg = config();
    cfg.json_body_limit = 1024;
    let cli = client(app(), cfg);
    let big = json!({"access_token": "x", "pad": "y".repeat(2000)});
    let resp = cli.post("/json").body_json(&big).send().await;
    assert_msg(resp, 413, "Request body is too large (over 1024 bytes)").await;
}

#[tokio::test]
async fn combined_missing_messages_in_location_order() {
    let cli = client(app(), config());
    let resp = cli.get("/json_then_query").send().await;
    assert_msg(resp, 401, "Missing JWT in json or query_string (Invalid content-type. Must be application/json.; Missing 'jwt' query paramater)").await;
    let resp = cli.get("/all_four").send().await;
    assert_msg(resp, 401, "Missing JWT in headers, cookies, query_string or json (Missing Authorization Header; Missing cookie \"access_token_cookie\"; Missing 'jwt' query paramater; Invalid content-type. Must be application/json.)").await;
}

#[tokio::test]
async fn precedence_between_headers_and_cookies() {
    let jwt = manager(config());
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let (token, _) = access(&jwt).await;
    let c = cookie("access_token_cookie", &token);
    // An invalid header token blocks a valid cookie behind it...
    let resp = cli
        .get("/headers_then_cookies")
        .header("Authorization", "Bearer aaaaa.bbbbb.ccccc")
        .header("Cookie", &c)
        .send()
        .await;
    assert_msg(resp, 422, "Invalid header padding").await;
    // ...and is never looked at when the cookie comes first.
    let resp = cli
        .get("/cookies_then_headers")
        .header("Authorization", "Bearer aaaaa.bbbbb.ccccc")
        .header("Cookie", &c)
        .send()
        .await;
    resp.assert_text("cookies").await;
    // A cookie without its CSRF value blocks a valid header token behind it...
    let resp = cli
        .post("/cookies_then_headers")
        .header("Authorization", bearer(&token))
        .header("Cookie", &c)
        .send()
        .await;
    assert_msg(resp, 401, "Missing CSRF token").await;
    // ...and the header wins when it comes first.
    let resp = cli
        .post("/headers_then_cookies")
        .header("Authorization", bearer(&token))
        .header("Cookie", &c)
        .send()
        .await;
    resp.assert_text("headers").await;
}

fn set_cookies(resp: &poem::Response) -> Vec<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn cookie_attributes_match_the_reference() {
    let jwt = manager(config());
    let (token, csrf) = access(&jwt).await;
    let mut resp = poem::Response::default();
    jwt.set_access_cookies(&mut resp, &token).unwrap();
    assert_eq!(
        set_cookies(&resp),
        [
            format!("access_token_cookie={token}; HttpOnly; Path=/"),
            format!("csrf_access_token={csrf}; Path=/")
        ]
    );

    let mut cfg = config();
    cfg.session_cookie = false;
    cfg.cookie_secure = true;
    cfg.cookie_samesite = Some("Lax".into());
    cfg.cookie_domain = Some(".ex.com".into());
    let jwt = manager(cfg);
    let (token, csrf) = access(&jwt).await;
    let mut resp = poem::Response::default();
    jwt.set_access_cookies(&mut resp, &token).unwrap();
    let expires = httpdate::fmt_http_date(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(NOW as u64 + 31_540_000),
    );
    assert_eq!(
        set_cookies(&resp),
        [
            format!("access_token_cookie={token}; Domain=ex.com; Expires={expires}; Max-Age=31540000; Secure; HttpOnly; Path=/; SameSite=Lax"),
            format!("csrf_access_token={csrf}; Domain=ex.com; Expires={expires}; Max-Age=31540000; Secure; Path=/; SameSite=Lax"),
        ]
    );
    // The domain argument beats JWT_COOKIE_DOMAIN, for set and unset.
    let mut resp = poem::Response::default();
    let opts = CookieOptions::default()
        .domain("other.com")
        .max_age(std::time::Duration::from_secs(60));
    jwt.set_access_cookies_with(&mut resp, &token, &opts)
        .unwrap();
    assert!(set_cookies(&resp)[0].contains("; Domain=other.com; Expires="));
    assert!(set_cookies(&resp)[0].contains("; Max-Age=60; "));
    let mut resp = poem::Response::default();
    jwt.unset_jwt_cookies_with(&mut resp, &CookieOptions::default().domain("other.com"))
        .unwrap();
    assert_eq!(set_cookies(&resp)[0], "access_token_cookie=; Domain=other.com; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; Path=/; SameSite=Lax");
}

#[tokio::test]
async fn max_age_makes_a_session_cookie_persistent_and_zero_counts_as_unset() {
    let jwt = manager(config());
    let (token, _) = access(&jwt).await;
    let mut resp = poem::Response::default();
    jwt.set_access_cookies_with(
        &mut resp,
        &token,
        &CookieOptions::default().max_age(std::time::Duration::ZERO),
    )
    .unwrap();
    assert_eq!(
        set_cookies(&resp)[0],
        format!("access_token_cookie={token}; HttpOnly; Path=/")
    );
    let mut resp = poem::Response::default();
    jwt.set_access_cookies_with(
        &mut resp,
        &token,
        &CookieOptions::default().max_age(std::time::Duration::from_secs(10)),
    )
    .unwrap();
    assert!(set_cookies(&resp)[0].contains("; Max-Age=10; HttpOnly; Path=/"));
}

#[tokio::test]
async fn unset_refresh_names_paths_and_csrf_in_cookies() {
    let mut cfg = config();
    cfg.refresh_cookie_path = "/auth".into();
    cfg.refresh_csrf_cookie_path = "/auth".into();
    let jwt = manager(cfg.clone());
    let mut resp = poem::Response::default();
    jwt.unset_jwt_cookies(&mut resp).unwrap();
    assert_eq!(
        set_cookies(&resp),
        [
            "access_token_cookie=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Path=/",
            "csrf_access_token=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
            "refresh_token_cookie=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Path=/auth",
            "csrf_refresh_token=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/auth",
        ]
    );
    let refresh = jwt.create_refresh_token("alice").await.unwrap();
    let mut resp = poem::Response::default();
    jwt.set_refresh_cookies(&mut resp, &refresh).unwrap();
    assert!(set_cookies(&resp)[0].starts_with("refresh_token_cookie="));
    assert!(set_cookies(&resp)[1].ends_with("; Path=/auth"));

    cfg.csrf_in_cookies = false;
    let jwt = manager(cfg);
    let (token, _) = access(&jwt).await;
    let mut resp = poem::Response::default();
    jwt.set_access_cookies(&mut resp, &token).unwrap();
    assert_eq!(set_cookies(&resp).len(), 1);
    let mut resp = poem::Response::default();
    jwt.unset_access_cookies(&mut resp).unwrap();
    assert_eq!(set_cookies(&resp).len(), 1);
    let mut resp = poem::Response::default();
    jwt.unset_refresh_cookies(&mut resp).unwrap();
    assert_eq!(
        set_cookies(&resp),
        ["refresh_token_cookie=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Path=/auth"]
    );
}

#[tokio::test]
async fn set_cookies_needs_a_valid_token() {
    let jwt = manager(config());
    let mut resp = poem::Response::default();
    assert_eq!(
        jwt.set_access_cookies(&mut resp, "xxx")
            .unwrap_err()
            .to_string(),
        "Not enough segments"
    );
    let mut cfg = config();
    cfg.cookie_csrf_protect = false;
    let token = manager(cfg).create_access_token("a").await.unwrap();
    assert_eq!(
        jwt.get_csrf_token(&token).unwrap_err().to_string(),
        "Missing claim: csrf"
    );
}

#[tokio::test]
async fn implicit_refresh_replaces_an_expiring_cookie() {
    let mut cfg = config();
    cfg.implicit_refresh_window = Some(30);
    let jwt = manager(cfg.clone());
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let soon = jwt
        .create_access_token("alice")
        .expires(Expiry::Seconds(20))
        .await
        .unwrap();
    let later = jwt
        .create_access_token("alice")
        .expires(Expiry::Seconds(100))
        .await
        .unwrap();
    let resp = cli
        .get("/cookie")
        .header("Cookie", cookie("access_token_cookie", &soon))
        .send()
        .await;
    resp.assert_status_is_ok();
    let cookies = set_cookies(&resp.0);
    assert_eq!(cookies.len(), 2, "new access and csrf cookies: {cookies:?}");
    let new_token = cookies[0]
        .trim_start_matches("access_token_cookie=")
        .split(';')
        .next()
        .unwrap();
    assert_ne!(new_token, soon);
    assert_eq!(jwt.decode_token(new_token).unwrap()["exp"], NOW + 900);
    let resp = cli
        .get("/cookie")
        .header("Cookie", cookie("access_token_cookie", &later))
        .send()
        .await;
    assert!(set_cookies(&resp.0).is_empty());
    // Header tokens have no cookie to replace.
    let resp = cli
        .get("/headers_then_cookies")
        .header("Authorization", bearer(&soon))
        .send()
        .await;
    assert!(set_cookies(&resp.0).is_empty());
    // Off by default.
    let cli = client(app(), config());
    let resp = cli
        .get("/cookie")
        .header("Cookie", cookie("access_token_cookie", &soon))
        .send()
        .await;
    assert!(set_cookies(&resp.0).is_empty());
}
