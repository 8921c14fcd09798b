//! Speaking OAuth where a client expects it (issue 25): scopes (`scopes` / `any_scopes`, the
//! `scope` and `scp` claims), RFC 6750 challenges (`JWT_BEARER_CHALLENGE`, off by default so the
//! reference's responses stay exact) and RFC 9728 protected-resource metadata.

use crate::support;

use jwt_runtime::{
    admin_required, jwt_required, Guarded, Identity, JwtConfig, JwtError, JwtManager, JwtRequired,
    Scopes,
};
use poem::http::StatusCode;
use poem::test::TestClient;
use poem::{get, handler, EndpointExt, Route};
use poem_openapi::payload::PlainText;
use poem_openapi::{OpenApi, OpenApiService};
use serde_json::{json, Value};
use support::*;

#[jwt_required(scopes = "notes:read notes:write")]
#[handler]
async fn edit(identity: Identity) -> String {
    format!("edited by {identity}")
}

#[jwt_required(any_scopes = "notes:read notes:admin")]
#[handler]
async fn read() -> &'static str {
    "read"
}

#[jwt_required(scopes = "admin")]
#[handler]
async fn admin() -> &'static str {
    "admin"
}

#[jwt_required(scopes = "notes:read", roles = "editor")]
#[handler]
async fn publish() -> &'static str {
    "published"
}

#[admin_required(scopes = "notes:admin")]
#[handler]
async fn moderate() -> &'static str {
    "moderated"
}

#[handler]
async fn report(Guarded(who): Guarded<Identity>) -> String {
    format!("report for {who}")
}

fn app() -> Route {
    Route::new()
        .at("/edit", get(edit))
        .at("/read", get(read))
        .at("/admin", get(admin))
        .at("/publish", get(publish))
        .at("/moderate", get(moderate))
        .nest(
            "/reports",
            Route::new()
                .at("/q1", get(report))
                .with(JwtRequired::new().scopes(Scopes::all(&["reports:read"]))),
        )
}

fn token_with(claims: Value) -> String {
    bearer(&hs256(claims_with("alice", claims)))
}

async fn expect(
    cli: &TestClient<impl poem::Endpoint>,
    path: &str,
    claims: Value,
    status: u16,
    msg: Option<&str>,
) {
    let resp = cli
        .get(path)
        .header("Authorization", token_with(claims.clone()))
        .send()
        .await;
    match msg {
        Some(msg) => assert_msg(resp, status, msg).await,
        None => resp.assert_status(StatusCode::from_u16(status).unwrap()),
    }
}

#[tokio::test]
async fn every_named_scope_from_the_scope_string() {
    let cli = client(app(), config());
    let ok = json!({"scope": "notes:read notes:write"});
    expect(&cli, "/edit", ok, 200, None).await;
    let extra = json!({"scope": "profile notes:write  notes:read"});
    expect(&cli, "/edit", extra, 200, None).await;
    let one = json!({"scope": "notes:read"});
    expect(&cli, "/edit", one, 403, Some("Missing scope: notes:write")).await;
    let both = Some("Missing scopes: notes:read, notes:write");
    expect(&cli, "/edit", json!({}), 403, both).await;
    // Case-sensitive; commas are no separator; a list under `scope` is not RFC 9068's string.
    let cased = json!({"scope": "Notes:Read notes:write"});
    expect(&cli, "/edit", cased, 403, Some("Missing scope: notes:read")).await;
    expect(
        &cli,
        "/edit",
        json!({"scope": "notes:read,notes:write"}),
        403,
        both,
    )
    .await;
    let listed = json!({"scope": ["notes:read", "notes:write"]});
    expect(&cli, "/edit", listed, 403, both).await;
    let single = json!({"scope": "notes"});
    expect(&cli, "/admin", single, 403, Some("Missing scope: admin")).await;
}

#[tokio::test]
async fn the_scp_claim_as_a_list_or_a_string() {
    let cli = client(app(), config());
    let list = json!({"scp": ["notes:write", "notes:read"]});
    expect(&cli, "/edit", list, 200, None).await;
    let string = json!({"scp": "notes:write notes:read"});
    expect(&cli, "/edit", string, 200, None).await;
    let mixed = json!({"scp": ["notes:write", 7, null]});
    expect(&cli, "/edit", mixed, 403, Some("Missing scope: notes:read")).await;
}

#[tokio::test]
async fn any_of_the_named_scopes() {
    let cli = client(app(), config());
    expect(&cli, "/read", json!({"scope": "notes:admin"}), 200, None).await;
    expect(&cli, "/read", json!({"scp": ["notes:read"]}), 200, None).await;
    expect(
        &cli,
        "/read",
        json!({"scope": "notes:write"}),
        403,
        Some("One of these scopes is required: notes:read, notes:admin"),
    )
    .await;
}

#[tokio::test]
async fn scopes_and_roles_on_one_route() {
    let cli = client(app(), config());
    let both = json!({"scope": "notes:read", "roles": ["editor"]});
    expect(&cli, "/publish", both, 200, None).await;
    let no_role = json!({"scope": "notes:read"});
    expect(&cli, "/publish", no_role, 403, Some("Missing role: editor")).await;
    let no_scope = json!({"roles": ["editor"]});
    expect(
        &cli,
        "/publish",
        no_scope,
        403,
        Some("Missing scope: notes:read"),
    )
    .await;
}

#[tokio::test]
async fn the_pipeline_runs_first_and_the_message_key_is_honoured() {
    let cli = client(app(), config());
    assert_msg(
        cli.get("/edit").send().await,
        401,
        "Missing Authorization Header",
    )
    .await;
    let expired = json!({"scope": "notes:read notes:write", "exp": NOW - 1});
    expect(&cli, "/edit", expired, 401, Some("Token has expired")).await;
    let refresh = json!({"type": "refresh"});
    expect(
        &cli,
        "/edit",
        refresh,
        422,
        Some("Only non-refresh tokens are allowed"),
    )
    .await;
    let cli = client(
        app(),
        JwtConfig {
            error_message_key: "error".into(),
            ..config()
        },
    );
    let resp = cli
        .get("/admin")
        .header("Authorization", token_with(json!({})))
        .send()
        .await;
    resp.assert_status(StatusCode::FORBIDDEN);
    resp.assert_text("{\"error\":\"Missing scope: admin\"}\n")
        .await;
}

#[tokio::test]
async fn a_route_group_requires_its_scopes() {
    let cli = client(app(), config());
    let ok = json!({"scope": "reports:read"});
    expect(&cli, "/reports/q1", ok, 200, None).await;
    let missing = Some("Missing scope: reports:read");
    expect(&cli, "/reports/q1", json!({"scope": "x"}), 403, missing).await;
    const READERS: Scopes = Scopes::any(&["a", "b"]);
    assert!(READERS.is_any());
    assert_eq!(READERS.names(), ["a", "b"]);
}

#[tokio::test]
async fn admin_routes_take_scopes_too() {
    let cli = client(app(), config());
    let both = json!({"scope": "notes:admin", "is_administrator": true});
    expect(&cli, "/moderate", both, 200, None).await;
    let admin_only = json!({"is_administrator": true});
    expect(
        &cli,
        "/moderate",
        admin_only,
        403,
        Some("Missing scope: notes:admin"),
    )
    .await;
    let scoped = json!({"scope": "notes:admin"});
    expect(&cli, "/moderate", scoped, 403, Some("Admins only!")).await;
}

#[tokio::test]
async fn the_refusal_is_reshaped_like_any_other() {
    // Its own kind: a status override and `on_error` see it.
    let cli = client(
        app(),
        JwtConfig {
            status_codes: [("insufficient_scope".to_string(), 401)].into(),
            ..config()
        },
    );
    expect(&cli, "/admin", json!({}), 401, Some("Missing scope: admin")).await;
    let jwt = builder(challenge_config())
        .on_error(|error, _| match error {
            JwtError::InsufficientScope { message, scope } => Some(
                poem::IntoResponse::into_response(poem::IntoResponse::with_status(
                    poem::web::Json(json!({
                        "error": "insufficient_scope", "detail": message, "scope": scope,
                    })),
                    StatusCode::FORBIDDEN,
                )),
            ),
            _ => None,
        })
        .build()
        .unwrap();
    let cli = TestClient::new(app().with(jwt));
    let resp = cli
        .get("/edit")
        .header("Authorization", token_with(json!({})))
        .send()
        .await;
    resp.assert_status(StatusCode::FORBIDDEN);
    // The application's body, with the challenge added.
    assert_eq!(
        www_authenticate(&resp).as_deref(),
        Some(
            "Bearer realm=\"notes\", error=\"insufficient_scope\", \
             error_description=\"Missing scopes: notes:read, notes:write\", \
             scope=\"notes:read notes:write\""
        )
    );
    resp.assert_json(json!({
        "error": "insufficient_scope",
        "detail": "Missing scopes: notes:read, notes:write",
        "scope": "notes:read notes:write",
    }))
    .await;
}

// ---------------------------------------------------------------------------------------------
// RFC 6750 challenges.

fn challenge_config() -> JwtConfig {
    JwtConfig {
        bearer_challenge: true,
        bearer_realm: Some("notes".into()),
        ..config()
    }
}

fn www_authenticate(resp: &poem::test::TestResponse) -> Option<String> {
    resp.0
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn no_challenge_by_default() {
    let cli = client(app(), config());
    let resp = cli.get("/edit").send().await;
    assert_eq!(www_authenticate(&resp), None);
    let resp = cli
        .get("/edit")
        .header("Authorization", token_with(json!({})))
        .send()
        .await;
    assert_eq!(www_authenticate(&resp), None);
}

#[tokio::test]
async fn challenges_name_the_error_and_keep_the_body() {
    let cli = client(app(), challenge_config());
    // No credentials: the bare challenge.
    let resp = cli.get("/edit").send().await;
    assert_eq!(
        www_authenticate(&resp).as_deref(),
        Some("Bearer realm=\"notes\"")
    );
    assert_msg(resp, 401, "Missing Authorization Header").await;
    // A rejected token.
    let expired = token_with(json!({"exp": NOW - 1}));
    let resp = cli
        .get("/edit")
        .header("Authorization", expired)
        .send()
        .await;
    assert_eq!(
        www_authenticate(&resp).as_deref(),
        Some(
            "Bearer realm=\"notes\", error=\"invalid_token\", \
             error_description=\"Token has expired\""
        )
    );
    assert_msg(resp, 401, "Token has expired").await;
    // A token that fails verification keeps the reference's 422, with the challenge.
    let forged = bearer(&sign(
        json!({"alg": "HS256"}),
        claims("alice"),
        "x".repeat(32).as_str(),
    ));
    let resp = cli
        .get("/edit")
        .header("Authorization", forged)
        .send()
        .await;
    assert_eq!(
        www_authenticate(&resp).as_deref(),
        Some(
            "Bearer realm=\"notes\", error=\"invalid_token\", \
             error_description=\"Signature verification failed\""
        )
    );
    assert_msg(resp, 422, "Signature verification failed").await;
    // Missing scopes: 403 with the scopes the route wants.
    let resp = cli
        .get("/edit")
        .header("Authorization", token_with(json!({"scope": "notes:read"})))
        .send()
        .await;
    assert_eq!(
        www_authenticate(&resp).as_deref(),
        Some(
            "Bearer realm=\"notes\", error=\"insufficient_scope\", \
             error_description=\"Missing scope: notes:write\", scope=\"notes:read notes:write\""
        )
    );
    assert_msg(resp, 403, "Missing scope: notes:write").await;
    // A role refusal is no OAuth error: no challenge.
    let resp = cli
        .get("/publish")
        .header("Authorization", token_with(json!({"scope": "notes:read"})))
        .send()
        .await;
    assert_eq!(www_authenticate(&resp), None);
    assert_msg(resp, 403, "Missing role: editor").await;
}

#[tokio::test]
async fn challenge_values_are_quoted_safely() {
    let jwt = JwtManager::builder(config())
        .clock(|| NOW as f64)
        .bearer_challenge("a \"quoted\" \\ realm")
        .build()
        .unwrap();
    let cli = TestClient::new(app().with(jwt));
    let resp = cli.get("/edit").send().await;
    assert_eq!(
        www_authenticate(&resp).as_deref(),
        Some("Bearer realm=\"a \\\"quoted\\\" \\\\ realm\"")
    );
    // A realm that cannot be a header value is a startup error.
    let err = JwtManager::new(JwtConfig {
        bearer_challenge: true,
        bearer_realm: Some("bad\nrealm".into()),
        ..config()
    })
    .unwrap_err();
    assert_eq!(err.option(), "JWT_BEARER_REALM");
}

// ---------------------------------------------------------------------------------------------
// RFC 9728 protected-resource metadata.

fn resource_config() -> JwtConfig {
    JwtConfig {
        bearer_challenge: true,
        resource: Some("https://api.example.com/notes".into()),
        authorization_servers: vec!["https://login.example.com".into()],
        scopes_supported: vec!["notes:read".into(), "notes:write".into()],
        resource_documentation: Some("https://docs.example.com/notes".into()),
        ..config()
    }
}

#[tokio::test]
async fn the_metadata_document_and_the_challenge_that_points_at_it() {
    let jwt = manager(resource_config());
    assert_eq!(
        jwt.resource_metadata_path(),
        Some("/.well-known/oauth-protected-resource/notes")
    );
    let metadata = jwt.resource_metadata_endpoint().unwrap();
    let app = app()
        .at("/.well-known/oauth-protected-resource/notes", metadata)
        .with(jwt);
    let cli = TestClient::new(app);
    let resp = cli
        .get("/.well-known/oauth-protected-resource/notes")
        .send()
        .await;
    resp.assert_status_is_ok();
    resp.assert_content_type("application/json");
    resp.assert_json(json!({
        "resource": "https://api.example.com/notes",
        "authorization_servers": ["https://login.example.com"],
        "scopes_supported": ["notes:read", "notes:write"],
        "bearer_methods_supported": ["header"],
        "resource_documentation": "https://docs.example.com/notes",
    }))
    .await;
    let resp = cli.get("/edit").send().await;
    assert_eq!(
        www_authenticate(&resp).as_deref(),
        Some(
            "Bearer resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource/notes\""
        )
    );
    let resp = cli
        .get("/edit")
        .header("Authorization", token_with(json!({"exp": NOW - 1})))
        .send()
        .await;
    assert_eq!(
        www_authenticate(&resp).as_deref(),
        Some(
            "Bearer error=\"invalid_token\", error_description=\"Token has expired\", \
             resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource/notes\""
        )
    );
}

#[tokio::test]
async fn metadata_options_are_checked_at_startup() {
    let jwt = manager(config());
    assert_eq!(jwt.resource_metadata_path(), None);
    let err = jwt.resource_metadata_endpoint().unwrap_err();
    assert_eq!(err.option(), "JWT_RESOURCE");
    let refused = |changes: JwtConfig| JwtManager::new(changes).unwrap_err();
    let err = refused(JwtConfig {
        resource: Some("http://api.example.com".into()),
        ..config()
    });
    assert_eq!(err.option(), "JWT_RESOURCE");
    let err = refused(JwtConfig {
        resource: Some("https://api.example.com/#x".into()),
        ..config()
    });
    assert_eq!(err.option(), "JWT_RESOURCE");
    let err = refused(JwtConfig {
        authorization_servers: vec!["https://login.example.com".into()],
        ..config()
    });
    assert_eq!(err.option(), "JWT_AUTHORIZATION_SERVERS");
    // Loopback over plain http is fine for development; the document sits at the host's root.
    let jwt = manager(JwtConfig {
        resource: Some("http://127.0.0.1:3000/".into()),
        ..config()
    });
    assert_eq!(
        jwt.resource_metadata_path(),
        Some("/.well-known/oauth-protected-resource")
    );
    // From the environment.
    let config = JwtConfig::from_vars(
        [
            ("JWT_BEARER_CHALLENGE", "true"),
            ("JWT_BEARER_REALM", "api"),
            ("JWT_RESOURCE", "https://api.example.com"),
            (
                "JWT_AUTHORIZATION_SERVERS",
                "https://a.example, https://b.example",
            ),
            ("JWT_SCOPES_SUPPORTED", "read write"),
        ],
        &[],
    )
    .unwrap();
    assert!(config.bearer_challenge);
    assert_eq!(config.authorization_servers.len(), 2);
    assert_eq!(config.scopes_supported, ["read", "write"]);
}

// ---------------------------------------------------------------------------------------------
// OpenAPI operations.

struct Api;

#[jwt_runtime::openapi]
#[OpenApi]
impl Api {
    #[jwt_required(scopes = "notes:read notes:write")]
    #[oai(path = "/api/edit", method = "get")]
    async fn api_edit(&self) -> PlainText<&'static str> {
        PlainText("edited")
    }

    #[jwt_required(any_scopes = "a b")]
    #[oai(path = "/api/any", method = "get")]
    async fn api_any(&self) -> PlainText<&'static str> {
        PlainText("any")
    }
}

#[tokio::test]
async fn openapi_operations_check_and_document_their_scopes() {
    let service = OpenApiService::new(Api, "notes", "1");
    let spec: Value = serde_json::from_str(&service.spec()).unwrap();
    assert_eq!(
        spec["paths"]["/api/edit"]["get"]["security"],
        json!([{"JwtBearer": ["notes:read", "notes:write"]}])
    );
    assert_eq!(
        spec["paths"]["/api/any"]["get"]["security"],
        json!([{"JwtBearer": []}])
    );
    let cli = client(Route::new().nest("/", service), config());
    let resp = cli
        .get("/api/edit")
        .header("Authorization", token_with(json!({"scope": "notes:read"})))
        .send()
        .await;
    assert_msg(resp, 403, "Missing scope: notes:write").await;
    let resp = cli
        .get("/api/edit")
        .header(
            "Authorization",
            token_with(json!({"scope": "notes:write notes:read"})),
        )
        .send()
        .await;
    resp.assert_status_is_ok();
    resp.assert_text("edited").await;
}
