//! A second service that verifies the tokens of `examples/asymmetric.rs` by its JWKS URL
//! (feature `remote-jwks`): it holds no key of its own. The keys are fetched when the manager is
//! built, refreshed in the background, and refetched when a token names an unknown `kid`.
//!
//! ```text
//! PORT=5000 cargo run --example asymmetric
//! PORT=5001 cargo run --example jwks_client --features remote-jwks
//! TOKEN=$(curl -s -X POST localhost:5000/login | jq -r .access_token)
//! curl -H "Authorization: Bearer $TOKEN" localhost:5001/protected
//! ```
//!
//! `JWKS_URL` overrides the provider's URL (default `http://127.0.0.1:5000/.well-known/jwks.json`).
//! Tokens must be issued to this API: `JWT_DECODE_AUDIENCE` (default `example-api`, the audience
//! `asymmetric` writes into its tokens). A provider signs tokens for all its clients, so a remote
//! key set without an audience refuses to start (`JWT_DECODE_ANY_AUDIENCE` opts out).
//! Plain `http` is allowed here because the provider is on the loopback interface; a real
//! deployment uses `https` and leaves `JWT_JWKS_ALLOW_HTTP` unset.

mod common;

use jwt_runtime::{jwt_required, Identity, JwtManager};
use poem::{get, handler, web::Json, EndpointExt, Route};
use serde_json::{json, Value};

#[jwt_required]
#[handler]
async fn protected(identity: Identity) -> Json<Value> {
    Json(json!({ "logged_in_as": identity, "verified_by": "jwks_client" }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let url = std::env::var("JWKS_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:5000/.well-known/jwks.json".into());
    let mut config = jwt_runtime::JwtConfig::from_env()?;
    config.algorithm = "RS256".into();
    if config.decode_audience.is_none() && !config.decode_any_audience {
        config.decode_audience = Some(vec!["example-api".into()]);
    }
    config.jwks_allow_http =
        url.starts_with("http://127.0.0.1") || url.starts_with("http://localhost");
    let jwt = JwtManager::builder(config)
        .jwks_url(url)
        .build_async()
        .await?;
    let app = Route::new().at("/protected", get(protected)).with(jwt);
    common::serve(app).await?;
    Ok(())
}
