//! Route groups (issue 10): `JwtRequired` protects a whole route tree with the macros' options
//! and policies; handlers under it take `Guarded<T>`. A handler that takes `Guarded<T>` with no
//! protection above it never runs: 500 with a bare body and an ERROR log naming the fix.

use crate::support;

use std::sync::atomic::{AtomicUsize, Ordering};

use jwt_runtime::{
    jwt_required, user_lookup_loader, CurrentUser, Guarded, Identity, Jwt, JwtClaims, JwtRequired,
    Location, Roles, TokenLocation, VerifiedJwt, VerifyOptions,
};
use poem::http::StatusCode;
use poem::{get, handler, EndpointExt, Request, Route};
use serde_json::{json, Value};
use support::logs::logs_of;
use support::*;

static STATS_RAN: AtomicUsize = AtomicUsize::new(0);

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

#[handler]
async fn stats(Guarded(identity): Guarded<Identity>) -> String {
    STATS_RAN.fetch_add(1, Ordering::SeqCst);
    format!("stats for {identity}")
}

#[handler]
async fn team(jwt: Guarded<Jwt<TeamClaims>>, at: Guarded<TokenLocation>) -> String {
    format!("{} via {}", jwt.team, at.0 .0.as_str())
}

#[handler]
async fn me(user: Guarded<CurrentUser<User>>) -> String {
    user.name.clone()
}

#[handler]
async fn greeting(identity: Guarded<Option<Identity>>) -> String {
    match identity.into_inner() {
        Some(who) => format!("hello {who}"),
        None => "hello stranger".into(),
    }
}

#[handler]
async fn health() -> &'static str {
    "ok"
}

/// `Guarded<T>` under the macro works too.
#[jwt_required]
#[handler]
async fn macro_route(identity: Identity, again: Guarded<Identity>) -> String {
    assert_eq!(identity, again.0);
    format!("macro {identity}")
}

fn admin_routes() -> Route {
    Route::new()
        .at("/stats", get(stats))
        .at("/team", get(team))
        .at("/me", get(me))
}

fn app() -> impl poem::Endpoint {
    Route::new()
        .nest(
            "/admin",
            admin_routes().with(JwtRequired::new().policy(Roles::any(["admin"]))),
        )
        .nest(
            "/fresh",
            admin_routes().with(JwtRequired::with_options(VerifyOptions::new().fresh())),
        )
        .nest(
            "/cookies",
            admin_routes().with(JwtRequired::new().locations(&[Location::Cookies])),
        )
        .nest(
            "/public",
            Route::new()
                .at("/greeting", get(greeting))
                .at("/strict", get(stats))
                .with(JwtRequired::new().optional()),
        )
        .at("/health", get(health))
        .at("/unguarded", get(stats))
        .at("/macro", get(macro_route))
}

fn admin(changes: Value) -> String {
    let mut claims = json!({"roles": ["admin"], "team": "red"});
    for (k, v) in changes.as_object().unwrap() {
        claims[k] = v.clone();
    }
    bearer(&hs256(claims_with("alice", claims)))
}

#[tokio::test]
async fn the_group_protects_its_tree_and_nothing_else() {
    let cli = client(app(), config());
    let resp = cli.get("/admin/stats").send().await;
    assert_msg(resp, 401, "Missing Authorization Header").await;
    let resp = cli.get("/health").send().await;
    resp.assert_status_is_ok();
    resp.assert_text("ok").await;
    let resp = cli
        .get("/admin/stats")
        .header("Authorization", admin(json!({})))
        .send()
        .await;
    resp.assert_status_is_ok();
    resp.assert_text("stats for alice").await;
    let resp = cli
        .get("/admin/team")
        .header("Authorization", admin(json!({})))
        .send()
        .await;
    resp.assert_text("red via headers").await;
    let resp = cli
        .get("/admin/me")
        .header("Authorization", admin(json!({})))
        .send()
        .await;
    resp.assert_text("alice").await;
    let ghost = bearer(&hs256(claims_with("ghost", json!({"roles": "admin"}))));
    let resp = cli
        .get("/admin/me")
        .header("Authorization", ghost)
        .send()
        .await;
    assert_msg(resp, 401, "Error loading the user ghost").await;
}

#[tokio::test]
async fn the_policy_and_the_options_apply_to_every_route() {
    let cli = client(app(), config());
    let viewer = admin(json!({"roles": ["viewer"]}));
    for path in ["/admin/stats", "/admin/team", "/admin/me"] {
        let resp = cli.get(path).header("Authorization", &viewer).send().await;
        assert_msg(resp, 403, "Missing role: admin").await;
    }
    let resp = cli
        .get("/fresh/stats")
        .header("Authorization", admin(json!({})))
        .send()
        .await;
    assert_msg(resp, 401, "Fresh token required").await;
    let resp = cli
        .get("/fresh/stats")
        .header("Authorization", admin(json!({"fresh": true})))
        .send()
        .await;
    resp.assert_text("stats for alice").await;
    let resp = cli
        .get("/cookies/stats")
        .header("Authorization", admin(json!({})))
        .send()
        .await;
    assert_msg(resp, 401, "Missing cookie \"access_token_cookie\"").await;
    let refresh = admin(json!({"type": "refresh"}));
    let resp = cli
        .get("/admin/stats")
        .header("Authorization", refresh)
        .send()
        .await;
    assert_msg(resp, 422, "Only non-refresh tokens are allowed").await;
}

#[tokio::test]
async fn options_is_answered_without_running_a_handler() {
    let cli = client(app(), config());
    let before = STATS_RAN.load(Ordering::SeqCst);
    let resp = cli.options("/admin/stats").send().await;
    resp.assert_status(StatusCode::NO_CONTENT);
    resp.assert_text("").await;
    assert_eq!(STATS_RAN.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn an_optional_group_serves_anonymous_requests() {
    let cli = client(app(), config());
    let resp = cli.get("/public/greeting").send().await;
    resp.assert_text("hello stranger").await;
    let resp = cli
        .get("/public/greeting")
        .header("Authorization", admin(json!({})))
        .send()
        .await;
    resp.assert_text("hello alice").await;
    let resp = cli
        .get("/public/greeting")
        .header("Authorization", "Bearer not-a-token")
        .send()
        .await;
    assert_msg(resp, 422, "Not enough segments").await;
    // A non-`Option` value on an anonymous request: the handler cannot run.
    let logs = logs_of(async {
        let resp = cli.get("/public/strict").send().await;
        assert_msg(resp, 500, "Internal server error").await;
    })
    .await;
    assert!(logs.contains("ERROR"), "{logs}");
    assert!(logs.contains("Guarded<Option<"), "{logs}");
}

#[tokio::test]
async fn a_guarded_handler_without_protection_never_runs() {
    let cli = client(app(), config());
    let before = STATS_RAN.load(Ordering::SeqCst);
    let logs = logs_of(async {
        // Even with a valid token: nothing verified it on this route.
        let resp = cli
            .get("/unguarded")
            .header("Authorization", admin(json!({})))
            .send()
            .await;
        assert_msg(resp, 500, "Internal server error").await;
    })
    .await;
    assert_eq!(STATS_RAN.load(Ordering::SeqCst), before);
    assert!(logs.contains("ERROR"), "{logs}");
    assert!(logs.contains(".with(JwtRequired::new())"), "{logs}");
    assert!(logs.contains("#[jwt_required]"), "{logs}");
    assert!(!logs.contains("stats for"), "{logs}");
}

#[tokio::test]
async fn a_guarded_value_works_under_the_macro() {
    let cli = client(app(), config());
    let resp = cli
        .get("/macro")
        .header("Authorization", admin(json!({})))
        .send()
        .await;
    resp.assert_text("macro alice").await;
}

#[tokio::test]
async fn over_a_real_socket() {
    let base = support::socket::serve(app().with(manager(config())));
    let http = reqwest::Client::new();
    let ok = http
        .get(format!("{base}/admin/stats"))
        .header("Authorization", admin(json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "stats for alice");
    let anonymous = http
        .get(format!("{base}/admin/stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.json::<Value>().await.unwrap(),
        json!({"msg": "Missing Authorization Header"})
    );
    let public = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(public.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn any_policy_and_the_refresh_option_work_on_a_group() {
    let app = Route::new()
        .nest(
            "/admin",
            Route::new()
                .at("/stats", get(stats))
                .with(JwtRequired::new().policy(jwt_runtime::AdminRequired::default())),
        )
        .nest(
            "/refresh",
            Route::new()
                .at("/stats", get(stats))
                .with(JwtRequired::new().refresh()),
        );
    let cli = client(app, config());
    let resp = cli
        .get("/admin/stats")
        .header("Authorization", admin(json!({})))
        .send()
        .await;
    assert_msg(resp, 403, "Admins only!").await;
    let resp = cli
        .get("/admin/stats")
        .header("Authorization", admin(json!({"is_administrator": true})))
        .send()
        .await;
    resp.assert_text("stats for alice").await;
    let resp = cli
        .get("/refresh/stats")
        .header("Authorization", admin(json!({})))
        .send()
        .await;
    assert_msg(resp, 422, "Only refresh tokens are allowed").await;
    let resp = cli
        .get("/refresh/stats")
        .header("Authorization", admin(json!({"type": "refresh"})))
        .send()
        .await;
    resp.assert_text("stats for alice").await;
}
