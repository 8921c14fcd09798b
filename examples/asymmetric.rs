//! RS256 with key rotation and a JWKS endpoint: new tokens are signed with the current key and
//! carry its `kid`; tokens signed with the previous key (kid `2026-01`) still verify until they
//! expire; other services verify this app's tokens from `GET /.well-known/jwks.json`.
//!
//! Keys come from `JWT_PRIVATE_KEY` / `JWT_PUBLIC_KEY` (PEM), by default the repository's
//! test-only keys in `tests/keys/` (never use those anywhere else).

mod common;

use jwt_runtime::keys::DecodeKeyConfig;
use jwt_runtime::{jwt_required, Identity, JwtManager};
use poem::{get, handler, post, web::Json, EndpointExt, Route};
use serde_json::{json, Value};

const CURRENT_PRIVATE: &str = include_str!("../tests/keys/rsa_a.pem");
const CURRENT_PUBLIC: &str = include_str!("../tests/keys/rsa_a.pub.pem");
const PREVIOUS_PUBLIC: &str = include_str!("../tests/keys/rsa_b.pub.pem");

#[handler]
async fn login(jwt: JwtManager) -> poem::Result<Json<Value>> {
    let access_token = jwt.create_access_token("example_user").await?;
    Ok(Json(json!({ "access_token": access_token })))
}

#[jwt_required]
#[handler]
async fn protected(identity: Identity) -> Json<Value> {
    Json(json!({ "logged_in_as": identity }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let mut config = jwt_runtime::JwtConfig::from_env()?;
    config.algorithm = "RS256".into();
    // Issued to the API that `jwks_client` plays (its `JWT_DECODE_AUDIENCE`).
    if config.encode_audience.is_none() {
        config.encode_audience = Some(vec!["example-api".into()]);
    }
    let private = config
        .private_key
        .take()
        .unwrap_or_else(|| CURRENT_PRIVATE.into());
    let public = config
        .public_key
        .take()
        .unwrap_or_else(|| CURRENT_PUBLIC.into());
    config.private_key = Some(private);
    config.encode_kid = Some("2026-02".into());
    config.decode_keys = vec![
        DecodeKeyConfig {
            kid: "2026-02".into(),
            algorithm: "RS256".into(),
            public_key: Some(public),
            secret: None,
        },
        DecodeKeyConfig {
            kid: "2026-01".into(),
            algorithm: "RS256".into(),
            public_key: Some(PREVIOUS_PUBLIC.into()),
            secret: None,
        },
    ];
    let jwt = JwtManager::new(config)?;
    let app = Route::new()
        .at("/login", post(login))
        .at("/protected", get(protected))
        .at("/.well-known/jwks.json", jwt.jwks_endpoint())
        .with(jwt);
    common::serve(app).await?;
    Ok(())
}
