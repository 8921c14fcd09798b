//! The server of the load benchmark (`benches/load/run.sh`): one process serving the same
//! handler three ways, so a load generator can compare them side by side in one run.
//!
//! - `GET /unprotected`: no guard (the floor);
//! - `GET /hand_written`: the check users write today with `jsonwebtoken::decode`;
//! - `GET /protected`: `#[jwt_required]` (every check, the memory revocation store);
//! - `POST /login`: mints an access token for the load generator;
//! - `POST /revoke`: revokes the bearer token (for the scale-out run, `benches/load/scale_out.sh`).
//!
//! Every option comes from the environment (`JWT_*`), so the script can switch the verified-token
//! cache off (`JWT_VERIFIED_TOKEN_CACHE_SIZE=0`) to measure first-seen tokens. `LOG=debug` installs
//! a tracing subscriber writing every accepted token to stdout (what the examples' default filter
//! does), to measure what logging costs. `STORE=redis` revokes through a `RedisBlocklist` at
//! `REDIS_URL` (default `redis://127.0.0.1:6379`) instead of the memory store: each request is then
//! answered from the instance's local mirror of Redis; `REDIS_PREFIX` makes several instances
//! share one blocklist (by default each has its own). `INSTANCE=name` adds an `x-instance: name`
//! header to every answer, so a client behind a load balancer sees which instance answered.

use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use jwt_runtime::{jwt_required, Identity, JwtConfig, JwtManager};
use poem::http::{header, HeaderValue, StatusCode};
use poem::listener::TcpListener;
use poem::{get, handler, post, Endpoint, EndpointExt, Request, Route, Server};
use serde_json::Value;

#[handler]
async fn unprotected() -> String {
    "alice".to_string()
}

#[jwt_required]
#[handler]
async fn protected(identity: Identity) -> String {
    identity.as_str().unwrap_or_default().to_string()
}

#[handler]
async fn hand_written(req: &Request, key: poem::web::Data<&DecodingKey>) -> poem::Result<String> {
    let unauthorized = || poem::Error::from_status(StatusCode::UNAUTHORIZED);
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    let data = decode::<Value>(token, key.0, &validation).map_err(|_| unauthorized())?;
    data.claims
        .get("sub")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(unauthorized)
}

#[handler]
async fn login(jwt: JwtManager) -> poem::Result<String> {
    Ok(jwt
        .create_access_token("alice")
        .expires(jwt_runtime::Expiry::minutes(60))
        .await?)
}

#[handler]
async fn revoke(req: &Request, jwt: JwtManager) -> poem::Result<&'static str> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(|| poem::Error::from_status(StatusCode::BAD_REQUEST))?;
    jwt.revoke_encoded(token).await?;
    Ok("revoked")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var("LOG").as_deref() == Ok("debug") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info,jwt_runtime=debug"))
            .init();
    }
    let config = JwtConfig::from_env()?;
    let secret = config.secret_key.clone().unwrap_or_default();
    let jwt = match std::env::var("STORE").as_deref() {
        Ok("redis") => {
            let url =
                std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
            let prefix = std::env::var("REDIS_PREFIX")
                .unwrap_or_else(|_| format!("jwt-load-{}:", std::process::id()));
            let options = jwt_runtime::stores::RedisBlocklistOptions::default().prefix(prefix);
            let store = jwt_runtime::stores::RedisBlocklist::connect_with(&url, options).await?;
            JwtManager::builder(config).blocklist(store).build()?
        }
        _ => JwtManager::new(config)?,
    };
    let instance = std::env::var("INSTANCE").ok();
    let port = std::env::var("PORT").unwrap_or_else(|_| "8088".into());
    let app = Route::new()
        .at("/unprotected", get(unprotected))
        .at("/hand_written", get(hand_written))
        .at("/protected", get(protected))
        .at("/login", post(login))
        .at("/revoke", post(revoke))
        .with(jwt)
        .data(DecodingKey::from_secret(secret.as_bytes()));
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"));
    match instance {
        // Every answer, refusals included, says which instance gave it.
        Some(name) => {
            let value = HeaderValue::from_str(&name)?;
            let app = app.around(move |ep, req| {
                let value = value.clone();
                async move {
                    let mut resp = ep.get_response(req).await;
                    resp.headers_mut().insert("x-instance", value);
                    Ok(resp)
                }
            });
            Server::new(listener).run(app).await?;
        }
        None => Server::new(listener).run(app).await?,
    }
    Ok(())
}
