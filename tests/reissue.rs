//! Re-issued tokens and the session API (issue 23 items 1, 3, 7, 9): implicit cookie refresh and
//! refresh rotation re-mint from the identity (the claims loader answers anew, nothing is copied
//! from the old token); a token minted on a rotating request belongs to its session; rotation
//! over cookies always needs the CSRF value; the session API without rotation is an error that
//! names `JWT_REFRESH_ROTATION`; an unknown `JWT_*` variable is a startup error.

use crate::support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use jwt_runtime::hooks::{AdditionalClaimsLoader, AppData, BoxFuture};
use jwt_runtime::{
    admin_required, jwt_required, AdminRequired, ErrorKind, Expiry, Identity, JsonObject,
    JwtConfig, JwtError, JwtManager, Roles, RotatedRefreshToken,
};
use poem::test::{TestClient, TestResponse};
use poem::web::Json;
use poem::{get, handler, post, EndpointExt, Route};
use serde_json::{json, Value};
use support::logs::with_logs;
use support::*;

/// The application's data behind its claims loader: whether alice is an admin and an editor.
#[derive(Clone)]
struct Privileges {
    admin: Arc<AtomicBool>,
    editor: Arc<AtomicBool>,
}

impl Privileges {
    fn granted() -> Self {
        Privileges {
            admin: Arc::new(AtomicBool::new(true)),
            editor: Arc::new(AtomicBool::new(true)),
        }
    }

    fn withdraw(&self) {
        self.admin.store(false, Ordering::SeqCst);
        self.editor.store(false, Ordering::SeqCst);
    }
}

impl AdditionalClaimsLoader for Privileges {
    fn load<'a>(
        &'a self,
        _identity: &'a Value,
        _data: &'a AppData,
    ) -> BoxFuture<'a, Result<JsonObject, JwtError>> {
        let admin = self.admin.load(Ordering::SeqCst);
        let roles: Vec<&str> = if self.editor.load(Ordering::SeqCst) {
            vec!["editor"]
        } else {
            vec![]
        };
        Box::pin(async move {
            let claims = json!({"is_administrator": admin, "roles": roles});
            Ok(claims.as_object().cloned().unwrap_or_default())
        })
    }
}

fn claims_of(jwt: &JwtManager, token: &str) -> JsonObject {
    jwt.decode_token(token).expect("valid token")
}

/// `name=value` of every `Set-Cookie` line that sets (not clears) a cookie.
fn set_cookies(resp: &TestResponse) -> Vec<(String, String)> {
    resp.0
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|line| {
            let (n, v) = line.split(';').next()?.split_once('=')?;
            (!v.is_empty()).then(|| (n.to_string(), v.to_string()))
        })
        .collect()
}

fn cookie(cookies: &[(String, String)], name: &str) -> String {
    cookies
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {name} cookie in {cookies:?}"))
}

async fn json_of(resp: TestResponse) -> Value {
    resp.assert_status_is_ok();
    resp.0.into_body().into_json().await.expect("json body")
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().expect(key).to_string()
}

// ---- item 1: implicit cookie refresh re-mints from the identity ----

#[jwt_required(locations = "cookies")]
#[handler]
async fn cookie_page(identity: Identity) -> String {
    identity.to_string()
}

#[admin_required(locations = "cookies")]
#[handler]
async fn cookie_admin() -> &'static str {
    "admin"
}

#[jwt_required(locations = "cookies", roles = "editor")]
#[handler]
async fn cookie_editor() -> &'static str {
    "editor"
}

#[tokio::test]
async fn implicit_refresh_drops_a_withdrawn_admin_flag_and_role() {
    let privileges = Privileges::granted();
    let mut cfg = config();
    cfg.token_location = vec!["cookies".into()];
    cfg.implicit_refresh_window = Some(600);
    let jwt = builder(cfg)
        .additional_claims(privileges.clone())
        .build()
        .unwrap();
    let cli = TestClient::new(
        Route::new()
            .at("/page", get(cookie_page))
            .at("/admin", get(cookie_admin))
            .at("/editor", get(cookie_editor))
            .with(jwt.clone()),
    );
    let token = jwt
        .create_access_token("alice")
        .expires(Expiry::Seconds(20))
        .await
        .unwrap();
    let with_cookie = |path: &str, token: &str| {
        cli.get(path)
            .header("cookie", format!("access_token_cookie={token}"))
    };
    with_cookie("/admin", &token)
        .send()
        .await
        .assert_status_is_ok();
    with_cookie("/editor", &token)
        .send()
        .await
        .assert_status_is_ok();

    // The application withdraws both; the token about to expire is refreshed implicitly.
    privileges.withdraw();
    let resp = with_cookie("/page", &token).send().await;
    resp.assert_status_is_ok();
    let refreshed = cookie(&set_cookies(&resp), "access_token_cookie");
    let claims = claims_of(&jwt, &refreshed);
    assert_eq!(claims["is_administrator"], json!(false), "{claims:?}");
    assert_eq!(claims["roles"], json!([]), "{claims:?}");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["fresh"], false);
    assert_msg(
        with_cookie("/admin", &refreshed).send().await,
        403,
        "Admins only!",
    )
    .await;
    with_cookie("/editor", &refreshed)
        .send()
        .await
        .assert_status(poem::http::StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn implicit_refresh_copies_no_claim_of_the_old_token() {
    // A claim given to one token (not by the loader) is not carried over; a loader that says
    // `fresh: true` or another `type` cannot make a re-issued token fresh or a refresh token.
    struct Sneaky;
    impl AdditionalClaimsLoader for Sneaky {
        fn load<'a>(
            &'a self,
            _: &'a Value,
            _: &'a AppData,
        ) -> BoxFuture<'a, Result<JsonObject, JwtError>> {
            Box::pin(async {
                let claims =
                    json!({"fresh": true, "type": "refresh", "sub": "mallory", "tenant": "acme"});
                Ok(claims.as_object().cloned().unwrap_or_default())
            })
        }
    }
    let mut cfg = config();
    cfg.token_location = vec!["cookies".into()];
    cfg.implicit_refresh_window = Some(600);
    let jwt = builder(cfg.clone())
        .additional_claims(Sneaky)
        .build()
        .unwrap();
    let plain = manager(cfg);
    let cli = TestClient::new(Route::new().at("/page", get(cookie_page)).with(jwt.clone()));
    let token = plain
        .create_access_token("alice")
        .additional_claims(json!({"is_administrator": true}))
        .expires(Expiry::Seconds(20))
        .await
        .unwrap();
    let resp = cli
        .get("/page")
        .header("cookie", format!("access_token_cookie={token}"))
        .send()
        .await;
    resp.assert_status_is_ok();
    let claims = claims_of(&jwt, &cookie(&set_cookies(&resp), "access_token_cookie"));
    assert!(!claims.contains_key("is_administrator"), "{claims:?}");
    assert_eq!(claims["tenant"], "acme", "the loader is called anew");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["fresh"], false);
    assert_eq!(claims["type"], "access");
}

// ---- item 1: refresh rotation re-mints from the identity ----

fn rotation_config() -> JwtConfig {
    let mut cfg = config();
    cfg.refresh_rotation = true;
    cfg
}

#[jwt_required(refresh)]
#[handler]
async fn rotate_route(
    identity: Identity,
    rotated: RotatedRefreshToken,
    jwt: JwtManager,
) -> poem::Result<Json<Value>> {
    let access = jwt.create_access_token(identity.value()).await?;
    Ok(Json(
        json!({"access_token": access, "refresh_token": rotated.token()}),
    ))
}

#[jwt_required(refresh, policy = AdminRequired::default())]
#[handler]
async fn admin_refresh(rotated: RotatedRefreshToken) -> Json<Value> {
    Json(json!({"refresh_token": rotated.token()}))
}

#[jwt_required(refresh, policy = Roles::any(["editor"]))]
#[handler]
async fn editor_refresh(rotated: RotatedRefreshToken) -> Json<Value> {
    Json(json!({"refresh_token": rotated.token()}))
}

#[tokio::test]
async fn rotation_drops_a_withdrawn_admin_flag_and_role() {
    let privileges = Privileges::granted();
    let jwt = builder(rotation_config())
        .additional_claims(privileges.clone())
        .build()
        .unwrap();
    let cli = TestClient::new(
        Route::new()
            .at("/refresh", post(rotate_route))
            .at("/admin_refresh", post(admin_refresh))
            .at("/editor_refresh", post(editor_refresh))
            .with(jwt.clone()),
    );
    let refresh_at =
        |path: &str, token: &str| cli.post(path).header("authorization", bearer(token)).send();
    let login = jwt.login("alice").await.unwrap();
    let granted = json_of(refresh_at("/admin_refresh", &login.refresh_token).await).await;
    let granted =
        json_of(refresh_at("/editor_refresh", &text(&granted, "refresh_token")).await).await;

    privileges.withdraw();
    let body = json_of(refresh_at("/refresh", &text(&granted, "refresh_token")).await).await;
    let rotated = text(&body, "refresh_token");
    let claims = claims_of(&jwt, &rotated);
    assert_eq!(claims["is_administrator"], json!(false), "{claims:?}");
    assert_eq!(claims["roles"], json!([]), "{claims:?}");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(
        claims["fam"],
        json!(login.session),
        "the session is carried over"
    );
    assert_msg(
        refresh_at("/admin_refresh", &rotated).await,
        403,
        "Admins only!",
    )
    .await;
    refresh_at("/editor_refresh", &rotated)
        .await
        .assert_status(poem::http::StatusCode::FORBIDDEN);
    // The access token minted beside it never had them either.
    let access = claims_of(&jwt, &text(&body, "access_token"));
    assert_eq!(access["is_administrator"], json!(false));
}
// ---- item 3: a token minted on a rotating request belongs to its session ----

#[jwt_required]
#[handler]
async fn protected(identity: Identity) -> String {
    identity.to_string()
}

#[jwt_required(refresh)]
#[handler]
async fn sliding_refresh(identity: Identity, jwt: JwtManager) -> poem::Result<Json<Value>> {
    // The pre-rotation habit: a new refresh token of its own, outside the session.
    let refresh = jwt.create_refresh_token(identity.value()).await?;
    Ok(Json(json!({ "refresh_token": refresh })))
}

fn session_app() -> Route {
    Route::new()
        .at("/refresh", post(rotate_route))
        .at("/sliding_refresh", post(sliding_refresh))
        .at("/protected", get(protected))
}

#[tokio::test]
async fn an_access_token_minted_without_session_joins_the_rotating_one() {
    let mut cfg = rotation_config();
    cfg.refresh_rotation_grace = 0;
    let (jwt, clock) = manager_with_clock(cfg);
    let cli = TestClient::new(session_app().with(jwt.clone()));
    let get_protected = |token: &str| {
        cli.get("/protected")
            .header("authorization", bearer(token))
            .send()
    };

    // Reuse detection ends the session: the access token the handler minted (without
    // `.session(...)`) ends with it.
    let login = jwt.login("alice").await.unwrap();
    let body = json_of(
        cli.post("/refresh")
            .header("authorization", bearer(&login.refresh_token))
            .send()
            .await,
    )
    .await;
    let access = text(&body, "access_token");
    assert_eq!(claims_of(&jwt, &access)["fam"], json!(login.session));
    get_protected(&access).await.assert_status_is_ok();
    // The replacement is used, so the first refresh token is retired for good.
    let next = text(&body, "refresh_token");
    cli.post("/refresh")
        .header("authorization", bearer(&next))
        .send()
        .await
        .assert_status_is_ok();
    clock.set(NOW + 1);
    let replay = cli
        .post("/refresh")
        .header("authorization", bearer(&login.refresh_token))
        .send()
        .await;
    assert_msg(replay, 401, "Refresh token reuse detected").await;
    assert_msg(get_protected(&access).await, 401, "Token has been revoked").await;

    // So does `end_session`.
    let login = jwt.login("alice").await.unwrap();
    let body = json_of(
        cli.post("/refresh")
            .header("authorization", bearer(&login.refresh_token))
            .send()
            .await,
    )
    .await;
    let access = text(&body, "access_token");
    get_protected(&access).await.assert_status_is_ok();
    assert!(jwt
        .end_session(&json!("alice"), &login.session)
        .await
        .unwrap());
    assert_msg(get_protected(&access).await, 401, "Token has been revoked").await;
}

#[tokio::test]
async fn a_refresh_token_of_its_own_on_a_rotating_request_is_refused() {
    let jwt = manager(rotation_config());
    let cli = TestClient::new(session_app().with(jwt.clone()));
    let login = jwt.login("alice").await.unwrap();
    let (resp, logs) = with_logs(
        cli.post("/sliding_refresh")
            .header("authorization", bearer(&login.refresh_token))
            .send(),
    )
    .await;
    resp.assert_status(poem::http::StatusCode::INTERNAL_SERVER_ERROR);
    assert!(logs.contains("RotatedRefreshToken"), "{logs}");
    // No second session was started.
    assert_eq!(jwt.sessions(&json!("alice")).await.unwrap().len(), 1);
}

// ---- item 7: rotation over cookies needs the CSRF value whatever the method ----

#[jwt_required(refresh)]
#[handler]
async fn plain_refresh(identity: Identity, jwt: JwtManager) -> poem::Result<Json<Value>> {
    let access = jwt.create_access_token(identity.value()).await?;
    Ok(Json(json!({ "access_token": access })))
}

#[tokio::test]
async fn a_rotating_refresh_on_get_needs_the_csrf_header() {
    let mut cfg = rotation_config();
    cfg.token_location = vec!["cookies".into()];
    let jwt = manager(cfg);
    let cli = TestClient::new(
        Route::new()
            .at("/refresh", get(rotate_route))
            .with(jwt.clone()),
    );
    let login = jwt.login("alice").await.unwrap();
    let csrf = jwt.get_csrf_token(&login.refresh_token).unwrap();
    let refresh_cookie = format!("refresh_token_cookie={}", login.refresh_token);

    let resp = cli
        .get("/refresh")
        .header("cookie", &refresh_cookie)
        .send()
        .await;
    assert!(set_cookies(&resp).is_empty());
    assert_msg(resp, 401, "Missing CSRF token").await;
    let resp = cli
        .get("/refresh")
        .header("cookie", &refresh_cookie)
        .header("x-csrf-token", "not-the-value")
        .send()
        .await;
    assert_msg(resp, 401, "CSRF double submit tokens do not match").await;
    // Nothing rotated: the token still works, with its CSRF value.
    let resp = cli
        .get("/refresh")
        .header("cookie", &refresh_cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await;
    resp.assert_status_is_ok();
    cookie(&set_cookies(&resp), "refresh_token_cookie");
}

#[tokio::test]
async fn without_rotation_the_csrf_methods_still_govern_a_refresh_cookie() {
    let mut cfg = config();
    cfg.token_location = vec!["cookies".into()];
    let jwt = manager(cfg);
    let cli = TestClient::new(
        Route::new()
            .at("/refresh", get(plain_refresh))
            .with(jwt.clone()),
    );
    let refresh = jwt.create_refresh_token("alice").await.unwrap();
    cli.get("/refresh")
        .header("cookie", format!("refresh_token_cookie={refresh}"))
        .send()
        .await
        .assert_status_is_ok();
}

// ---- item 9: the session API without rotation ----

#[tokio::test]
async fn login_without_rotation_is_an_error_naming_the_option() {
    let jwt = manager(config());
    let (result, logs) = with_logs(async { jwt.login("alice").await }).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Misconfigured);
    assert!(err.message().contains("JWT_REFRESH_ROTATION"), "{err}");
    assert!(logs.contains("JWT_REFRESH_ROTATION"), "{logs}");
    for err in [
        jwt.sessions(&json!("alice")).await.unwrap_err(),
        jwt.end_session(&json!("alice"), "s").await.unwrap_err(),
    ] {
        assert!(err.message().contains("JWT_REFRESH_ROTATION"), "{err}");
    }
}

#[jwt_required]
#[handler]
async fn access_route_asking_for_rotation(rotated: RotatedRefreshToken) -> Json<Value> {
    Json(json!({ "refresh_token": rotated.token() }))
}

#[tokio::test]
async fn rotated_refresh_token_without_rotation_is_a_logged_500_never_null() {
    let jwt = manager(config());
    let cli = TestClient::new(session_app().with(jwt.clone()));
    let refresh = jwt.create_refresh_token("alice").await.unwrap();
    let (resp, logs) = with_logs(
        cli.post("/refresh")
            .header("authorization", bearer(&refresh))
            .send(),
    )
    .await;
    assert_msg(resp, 500, "Internal server error").await;
    assert!(logs.contains("JWT_REFRESH_ROTATION"), "{logs}");

    // With rotation on, on a route that never rotates: the same, naming the route kind.
    let jwt = manager(rotation_config());
    let cli = TestClient::new(
        Route::new()
            .at("/access", get(access_route_asking_for_rotation))
            .with(jwt.clone()),
    );
    let login = jwt.login("alice").await.unwrap();
    let (resp, logs) = with_logs(
        cli.get("/access")
            .header("authorization", bearer(&login.access_token))
            .send(),
    )
    .await;
    assert_msg(resp, 500, "Internal server error").await;
    assert!(logs.contains("jwt_required(refresh)"), "{logs}");
}
#[test]
fn an_unknown_jwt_variable_is_a_startup_error_with_the_closest_name() {
    let vars = [
        ("PATH", "/usr/bin"),
        ("JWT_SECRET_KEY", "k"),
        ("JWT_REFRESH_ROTATON", "true"),
    ];
    let err = JwtConfig::from_vars(vars, &[]).unwrap_err();
    assert_eq!(err.option(), "JWT_REFRESH_ROTATON");
    let text = err.to_string();
    assert!(
        text.contains("did you mean JWT_REFRESH_ROTATION?"),
        "{text}"
    );
    for (typo, meant) in [
        ("JWT_COOKIE_CSRF_PROTECTION", "JWT_COOKIE_CSRF_PROTECT"),
        ("JWT_REFRESH_ROTATE", "JWT_REFRESH_ROTATION"),
        ("JWT_SECRET", "JWT_SECRET_KEY"),
        ("jwt_cookie_secure", "JWT_COOKIE_SECURE"),
    ] {
        let err = JwtConfig::from_vars([(typo, "true")], &[]).unwrap_err();
        assert!(
            err.to_string().contains(&format!("did you mean {meant}?")),
            "{typo}: {err}"
        );
    }
    // Nothing close: still refused, without a guess.
    let err = JwtConfig::from_vars([("JWT_TENANT_BILLING_MODE", "x")], &[]).unwrap_err();
    assert!(!err.to_string().contains("did you mean"), "{err}");

    // An application's own names (or prefix) are allowed when it says so.
    let own = [
        ("JWT_TENANT_BILLING_MODE", "x"),
        ("JWT_APP_COLOR", "red"),
        ("JWT_VERIFY_SUB", "false"),
    ];
    let cfg = JwtConfig::from_vars(own, &["JWT_TENANT_BILLING_MODE", "JWT_APP_*"]).unwrap();
    assert!(!cfg.verify_sub);
    let err = JwtConfig::from_vars([("JWT_VERIFY_SUBJECT", "false")], &["JWT_APP_*"]).unwrap_err();
    assert_eq!(err.option(), "JWT_VERIFY_SUBJECT");
}

#[test]
fn an_example_started_with_a_misspelled_option_exits_naming_it() {
    let stderr = support::server::exit_message("sessions", &[("JWT_REFRESH_ROTATON", "true")])
        .expect("the example started although JWT_REFRESH_ROTATON is no option");
    assert!(
        stderr.contains("JWT_REFRESH_ROTATON is not an option of this library; did you mean JWT_REFRESH_ROTATION?"),
        "{stderr}"
    );
}
