//! What every example shares: the tutorial's defaults (secret, port) and a tracing subscriber
//! that shows the library's auth decisions, the way the tutorial prints its loader calls.
#![allow(dead_code)]

use jwt_runtime::JwtConfig;
use poem::{listener::TcpListener, Endpoint, Server};
use serde::Deserialize;

/// The tutorial's secret, used when `JWT_SECRET_KEY` is not set. Fine for a demo only: the
/// library warns that it is shorter than HS256 needs.
pub const TUTORIAL_SECRET: &str = "super-secret";

/// `JwtConfig::from_env()` with the tutorial's secret as the fallback.
pub fn config() -> JwtConfig {
    let config = JwtConfig::from_env().unwrap_or_else(|e| {
        eprintln!("configuration error: {e}");
        std::process::exit(2)
    });
    if config.secret_key.is_some() {
        config
    } else {
        config.with_secret(TUTORIAL_SECRET)
    }
}

/// Shows `jwt_runtime` decisions (accepted at debug, rejections at info) unless `RUST_LOG` says otherwise.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,jwt_runtime=debug"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

/// Serves `app` on `127.0.0.1:$PORT` (default 5000, as the tutorial's clients expect).
pub async fn serve(app: impl Endpoint + 'static) -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "5000".into());
    let addr = format!("127.0.0.1:{port}");
    tracing::info!("listening on http://{addr}");
    Server::new(TcpListener::bind(addr)).run(app).await
}

/// The tutorial's login body: `{"username": ..., "password": ...}`.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    pub username: Option<String>,
    pub password: Option<String>,
}

impl Credentials {
    /// The tutorial's hard-coded check: admin / 123456.
    pub fn is_tutorial_admin(&self) -> bool {
        self.username.as_deref() == Some("admin") && self.password.as_deref() == Some("123456")
    }
}

/// `{"msg": "Bad username or password"}` with 401.
pub fn bad_credentials() -> poem::Response {
    use poem::IntoResponse;
    poem::web::Json(serde_json::json!({"msg": "Bad username or password"}))
        .with_status(poem::http::StatusCode::UNAUTHORIZED)
        .into_response()
}
