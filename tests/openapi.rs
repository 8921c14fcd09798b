//! poem-openapi operations (issue 10, feature `openapi`): `#[jwt_runtime::openapi]` above
//! `#[OpenApi]` runs the macros' pipeline on the marked `#[oai]` operations, with the reference's
//! statuses and messages, and the generated document declares the security schemes of their
//! locations on exactly those operations (optional ones with the empty requirement too).

use crate::support;

use std::sync::atomic::{AtomicUsize, Ordering};

use jwt_runtime::stores::MemoryBlocklist;
use jwt_runtime::{
    check_jwt_in_request, check_jwt_in_request_with, jwt_public, user_lookup_loader, CurrentUser,
    Identity, Jwt, JwtClaims, Roles, VerifiedJwt, VerifyOptions,
};
use poem::http::StatusCode;
use poem::{Endpoint, EndpointExt, Request, Route};
use poem_openapi::auth::{ApiKey, Bearer};
use poem_openapi::payload::{Binary, Json, PlainText};
use poem_openapi::{ApiResponse, OpenApi, OpenApiService, SecurityScheme};
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;

static ADMIN_RAN: AtomicUsize = AtomicUsize::new(0);
static TRANSFORMED: AtomicUsize = AtomicUsize::new(0);

#[derive(serde::Deserialize, JwtClaims)]
struct TeamClaims {
    team: String,
}

struct User {
    name: String,
}

#[user_lookup_loader]
async fn load_user(token: &VerifiedJwt, _req: &Request) -> Option<User> {
    match token.identity().as_str() {
        Some("ghost") | None => None,
        Some(name) => Some(User {
            name: name.to_string(),
        }),
    }
}

/// A `transform` the user wrote: it still runs, inside the protection.
fn count_calls<E: Endpoint + 'static>(ep: E) -> impl Endpoint {
    ep.before(|req| async move {
        TRANSFORMED.fetch_add(1, Ordering::SeqCst);
        Ok(req)
    })
}

/// An operation's own responses: its 401 stays the operation's.
#[derive(ApiResponse)]
enum OwnResponse {
    /// It worked.
    #[oai(status = 200)]
    Ok(PlainText<&'static str>),
    /// The operation's own 401.
    #[oai(status = 401)]
    #[allow(dead_code)] // only documented
    Denied,
}

struct Api;

#[jwt_runtime::openapi]
#[OpenApi]
impl Api {
    /// Public.
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> PlainText<&'static str> {
        PlainText("ok")
    }

    #[jwt_required]
    #[oai(path = "/me", method = "get")]
    async fn me(&self, identity: Identity) -> PlainText<String> {
        PlainText(format!("me {identity}"))
    }

    // The other attribute order works too.
    #[oai(path = "/team", method = "get")]
    #[jwt_required(fresh)]
    async fn team(&self, jwt: Jwt<TeamClaims>) -> PlainText<String> {
        PlainText(format!("{} of {}", jwt.identity(), jwt.team))
    }

    #[jwt_required(roles = "admin")]
    #[oai(path = "/admin", method = "get", transform = "count_calls")]
    async fn admin(&self) -> PlainText<&'static str> {
        ADMIN_RAN.fetch_add(1, Ordering::SeqCst);
        PlainText("admin area")
    }

    #[admin_required]
    #[oai(path = "/boss", method = "get")]
    async fn boss(&self, identity: Identity) -> PlainText<String> {
        PlainText(format!("boss {identity}"))
    }

    #[jwt_required]
    #[oai(path = "/profile", method = "get")]
    async fn profile(&self, user: CurrentUser<User>) -> PlainText<String> {
        PlainText(format!("profile of {}", user.name))
    }

    #[jwt_required(optional)]
    #[oai(path = "/greeting", method = "get")]
    async fn greeting(&self, identity: Option<Identity>) -> PlainText<String> {
        match identity {
            Some(who) => PlainText(format!("hello {who}")),
            None => PlainText("hello stranger".into()),
        }
    }

    #[jwt_required(locations = "cookies")]
    #[oai(path = "/cookie", method = "post")]
    async fn cookie(&self, identity: Identity) -> PlainText<String> {
        PlainText(format!("cookie {identity}"))
    }

    #[jwt_required(issuer = "https://partner.example, https://idp.example")]
    #[oai(path = "/partners", method = "get")]
    async fn partners(&self, identity: Identity) -> PlainText<String> {
        PlainText(format!("partner {identity}"))
    }

    #[jwt_required(refresh, locations = "headers, cookies, query_string")]
    #[oai(path = "/refresh", method = "post")]
    async fn refresh(&self, identity: Identity) -> PlainText<String> {
        PlainText(format!("refresh {identity}"))
    }

    /// Writes a note.
    ///
    /// Needs the `notes:write` scope.
    #[jwt_required(scopes = "notes:write")]
    #[oai(path = "/notes", method = "post")]
    async fn notes(&self) -> poem::Result<PlainText<&'static str>> {
        // `?` and `return` in a protected operation's body keep their meaning.
        let n: u8 = "1".parse().map_err(poem::error::BadRequest)?;
        if n == 2 {
            return Ok(PlainText("two"));
        }
        Ok(PlainText("written"))
    }

    #[jwt_required(skip_revocation_check)]
    #[oai(path = "/own", method = "get")]
    async fn own(&self) -> OwnResponse {
        OwnResponse::Ok(PlainText("own"))
    }

    /// Bytes the document describes as JSON (poem-openapi's `actual_type`).
    #[jwt_required]
    #[oai(path = "/raw", method = "get", actual_type = "Json<Value>")]
    async fn raw(&self) -> Binary<Vec<u8>> {
        Binary(br#"{"raw":true}"#.to_vec())
    }
}

/// A whole impl under one protection (issue 26): `roles = "staff"` on every operation that
/// names no protection of its own.
struct Staff;

#[jwt_runtime::openapi(jwt_required(roles = "staff"))]
#[OpenApi(prefix_path = "/staff")]
impl Staff {
    /// The impl's protection.
    #[oai(path = "/desk", method = "get")]
    async fn desk(&self, identity: Identity) -> PlainText<String> {
        PlainText(format!("desk of {identity}"))
    }

    /// Public.
    #[jwt_public]
    #[oai(path = "/open", method = "get")]
    async fn open(&self) -> PlainText<&'static str> {
        PlainText(self.helper())
    }

    /// Anyone; a sent token must be valid. `optional` opts out of the impl's protection.
    #[jwt_required(optional)]
    #[oai(path = "/lobby", method = "get")]
    async fn lobby(&self, identity: Option<Identity>) -> PlainText<String> {
        PlainText(format!("lobby {identity:?}"))
    }

    /// A fresh token of staff: its own attribute narrows the impl's protection.
    #[jwt_required(fresh)]
    #[oai(path = "/fresh", method = "post")]
    async fn fresh(&self, identity: Identity) -> PlainText<String> {
        PlainText(format!("fresh {identity}"))
    }

    /// Staff who are also managers: both role requirements hold.
    #[jwt_required(roles = "manager")]
    #[oai(path = "/manage", method = "get")]
    async fn manage(&self) -> PlainText<&'static str> {
        PlainText("manage")
    }

    /// Staff, with one of the scopes: the impl's roles and the operation's scopes.
    #[jwt_required(any_scopes = "notes:read notes:write")]
    #[oai(path = "/notes", method = "get")]
    async fn notes(&self) -> PlainText<&'static str> {
        PlainText("notes")
    }

    /// Not an operation: no protection, no error.
    fn helper(&self) -> &'static str {
        "open"
    }
}

/// The impl's protection written on the operation itself: the same document.
struct StaffByHand;

#[jwt_runtime::openapi]
#[OpenApi(prefix_path = "/staff")]
impl StaffByHand {
    /// The impl's protection.
    #[jwt_required(roles = "staff")]
    #[oai(path = "/desk", method = "get")]
    async fn desk(&self, identity: Identity) -> PlainText<String> {
        PlainText(format!("desk of {identity}"))
    }
}

/// `admin_required(...)` over a whole impl, with the attribute's locations.
struct Admins;

#[jwt_runtime::openapi(locations = "cookies", admin_required(claim = "is_boss", fresh))]
#[OpenApi(prefix_path = "/admins")]
impl Admins {
    #[oai(path = "/panel", method = "get")]
    async fn panel(&self, identity: Identity) -> PlainText<String> {
        PlainText(format!("panel of {identity}"))
    }
}

fn document<T: OpenApi>(api: T) -> Value {
    serde_json::from_str(&OpenApiService::new(api, "test", "1.0").spec()).expect("JSON")
}

#[test]
fn a_whole_impl_is_protected_and_documented_as_one_operation_would_be() {
    let spec = document(Staff);
    let by_hand = document(StaffByHand);
    let desk = &spec["paths"]["/staff/desk"]["get"];
    assert_eq!(desk, &by_hand["paths"]["/staff/desk"]["get"]);
    assert_eq!(desk["security"], json!([{"JwtBearer": []}]));
    assert_eq!(
        example(&spec, "/staff/desk", "get", "403"),
        json!({"msg": "Missing role: staff"})
    );
    assert!(desk["description"]
        .as_str()
        .unwrap_or_default()
        .contains("JWT policy: an access token in headers; roles: staff (any)"));
    // `#[jwt_public]`: no security, no refusals, no policy.
    let open = &spec["paths"]["/staff/open"]["get"];
    assert_eq!(open.get("security"), None);
    assert_eq!(statuses(&spec, "/staff/open", "get"), ["200"]);
    assert!(!open.to_string().contains("JWT policy"));
    // `optional` opts out of the impl's protection, and the document says so.
    assert_eq!(
        spec["paths"]["/staff/lobby"]["get"]["security"],
        json!([{"JwtBearer": []}, {}])
    );
    // Its own attribute narrows the impl's: the document shows the policy the route runs.
    assert_eq!(
        statuses(&spec, "/staff/fresh", "post"),
        ["200", "401", "403", "422", "503"]
    );
    assert!(description(&spec, "/staff/fresh", "post", "401").contains("Fresh token required"));
    assert_eq!(
        example(&spec, "/staff/fresh", "post", "403"),
        json!({"msg": "Missing role: staff"})
    );
    let policy = |path: &str, method: &str| {
        spec["paths"][path][method]["description"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        policy("/staff/fresh", "post").contains(
            "JWT policy: an access token in headers; fresh token required; roles: staff (any)."
        ),
        "{}",
        policy("/staff/fresh", "post")
    );
    assert!(
        policy("/staff/manage", "get")
            .contains("JWT policy: an access token in headers; roles: staff, manager (all)."),
        "{}",
        policy("/staff/manage", "get")
    );
    assert_eq!(
        example(&spec, "/staff/manage", "get", "403"),
        json!({"msg": "Missing roles: staff, manager"})
    );
    assert!(
        policy("/staff/notes", "get").contains(
            "JWT policy: an access token in headers; roles: staff (any); scopes: notes:read, notes:write (any)."
        ),
        "{}",
        policy("/staff/notes", "get")
    );
}

#[tokio::test]
async fn a_whole_impl_is_protected_and_its_operations_opt_out_or_narrow_it() {
    let cli = client(
        Route::new().nest("/", OpenApiService::new(Staff, "t", "1")),
        config(),
    );
    let get = |path: &'static str, changes: Option<Value>| {
        let mut req = cli.get(path);
        if let Some(changes) = changes {
            req = req.header("Authorization", token(changes));
        }
        req.send()
    };
    assert_msg(
        get("/staff/desk", None).await,
        401,
        "Missing Authorization Header",
    )
    .await;
    assert_msg(
        get("/staff/desk", Some(json!({}))).await,
        403,
        "Missing role: staff",
    )
    .await;
    get("/staff/desk", Some(json!({"roles": ["staff"]})))
        .await
        .assert_text("desk of alice")
        .await;
    get("/staff/open", None).await.assert_text("open").await;
    get("/staff/lobby", None)
        .await
        .assert_text("lobby None")
        .await;
    assert_msg(
        get("/staff/lobby", Some(json!({"exp": NOW - 1}))).await,
        401,
        "Token has expired",
    )
    .await;
    // Narrowed, not replaced: a stale staff token is refused, and so is a fresh token of
    // another role (the impl's `roles = "staff"` still holds).
    let fresh = |changes: Value| {
        cli.post("/staff/fresh")
            .header("Authorization", token(changes))
            .send()
    };
    assert_msg(
        fresh(json!({"roles": ["staff"]})).await,
        401,
        "Fresh token required",
    )
    .await;
    assert_msg(
        fresh(json!({"fresh": true})).await,
        403,
        "Missing role: staff",
    )
    .await;
    assert_msg(
        fresh(json!({"fresh": true, "roles": ["viewer"]})).await,
        403,
        "Missing role: staff",
    )
    .await;
    fresh(json!({"fresh": true, "roles": ["staff"]}))
        .await
        .assert_text("fresh alice")
        .await;
    // Both role requirements.
    for (roles, msg) in [
        (json!([]), "Missing roles: staff, manager"),
        (json!(["manager"]), "Missing role: staff"),
        (json!(["staff"]), "Missing role: manager"),
    ] {
        assert_msg(
            get("/staff/manage", Some(json!({ "roles": roles }))).await,
            403,
            msg,
        )
        .await;
    }
    get(
        "/staff/manage",
        Some(json!({"roles": ["staff", "manager"]})),
    )
    .await
    .assert_text("manage")
    .await;
    // The impl's roles and the operation's scopes.
    assert_msg(
        get("/staff/notes", Some(json!({"scope": "notes:read"}))).await,
        403,
        "Missing role: staff",
    )
    .await;
    assert_msg(
        get("/staff/notes", Some(json!({"roles": ["staff"]}))).await,
        403,
        "One of these scopes is required: notes:read, notes:write",
    )
    .await;
    get(
        "/staff/notes",
        Some(json!({"roles": ["staff"], "scope": "notes:write"})),
    )
    .await
    .assert_text("notes")
    .await;
}

#[tokio::test]
async fn admin_required_protects_a_whole_impl_from_the_attributes_locations() {
    let spec = document(Admins);
    let panel = &spec["paths"]["/admins/panel"]["get"];
    assert_eq!(panel["security"], json!([{"JwtAccessCookie": []}]));
    assert_eq!(
        example(&spec, "/admins/panel", "get", "403"),
        json!({"msg": "Admins only!"})
    );
    let policy = panel["summary"].as_str().unwrap_or_default();
    assert!(
        policy.contains("fresh token required; administrators only (claim `is_boss`)"),
        "{policy}"
    );
    let cli = client(
        Route::new().nest("/", OpenApiService::new(Admins, "t", "1")),
        config(),
    );
    // A GET: no CSRF token to send beside the cookie.
    let post = |claims: Value| {
        let token = hs256(claims_with("alice", claims));
        cli.get("/admins/panel")
            .header("Cookie", format!("access_token_cookie={token}"))
            .send()
    };
    assert_msg(post(json!({"fresh": true})).await, 403, "Admins only!").await;
    assert_msg(
        post(json!({"is_boss": true})).await,
        401,
        "Fresh token required",
    )
    .await;
    post(json!({"is_boss": true, "fresh": true}))
        .await
        .assert_text("panel of alice")
        .await;
}

/// An application's own poem-openapi security scheme, checked by this crate's pipeline.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "jwt_checker")]
struct JwtAuth(Arc<VerifiedJwt>);

async fn jwt_checker(req: &Request, _: Bearer) -> poem::Result<Arc<VerifiedJwt>> {
    check_jwt_in_request(req, &VerifyOptions::new()).await
}

/// `fresh` and `roles = "editor"`, as a checker.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "editor_checker")]
struct Editor(Arc<VerifiedJwt>);

async fn editor_checker(req: &Request, _: Bearer) -> poem::Result<Arc<VerifiedJwt>> {
    const OPTIONS: VerifyOptions = VerifyOptions::new().fresh();
    check_jwt_in_request_with(req, &OPTIONS, &Roles::any(["editor"])).await
}

/// The token as an API key in the query string: the checker reads the locations its options
/// name.
#[derive(SecurityScheme)]
#[oai(
    ty = "api_key",
    key_in = "query",
    key_name = "jwt",
    checker = "query_checker"
)]
struct QueryAuth(Arc<VerifiedJwt>);

async fn query_checker(req: &Request, _: ApiKey) -> poem::Result<Arc<VerifiedJwt>> {
    const QUERY: VerifyOptions =
        VerifyOptions::new().locations(&[jwt_runtime::Location::QueryString]);
    check_jwt_in_request(req, &QUERY).await
}

/// A refresh check cannot rotate from a checker.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "refresh_checker")]
struct RefreshAuth(Arc<VerifiedJwt>);

async fn refresh_checker(req: &Request, _: Bearer) -> poem::Result<Arc<VerifiedJwt>> {
    check_jwt_in_request(req, &VerifyOptions::new().refresh()).await
}

struct Schemes;

#[OpenApi]
impl Schemes {
    #[oai(path = "/checked", method = "get")]
    async fn checked(&self, auth: JwtAuth) -> PlainText<String> {
        PlainText(format!("checked {}", auth.0.identity()))
    }

    #[oai(path = "/editor", method = "get")]
    async fn editor(&self, auth: Editor) -> PlainText<String> {
        PlainText(format!("editor {}", auth.0.identity()))
    }

    #[oai(path = "/query", method = "get")]
    async fn query(&self, auth: QueryAuth) -> PlainText<String> {
        PlainText(format!("query {}", auth.0.identity()))
    }

    #[oai(path = "/refresh", method = "post")]
    async fn refresh(&self, auth: RefreshAuth) -> PlainText<String> {
        PlainText(format!("refresh {}", auth.0.identity()))
    }
}

fn schemes() -> Route {
    Route::new().nest("/", OpenApiService::new(Schemes, "t", "1"))
}

/// A `#[derive(SecurityScheme)]` whose `checker` calls `check_jwt_in_request`: the valid token
/// passes, and each refusal is the reference's status and message (the pipeline's own).
#[tokio::test]
async fn a_security_scheme_checker_runs_the_pipeline() {
    let jwt = builder(config())
        .blocklist(MemoryBlocklist::new())
        .build()
        .unwrap();
    let cli = poem::test::TestClient::new(schemes().with(jwt.clone()));
    let get = |path: &'static str, auth: String| cli.get(path).header("Authorization", auth).send();
    get("/checked", token(json!({})))
        .await
        .assert_text("checked \"alice\"")
        .await;
    let cases: [(&str, String, u16, &str); 9] = [
        (
            "/checked",
            token(json!({"exp": NOW - 1})),
            401,
            "Token has expired",
        ),
        (
            "/checked",
            token(json!({"type": "refresh"})),
            422,
            "Only non-refresh tokens are allowed",
        ),
        (
            "/checked",
            "Bearer not-a-token".into(),
            422,
            "Not enough segments",
        ),
        (
            "/checked",
            bearer(&format!("{}x", hs256(claims("alice")))),
            422,
            "Signature verification failed",
        ),
        (
            "/checked",
            token(json!({"nbf": NOW + 600})),
            422,
            "The token is not yet valid (nbf)",
        ),
        (
            "/editor",
            token(json!({"roles": ["editor"]})),
            401,
            "Fresh token required",
        ),
        (
            "/editor",
            token(json!({"fresh": true})),
            403,
            "Missing role: editor",
        ),
        (
            "/editor",
            token(json!({"fresh": true, "roles": ["viewer"]})),
            403,
            "Missing role: editor",
        ),
        (
            "/checked",
            "Bearer a.b.c".into(),
            422,
            "Invalid header padding",
        ),
    ];
    for (path, auth, status, msg) in cases {
        let resp = get(path, auth).await;
        assert_msg(resp, status, msg).await;
    }
    get(
        "/editor",
        token(json!({"fresh": true, "roles": ["editor"]})),
    )
    .await
    .assert_text("editor \"alice\"")
    .await;
    // Revoked: the manager's store is asked.
    let access = jwt.create_access_token("bob").await.unwrap();
    get("/checked", bearer(&access))
        .await
        .assert_text("checked \"bob\"")
        .await;
    jwt.revoke_token(&jwt.decode_token(&access).unwrap())
        .await
        .unwrap();
    assert_msg(
        get("/checked", bearer(&access)).await,
        401,
        "Token has been revoked",
    )
    .await;
    // Without a credential, poem-openapi answers before the checker runs (its own 401).
    let resp = cli.get("/checked").send().await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_checker_reads_the_locations_of_its_options() {
    let jwt = manager(config());
    let cli = poem::test::TestClient::new(schemes().with(jwt.clone()));
    let access = jwt.create_access_token("alice").await.unwrap();
    let resp = cli.get(format!("/query?jwt={access}")).send().await;
    resp.assert_text("query \"alice\"").await;
    let expired = hs256(claims_with("alice", json!({"exp": NOW - 1})));
    let resp = cli.get(format!("/query?jwt={expired}")).send().await;
    assert_msg(resp, 401, "Token has expired").await;
    // The header is no location of these options: the query's key is read, and it is bad.
    let resp = cli
        .get("/query?jwt=x")
        .header("Authorization", bearer(&access))
        .send()
        .await;
    assert_msg(resp, 422, "Not enough segments").await;
}

#[tokio::test]
async fn a_checker_without_the_manager_or_rotating_refresh_tokens_is_refused() {
    // No `.with(jwt)` above the service: a 500, not a pass.
    let cli = poem::test::TestClient::new(schemes());
    let resp = cli
        .get("/checked")
        .header("Authorization", token(json!({})))
        .send()
        .await;
    assert_msg(resp, 500, "Internal server error").await;
    let mut cfg = config();
    cfg.refresh_rotation = true;
    let jwt = manager(cfg);
    let cli = poem::test::TestClient::new(schemes().with(jwt.clone()));
    let refresh = jwt.create_refresh_token("alice").await.unwrap();
    let resp = cli
        .post("/refresh")
        .header("Authorization", bearer(&refresh))
        .send()
        .await;
    assert_msg(resp, 500, "Internal server error").await;
    // Without rotation, a refresh check passes.
    let jwt = manager(config());
    let cli = poem::test::TestClient::new(schemes().with(jwt.clone()));
    let refresh = jwt.create_refresh_token("alice").await.unwrap();
    let resp = cli
        .post("/refresh")
        .header("Authorization", bearer(&refresh))
        .send()
        .await;
    resp.assert_text("refresh \"alice\"").await;
}

/// A plain `#[OpenApi]` impl whose operation relies on a route group.
struct Grouped;

#[OpenApi]
impl Grouped {
    #[oai(path = "/grouped", method = "get")]
    async fn grouped(&self, identity: jwt_runtime::Guarded<Identity>) -> PlainText<String> {
        PlainText(format!("grouped {}", identity.0))
    }
}

/// What the documentation says of a `JwtRequired` group over an `OpenApiService`: it protects
/// the operations at run time, and the document does not show it (hence the attribute).
#[tokio::test]
async fn a_route_group_protects_a_service_but_not_its_document() {
    let api = OpenApiService::new(Grouped, "t", "1");
    let spec: Value = serde_json::from_str(&api.spec()).unwrap();
    let cli = client(
        Route::new().nest("/", api.with(jwt_runtime::JwtRequired::new())),
        config(),
    );
    assert_msg(
        cli.get("/grouped").send().await,
        401,
        "Missing Authorization Header",
    )
    .await;
    cli.get("/grouped")
        .header("Authorization", token(json!({})))
        .send()
        .await
        .assert_text("grouped alice")
        .await;
    let op = &spec["paths"]["/grouped"]["get"];
    assert_eq!(op.get("security"), None);
    assert_eq!(statuses(&spec, "/grouped", "get"), ["200"]);
}

fn service() -> OpenApiService<Api, ()> {
    OpenApiService::new(Api, "test", "1.0")
}

fn app() -> Route {
    Route::new().nest("/", service())
}

fn token(changes: Value) -> String {
    bearer(&hs256(claims_with("alice", changes)))
}

fn spec() -> Value {
    serde_json::from_str(&service().spec()).expect("the document is JSON")
}

#[test]
fn the_document_declares_the_schemes_of_the_locations() {
    let spec = spec();
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(
        schemes["JwtBearer"],
        json!({"type": "http", "description": "A JWT in the `Authorization: Bearer <token>` header.",
               "scheme": "bearer", "bearerFormat": "JWT"})
    );
    assert_eq!(schemes["JwtAccessCookie"]["type"], "apiKey");
    assert_eq!(schemes["JwtAccessCookie"]["in"], "cookie");
    assert_eq!(schemes["JwtAccessCookie"]["name"], "access_token_cookie");
    assert_eq!(schemes["JwtRefreshCookie"]["name"], "refresh_token_cookie");
    // Refresh operations' header token: Swagger UI's Authorize holds both tokens.
    assert_eq!(schemes["JwtRefreshBearer"]["scheme"], "bearer");
    assert_eq!(schemes["JwtRefreshBearer"]["bearerFormat"], "JWT");
    assert_eq!(schemes["JwtQuery"]["in"], "query");
    assert_eq!(schemes["JwtQuery"]["name"], "jwt");
    assert_eq!(schemes.as_object().unwrap().len(), 5, "{schemes}");
}

#[test]
fn the_document_marks_exactly_the_protected_operations() {
    let spec = spec();
    let security = |path: &str, method: &str| spec["paths"][path][method].get("security").cloned();
    assert_eq!(security("/health", "get"), None);
    for path in ["/me", "/team", "/admin", "/boss", "/profile", "/partners"] {
        assert_eq!(
            security(path, "get"),
            Some(json!([{"JwtBearer": []}])),
            "{path}"
        );
    }
    // Optional: a token, or none.
    assert_eq!(
        security("/greeting", "get"),
        Some(json!([{"JwtBearer": []}, {}]))
    );
    assert_eq!(
        security("/cookie", "post"),
        Some(json!([{"JwtAccessCookie": []}]))
    );
    assert_eq!(
        security("/refresh", "post"),
        Some(json!([{"JwtRefreshBearer": []}, {"JwtRefreshCookie": []}, {"JwtQuery": []}]))
    );
    // The hidden parameter is no parameter of the document.
    assert_eq!(spec["paths"]["/me"]["get"].get("parameters"), None);
    // Every operation is in the document.
    assert_eq!(spec["paths"].as_object().unwrap().len(), 13);
}

/// The statuses an operation's document lists, in order.
fn statuses(spec: &Value, path: &str, method: &str) -> Vec<String> {
    let mut codes: Vec<String> = spec["paths"][path][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{path} has responses"))
        .keys()
        .cloned()
        .collect();
    codes.sort();
    codes
}

/// The example body of one documented refusal.
fn example(spec: &Value, path: &str, method: &str, status: &str) -> Value {
    spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
        ["example"]
        .clone()
}

fn description<'a>(spec: &'a Value, path: &str, method: &str, status: &str) -> &'a str {
    spec["paths"][path][method]["responses"][status]["description"]
        .as_str()
        .unwrap_or_else(|| panic!("{path} {status} has a description"))
}

#[test]
fn protected_operations_document_every_refusal_of_their_protection() {
    let spec = spec();
    assert_eq!(statuses(&spec, "/health", "get"), ["200"]);
    assert_eq!(statuses(&spec, "/me", "get"), ["200", "401", "422", "503"]);
    assert_eq!(
        statuses(&spec, "/team", "get"),
        ["200", "401", "422", "503"]
    );
    for (path, method) in [("/admin", "get"), ("/boss", "get"), ("/notes", "post")] {
        assert_eq!(
            statuses(&spec, path, method),
            ["200", "401", "403", "422", "503"],
            "{path}"
        );
    }
    // A user loader can fail.
    assert_eq!(
        statuses(&spec, "/profile", "get"),
        ["200", "401", "422", "500", "503"]
    );
    // No revocation check, no store to be unavailable; the operation's own 401 is kept.
    assert_eq!(statuses(&spec, "/own", "get"), ["200", "401", "422"]);
    assert_eq!(
        description(&spec, "/own", "get", "401"),
        "The operation's own 401."
    );

    // The body schema, with the reference's messages as examples.
    let schema =
        &spec["paths"]["/me"]["get"]["responses"]["401"]["content"]["application/json"]["schema"];
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], json!(["msg"]));
    assert_eq!(schema["properties"]["msg"]["type"], "string");
    assert_eq!(
        example(&spec, "/me", "get", "401"),
        json!({"msg": "Missing Authorization Header"})
    );
    let me = description(&spec, "/me", "get", "401");
    for msg in [
        "Missing Authorization Header",
        "Token has expired",
        "Token has been revoked",
    ] {
        assert!(me.contains(msg), "{me}");
    }
    assert!(!me.contains("Fresh token required"), "{me}");
    assert!(!me.contains("CSRF"), "{me}");
    assert!(description(&spec, "/team", "get", "401").contains("Fresh token required"));
    assert!(description(&spec, "/own", "get", "422").contains("Signature verification failed"));
    assert_eq!(
        example(&spec, "/me", "get", "422"),
        json!({"msg": "Only non-refresh tokens are allowed"})
    );
    assert_eq!(
        example(&spec, "/refresh", "post", "422"),
        json!({"msg": "Only refresh tokens are allowed"})
    );
    assert_eq!(
        example(&spec, "/me", "get", "503"),
        json!({"msg": "Token revocation store unavailable"})
    );
    assert_eq!(
        example(&spec, "/profile", "get", "500"),
        json!({"msg": "User lookup failed"})
    );
    assert!(description(&spec, "/profile", "get", "401").contains("Error loading the user"));
    // Cookies: the cookie's own missing message, and CSRF.
    assert_eq!(
        example(&spec, "/cookie", "post", "401"),
        json!({"msg": "Missing cookie \"access_token_cookie\""})
    );
    assert!(description(&spec, "/cookie", "post", "401").contains("Missing CSRF token"));
    assert_eq!(
        example(&spec, "/refresh", "post", "401"),
        json!({"msg": "Missing JWT in headers, cookies or query_string (Missing Authorization Header; Missing cookie \"refresh_token_cookie\"; Missing 'jwt' query paramater)"})
    );
    // What each policy answers.
    assert_eq!(
        example(&spec, "/admin", "get", "403"),
        json!({"msg": "Missing role: admin"})
    );
    assert_eq!(
        example(&spec, "/boss", "get", "403"),
        json!({"msg": "Admins only!"})
    );
    assert_eq!(
        example(&spec, "/notes", "post", "403"),
        json!({"msg": "Missing scope: notes:write"})
    );
    // Optional: only what a sent token causes (no missing token).
    assert_eq!(
        statuses(&spec, "/greeting", "get"),
        ["200", "401", "422", "503"]
    );
    assert_eq!(
        example(&spec, "/greeting", "get", "401"),
        json!({"msg": "Token has expired"})
    );
    assert!(!description(&spec, "/greeting", "get", "401").contains("Missing"));
}

/// An operation whose document shows another type than it returns (poem-openapi's
/// `actual_type`) lists its refusals too, beside the declared type's response.
#[tokio::test]
async fn an_operation_with_an_actual_type_documents_its_refusals() {
    let spec = spec();
    assert_eq!(statuses(&spec, "/raw", "get"), ["200", "401", "422", "503"]);
    let ok = &spec["paths"]["/raw"]["get"]["responses"]["200"]["content"];
    assert!(ok.get("application/json; charset=utf-8").is_some(), "{ok}");
    assert_eq!(
        example(&spec, "/raw", "get", "401"),
        json!({"msg": "Missing Authorization Header"})
    );
    let cli = client(app(), config());
    assert_msg(
        cli.get("/raw").send().await,
        401,
        "Missing Authorization Header",
    )
    .await;
    let resp = cli
        .get("/raw")
        .header("Authorization", token(json!({})))
        .send()
        .await;
    resp.assert_content_type("application/json; charset=utf-8");
    resp.assert_json(json!({"raw": true})).await;
}

/// Each documented example is what the operation answers to the request that causes it.
#[tokio::test]
async fn the_documented_examples_are_what_the_operations_answer() {
    let spec = spec();
    let cli = client(app(), config());
    let access = token(json!({}));
    let refresh = token(json!({"type": "refresh"}));
    let expired = token(json!({"exp": NOW - 1}));
    let cases: [(&str, &str, Option<&str>, &str); 10] = [
        ("/me", "get", None, "401"),
        ("/cookie", "post", None, "401"),
        ("/refresh", "post", None, "401"),
        ("/greeting", "get", Some(&expired), "401"),
        ("/me", "get", Some(&refresh), "422"),
        ("/refresh", "post", Some(&access), "422"),
        ("/admin", "get", Some(&access), "403"),
        ("/boss", "get", Some(&access), "403"),
        ("/notes", "post", Some(&access), "403"),
        ("/team", "get", Some(&access), "401"),
    ];
    for (path, method, auth, status) in cases {
        let mut req = match method {
            "get" => cli.get(path),
            _ => cli.post(path),
        };
        if let Some(auth) = auth {
            req = req.header("Authorization", auth);
        }
        let resp = req.send().await;
        assert_eq!(resp.0.status().as_str(), status, "{path}");
        let body: Value = serde_json::from_str(&resp.0.into_body().into_string().await.unwrap())
            .expect("a JSON refusal");
        let documented = &spec["paths"][path][method]["responses"][status];
        let described = documented["description"].as_str().unwrap_or_default();
        let msg = body["msg"].as_str().unwrap_or_default();
        assert!(
            described.contains(msg),
            "{path} {status}: {msg:?} not in {described:?}"
        );
        if path != "/team" {
            assert_eq!(
                example(&spec, path, method, status),
                body,
                "{path} {status}"
            );
        }
    }
}

#[test]
fn the_policy_is_in_the_operation_description() {
    let spec = spec();
    let text = |path: &str, method: &str| {
        let op = &spec["paths"][path][method];
        format!(
            "{} {}",
            op["summary"].as_str().unwrap_or_default(),
            op["description"].as_str().unwrap_or_default()
        )
    };
    assert!(!text("/health", "get").contains("JWT"));
    assert!(
        text("/me", "get").contains("JWT policy: an access token"),
        "{}",
        text("/me", "get")
    );
    assert!(text("/team", "get").contains("fresh"));
    assert!(text("/admin", "get").contains("roles: admin"));
    assert!(text("/boss", "get").contains("admin"));
    assert!(
        text("/partners", "get").contains("issuers: https://partner.example, https://idp.example")
    );
    assert!(text("/refresh", "post").contains("a refresh token"));
    assert!(text("/greeting", "get").contains("optional"));
    // A documented operation keeps its summary and description; the policy follows them.
    let notes = &spec["paths"]["/notes"]["post"];
    assert_eq!(notes["summary"], "Writes a note.");
    let description = notes["description"].as_str().unwrap();
    assert!(
        description.starts_with("Needs the `notes:write` scope."),
        "{description}"
    );
    assert!(description.contains("scopes: notes:write"), "{description}");
}

#[tokio::test]
async fn a_documented_operation_still_answers_as_before() {
    let cli = client(app(), config());
    let written = cli
        .post("/notes")
        .header("Authorization", token(json!({"scope": "notes:write"})))
        .send()
        .await;
    written.assert_status_is_ok();
    written.assert_text("written").await;
    let refused = cli
        .post("/notes")
        .header("Authorization", token(json!({})))
        .send()
        .await;
    assert_msg(refused, 403, "Missing scope: notes:write").await;
    let own = cli
        .get("/own")
        .header("Authorization", token(json!({})))
        .send()
        .await;
    own.assert_text("own").await;
}

#[tokio::test]
async fn a_protected_operation_runs_the_pipeline() {
    let cli = client(app(), config());
    let resp = cli.get("/me").send().await;
    assert_msg(resp, 401, "Missing Authorization Header").await;
    let resp = cli
        .get("/me")
        .header("Authorization", token(json!({})))
        .send()
        .await;
    resp.assert_status_is_ok();
    resp.assert_text("me alice").await;
    let resp = cli
        .get("/me")
        .header("Authorization", "Bearer not-a-token")
        .send()
        .await;
    assert_msg(resp, 422, "Not enough segments").await;
    let resp = cli
        .get("/me")
        .header("Authorization", token(json!({"type": "refresh"})))
        .send()
        .await;
    assert_msg(resp, 422, "Only non-refresh tokens are allowed").await;
    let resp = cli
        .get("/me")
        .header("Authorization", token(json!({"exp": NOW - 1})))
        .send()
        .await;
    assert_msg(resp, 401, "Token has expired").await;
    let resp = cli.get("/health").send().await;
    resp.assert_text("ok").await;
}

#[tokio::test]
async fn freshness_and_typed_claims() {
    let cli = client(app(), config());
    let resp = cli
        .get("/team")
        .header("Authorization", token(json!({"team": "red"})))
        .send()
        .await;
    assert_msg(resp, 401, "Fresh token required").await;
    let resp = cli
        .get("/team")
        .header(
            "Authorization",
            token(json!({"team": "red", "fresh": true})),
        )
        .send()
        .await;
    resp.assert_text("alice of red").await;
}

#[tokio::test]
async fn roles_and_admin_policies_refuse_before_the_operation_runs() {
    let cli = client(app(), config());
    let before = ADMIN_RAN.load(Ordering::SeqCst);
    let resp = cli
        .get("/admin")
        .header("Authorization", token(json!({"roles": ["viewer"]})))
        .send()
        .await;
    assert_msg(resp, 403, "Missing role: admin").await;
    let resp = cli.get("/admin").send().await;
    assert_msg(resp, 401, "Missing Authorization Header").await;
    // Neither a preflight nor HEAD runs it without a token.
    let resp = cli.options("/admin").send().await;
    resp.assert_status(StatusCode::METHOD_NOT_ALLOWED);
    let resp = cli.head("/admin").send().await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(ADMIN_RAN.load(Ordering::SeqCst), before);
    let transformed = TRANSFORMED.load(Ordering::SeqCst);
    let resp = cli
        .get("/admin")
        .header("Authorization", token(json!({"roles": "admin"})))
        .send()
        .await;
    resp.assert_text("admin area").await;
    assert!(ADMIN_RAN.load(Ordering::SeqCst) > before);
    // The user's own transform ran as well.
    assert!(TRANSFORMED.load(Ordering::SeqCst) > transformed);

    let resp = cli
        .get("/boss")
        .header("Authorization", token(json!({})))
        .send()
        .await;
    assert_msg(resp, 403, "Admins only!").await;
    let resp = cli
        .get("/boss")
        .header("Authorization", token(json!({"is_administrator": true})))
        .send()
        .await;
    resp.assert_text("boss alice").await;
}

/// `issuer = "..."` on an operation: only tokens of the issuers it names.
#[tokio::test]
async fn an_operation_names_the_issuers_it_accepts() {
    let cli = client(app(), config());
    for iss in ["https://partner.example", "https://idp.example"] {
        let resp = cli
            .get("/partners")
            .header("Authorization", token(json!({"iss": iss})))
            .send()
            .await;
        resp.assert_text("partner alice").await;
    }
    let resp = cli
        .get("/partners")
        .header(
            "Authorization",
            token(json!({"iss": "https://elsewhere.example"})),
        )
        .send()
        .await;
    assert_msg(resp, 422, "Invalid issuer").await;
    let resp = cli
        .get("/partners")
        .header("Authorization", token(json!({})))
        .send()
        .await;
    assert_msg(resp, 422, "Token is missing the \"iss\" claim").await;
    // Other operations take any issuer the manager accepts.
    let resp = cli
        .get("/me")
        .header(
            "Authorization",
            token(json!({"iss": "https://elsewhere.example"})),
        )
        .send()
        .await;
    resp.assert_status_is_ok();
}

#[tokio::test]
async fn the_current_user_is_loaded() {
    let cli = client(app(), config());
    let resp = cli
        .get("/profile")
        .header("Authorization", token(json!({})))
        .send()
        .await;
    resp.assert_text("profile of alice").await;
    let ghost = bearer(&hs256(claims("ghost")));
    let resp = cli
        .get("/profile")
        .header("Authorization", ghost)
        .send()
        .await;
    assert_msg(resp, 401, "Error loading the user ghost").await;
}

#[tokio::test]
async fn optional_operations_serve_anonymous_requests_but_not_bad_tokens() {
    let cli = client(app(), config());
    let resp = cli.get("/greeting").send().await;
    resp.assert_text("hello stranger").await;
    let resp = cli
        .get("/greeting")
        .header("Authorization", token(json!({})))
        .send()
        .await;
    resp.assert_text("hello alice").await;
    let resp = cli
        .get("/greeting")
        .header("Authorization", token(json!({"exp": NOW - 1})))
        .send()
        .await;
    assert_msg(resp, 401, "Token has expired").await;
}

#[tokio::test]
async fn cookie_operations_check_csrf_and_read_only_their_locations() {
    let cli = client(app(), config());
    let jwt = manager(config());
    let access = jwt.create_access_token("alice").await.unwrap();
    let csrf = jwt.get_csrf_token(&access).unwrap();
    // The header is not a location of this operation.
    let resp = cli
        .post("/cookie")
        .header("Authorization", bearer(&access))
        .send()
        .await;
    assert_msg(resp, 401, "Missing cookie \"access_token_cookie\"").await;
    let cookie = format!("access_token_cookie={access}");
    let resp = cli.post("/cookie").header("Cookie", &cookie).send().await;
    assert_msg(resp, 401, "Missing CSRF token").await;
    let resp = cli
        .post("/cookie")
        .header("Cookie", &cookie)
        .header("X-CSRF-TOKEN", csrf)
        .send()
        .await;
    resp.assert_text("cookie alice").await;
}

#[tokio::test]
async fn refresh_operations_take_refresh_tokens_from_any_declared_location() {
    let cli = client(app(), config());
    let jwt = manager(config());
    let refresh = jwt.create_refresh_token("alice").await.unwrap();
    let access = jwt.create_access_token("alice").await.unwrap();
    let resp = cli
        .post("/refresh")
        .header("Authorization", bearer(&access))
        .send()
        .await;
    assert_msg(resp, 422, "Only refresh tokens are allowed").await;
    let resp = cli.post(format!("/refresh?jwt={refresh}")).send().await;
    resp.assert_text("refresh alice").await;
}

#[tokio::test]
async fn revoked_tokens_are_refused() {
    let jwt = builder(config())
        .blocklist(MemoryBlocklist::new())
        .build()
        .unwrap();
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let access = jwt.create_access_token("alice").await.unwrap();
    let resp = cli
        .get("/me")
        .header("Authorization", bearer(&access))
        .send()
        .await;
    resp.assert_text("me alice").await;
    jwt.revoke_token(&jwt.decode_token(&access).unwrap())
        .await
        .unwrap();
    let resp = cli
        .get("/me")
        .header("Authorization", bearer(&access))
        .send()
        .await;
    assert_msg(resp, 401, "Token has been revoked").await;
}

#[tokio::test]
async fn refusals_are_reshaped_by_the_error_hook() {
    let jwt = builder(config())
        .on_error(|error, _| {
            use poem::IntoResponse;
            Some(
                poem::web::Json(json!({"error": error.kind().name()}))
                    .with_status(StatusCode::IM_A_TEAPOT)
                    .into_response(),
            )
        })
        .build()
        .unwrap();
    let cli = poem::test::TestClient::new(app().with(jwt));
    let resp = cli
        .get("/admin")
        .header("Authorization", token(json!({"roles": []})))
        .send()
        .await;
    resp.assert_status(StatusCode::IM_A_TEAPOT);
}

#[tokio::test]
async fn implicit_refresh_replaces_an_expiring_cookie() {
    let mut cfg = config();
    cfg.implicit_refresh_window = Some(30);
    let jwt = manager(cfg);
    let cli = poem::test::TestClient::new(app().with(jwt.clone()));
    let soon = jwt
        .create_access_token("alice")
        .expires(jwt_runtime::Expiry::Seconds(20))
        .await
        .unwrap();
    let csrf = jwt.get_csrf_token(&soon).unwrap();
    let resp = cli
        .post("/cookie")
        .header("Cookie", format!("access_token_cookie={soon}"))
        .header("X-CSRF-TOKEN", csrf)
        .send()
        .await;
    resp.assert_status_is_ok();
    let cookies: Vec<_> = resp
        .0
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| v.starts_with("access_token_cookie="))
        .map(str::to_string)
        .collect();
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert!(!cookies[0].contains(&soon));
}

#[tokio::test]
async fn over_a_real_socket() {
    let spec_ep = service().spec_endpoint();
    let base = support::socket::serve(app().at("/openapi.json", spec_ep).with(manager(config())));
    let http = reqwest::Client::new();
    let ok = http
        .get(format!("{base}/me"))
        .header("Authorization", token(json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "me alice");
    let anonymous = http.get(format!("{base}/admin")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.json::<Value>().await.unwrap(),
        json!({"msg": "Missing Authorization Header"})
    );
    let doc: Value = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["paths"]["/me"]["get"]["security"],
        json!([{"JwtBearer": []}])
    );
}

/// `cargo run --example openapi --features openapi`, as its own process.
#[tokio::test]
async fn the_example_over_a_socket() {
    let s = support::server::start("openapi");
    let http = reqwest::Client::new();
    let login = |name: &str| {
        http.post(format!("{}/api/login", s.base))
            .json(&json!({ "username": name }))
            .send()
    };
    let ann: Value = login("ann").await.unwrap().json().await.unwrap();
    let ann = ann["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    let bob: Value = login("bob").await.unwrap().json().await.unwrap();
    let bob = bob["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    let refused = login("mallory").await.unwrap();
    assert_eq!(refused.status(), 401);

    let get = |path: &str| http.get(format!("{}{path}", s.base));
    let me = get("/api/me").bearer_auth(&ann).send().await.unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<Value>().await.unwrap(),
        json!({"user": "ann", "roles": ["admin"]})
    );
    let admin = get("/api/admin").bearer_auth(&ann).send().await.unwrap();
    assert_eq!(admin.text().await.unwrap(), "welcome, admin ann");
    let admin = get("/api/admin").bearer_auth(&bob).send().await.unwrap();
    assert_eq!(admin.status(), 403);
    assert_eq!(
        admin.json::<Value>().await.unwrap(),
        json!({"msg": "Missing role: admin"})
    );
    let anonymous = get("/api/me").send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.json::<Value>().await.unwrap(),
        json!({"msg": "Missing JWT in headers or cookies (Missing Authorization Header; Missing cookie \"access_token_cookie\")"})
    );
    let greeting = get("/api/greeting").send().await.unwrap();
    assert_eq!(greeting.text().await.unwrap(), "hello stranger");

    let doc: Value = get("/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["paths"]["/api/me"]["get"]["security"],
        json!([{"JwtBearer": []}, {"JwtAccessCookie": []}])
    );
    assert_eq!(
        doc["paths"]["/api/greeting"]["get"]["security"],
        json!([{"JwtBearer": []}, {"JwtAccessCookie": []}, {}])
    );
    assert_eq!(doc["paths"]["/api/login"]["post"].get("security"), None);
    // The document's examples are the refusals above.
    let example = |path: &str, status: &str| {
        doc["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"]
            ["example"]
            .clone()
    };
    assert_eq!(
        example("/api/admin", "403"),
        json!({"msg": "Missing role: admin"})
    );
    assert_eq!(
        example("/api/me", "401"),
        json!({"msg": "Missing JWT in headers or cookies (Missing Authorization Header; Missing cookie \"access_token_cookie\")"})
    );
    let ui = get("/docs").send().await.unwrap();
    assert_eq!(ui.status(), 200);
    assert!(ui.text().await.unwrap().contains("swagger"));
}

/// The example's document (and this module's) pass an independent validator of OpenAPI
/// documents, `openapi-spec-validator` (`pip install openapi-spec-validator`).
#[tokio::test]
#[ignore = "needs openapi-spec-validator"]
async fn the_documents_pass_openapi_spec_validator() {
    let s = support::server::start("openapi");
    let example = reqwest::get(format!("{}/openapi.json", s.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let staff = OpenApiService::new((Staff, Admins), "staff", "1").spec();
    let schemes = OpenApiService::new(Schemes, "schemes", "1").spec();
    for (name, doc) in [
        ("example", example),
        ("tests", service().spec()),
        ("whole impls", staff),
        ("security schemes", schemes),
    ] {
        let path =
            std::env::temp_dir().join(format!("{}.json", unique(&format!("openapi-{name}"))));
        std::fs::write(&path, doc).unwrap();
        let out = std::process::Command::new("openapi-spec-validator")
            .arg(&path)
            .output()
            .expect("openapi-spec-validator on PATH (pip install openapi-spec-validator)");
        let _ = std::fs::remove_file(&path);
        assert!(
            out.status.success(),
            "{name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `openapi-python-client` on PATH (`pip install openapi-python-client`), or where
/// `OPENAPI_PYTHON_CLIENT` says, and the Python beside it (the one it was installed for: a
/// virtual environment's `bin/python3`, which has the generated client's `httpx` and `attrs`).
fn openapi_python_client() -> (std::path::PathBuf, std::path::PathBuf) {
    let tool = std::env::var_os("OPENAPI_PYTHON_CLIENT")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|dir| dir.join("openapi-python-client"))
                .find(|candidate| candidate.is_file())
        })
        .expect(
            "openapi-python-client is not on PATH (pip install openapi-python-client), \
             or set OPENAPI_PYTHON_CLIENT=<path>",
        );
    let beside = tool.with_file_name("python3");
    let python = if beside.is_file() {
        beside
    } else {
        "python3".into()
    };
    (tool, python)
}

/// A client generated from the example's document by an independent generator
/// (`openapi-python-client`, into a temporary directory) works against the example over a
/// socket: it logs in, calls protected operations, and gets the refusals as the typed models the
/// document declares (403 `Missing role: admin`, 401 without a token, 422 for a malformed one).
#[tokio::test]
#[ignore = "needs openapi-python-client"]
async fn a_generated_python_client_gets_the_typed_refusals() {
    let (tool, python) = openapi_python_client();
    let s = support::server::start("openapi");
    let doc = reqwest::get(format!("{}/openapi.json", s.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(unique("openapi-python-client"));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("openapi.json");
    std::fs::write(&spec, doc).unwrap();
    let generated = std::process::Command::new(&tool)
        .args(["generate", "--meta", "none", "--path"])
        .arg(&spec)
        .arg("--output-path")
        .arg(dir.join("demo_client"))
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", tool.display()));
    assert!(
        generated.status.success() && dir.join("demo_client/api/default").is_dir(),
        "openapi-python-client failed: {}{}",
        String::from_utf8_lossy(&generated.stdout),
        String::from_utf8_lossy(&generated.stderr)
    );
    let driver = concat!(env!("CARGO_MANIFEST_DIR"), "/support/generated_client.py");
    let run = std::process::Command::new(&python)
        .arg(driver)
        .arg(&s.base)
        .arg(&dir)
        .arg("demo_client")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "the generated client failed: {stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.trim()).expect("the driver's JSON line");
    let missing = "Missing JWT in headers or cookies (Missing Authorization Header; \
                   Missing cookie \"access_token_cookie\")";
    assert_eq!(
        seen,
        json!({
            "login_refused": {"msg": "Bad username or password"},
            "me": {"user": "ann", "roles": ["admin"]},
            "admin": "welcome, admin ann",
            "admin_as_bob": {"status": 403, "model": "GetApiAdminResponse403", "msg": "Missing role: admin"},
            "me_anonymous": {"status": 401, "model": "GetApiMeResponse401", "msg": missing},
            "me_bad_token": {"status": 422, "model": "GetApiMeResponse422", "msg": "Not enough segments"},
            "greeting_bad_token": {"status": 422, "model": "GetApiGreetingResponse422", "msg": "Not enough segments"},
            "greeting_anonymous": "hello stranger",
        })
    );
}
