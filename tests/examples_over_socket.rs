//! Each tutorial example, started as its own process on a real socket and driven the way the
//! tutorial's Python client scripts drive it (same routes, statuses and JSON bodies).

use crate::support;

use serde_json::{json, Value};
use support::server::{start, start_with_env, Server};

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json body"))
}

fn admin_login() -> Value {
    json!({"username": "admin", "password": "123456"})
}

/// Logs in as the tutorial's client does and returns the `access_token` value.
async fn login(http: &reqwest::Client, s: &Server, body: Option<Value>) -> String {
    let mut req = http.post(format!("{}/login", s.base));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let (status, body) = send(req).await;
    assert_eq!(status, 200, "login failed: {body}");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

fn payload(token: &str) -> Value {
    use base64::Engine as _;
    let segment = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(segment)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn basic() {
    let s = start("basic");
    let http = reqwest::Client::new();
    let bad = http
        .post(format!("{}/login", s.base))
        .json(&json!({"username": "admin", "password": "x"}));
    assert_eq!(
        send(bad).await,
        (401, json!({"msg": "Bad username or password"}))
    );
    let token = login(&http, &s, Some(admin_login())).await;
    assert!(
        token.starts_with("Bearer "),
        "the tutorial returns 'Bearer <jwt>'"
    );
    let anonymous = http.get(format!("{}/protected", s.base));
    assert_eq!(
        send(anonymous).await,
        (401, json!({"msg": "Missing Authorization Header"}))
    );
    let authed = http
        .get(format!("{}/protected", s.base))
        .header("Authorization", &token);
    assert_eq!(send(authed).await, (200, json!({"logged_in_as": "admin"})));
}

#[tokio::test]
async fn additional_claims() {
    let s = start("additional_claims");
    let http = reqwest::Client::new();
    let token = login(&http, &s, Some(admin_login())).await;
    let claims = payload(&token);
    assert_eq!(
        claims["aud"], "some_audience",
        "the call site beats the loader"
    );
    assert_eq!(claims["foo"], "bar");
    assert_eq!(claims["upcase_name"], "ADMIN", "the loader ran");
    let authed = http
        .get(format!("{}/protected", s.base))
        .bearer_auth(&token);
    assert_eq!(send(authed).await, (200, json!({"foo": "bar"})));
}

#[tokio::test]
async fn optional() {
    let s = start("optional");
    let http = reqwest::Client::new();
    let token = login(&http, &s, Some(admin_login())).await;
    let authed = http
        .get(format!("{}/optionally_protected", s.base))
        .bearer_auth(&token);
    assert_eq!(send(authed).await, (200, json!({"logged_in_as": "admin"})));
    let anonymous = http.get(format!("{}/optionally_protected", s.base));
    assert_eq!(
        send(anonymous).await,
        (200, json!({"logged_in_as": "anonymous user"}))
    );
    let broken = http
        .get(format!("{}/optionally_protected", s.base))
        .bearer_auth("xxx");
    assert_eq!(
        send(broken).await,
        (422, json!({"msg": "Not enough segments"}))
    );
    // The tutorial tests `if current_identity:`: an empty identity is anonymous there too.
    let empty = http
        .get(format!("{}/optionally_protected", s.base))
        .bearer_auth(tutorial_token(json!("")));
    assert_eq!(
        send(empty).await,
        (200, json!({"logged_in_as": "anonymous user"}))
    );
}

/// A token the Python tutorial would mint now for `sub`, signed with its secret.
fn tutorial_token(sub: Value) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    support::sign(
        json!({"alg": "HS256", "typ": "JWT"}),
        json!({"fresh": false, "iat": now, "jti": "python-1", "type": "access", "sub": sub,
               "nbf": now, "exp": now + 900}),
        "super-secret",
    )
}

#[tokio::test]
async fn admin_required() {
    let s = start("admin_required");
    let http = reqwest::Client::new();
    let token = login(&http, &s, None).await;
    let authed = http
        .get(format!("{}/protected", s.base))
        .bearer_auth(&token);
    assert_eq!(send(authed).await, (200, json!({"foo": "bar"})));
    let anonymous = http.get(format!("{}/protected", s.base));
    assert_eq!(
        send(anonymous).await,
        (401, json!({"msg": "Missing Authorization Header"}))
    );
}

/// The cookies a client keeps, as `requests.Session` does: `Set-Cookie` updates them, a 1970
/// `Expires` removes them.
#[derive(Default)]
struct Jar(std::collections::BTreeMap<String, String>);

impl Jar {
    fn absorb(&mut self, resp: &reqwest::Response) {
        for line in resp.headers().get_all("set-cookie") {
            let line = line.to_str().expect("ascii cookie");
            let (pair, attrs) = line.split_once(';').unwrap_or((line, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            if attrs.contains("Expires=Thu, 01 Jan 1970") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_string(), value.to_string());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req
            .header("Cookie", self.header())
            .send()
            .await
            .expect("request");
        self.absorb(&resp);
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("json body"))
    }
}

#[tokio::test]
async fn locations() {
    let s = start("locations");
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", s.base);
    let foo_bar = (200, json!({"foo": "bar"}));

    // Headers.
    let (_, body) = send(http.post(url("/login_without_cookies"))).await;
    let token = body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    assert_eq!(
        send(http.get(url("/protected")).bearer_auth(&token)).await,
        foo_bar
    );
    // Query string and JSON body, as the tutorial's clients send them.
    assert_eq!(
        send(http.post(url(&format!("/protected?jwt={token}")))).await,
        foo_bar
    );
    assert_eq!(
        send(
            http.post(url("/protected"))
                .json(&json!({"access_token": token}))
        )
        .await,
        foo_bar
    );
    assert_eq!(
        send(http.get(url("/only_headers")).bearer_auth(&token)).await,
        (200, json!({"foo": "baz"}))
    );

    // Cookies: the tutorial reads the CSRF value from the last Set-Cookie of the login.
    let mut jar = Jar::default();
    let resp = http
        .post(url("/login_with_cookies"))
        .send()
        .await
        .expect("login");
    let joined: Vec<&str> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    // `headers.get('Set-Cookie').split(', ')[-1].strip('; Path=/').split('=')[-1]`
    let joined = joined.join(", ");
    let last_cookie = joined.rsplit(", ").next().unwrap();
    let csrf = last_cookie
        .trim_end_matches("; Path=/")
        .rsplit('=')
        .next()
        .unwrap()
        .to_string();
    jar.absorb(&resp);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"msg": "login successful"})
    );
    assert_eq!(jar.send(http.get(url("/protected"))).await, foo_bar);
    assert_eq!(
        jar.send(http.post(url("/protected"))).await,
        (401, json!({"msg": "Missing CSRF token"}))
    );
    assert_eq!(
        jar.send(http.post(url("/protected")).header("X-CSRF-TOKEN", &csrf))
            .await,
        foo_bar
    );
    assert_eq!(
        jar.send(http.get(url("/only_headers"))).await,
        (401, json!({"msg": "Missing Authorization Header"}))
    );
    assert_eq!(
        jar.send(http.post(url("/logout_with_cookies"))).await,
        (200, json!({"msg": "logout successful"}))
    );
    assert!(jar.0.is_empty(), "logout clears every cookie: {:?}", jar.0);
    let (status, _) = jar.send(http.get(url("/protected"))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn implicit_refresh() {
    let s = start("implicit_refresh");
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", s.base);
    let mut jar = Jar::default();
    assert_eq!(
        jar.send(http.post(url("/login"))).await,
        (200, json!({"msg": "login successful"}))
    );
    // The cookie reaches the protected route over a real socket; the tutorial's timeline (200
    // at 0 s, 2 s and 4 s, then 401) runs on a test clock in `tutorial_timelines`.
    assert_eq!(
        jar.send(http.get(url("/protected"))).await,
        (200, json!({"foo": "bar"}))
    );
    assert_eq!(
        jar.send(http.post(url("/logout"))).await,
        (200, json!({"msg": "logout successful"}))
    );
    assert_eq!(jar.send(http.get(url("/protected"))).await.0, 401);
}

async fn tokens_from(http: &reqwest::Client, url: String, body: Option<Value>) -> (String, String) {
    let mut req = http.post(url);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let (status, body) = send(req).await;
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    (
        access,
        body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[tokio::test]
async fn refresh_tokens() {
    let s = start("refresh_tokens");
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", s.base);
    let (access, refresh) = tokens_from(&http, url("/login"), None).await;
    let get = |token: String| send(http.get(url("/protected")).bearer_auth(token));
    // The tutorial's timeline (expiry after 3 s and 10 s) runs on a test clock in
    // `tutorial_timelines`; over the socket: the routes, the refresh and the type check.
    assert_eq!(get(access.clone()).await, (200, json!({"foo": "bar"})));
    let (status, body) = send(http.post(url("/refresh")).bearer_auth(&refresh)).await;
    assert_eq!(status, 200);
    let renewed = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(get(renewed.clone()).await, (200, json!({"foo": "bar"})));
    let (status, body) = send(http.post(url("/refresh")).bearer_auth(&renewed)).await;
    assert_eq!(
        (status, body),
        (422, json!({"msg": "Only refresh tokens are allowed"}))
    );
}

#[tokio::test]
async fn freshness() {
    let s = start("freshness");
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", s.base);
    let (fresh, refresh) = tokens_from(&http, url("/login"), Some(admin_login())).await;
    assert_eq!(
        send(http.get(url("/protected")).bearer_auth(&fresh)).await,
        (200, json!({"foo": "bar"}))
    );
    let (_, body) = send(http.post(url("/refresh")).bearer_auth(&refresh)).await;
    let stale = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        send(http.get(url("/protected")).bearer_auth(&stale)).await,
        (401, json!({"msg": "Fresh token required"}))
    );
    let bad = http
        .post(url("/login"))
        .json(&json!({"username": "admin", "password": "nope"}));
    assert_eq!(
        send(bad).await,
        (401, json!({"msg": "Bad username or password"}))
    );
}

/// The tutorial's revocation client: protected, logout, protected again.
async fn revocation_flow(example: &str, revoked_msg: &str) {
    let s = start(example);
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", s.base);
    let (access, _) = tokens_from(&http, url("/login"), None).await;
    assert_eq!(
        send(http.get(url("/protected")).bearer_auth(&access)).await,
        (200, json!({"hello": "world"}))
    );
    assert_eq!(
        send(http.delete(url("/logout")).bearer_auth(&access)).await,
        (200, json!({"msg": revoked_msg}))
    );
    assert_eq!(
        send(http.get(url("/protected")).bearer_auth(&access)).await,
        (401, json!({"msg": "Token has been revoked"}))
    );
}

#[tokio::test]
async fn blocklist_database() {
    revocation_flow("blocklist_database", "JWT revoked").await;
}

#[tokio::test]
#[ignore = "needs Redis"]
async fn blocklist_redis() {
    support::require_service("Redis", "127.0.0.1:6379");
    revocation_flow("blocklist_redis", "Access token revoked").await;
}

#[tokio::test]
async fn logout_everywhere() {
    let s = start("logout_everywhere");
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", s.base);
    let revoked = (401, json!({"msg": "Token has been revoked"}));
    let (access, refresh) = tokens_from(&http, url("/login"), None).await;
    assert_eq!(
        send(http.post(url("/refresh")).bearer_auth(&refresh))
            .await
            .0,
        200
    );
    let done = (200, json!({"msg": "Access and refresh tokens revoked"}));
    assert_eq!(
        send(http.delete(url("/logout")).bearer_auth(&access)).await,
        done
    );
    assert_eq!(
        send(http.get(url("/protected")).bearer_auth(&access)).await,
        revoked
    );
    assert_eq!(
        send(http.post(url("/refresh")).bearer_auth(&refresh)).await,
        revoked,
        "one request revoked both"
    );

    let (phone, phone_refresh) = tokens_from(&http, url("/login"), None).await;
    let (laptop, _) = tokens_from(&http, url("/login"), None).await;
    let everywhere = (200, json!({"msg": "Logged out everywhere"}));
    assert_eq!(
        send(http.delete(url("/logout_everywhere")).bearer_auth(&laptop)).await,
        everywhere
    );
    assert_eq!(
        send(http.get(url("/protected")).bearer_auth(&phone)).await,
        revoked
    );
    assert_eq!(
        send(http.post(url("/refresh")).bearer_auth(&phone_refresh)).await,
        revoked
    );
    // That tokens of a later second work again is shown on a test clock
    // (`tutorial_timelines::logout_everywhere_cut_off`).
}

#[tokio::test]
async fn user_lookup() {
    let s = start("user_lookup");
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", s.base);
    let wrong = http
        .post(url("/login"))
        .json(&json!({"username": "admin", "password": "x"}));
    assert_eq!(
        send(wrong).await,
        (401, json!("Wrong username or password"))
    );
    let (access, _) = tokens_from(&http, url("/login"), Some(admin_login())).await;
    assert_eq!(
        payload(&access)["sub"],
        "1",
        "user_identity stored the user's id"
    );
    let (status, body) = send(http.get(url("/protected")).bearer_auth(&access)).await;
    assert_eq!(
        (status, &body),
        (200, &json!({"id": 1, "username": "admin"}))
    );
    assert!(
        !body.to_string().contains("argon2"),
        "never the password hash"
    );
    // A token minted by the Python tutorial carries the integer id: refused by default ...
    let python = tutorial_token(json!(1));
    assert_eq!(
        send(http.get(url("/protected")).bearer_auth(&python)).await,
        (422, json!({"msg": "Subject must be a string"}))
    );
    // ... and loaded with JWT_VERIFY_SUB=false, as the reference needs for this program.
    let s = support::server::start_with_env("user_lookup", &[("JWT_VERIFY_SUB", "false")]);
    let (status, body) = send(
        http.get(format!("{}/protected", s.base))
            .bearer_auth(&python),
    )
    .await;
    assert_eq!((status, body), (200, json!({"id": 1, "username": "admin"})));
}

#[tokio::test]
async fn custom_errors() {
    let s = start("custom_errors");
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", s.base);
    let (access, _) = tokens_from(&http, url("/login"), None).await;
    assert_eq!(
        send(http.get(url("/protected")).bearer_auth(&access)).await,
        (200, json!({"hello": "world"}))
    );
    // A token that expired an hour ago, signed with the tutorial's secret: the customised answer
    // (the timeline itself runs on a test clock: `tutorial_timelines::custom_errors_timeline`).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expired = support::sign(
        json!({"alg": "HS256", "typ": "JWT"}),
        json!({"fresh": false, "iat": now - 4000, "jti": "old", "type": "access",
               "sub": "example_user", "exp": now - 3600}),
        "super-secret",
    );
    assert_eq!(
        send(http.get(url("/protected")).bearer_auth(&expired)).await,
        (
            401,
            json!({"code": "dave", "err": "I can't let you do that"})
        )
    );
    // Only the expired response is customised.
    assert_eq!(
        send(http.get(url("/protected"))).await,
        (401, json!({"msg": "Missing Authorization Header"}))
    );
}

#[tokio::test]
async fn custom_error_messages() {
    let s = start("custom_error_messages");
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", s.base);
    let (admin, _) = tokens_from(&http, url("/login"), Some(json!({"user_id": 1}))).await;
    let (user, _) = tokens_from(&http, url("/login"), Some(json!({"user_id": 2}))).await;
    assert_eq!(payload(&admin)["is_admin"], true);
    assert_eq!(
        send(http.get(url("/admin")).bearer_auth(&admin)).await,
        (200, json!({"admin": true}))
    );
    assert_eq!(
        send(http.get(url("/admin")).bearer_auth(&user)).await,
        (403, json!({"msg": "Admins only!"}))
    );
    assert_eq!(
        send(http.get(url("/protected"))).await,
        (
            401,
            json!({"description": "Request does not contain an access token.", "error": "authorization_required"})
        )
    );
    assert_eq!(
        send(http.get(url("/protected")).bearer_auth("xxx")).await,
        (
            401,
            json!({"message": "Signature verification failed.", "error": "invalid_token"})
        )
    );
    assert_eq!(
        send(http.get(url("/fresh")).bearer_auth(&user)).await,
        (
            401,
            json!({"description": "The token is not fresh.", "error": "fresh_required"})
        )
    );
    assert_eq!(
        send(http.delete(url("/logout")).bearer_auth(&user)).await.0,
        200
    );
    assert_eq!(
        send(http.get(url("/protected")).bearer_auth(&user)).await,
        (
            401,
            json!({"description": "The token has been revoked.", "error": "token_revoked"})
        )
    );
}

#[tokio::test]
async fn asymmetric() {
    let s = start("asymmetric");
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", s.base);
    let (access, _) = tokens_from(&http, url("/login"), None).await;
    use base64::Engine as _;
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(access.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (header["alg"].as_str(), header["kid"].as_str()),
        (Some("RS256"), Some("2026-02"))
    );
    assert_eq!(
        send(http.get(url("/protected")).bearer_auth(&access)).await,
        (200, json!({"logged_in_as": "example_user"}))
    );
    // Another service, configured only from the published JWKS, verifies the token.
    let jwks = http
        .get(url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let verifier = jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig {
        algorithm: "RS256".into(),
        decode_jwks: Some(jwks),
        ..jwt_runtime::JwtConfig::default()
    })
    .unwrap();
    assert_eq!(
        verifier.decode_token(&access).unwrap()["sub"],
        "example_user"
    );
}

/// `jwks_client` holds no key: it verifies `asymmetric`'s tokens with the JWK set it fetches from
/// `asymmetric`'s `/.well-known/jwks.json` at startup.
#[tokio::test]
async fn jwks_client_verifies_by_url() {
    let provider = start("asymmetric");
    let jwks_url = format!("{}/.well-known/jwks.json", provider.base);
    let client = start_with_env("jwks_client", &[("JWKS_URL", jwks_url.as_str())]);
    let http = reqwest::Client::new();
    let (access, _) = tokens_from(&http, format!("{}/login", provider.base), None).await;
    assert_eq!(
        send(
            http.get(format!("{}/protected", client.base))
                .bearer_auth(&access)
        )
        .await,
        (
            200,
            json!({"logged_in_as": "example_user", "verified_by": "jwks_client"})
        )
    );
    assert_eq!(
        send(http.get(format!("{}/protected", client.base))).await,
        (401, json!({"msg": "Missing Authorization Header"}))
    );
}

#[tokio::test]
async fn route_groups() {
    let s = start("route_groups");
    let http = reqwest::Client::new();
    let ann = login(&http, &s, Some(json!({"username": "ann"}))).await;
    let eve = login(&http, &s, Some(json!({"username": "eve"}))).await;
    let get = |path: &str, token: &str| http.get(format!("{}{path}", s.base)).bearer_auth(token);
    assert_eq!(
        send(get("/admin/stats", &ann)).await,
        (200, json!({"stats_for": "ann", "users": 3}))
    );
    assert_eq!(
        send(get("/admin/whoami", &ann)).await,
        (200, json!({"sub": "ann", "roles": ["admin"]}))
    );
    assert_eq!(
        send(get("/admin/stats", &eve)).await,
        (403, json!({"msg": "Missing role: admin"}))
    );
    assert_eq!(
        send(get("/editor/publish", &eve)).await,
        (200, json!({"published_by": "eve"}))
    );
    let anonymous = http.get(format!("{}/admin/whoami", s.base));
    assert_eq!(
        send(anonymous).await,
        (401, json!({"msg": "Missing Authorization Header"}))
    );
    let health = http.get(format!("{}/health", s.base)).send().await.unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");
}

/// `sessions`: two devices log in, list their sessions, a replayed refresh token ends its whole
/// session, and "log out other devices" ends the rest. `JWT_REFRESH_ROTATION_GRACE=0` makes a
/// retired refresh token a reuse as soon as its replacement was used, so nothing depends on
/// timing.
#[tokio::test]
async fn sessions() {
    let s = start_with_env("sessions", &[("JWT_REFRESH_ROTATION_GRACE", "0")]);
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", s.base);
    let login_from = |agent: &'static str| {
        send(
            http.post(url("/login"))
                .header("user-agent", agent)
                .json(&admin_login()),
        )
    };
    let (status, laptop) = login_from("laptop").await;
    assert_eq!(status, 200, "{laptop}");
    let (_, phone) = login_from("phone").await;
    let (_, tablet) = login_from("tablet").await;
    let token = |body: &Value, key: &str| body[key].as_str().expect(key).to_string();
    assert_eq!(
        payload(&token(&laptop, "refresh_token"))["fam"],
        laptop["session"]
    );
    assert_eq!(
        payload(&token(&laptop, "access_token"))["fam"],
        laptop["session"]
    );
    assert_eq!(
        send(
            http.post(url("/login"))
                .json(&json!({"username": "admin", "password": "x"}))
        )
        .await,
        (401, json!({"msg": "Bad username or password"}))
    );

    let list = |access: String| send(http.get(url("/sessions")).bearer_auth(access));
    let (status, sessions) = list(token(&laptop, "access_token")).await;
    assert_eq!(status, 200, "{sessions}");
    let labels: Vec<&str> = sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels.len(), 3);
    for label in ["laptop", "phone", "tablet"] {
        assert!(labels.contains(&label), "{sessions}");
    }
    let current: Vec<&Value> = sessions
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["current"] == true)
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["label"], "laptop");

    // The tablet refreshes: a new refresh token replaces the old one.
    let refresh = |refresh: String| send(http.post(url("/refresh")).bearer_auth(refresh));
    let old = token(&tablet, "refresh_token");
    let (status, rotated) = refresh(old.clone()).await;
    assert_eq!(status, 200, "{rotated}");
    let new = token(&rotated, "refresh_token");
    assert_ne!(new, old);
    // The tablet refreshes again with the new one.
    let (status, rotated) = refresh(new).await;
    assert_eq!(status, 200, "{rotated}");
    let new = token(&rotated, "refresh_token");
    // Someone replays the old one (stolen from the tablet): the whole session ends.
    assert_eq!(
        refresh(old).await,
        (401, json!({"msg": "Refresh token reuse detected"}))
    );
    let revoked = (401, json!({"msg": "Token has been revoked"}));
    assert_eq!(refresh(new).await, revoked);
    assert_eq!(
        send(
            http.get(url("/protected"))
                .bearer_auth(token(&rotated, "access_token"))
        )
        .await,
        revoked
    );

    // "Log out other devices" from the laptop ends the phone's session.
    let (status, body) = send(
        http.post(url("/logout_others"))
            .bearer_auth(token(&laptop, "access_token")),
    )
    .await;
    assert_eq!((status, body), (200, json!({"ended": 1})));
    assert_eq!(refresh(token(&phone, "refresh_token")).await, revoked);
    let (_, sessions) = list(token(&laptop, "access_token")).await;
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
    let (status, _) = refresh(token(&laptop, "refresh_token")).await;
    assert_eq!(status, 200);
    // Ending one session by id.
    let (_, other) = login_from("desktop").await;
    let (status, body) = send(
        http.delete(url(&format!("/sessions/{}", token(&other, "session"))))
            .bearer_auth(token(&laptop, "access_token")),
    )
    .await;
    assert_eq!((status, body), (200, json!({"ended": true})));
    assert_eq!(refresh(token(&other, "refresh_token")).await, revoked);
}
