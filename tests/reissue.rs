//! Re-issued tokens and the session API (issue 23 items 1, 3, 7, 9): implicit cookie refresh and
//! refresh rotation re-mint from the identity (the claims loader answers anew, nothing is copied
//! from the old token); a token minted on a rotating request belongs to its session; rotation
//! over cookies always needs the CSRF value; the session API without rotation is an error that
//! names `JWT_REFRESH_ROTATION`; an unknown `JWT_*` variable is a startup error.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use jwt_runtime::hooks::{AdditionalClaimsLoader, BoxFuture};
use jwt_runtime::{
    admin_required, jwt_required, AdminRequired, ErrorKind, Expiry, Identity, JsonObject,
    JwtConfig, JwtError, JwtManager, Roles, RotatedRefreshToken,
};
use poem::test::{TestClient, TestResponse};
use poem::web::Json;
use poem::{get, handler, post, EndpointExt, Route};
use serde_json::{json, Value};
use support::logs::logs_of;
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
    fn load<'a>(&'a self, _identity: &'a Value) -> BoxFuture<'a, Result<JsonObject, JwtError>> {
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
        fn load<'a>(&'a self, _: &'a Value) -> BoxFuture<'a, Result<JsonObject, JwtError>> {
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
