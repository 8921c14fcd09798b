//! Each tutorial example, started as its own process on a real socket and driven the way the
//! tutorial's Python client scripts drive it (same routes, statuses and JSON bodies).

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A running example server, killed on drop.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn examples_dir() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args(["build", "--quiet", "--examples"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("run cargo build --examples");
            assert!(status.success(), "cargo build --examples failed");
            // target/<profile>/deps/<this test> -> target/<profile>/examples
            let exe = std::env::current_exe().expect("current exe");
            exe.parent()
                .and_then(|deps| deps.parent())
                .expect("target dir")
                .join("examples")
        })
        .clone()
}

fn start(example: &str) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(examples_dir().join(example))
        .env("PORT", port.to_string())
        .env_remove("JWT_SECRET_KEY")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start example {example}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "example {example} did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

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
