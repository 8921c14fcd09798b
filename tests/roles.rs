//! Role and permission checks without a hand-written policy (issue 10): `Roles` and the
//! `roles` / `all_roles` / `role_claim` arguments. A claim holds a string or a list of strings;
//! any/all of the named values pass; everything else is 403 with a clear message, reshaped by
//! the error callbacks like every refusal.

use crate::support;

use jwt_runtime::{jwt_required, Identity, JwtError, JwtPolicy, Roles};
use poem::http::StatusCode;
use poem::test::TestClient;
use poem::web::Json;
use poem::{get, handler, EndpointExt, IntoResponse, Route};
use serde_json::{json, Value};
use support::*;

#[jwt_required(roles = "admin, editor")]
#[handler]
async fn edit(identity: Identity) -> String {
    format!("edited by {identity}")
}

#[jwt_required(roles = "admin")]
#[handler]
async fn admin_only() -> &'static str {
    "admin"
}

#[jwt_required(all_roles = "write, delete", role_claim = "permissions")]
#[handler]
async fn purge() -> &'static str {
    "purged"
}

/// A typed role enum: the compiler checks every name.
enum Role {
    Admin,
    Auditor,
}

impl AsRef<str> for Role {
    fn as_ref(&self) -> &str {
        match self {
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }
}

#[jwt_required(all_roles = [Role::Admin, Role::Auditor], role_claim = "role")]
#[handler]
async fn audit() -> &'static str {
    "audited"
}

#[jwt_required(policy = Roles::any([Role::Auditor]).claim("role"))]
#[handler]
async fn audit_log() -> &'static str {
    "log"
}

fn app() -> Route {
    Route::new()
        .at("/edit", edit)
        .at("/admin", get(admin_only))
        .at("/purge", get(purge))
        .at("/audit", get(audit))
        .at("/audit-log", get(audit_log))
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
async fn any_of_the_named_roles_in_a_string_or_a_list() {
    let cli = client(app(), config());
    expect(&cli, "/edit", json!({"roles": "editor"}), 200, None).await;
    expect(
        &cli,
        "/edit",
        json!({"roles": ["viewer", "admin"]}),
        200,
        None,
    )
    .await;
    let one_of = Some("One of these roles is required: admin, editor");
    expect(&cli, "/edit", json!({"roles": ["viewer"]}), 403, one_of).await;
    expect(&cli, "/edit", json!({"roles": "Admin"}), 403, one_of).await;
    expect(&cli, "/edit", json!({"roles": []}), 403, one_of).await;
    expect(
        &cli,
        "/admin",
        json!({"roles": ["editor"]}),
        403,
        Some("Missing role: admin"),
    )
    .await;
    expect(&cli, "/admin", json!({"roles": "admin"}), 200, None).await;
}

#[tokio::test]
async fn a_missing_or_non_string_claim_holds_no_role() {
    let cli = client(app(), config());
    let missing = Some("Missing role: admin");
    expect(&cli, "/admin", json!({}), 403, missing).await;
    expect(&cli, "/admin", json!({"roles": true}), 403, missing).await;
    expect(
        &cli,
        "/admin",
        json!({"roles": {"admin": true}}),
        403,
        missing,
    )
    .await;
    expect(
        &cli,
        "/admin",
        json!({"roles": [1, null, ["admin"]]}),
        403,
        missing,
    )
    .await;
    // Another claim does not count.
    expect(&cli, "/admin", json!({"role": "admin"}), 403, missing).await;
}

#[tokio::test]
async fn all_of_the_named_permissions_from_another_claim() {
    let cli = client(app(), config());
    let both = json!({"permissions": ["delete", "read", "write"]});
    expect(&cli, "/purge", both, 200, None).await;
    expect(
        &cli,
        "/purge",
        json!({"permissions": "write"}),
        403,
        Some("Missing role: delete"),
    )
    .await;
    expect(
        &cli,
        "/purge",
        json!({"roles": ["write", "delete"]}),
        403,
        Some("Missing roles: write, delete"),
    )
    .await;
}

#[tokio::test]
async fn typed_roles() {
    let cli = client(app(), config());
    expect(
        &cli,
        "/audit",
        json!({"role": ["auditor", "admin"]}),
        200,
        None,
    )
    .await;
    expect(
        &cli,
        "/audit",
        json!({"role": "admin"}),
        403,
        Some("Missing role: auditor"),
    )
    .await;
    expect(&cli, "/audit-log", json!({"role": "auditor"}), 200, None).await;
    expect(
        &cli,
        "/audit-log",
        json!({"role": "admin"}),
        403,
        Some("Missing role: auditor"),
    )
    .await;
}

#[tokio::test]
async fn the_pipeline_runs_first() {
    let cli = client(app(), config());
    let resp = cli.get("/edit").send().await;
    assert_msg(resp, 401, "Missing Authorization Header").await;
    // Roles in an expired token do not count: 401, not 200 or 403.
    let expired = json!({"roles": "admin", "exp": NOW - 10});
    expect(&cli, "/edit", expired, 401, Some("Token has expired")).await;
    // A preflight never runs the check nor the handler.
    let resp = cli.options("/edit").send().await;
    resp.assert_status(StatusCode::NO_CONTENT);
    resp.assert_text("").await;
}

#[tokio::test]
async fn the_error_callbacks_reshape_the_refusal() {
    let jwt = builder(config())
        .on_error(|error, token| match error {
            JwtError::Forbidden(message) => Some(
                Json(json!({
                    "error": "forbidden",
                    "detail": message,
                    "sub": token.map(|t| t.identity().clone()),
                }))
                .with_status(StatusCode::FORBIDDEN)
                .into_response(),
            ),
            _ => None,
        })
        .build()
        .unwrap();
    let cli = TestClient::new(app().with(jwt));
    let resp = cli
        .get("/admin")
        .header("Authorization", token_with(json!({"roles": "viewer"})))
        .send()
        .await;
    resp.assert_status(StatusCode::FORBIDDEN);
    resp.assert_json(
        json!({"error": "forbidden", "detail": "Missing role: admin", "sub": "alice"}),
    )
    .await;
}

#[test]
fn the_policy_is_a_value() {
    let editors = Roles::any_of(&["admin", "editor"]).claim("groups");
    assert_eq!(editors.claim_name(), "groups");
    assert_eq!(editors.names(), ["admin", "editor"]);
    // Repeats are dropped; typed names are accepted.
    let admins = Roles::all([Role::Admin.as_ref(), "admin"]).claim(String::from("role"));
    assert_eq!(admins.names(), ["admin"]);
    assert_eq!(admins.claim_name(), "role");
    fn is_policy<P: JwtPolicy>(_: &P) {}
    is_policy(&admins);
}

#[tokio::test]
async fn over_a_real_socket() {
    let base = support::socket::serve(app().with(manager(config())));
    let http = reqwest::Client::new();
    let send = |claims: Value| {
        http.get(format!("{base}/edit"))
            .header("Authorization", token_with(claims))
            .send()
    };
    let ok = send(json!({"roles": ["editor"]})).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "edited by alice");
    let refused = send(json!({"roles": "viewer"})).await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.json::<Value>().await.unwrap(),
        json!({"msg": "One of these roles is required: admin, editor"})
    );
}
