//! Property tests of the pipeline's invariants (proptest), over generated requests: every kind of
//! token (valid, expired, forged, revoked, refresh, not admin, without jti, garbage), every
//! location, every method (OPTIONS and custom ones included) and every kind of route.
//!
//! - A handler body runs only for a token that verifies, has the route's type, is fresh where
//!   required, passes the route's policy and is not revoked (unless the route skips that check);
//!   or anonymously on an `optional` route when no token is present.
//! - Conversely, such a token in the header on a GET reaches the handler (the check is not
//!   vacuous).
//! - No response is a 5xx, none carries the secret, and no response hands out a revoked token.

use crate::support;

use std::sync::Mutex;

use jwt_runtime::stores::MemoryBlocklist;
use jwt_runtime::{admin_required, jwt_required, Identity, JwtManager};
use poem::http::Method;
use poem::test::TestClient;
use poem::{handler, Endpoint, EndpointExt, Route};
use proptest::prelude::*;
use serde_json::{json, Value};
use support::*;

/// Which handlers ran in the current case, by route name.
static RAN: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

fn ran(route: &'static str) {
    RAN.lock().unwrap().push(route);
}

#[jwt_required(locations = "headers,cookies,query_string,json")]
#[handler]
async fn required(_identity: Identity) -> &'static str {
    ran("required");
    "ok"
}

#[jwt_required(optional, locations = "headers,cookies,query_string,json")]
#[handler]
async fn optional(_identity: Option<Identity>) -> &'static str {
    ran("optional");
    "ok"
}

#[jwt_required(fresh, locations = "headers,cookies,query_string,json")]
#[handler]
async fn fresh() -> &'static str {
    ran("fresh");
    "ok"
}

#[jwt_required(refresh, locations = "headers,cookies,query_string,json")]
#[handler]
async fn refresh() -> &'static str {
    ran("refresh");
    "ok"
}

#[admin_required(locations = "headers,cookies,query_string,json")]
#[handler]
async fn admin() -> &'static str {
    ran("admin");
    "ok"
}

#[jwt_required(skip_revocation_check, locations = "headers,cookies,query_string,json")]
#[handler]
async fn unchecked() -> &'static str {
    ran("unchecked");
    "ok"
}

const ROUTES: &[&str] = &[
    "required",
    "optional",
    "fresh",
    "refresh",
    "admin",
    "unchecked",
];

fn app() -> Route {
    Route::new()
        .at("/required", required)
        .at("/optional", optional)
        .at("/fresh", fresh)
        .at("/refresh", refresh)
        .at("/admin", admin)
        .at("/unchecked", unchecked)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    None,
    Valid,
    Fresh,
    Admin,
    Refresh,
    Expired,
    Forged,
    Revoked,
    RevokedUser,
    NoJti,
    NotYetValid,
    Garbage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Header,
    CookieWithCsrf,
    CookieWithoutCsrf,
    Query,
    Json,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::None),
        Just(Kind::Valid),
        Just(Kind::Fresh),
        Just(Kind::Admin),
        Just(Kind::Refresh),
        Just(Kind::Expired),
        Just(Kind::Forged),
        Just(Kind::Revoked),
        Just(Kind::RevokedUser),
        Just(Kind::NoJti),
        Just(Kind::NotYetValid),
        Just(Kind::Garbage),
    ]
}

fn place() -> impl Strategy<Value = Place> {
    prop_oneof![
        Just(Place::Header),
        Just(Place::CookieWithCsrf),
        Just(Place::CookieWithoutCsrf),
        Just(Place::Query),
        Just(Place::Json),
    ]
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::GET),
        Just(Method::POST),
        Just(Method::PUT),
        Just(Method::DELETE),
        Just(Method::OPTIONS),
        Just(Method::HEAD),
        Just(Method::from_bytes(b"PURGE").unwrap()),
    ]
}

/// The manager every case shares (frozen clock), with its revocations made once.
struct World {
    jwt: JwtManager,
    tokens: Vec<(Kind, String)>,
}

fn world(rt: &tokio::runtime::Runtime) -> World {
    let mut cfg = config();
    cfg.implicit_refresh_window = Some(3600);
    // The app revokes tokens: its store is registered, so tokens without `jti` are refused.
    let jwt = builder(cfg)
        .blocklist(MemoryBlocklist::new())
        .build()
        .expect("valid test config");
    rt.block_on(async {
        let valid = jwt.create_access_token("alice").await.unwrap();
        let fresh_token = jwt.create_access_token("alice").fresh(true).await.unwrap();
        let admin_token = jwt
            .create_access_token("alice")
            .additional_claims(json!({"is_administrator": true}))
            .await
            .unwrap();
        let refresh_token = jwt.create_refresh_token("alice").await.unwrap();
        let revoked = jwt.create_access_token("alice").await.unwrap();
        jwt.revoke_token(&jwt.decode_token(&revoked).unwrap())
            .await
            .unwrap();
        let revoked_user = jwt.create_access_token("mallory").await.unwrap();
        jwt.revoke_all_for_user(&json!("mallory")).await.unwrap();
        let expired = {
            // Minted an hour before the frozen "now".
            let mut c = claims("alice");
            c["iat"] = json!(NOW - 3600);
            c["nbf"] = json!(NOW - 3600);
            c["exp"] = json!(NOW - 1);
            c["csrf"] = json!("csrf-1");
            hs256(c)
        };
        let forged = sign(
            json!({"alg": "HS256", "typ": "JWT"}),
            claims_with("alice", json!({"csrf": "csrf-1"})),
            "another-secret-of-thirty-two-bytes!!",
        );
        let no_jti = hs256(claims_with("alice", json!({"jti": null, "csrf": "csrf-1"})));
        let not_yet = hs256(claims_with(
            "alice",
            json!({"nbf": NOW + 60, "csrf": "csrf-1"}),
        ));
        World {
            tokens: vec![
                (Kind::Valid, valid),
                (Kind::Fresh, fresh_token),
                (Kind::Admin, admin_token),
                (Kind::Refresh, refresh_token),
                (Kind::Expired, expired),
                (Kind::Forged, forged),
                (Kind::Revoked, revoked),
                (Kind::RevokedUser, revoked_user),
                (Kind::NoJti, no_jti),
                (Kind::NotYetValid, not_yet),
                (Kind::Garbage, "not.a.token".into()),
            ],
            jwt,
        }
    })
}

/// Whether `kind` may reach the handler of `route` (given it was found).
fn acceptable(kind: Kind, route: &str) -> bool {
    let verifies = !matches!(
        kind,
        Kind::None | Kind::Expired | Kind::Forged | Kind::NotYetValid | Kind::Garbage
    );
    let revoked = matches!(kind, Kind::Revoked | Kind::RevokedUser);
    let is_refresh = kind == Kind::Refresh;
    verifies
        && match route {
            "refresh" => is_refresh && !revoked,
            "fresh" => kind == Kind::Fresh,
            "admin" => kind == Kind::Admin,
            "unchecked" => !is_refresh,
            _ => !is_refresh && !revoked && kind != Kind::NoJti,
        }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn handlers_run_only_for_tokens_that_pass_every_check(
        kind in kind(),
        place in place(),
        method in method(),
        route in proptest::sample::select(ROUTES),
        extra_header in proptest::option::of("[ -~]{0,40}"),
    ) {
        static WORLD: std::sync::OnceLock<(tokio::runtime::Runtime, World)> = std::sync::OnceLock::new();
        let (rt, world) = WORLD.get_or_init(|| {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let w = world(&rt);
            (rt, w)
        });
        let token = world.tokens.iter().find(|(k, _)| *k == kind).map(|(_, t)| t.clone());
        let cli = TestClient::new(app().with(world.jwt.clone()));
        let (status, ran_routes, body, set_cookies) = rt.block_on(async {
            RAN.lock().unwrap().clear();
            let path = format!("/{route}");
            let mut req = cli.request(method.clone(), &path);
            if let Some(value) = &extra_header {
                req = req.header("X-Extra", value.as_str());
            }
            if let Some(token) = &token {
                let csrf = world.jwt.get_csrf_token(token).unwrap_or_else(|_| "csrf-1".into());
                req = match place {
                    Place::Header => req.header("Authorization", bearer(token)),
                    Place::CookieWithCsrf => req
                        .header("Cookie", format!("access_token_cookie={token}; refresh_token_cookie={token}"))
                        .header("X-CSRF-TOKEN", csrf),
                    Place::CookieWithoutCsrf => req
                        .header("Cookie", format!("access_token_cookie={token}; refresh_token_cookie={token}")),
                    Place::Query => req.query("jwt", token),
                    Place::Json => req
                        .content_type("application/json")
                        .body(json!({"access_token": token, "refresh_token": token}).to_string()),
                };
            }
            let resp = cli_send(req).await;
            let ran_routes = RAN.lock().unwrap().clone();
            (resp.0, ran_routes, resp.1, resp.2)
        });
        let ran_here = ran_routes.contains(&route);
        let present = token.is_some();
        if ran_here {
            let anonymous = route == "optional" && !present;
            prop_assert!(anonymous || acceptable(kind, route),
                "{route} ran for {kind:?} in {place:?} with {method}");
            prop_assert!(method != Method::OPTIONS || route == "optional",
                "a required route ran on OPTIONS");
        }
        // The converse: a good header token on GET gets through.
        if present && place == Place::Header && method == Method::GET && acceptable(kind, route) {
            prop_assert!(ran_here, "{route} refused a good {kind:?} token: {status} {body}");
        }
        prop_assert!(status < 500, "{status} for {kind:?} {place:?} {method} {route}: {body}");
        prop_assert!(!body.contains(SECRET) && !set_cookies.iter().any(|c| c.contains(SECRET)));
        // Any token handed out (implicit refresh) is live.
        for line in &set_cookies {
            if let Some(value) = line.strip_prefix("access_token_cookie=") {
                let new_token = value.split(';').next().unwrap_or_default();
                if new_token.is_empty() {
                    continue;
                }
                let claims = world.jwt.decode_token(new_token).expect("a valid token");
                prop_assert_ne!(&claims["sub"], &Value::from("mallory"));
                prop_assert!(matches!(kind, Kind::Valid | Kind::Fresh | Kind::Admin),
                    "{kind:?} was re-minted on {route}");
            }
        }
    }
}

async fn cli_send<E: Endpoint>(
    req: poem::test::TestRequestBuilder<'_, E>,
) -> (u16, String, Vec<String>) {
    let resp = req.send().await;
    let status = resp.0.status().as_u16();
    let cookies = resp
        .0
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .collect();
    let body = resp.0.into_body().into_string().await.unwrap_or_default();
    (status, body, cookies)
}
