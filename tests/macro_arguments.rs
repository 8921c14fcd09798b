//! Every argument of `#[jwt_required]`, `#[admin_required]` and the extractors, through TestClient.

use crate::support;

use jwt_runtime::{
    admin_required, jwt_required, Identity, Jwt, JwtClaims, JwtError, JwtHeader, JwtPolicy,
    Location, TokenLocation, VerifiedJwt,
};
use poem::http::{Method, StatusCode};
use poem::{get, handler, Request, Route};
use serde::Deserialize;
use serde_json::{json, Value};
use support::*;

#[jwt_required(optional)]
#[handler]
async fn optional(identity: Option<Identity>) -> String {
    identity.map_or("anonymous".to_string(), |i| i.to_string())
}

#[jwt_required(fresh)]
#[handler]
async fn fresh_route(identity: Identity) -> String {
    identity.to_string()
}

#[jwt_required(refresh)]
#[handler]
async fn refresh_route(identity: Identity) -> String {
    identity.to_string()
}

#[jwt_required(verify_type = false)]
#[handler]
async fn any_type(jwt: Jwt) -> String {
    jwt.reserved().token_type
}

#[jwt_required(locations = "query_string")]
#[handler]
async fn query_only(location: TokenLocation) -> String {
    location.0.to_string()
}

#[jwt_required(locations = "headers, query_string")]
#[handler]
async fn headers_then_query(location: TokenLocation) -> String {
    location.0.to_string()
}

#[jwt_required(locations = "query_string,headers")]
#[handler]
async fn query_then_headers(location: TokenLocation) -> String {
    location.0.to_string()
}

#[jwt_required]
#[handler]
async fn header_and_claims(header: JwtHeader, jwt: Jwt) -> poem::web::Json<Value> {
    poem::web::Json(
        json!({"kid": header.get("kid"), "foo": jwt.get("foo"), "location": jwt.location().as_str()}),
    )
}

#[admin_required]
#[handler]
async fn admin_route() -> &'static str {
    "admin area"
}

#[admin_required(claim = "is_admin")]
#[handler]
async fn admin_custom() -> &'static str {
    "admin area"
}

struct Editors;
impl JwtPolicy for Editors {
    async fn check(&self, token: &VerifiedJwt, _: &Request) -> Result<(), JwtError> {
        match token.claims().get("role").and_then(Value::as_str) {
            Some("editor") => Ok(()),
            _ => Err(JwtError::Forbidden("Editors only!".into())),
        }
    }
}

#[jwt_required(policy = Editors)]
#[handler]
async fn editors() -> &'static str {
    "edit"
}

#[derive(Debug, Deserialize, JwtClaims)]
struct FooClaims {
    foo: String,
}

#[jwt_required]
#[handler]
async fn typed(jwt: Jwt<FooClaims>) -> String {
    format!("{} {} {:?}", jwt.foo, jwt.identity(), jwt.reserved().jti)
}

#[jwt_required]
#[handler]
async fn requires_identity(identity: Identity) -> String {
    identity.to_string()
}

fn app() -> Route {
    Route::new()
        .at("/optional", get(optional))
        .at("/fresh", get(fresh_route))
        .at("/refresh", get(refresh_route))
        .at("/any_type", get(any_type))
        .at("/query_only", get(query_only))
        .at("/headers_then_query", get(headers_then_query))
        .at("/query_then_headers", get(query_then_headers))
        .at("/header_and_claims", get(header_and_claims))
        .at("/admin", get(admin_route))
        .at("/admin_custom", get(admin_custom))
        .at("/editors", get(editors))
        .at("/typed", get(typed))
        .at(
            "/requires_identity",
            get(requires_identity).options(requires_identity),
        )
        .at("/optional_options", get(optional).options(optional))
}

async fn get_with(path: &str, token: Option<&str>) -> poem::test::TestResponse {
    let cli = client(app(), config());
    let mut req = cli.get(path);
    if let Some(t) = token {
        req = req.header("Authorization", bearer(t));
    }
    req.send().await
}

#[tokio::test]
async fn optional_allows_only_an_absent_token() {
    get_with("/optional", None)
        .await
        .assert_text("anonymous")
        .await;
    get_with("/optional", Some(&hs256(claims("alice"))))
        .await
        .assert_text("alice")
        .await;
    let cli = client(app(), config());
    cli.get("/optional")
        .header("Authorization", "Basic creds")
        .send()
        .await
        .assert_text("anonymous")
        .await;
    let expired = hs256(claims_with("alice", json!({"exp": NOW - 1})));
    assert_msg(
        get_with("/optional", Some(&expired)).await,
        401,
        "Token has expired",
    )
    .await;
    let refresh = hs256(claims_with("alice", json!({"type": "refresh"})));
    assert_msg(
        get_with("/optional", Some(&refresh)).await,
        422,
        "Only non-refresh tokens are allowed",
    )
    .await;
    let resp = cli
        .get("/optional")
        .header("Authorization", "Bearer ")
        .send()
        .await;
    assert_msg(
        resp,
        422,
        "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'",
    )
    .await;
}

#[tokio::test]
async fn fresh_accepts_true_and_unexpired_timestamps_only() {
    let with = |fresh: Value| hs256(claims_with("alice", json!({ "fresh": fresh })));
    get_with("/fresh", Some(&with(json!(true))))
        .await
        .assert_status_is_ok();
    get_with("/fresh", Some(&with(json!(NOW as f64 + 300.5))))
        .await
        .assert_status_is_ok();
    assert_msg(
        get_with("/fresh", Some(&with(json!(false)))).await,
        401,
        "Fresh token required",
    )
    .await;
    assert_msg(
        get_with("/fresh", Some(&with(json!(NOW - 60)))).await,
        401,
        "Fresh token required",
    )
    .await;
    let no_claim = hs256(claims_with("alice", json!({"fresh": null})));
    assert_msg(
        get_with("/fresh", Some(&no_claim)).await,
        401,
        "Fresh token required",
    )
    .await;
}

#[tokio::test]
async fn token_type_rules() {
    let access = hs256(claims("alice"));
    let refresh = hs256(claims_with("alice", json!({"type": "refresh"})));
    let foreign = hs256(claims_with("alice", json!({"type": "app"})));
    let untyped = hs256(claims_with("alice", json!({"type": null})));
    get_with("/refresh", Some(&refresh))
        .await
        .assert_status_is_ok();
    assert_msg(
        get_with("/refresh", Some(&access)).await,
        422,
        "Only refresh tokens are allowed",
    )
    .await;
    assert_msg(
        get_with("/requires_identity", Some(&refresh)).await,
        422,
        "Only non-refresh tokens are allowed",
    )
    .await;
    get_with("/requires_identity", Some(&foreign))
        .await
        .assert_status_is_ok();
    get_with("/requires_identity", Some(&untyped))
        .await
        .assert_status_is_ok();
    assert_msg(
        get_with("/refresh", Some(&foreign)).await,
        422,
        "Only refresh tokens are allowed",
    )
    .await;
    get_with("/any_type", Some(&refresh))
        .await
        .assert_text("refresh")
        .await;
    get_with("/any_type", Some(&access))
        .await
        .assert_text("access")
        .await;
    get_with("/any_type", Some(&untyped))
        .await
        .assert_text("access")
        .await;
}

#[tokio::test]
async fn query_string_location_and_precedence() {
    let t = hs256(claims("alice"));
    let cli = client(app(), config());
    cli.get(format!("/query_only?jwt={t}"))
        .send()
        .await
        .assert_text("query_string")
        .await;
    assert_msg(
        cli.get("/query_only").send().await,
        401,
        "Missing 'jwt' query paramater",
    )
    .await;
    assert_msg(
        cli.get("/query_only?jwt=").send().await,
        401,
        "Missing 'jwt' query paramater",
    )
    .await;
    // A header is ignored when the route only reads the query string.
    let resp = cli
        .get("/query_only")
        .header("Authorization", bearer(&t))
        .send()
        .await;
    assert_msg(resp, 401, "Missing 'jwt' query paramater").await;
    let resp = cli.get("/headers_then_query").send().await;
    assert_msg(
        resp,
        401,
        "Missing JWT in headers or query_string (Missing Authorization Header; Missing 'jwt' query paramater)",
    )
    .await;
    cli.get(format!("/headers_then_query?jwt={t}"))
        .send()
        .await
        .assert_text("query_string")
        .await;
    // No fallback after a bad token: an invalid header token blocks a valid query token...
    let resp = cli
        .get(format!("/headers_then_query?jwt={t}"))
        .header("Authorization", "Bearer xxx")
        .send()
        .await;
    assert_msg(resp, 422, "Not enough segments").await;
    // ...unless the query string comes first.
    let resp = cli
        .get(format!("/query_then_headers?jwt={t}"))
        .header("Authorization", "Bearer xxx")
        .send()
        .await;
    resp.assert_text("query_string").await;

    let mut cfg = config();
    cfg.query_string_value_prefix = "Bearer ".into();
    let cli = client(app(), cfg);
    let resp = cli.get(format!("/query_only?jwt={t}")).send().await;
    assert_msg(
        resp,
        422,
        "Invalid value for query parameter 'jwt'. Expected the value to start with 'Bearer '",
    )
    .await;
    cli.get(format!("/query_only?jwt=Bearer%20{t}"))
        .send()
        .await
        .assert_text("query_string")
        .await;
}

#[tokio::test]
async fn global_token_location_is_the_default() {
    let mut cfg = config();
    cfg.token_location = vec!["query_string".into()];
    let cli = client(app(), cfg);
    let t = hs256(claims("alice"));
    cli.get(format!("/requires_identity?jwt={t}"))
        .send()
        .await
        .assert_text("alice")
        .await;
    assert_msg(
        cli.get("/requires_identity").send().await,
        401,
        "Missing 'jwt' query paramater",
    )
    .await;
}

#[tokio::test]
async fn header_claims_and_location_extractors() {
    let t = sign(
        json!({"alg": "HS256", "kid": "k1", "typ": "JWT"}),
        claims_with("alice", json!({"foo": "bar"})),
        SECRET,
    );
    let resp = get_with("/header_and_claims", Some(&t)).await;
    resp.assert_json(json!({"kid": "k1", "foo": "bar", "location": "headers"}))
        .await;
}

#[tokio::test]
async fn admin_required_policy() {
    let admin = hs256(claims_with("admin_user", json!({"is_administrator": true})));
    let user = hs256(claims_with("user", json!({"is_administrator": false})));
    let plain = hs256(claims("user"));
    get_with("/admin", Some(&admin))
        .await
        .assert_text("admin area")
        .await;
    assert_msg(get_with("/admin", Some(&user)).await, 403, "Admins only!").await;
    assert_msg(get_with("/admin", Some(&plain)).await, 403, "Admins only!").await;
    assert_msg(
        get_with("/admin", None).await,
        401,
        "Missing Authorization Header",
    )
    .await;
    let custom = hs256(claims_with("admin_user", json!({"is_admin": true})));
    get_with("/admin_custom", Some(&custom))
        .await
        .assert_text("admin area")
        .await;
    assert_msg(
        get_with("/admin_custom", Some(&admin)).await,
        403,
        "Admins only!",
    )
    .await;
}

#[tokio::test]
async fn custom_policy() {
    let editor = hs256(claims_with("e", json!({"role": "editor"})));
    get_with("/editors", Some(&editor))
        .await
        .assert_text("edit")
        .await;
    assert_msg(
        get_with("/editors", Some(&hs256(claims("x")))).await,
        403,
        "Editors only!",
    )
    .await;
}

#[tokio::test]
async fn typed_claims() {
    let t = hs256(claims_with("alice", json!({"foo": "bar"})));
    get_with("/typed", Some(&t))
        .await
        .assert_text("bar alice Some(\"j-1\")")
        .await;
    let resp = get_with("/typed", Some(&hs256(claims("alice")))).await;
    // The token verified but lacks a claim the handler's type requires (a token from before a
    // deploy added it, a loader not registered): 422, so the client logs in for one that fits.
    assert_msg(resp, 422, "Invalid claims: missing field `foo`").await;
}

#[tokio::test]
async fn options_requests_pass_without_a_token() {
    let cli = client(app(), config());
    let resp = cli
        .request(Method::OPTIONS, "/optional_options")
        .send()
        .await;
    resp.assert_text("anonymous").await;
    // A handler that needs the identity cannot run: the preflight gets an empty 204, never a 500.
    let resp = cli
        .request(Method::OPTIONS, "/requires_identity")
        .send()
        .await;
    resp.assert_status(StatusCode::NO_CONTENT);
    let _ = Location::Headers;
}
